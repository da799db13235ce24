// Chart helpers shared by report.html and the classroom page: uPlot line charts over steps with
// date labels, optional quantile bands, a grey baseline and event markers, and an SVG wedge
// (waterfall) chart of event contributions. Every chart is registered in window.techdepCharts so
// that tests can read the data it holds.
"use strict";

window.techdepCharts = window.techdepCharts || [];
window.addEventListener("resize", () => { for (const entry of window.techdepCharts) entry.fit?.(); });

const TECHDEP_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
  "#7b4173", "#3182bd", "#e6550d"];
// One colour per label on the whole page (a country or sector keeps its colour in every chart).
const techdepColourOf = new Map();
function techdepColour(label) {
  if (!techdepColourOf.has(label)) {
    techdepColourOf.set(label, TECHDEP_COLOURS[techdepColourOf.size % TECHDEP_COLOURS.length]);
  }
  return techdepColourOf.get(label);
}
// Registers every line label of a page's charts in a stable order before anything is drawn.
function techdepAssignColours(charts) {
  const labels = new Set();
  for (const chart of charts) for (const line of chart.lines) labels.add(line.label);
  [...labels].sort().forEach(techdepColour);
}

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

// A signed contribution with three significant digits; a value that rounds to zero prints as 0.
function techdepSigned(value) {
  if (Math.abs(value) < 5e-5) return "0";
  return (value > 0 ? "+" : "\u2212") + Number(Math.abs(value).toPrecision(3)).toString();
}

// Events on the same step share one marker, numbered in date order; the numbers are drawn inside
// the plot (never over the axis or past its edges) and explained in a list under the chart.
function techdepEventGroups(events) {
  const byStep = new Map();
  for (const event of events) {
    const entry = byStep.get(event.step) || {step: event.step, ids: [], rule: true};
    entry.ids.push(event.id);
    entry.rule = entry.rule && event.kind === "rule";
    byStep.set(event.step, entry);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step).map((g, i) => ({...g, number: i + 1}));
}

function techdepEventMarkers(groups, entry) {
  return {
    hooks: {
      draw: [u => {
        const ctx = u.ctx, ratio = devicePixelRatio;
        const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
        ctx.save();
        ctx.font = `${11 * ratio}px sans-serif`;
        entry.markerBoxes = [];
        let row = 0;
        for (const group of groups) {
          const x = u.valToPos(group.step, "x", true);
          if (x < left || x > right) continue;
          ctx.strokeStyle = group.rule ? "#b35900" : "#555";
          ctx.setLineDash([4 * ratio, 3 * ratio]);
          ctx.lineWidth = ratio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          const text = String(group.number);
          const width = ctx.measureText(text).width + 6 * ratio;
          const boxLeft = Math.min(Math.max(x - width / 2, left), right - width);
          const top = u.bbox.top + (2 + 15 * (row % 3)) * ratio;
          ctx.setLineDash([]);
          ctx.fillStyle = "#fff";
          ctx.fillRect(boxLeft, top, width, 13 * ratio);
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(text, boxLeft + 3 * ratio, top + 10.5 * ratio);
          entry.markerBoxes.push({left: boxLeft / ratio, right: (boxLeft + width) / ratio,
                                  plotLeft: left / ratio, plotRight: right / ratio});
          row += 1;
        }
        ctx.restore();
      }],
    },
  };
}

function techdepChartWidth(parent) {
  return Math.max(240, Math.min(560, (parent.clientWidth || 560) - 4));
}

// Shares live in [0, 1]: the axis never runs past 1 (uPlot pads a flat line at 1 up to 2) and
// starts at 0 unless a value is below it.
function techdepShareRange(u, min, max) {
  if (min === null || max === null) return [0, 1];
  const low = Math.min(0, min);
  let high = max > low ? max + 0.05 * (max - low) : low + 1;
  if (max <= 1) high = Math.min(1, high);
  return [low, high];
}

// The chart's values as a table (its text alternative), made when the reader opens it.
function techdepValuesTable(entry, dates) {
  const u = entry.plot;
  const table = techdepEl("table", {"class": "values"});
  const head = techdepEl("tr");
  head.appendChild(techdepEl("th", {scope: "col"}, "date"));
  const shown = u.series.map((s, i) => i).filter(i => i > 0 && !entry.hidden.has(i));
  for (const i of shown) head.appendChild(techdepEl("th", {scope: "col"}, u.series[i].label));
  table.appendChild(techdepEl("thead")).appendChild(head);
  const body = table.appendChild(techdepEl("tbody"));
  u.data[0].forEach((step, p) => {
    if (shown.every(i => u.data[i][p] === null || u.data[i][p] === undefined)) return;
    const row = techdepEl("tr");
    row.appendChild(techdepEl("th", {scope: "row"}, dates[p] ?? String(step)));
    for (const i of shown) row.appendChild(techdepEl("td", {}, techdepFormat(u.data[i][p], entry.chart.unit)));
    body.appendChild(row);
  });
  return table;
}

// chart: {id, title, unit, lines: [{label, values, centre?, band?: {low, high}, baseline?}]}
// steps: x values (step numbers); dates: their labels; values may be shorter than steps or hold
// nulls (the classroom page fills them as the run advances). options.baselineLabel names the
// dashed line (default "baseline").
function techdepLineChart(parent, chart, steps, dates, events, options) {
  options = options || {};
  const box = techdepEl("figure", {"class": "chart", "data-chart-id": chart.id});
  const caption = techdepEl("figcaption", {id: `caption-${chart.id}`}, `${chart.title} [${chart.unit}]`);
  box.appendChild(caption);
  parent.appendChild(box);
  const dateOf = new Map(steps.map((step, i) => [step, dates[i]]));
  const series = [{}];
  const data = [steps];
  const bands = [];
  const hidden = new Set();  // band edges: drawn as fills, kept out of the legend and the table
  const baselineLabel = options.baselineLabel || "baseline";
  // A label keeps its page colour unless another line of this chart already has it (the palette
  // is shorter than the labels of a large page): then the first colour the chart does not use.
  const usedColours = new Set();
  chart.lines.forEach(line => {
    let colour = techdepColour(line.label);
    if (usedColours.has(colour)) {
      colour = TECHDEP_COLOURS.find(c => !usedColours.has(c)) || colour;
    }
    usedColours.add(colour);
    if (line.baseline) {
      series.push({label: `${line.label} (${baselineLabel})`, stroke: colour + "99", width: 1.5,
                   dash: [6, 4], value: (u, v) => techdepFormat(v, chart.unit)});
      data.push(line.baseline);
    }
    if (line.band) {
      const high = series.length;
      for (const [name, values] of [["p95", line.band.high], ["p05", line.band.low]]) {
        hidden.add(series.length);
        series.push({label: `${line.label} ${name}`, stroke: "transparent", points: {show: false}});
        data.push(values);
      }
      bands.push({series: [high, high + 1], fill: colour + "22"});
      if (line.band.inner_high) {
        const inner = series.length;
        for (const [name, values] of [["p75", line.band.inner_high], ["p25", line.band.inner_low]]) {
          hidden.add(series.length);
          series.push({label: `${line.label} ${name}`, stroke: "transparent", points: {show: false}});
          data.push(values);
        }
        bands.push({series: [inner, inner + 1], fill: colour + "44"});
      }
    }
    series.push({label: line.band ? `${line.label} (mean)` : line.label, stroke: colour, width: 2,
                 value: (u, v) => techdepFormat(v, chart.unit)});
    data.push(line.centre || line.values);
  });
  const groups = techdepEventGroups(events || []);
  const entry = {id: chart.id, chart, hidden, markerBoxes: []};
  const opts = {
    width: techdepChartWidth(parent),
    height: 260,
    series,
    bands,
    scales: {x: {time: false}, y: chart.unit === "share" ? {range: techdepShareRange} : {}},
    axes: [
      {values: (u, splits) => splits.map(s => dateOf.get(s) ?? "")},
      {size: 60, values: (u, splits) => splits.map(v => chart.unit === "persons"
        ? (v / 1000).toLocaleString("en") + "k" : v.toFixed(2))},
    ],
    legend: {live: true},
    plugins: [techdepEventMarkers(groups, entry)],
  };
  const plot = new uPlot(opts, data, box);
  entry.plot = plot;
  // Band edges have no line to show in the legend.
  const rows = plot.root.querySelectorAll(".u-legend .u-series");
  for (const index of hidden) if (rows[index]) rows[index].style.display = "none";
  const canvas = plot.root.querySelector("canvas");
  if (canvas) {
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${chart.title}: a line chart; its values are in the table below`);
  }
  if (groups.length > 0) {
    const list = techdepEl("ol", {"class": "event-key"});
    for (const group of groups) {
      list.appendChild(techdepEl("li", {value: group.number},
                                 `${dates[steps.indexOf(group.step)] ?? "step " + group.step}: ${group.ids.join(", ")}`));
    }
    box.appendChild(list);
  }
  const details = techdepEl("details", {"class": "values"});
  details.appendChild(techdepEl("summary", {}, "Values as a table"));
  details.addEventListener("toggle", () => {
    details.querySelector("table")?.remove();
    if (details.open) details.appendChild(techdepValuesTable(entry, dates));
  });
  box.appendChild(details);
  entry.refreshTable = () => {
    if (!details.open) return;
    details.querySelector("table")?.remove();
    details.appendChild(techdepValuesTable(entry, dates));
  };
  // Charts follow their container: a phone gets a narrower chart, not a page wider than itself.
  // A resize of the window reaches every chart, also those in a closed <details>, which a
  // ResizeObserver does not see.
  let width = opts.width;
  entry.fit = () => {
    const next = techdepChartWidth(parent);
    if (next !== width) { width = next; plot.setSize({width, height: 260}); }
  };
  if (window.ResizeObserver) {
    entry.observer = new ResizeObserver(entry.fit);
    entry.observer.observe(parent);
  }
  entry.destroy = () => { entry.observer?.disconnect(); plot.destroy(); };
  window.techdepCharts.push(entry);
  return entry;
}

// An SVG waterfall: the value without events, each event's Shapley contribution as a floating
// bar (green up, red down), and the value with every event, over an axis in the metric's unit.
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
  const width = Math.max(300, Math.min(700, (parent.clientWidth || 700) - 4));
  const labelWidth = Math.min(230, Math.round(width * 0.38)), plotWidth = width - labelWidth - 70;
  const rowHeight = 22, top = 8, axisHeight = 36;
  const x = v => labelWidth + (high === low ? 0 : (v - low) / (high - low) * plotWidth);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "wedge");
  const height = top + rows.length * rowHeight + axisHeight;
  // Scales down with its container (a phone) instead of widening the page.
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.style.maxWidth = "100%";
  svg.style.height = "auto";
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${attribution.label}: ` + rows.map(r => `${r.label} ${
    r.total ? techdepFormat(r.to) : techdepSigned(r.value)}`).join("; "));
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
    const text = row.total ? techdepFormat(row.to) : techdepSigned(row.value);
    add("text", {x: Math.max(x(row.from), x(row.to)) + 4, y: y + 15}, text);
  });
  // The axis: ticks at round values, and the unit.
  const axisY = top + rows.length * rowHeight + 4;
  add("line", {x1: x(low), x2: x(high), y1: axisY, y2: axisY, stroke: "#555", "class": "axis"});
  const span = high - low || 1, raw = span / 4, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const tick = [1, 2, 5, 10].map(m => m * power).find(t => t >= raw);
  for (let v = Math.ceil(low / tick) * tick; v <= high + 1e-12; v += tick) {
    add("line", {x1: x(v), x2: x(v), y1: axisY, y2: axisY + 4, stroke: "#555"});
    add("text", {x: x(v), y: axisY + 16, "text-anchor": "middle", "class": "tick"},
        Number(v.toPrecision(6)).toString());
  }
  add("text", {x: labelWidth + plotWidth / 2, y: axisY + 31, "text-anchor": "middle", "class": "unit"},
      attribution.unit ? `${attribution.label} [${attribution.unit}]` : attribution.label || "");
  parent.appendChild(svg);
  return svg;
}
