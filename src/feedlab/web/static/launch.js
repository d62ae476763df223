"use strict";
(function () {
  const select = document.getElementById("scenario");
  const guessArm = document.getElementById("guess-arm");
  function sync() {
    document.querySelectorAll("fieldset.arms").forEach(fs => {
      const on = fs.dataset.scenario === select.value;
      fs.hidden = !on; fs.disabled = !on;
      if (on) {
        guessArm.innerHTML = "";
        fs.querySelectorAll("input[name=arms]").forEach(box => {
          const o = document.createElement("option"); o.textContent = box.value; guessArm.appendChild(o);
        });
      }
    });
  }
  select.addEventListener("change", sync); sync();
  const predict = document.getElementById("predict"), guess = document.getElementById("guess");
  function toggle() {
    guess.hidden = !predict.checked;
    guess.querySelectorAll("select, input").forEach(el => { el.disabled = !predict.checked; });
  }
  predict.addEventListener("change", toggle); toggle();
})();
