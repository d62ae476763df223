// Small helpers over uPlot (vendored in /static/vendor/uplot): line charts keyed by day.
"use strict";
const PALETTE = ["#2f6fdb", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285"];

function armColor(index) { return PALETTE[index % PALETTE.length]; }

// A line chart of `series` ([{label, color, dash}]) over days; returns {plot, push(day, values)}.
function lineChart(el, series, opts = {}) {
  const width = Math.max(320, el.clientWidth || 440);
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot({
    width, height: opts.height || 200,
    scales: { x: { time: false }, y: opts.y || {} },
    axes: [{ label: opts.xlabel || "day", incrs: [1, 2, 5, 10, 20, 50, 100] }, { size: 56 }],
    legend: { show: opts.legend !== false },
    series: [{ label: opts.xlabel || "day" }, ...series.map(s => ({
      label: s.label, stroke: s.color, width: 2, dash: s.dash, spanGaps: true,
      fill: s.fill, points: { show: false },
    }))],
  }, data, el);
  return {
    plot, data,
    push(x, values) {
      data[0].push(x);
      values.forEach((v, i) => data[i + 1].push(v === null || v === undefined ? null : v));
      plot.setData(data);
    },
    set(xs, columns) { data.length = 0; data.push(xs, ...columns); plot.setData(data); },
  };
}

// Draw a days x bins heat map of counts on a canvas (bins bottom = left leaning).
function drawHeat(canvas, columns) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
  if (!columns.length) return;
  const bins = columns[0].length;
  let peak = 1e-9;  // the largest share of any bin on any day sets the darkest colour
  columns.forEach(counts => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    counts.forEach(c => { peak = Math.max(peak, c / total); });
  });
  const cw = w / Math.max(columns.length, 1), bh = h / bins;
  columns.forEach((counts, d) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    counts.forEach((c, b) => {
      const share = c / total;
      const t = Math.min(1, share / peak);
      const r = Math.round(255 - 200 * t), g = Math.round(255 - 160 * t), bl = Math.round(255 - 60 * t);
      ctx.fillStyle = `rgb(${r},${g},${bl})`;
      ctx.fillRect(d * cw, h - (b + 1) * bh, Math.ceil(cw), Math.ceil(bh));
    });
  });
  ctx.strokeStyle = "#999"; ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(0, h / 2); ctx.lineTo(w, h / 2); ctx.stroke(); ctx.setLineDash([]);
  ctx.fillStyle = "#555"; ctx.font = "11px sans-serif";
  ctx.fillStyle = "rgba(255,255,255,.8)"; ctx.fillRect(2, 2, 56, 14); ctx.fillRect(2, h - 16, 50, 14);
  ctx.fillStyle = "#333"; ctx.fillText("+1 right", 5, 13); ctx.fillText("−1 left", 5, h - 5);
}

function jsonData(id) { return JSON.parse(document.getElementById(id).textContent); }
