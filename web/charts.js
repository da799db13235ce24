// Chart helpers shared by report.html and the classroom page: uPlot line charts over steps with
// date labels, optional quantile bands, a grey baseline and event markers, and an SVG wedge
// (waterfall) chart of event contributions. Every chart is registered in window.techdepCharts so
// that tests can read the data it holds.
"use strict";

window.techdepCharts = window.techdepCharts || [];

const TECHDEP_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
  "#7b4173", "#3182bd", "#e6550d"];
const TECHDEP_BASELINE = "#9a9a9a";

function techdepEl(tag, attrs, text) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

function techdepFormat(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (unit === "persons") return Math.round(value).toLocaleString("en");
  return value.toFixed(3);
}

// Draws a dashed vertical line at each event's step, labelled with its id.
function techdepEventMarkers(events) {
  return {
    hooks: {
      draw: [u => {
        const ctx = u.ctx;
        ctx.save();
        ctx.font = `${10 * devicePixelRatio}px sans-serif`;
        // Events on the same step share one marker and one label.
        const byStep = new Map();
        for (const event of events) {
          const entry = byStep.get(event.step) || {ids: [], rule: true};
          entry.ids.push(event.id);
          entry.rule = entry.rule && event.kind === "rule";
          byStep.set(event.step, entry);
        }
        let row = 0;
        for (const [step, entry] of [...byStep.entries()].sort((a, b) => a[0] - b[0])) {
          const x = u.valToPos(step, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = entry.rule ? "#b35900" : "#555";
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.lineWidth = devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(entry.ids.join(", "), x + 3 * devicePixelRatio,
                       u.bbox.top + (10 + 11 * (row % 5)) * devicePixelRatio);
          row += 1;
        }
        ctx.restore();
      }],
    },
  };
}

// chart: {id, title, unit, lines: [{label, values, centre?, band?: {low, high}, baseline?}]}
// steps: x values (step numbers); dates: their labels; values may be shorter than steps or hold
// nulls (the classroom page fills them as the run advances).
function techdepLineChart(parent, chart, steps, dates, events, width) {
  const box = techdepEl("figure", {"class": "chart", "data-chart-id": chart.id});
  box.appendChild(techdepEl("figcaption", {}, `${chart.title} [${chart.unit}]`));
  parent.appendChild(box);
  const dateOf = new Map(steps.map((step, i) => [step, dates[i]]));
  const series = [{}];
  const data = [steps];
  const bands = [];
  chart.lines.forEach((line, i) => {
    const colour = TECHDEP_COLOURS[i % TECHDEP_COLOURS.length];
    if (line.baseline) {
      series.push({label: `${line.label} (baseline)`, stroke: TECHDEP_BASELINE, width: 1.5,
                   dash: [6, 4], value: (u, v) => techdepFormat(v, chart.unit)});
      data.push(line.baseline);
    }
    if (line.band) {
      const high = series.length;
      series.push({label: `${line.label} p95`, stroke: "transparent", points: {show: false}});
      data.push(line.band.high);
      series.push({label: `${line.label} p05`, stroke: "transparent", points: {show: false}});
      data.push(line.band.low);
      bands.push({series: [high, high + 1], fill: colour + "22"});
      if (line.band.inner_high) {
        const inner = series.length;
        series.push({label: `${line.label} p75`, stroke: "transparent", points: {show: false}});
        data.push(line.band.inner_high);
        series.push({label: `${line.label} p25`, stroke: "transparent", points: {show: false}});
        data.push(line.band.inner_low);
        bands.push({series: [inner, inner + 1], fill: colour + "44"});
      }
    }
    series.push({label: line.label, stroke: colour, width: 2,
                 value: (u, v) => techdepFormat(v, chart.unit)});
    data.push(line.centre || line.values);
  });
  const opts = {
    width: width || 560,
    height: 260,
    series,
    bands,
    scales: {x: {time: false}},
    axes: [
      {values: (u, splits) => splits.map(s => dateOf.get(s) ?? "")},
      {size: 60, values: (u, splits) => splits.map(v => chart.unit === "persons"
        ? (v / 1000).toLocaleString("en") + "k" : v.toFixed(2))},
    ],
    legend: {live: true},
    plugins: [techdepEventMarkers(events || [])],
  };
  const plot = new uPlot(opts, data, box);
  const entry = {id: chart.id, plot, chart};
  window.techdepCharts.push(entry);
  return entry;
}

// An SVG waterfall: the value without events, each event's Shapley contribution as a floating
// bar (green up, red down), and the value with every event.
function techdepWedgeChart(parent, attribution) {
  const rows = [{label: "without events", from: 0, to: attribution.without_events, total: true}];
  let running = attribution.without_events;
  for (const c of attribution.contributions) {
    rows.push({label: c.event, from: running, to: running + c.shapley, value: c.shapley});
    running += c.shapley;
  }
  rows.push({label: "with all events", from: 0, to: attribution.with_events, total: true});
  const values = rows.flatMap(r => [r.from, r.to]);
  const low = Math.min(0, ...values), high = Math.max(...values);
  const rowHeight = 22, labelWidth = 230, plotWidth = 380, top = 8;
  const x = v => labelWidth + (high === low ? 0 : (v - low) / (high - low) * plotWidth);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "wedge");
  svg.setAttribute("width", labelWidth + plotWidth + 80);
  svg.setAttribute("height", top * 2 + rows.length * rowHeight);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
    if (text !== undefined) el.textContent = text;
    svg.appendChild(el);
    return el;
  };
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    add("text", {x: labelWidth - 6, y: y + 15, "text-anchor": "end"}, row.label);
    const left = Math.min(x(row.from), x(row.to));
    const colour = row.total ? "#4a6fa5" : (row.to >= row.from ? "#2ca02c" : "#d62728");
    add("rect", {x: left, y: y + 3, width: Math.max(1, Math.abs(x(row.to) - x(row.from))),
                 height: rowHeight - 6, fill: colour, "data-event": row.label});
    const text = row.total ? techdepFormat(row.to) : (row.value >= 0 ? "+" : "") + row.value.toFixed(4);
    add("text", {x: Math.max(x(row.from), x(row.to)) + 4, y: y + 15}, text);
  });
  parent.appendChild(svg);
  return svg;
}
