"use strict";
(function () {
  const run = jsonData("run-data");
  const arms = run.arms;
  const hiddenMetric = run.guess ? run.guess.metric : null;
  const legend = document.getElementById("legend");
  legend.innerHTML = arms.map((a, i) => `<span><i style="background:${armColor(i)}"></i>${a}</span>`).join("");

  function perArm(suffix = "", dash) {
    return arms.map((a, i) => ({ label: a + suffix, color: armColor(i), dash }));
  }
  const specs = {
    time: { el: "c-time", metrics: ["time_spent_min"] },
    outrage: { el: "c-outrage", metrics: ["impressions_outrage_share", "posts_outrage_share"] },
    false: { el: "c-false", metrics: ["impressions_false_share", "posts_false_share"] },
    wellbeing: { el: "c-wellbeing", metrics: ["wellbeing_mean"] },
    auc: { el: "c-auc", metrics: ["model_auc"] },
    mae: { el: "c-mae", metrics: ["leaning_inference_mae"] },
    variance: { el: "c-variance", metrics: ["opinion_variance"] },
    gap: { el: "c-gap", metrics: ["affective_gap"] },
  };
  const charts = {};
  for (const [key, spec] of Object.entries(specs)) {
    const el = document.getElementById(spec.el);
    const series = spec.metrics.length === 1 ? perArm()
      : [...perArm(" feed"), ...perArm(" posted", [6, 4])];
    charts[key] = { spec, chart: lineChart(el, series, { legend: false }) };
    if (hiddenMetric && spec.metrics.includes(hiddenMetric)) el.parentElement.classList.add("hidden-guess");
  }
  const heat = {};
  document.querySelectorAll("canvas.heat").forEach(c => { heat[c.dataset.arm] = { canvas: c, columns: [] }; });

  let lastDay = 0;
  function onDay(ev) {
    if (ev.day <= lastDay) return;  // a reconnect replays the history
    lastDay = ev.day;
    for (const { spec, chart } of Object.values(charts)) {
      const values = [];
      for (const m of spec.metrics) for (const a of arms) values.push(ev.metrics[a] ? ev.metrics[a][m] : null);
      chart.push(ev.day, values);
    }
    for (const a of arms) {
      if (heat[a] && ev.histogram[a]) { heat[a].columns.push(ev.histogram[a]); drawHeat(heat[a].canvas, heat[a].columns); }
    }
  }
  const statusEl = document.getElementById("status"), dayEl = document.getElementById("day");
  const progressEl = document.getElementById("progress"), watchersEl = document.getElementById("watchers");
  let revealed = false;
  function onState(s) {
    statusEl.textContent = s.status + (s.error ? ` (${s.error})` : "");
    const savedEl = document.getElementById("saved");
    if (s.saved_run && savedEl.hidden) {
      savedEl.querySelector("a").href = `/runs/${encodeURIComponent(s.saved_run)}`;
      savedEl.hidden = false;
    }
    dayEl.textContent = s.day;
    progressEl.value = s.progress;
    watchersEl.textContent = `${s.watchers} watching`;
    document.body.dataset.status = s.status;
    if (["finished", "stopped", "failed"].includes(s.status)) {
      source.close();
      if (run.guess && !revealed) { revealed = true; showReveal(); }
    }
  }
  async function showReveal() {
    const r = await fetch(`/api/live/${run.run_id}/reveal`);
    if (!r.ok) return;
    const v = await r.json();
    document.querySelectorAll(".hidden-guess").forEach(el => el.classList.remove("hidden-guess"));
    const box = document.getElementById("reveal");
    const fmt = x => (x === null || x === undefined) ? "–" : Number(x).toFixed(4);
    box.innerHTML = `<h2>The reveal: ${v.metric}</h2>
      <p>You guessed <b>${v.guessed_highest_arm}</b> would be highest; it was <b>${v.actual_highest_arm}</b>
      <span class="${v.highest_right ? "right" : "wrong"}">${v.highest_right ? "right" : "not this time"}</span>.</p>
      <p>Baseline (${v.baseline}): you said ${fmt(v.guessed_baseline_value)}, it was ${fmt(v.actual_baseline_value)}
      ${v.baseline_error === null ? "" : `(off by ${fmt(v.baseline_error)})`}.</p>
      <p>Means over the recorded days: ${Object.entries(v.means).map(([a, m]) => `${a} ${fmt(m)}`).join(" · ")}</p>`;
    box.hidden = false;
  }
  const source = new EventSource(`/api/live/${run.run_id}/events`);
  source.addEventListener("day", e => { const ev = JSON.parse(e.data); onDay(ev); if (ev.state) onState(ev.state); });
  source.addEventListener("state", e => onState(JSON.parse(e.data)));
  document.querySelectorAll(".controls button").forEach(b => b.addEventListener("click", async () => {
    const unit = b.dataset.unit ? `?unit=${b.dataset.unit}` : "";
    const r = await fetch(`/api/live/${run.run_id}/${b.dataset.action}${unit}`, { method: "POST" });
    if (r.ok) onState(await r.json());
  }));
})();
