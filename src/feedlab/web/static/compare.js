"use strict";
(function () {
  const sides = jsonData("compare-data");
  sides.forEach((side, i) => {
    const el = document.getElementById(`cmp-${i}`);
    const days = side.days;
    if (!days.length) { el.textContent = "No day has ended yet."; return; }
    lineChart(el, [
      { label: "leaning", color: "#2f6fdb" },
      { label: "well-being", color: "#2b8a3e" },
      { label: "minutes/100", color: "#d9480f" },
    ], { height: 180 }).set(days.map(d => d.day), [
      days.map(d => d.true.leaning), days.map(d => d.true.wellbeing), days.map(d => d.minutes / 100),
    ]);
  });
})();
