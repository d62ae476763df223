"use strict";
(function () {
  const data = jsonData("person-data");
  const days = data.days;
  if (!days.length) return;
  const x = days.map(d => d.day);
  const col = f => days.map(f);
  lineChart(document.getElementById("p-trajectory"), [
    { label: "leaning", color: "#2f6fdb" },
    { label: "well-being", color: "#2b8a3e" },
    { label: "affect toward other side / 100", color: "#d9480f" },
  ]).set(x, [col(d => d.true.leaning), col(d => d.true.wellbeing), col(d => d.true.affect_out / 100)]);
  const est = col(d => d.inferred.leaning.value), se = col(d => d.inferred.leaning.se);
  lineChart(document.getElementById("p-leaning"), [
    { label: "true", color: "#111827" },
    { label: "inferred", color: "#7048e8" },
    { label: "−SE", color: "#b197fc", dash: [3, 3] },
    { label: "+SE", color: "#b197fc", dash: [3, 3] },
  ]).set(x, [col(d => d.true.leaning), est, est.map((v, i) => v - se[i]), est.map((v, i) => v + se[i])]);
  lineChart(document.getElementById("p-accuracy"), [
    { label: "leaning error", color: "#c2255c" },
    { label: "outrage error", color: "#d9480f" },
    { label: "interest correlation", color: "#2b8a3e" },
  ]).set(x, [col(d => d.accuracy.leaning_error), col(d => d.accuracy.outrage_error), col(d => d.accuracy.interest_correlation)]);
  lineChart(document.getElementById("p-minutes"), [{ label: "minutes", color: "#2f6fdb" }])
    .set(x, [col(d => d.minutes)]);
})();
