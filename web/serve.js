// The classroom page: loads a scenario's sliders and baseline, runs a session on the server step
// by step and appends each step's values to the charts. The server validates every setting.
"use strict";

(function classroom() {
  const initial = JSON.parse(document.getElementById("techdep-data").textContent);
  const byId = id => document.getElementById(id);
  const state = {scenario: null, session: null, step: 0, steps: 0, running: false, values: []};

  async function call(method, url, body) {
    const response = await fetch(url, {method, headers: {"Content-Type": "application/json"},
                                       body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }

  function showError(error) { byId("error").textContent = error ? String(error.message || error) : ""; }

  function setStatus() {
    const s = state.scenario;
    byId("status").textContent = state.session
      ? `step ${state.step} of ${state.steps} (${s.dates[state.step]})${state.running ? ", running" : ""}`
      : "not set up";
    byId("step").disabled = byId("run").disabled = !state.session || state.step >= state.steps;
    byId("reset").disabled = !state.session;
    byId("run").textContent = state.running ? "Pause" : "Run";
    if (state.running) byId("run").disabled = false;
    for (const id of ["download-csv", "download-yaml"]) byId(id).hidden = !state.session;
    if (state.session) {
      byId("download-csv").href = `/api/sessions/${state.session}/timeseries.csv`;
      byId("download-yaml").href = `/api/sessions/${state.session}/scenario.yaml`;
    }
  }

  function buildSliders(sliders) {
    const box = byId("sliders");
    box.replaceChildren();
    for (const slider of sliders) {
      const div = techdepEl("div", {"class": "slider"});
      const label = techdepEl("label", {}, `${slider.path} [${slider.unit || "1"}]`);
      label.title = slider.meaning;
      const input = techdepEl("input", {type: "range", min: slider.min, max: slider.max,
        step: (slider.max - slider.min) / 100, value: slider.value, "data-path": slider.path,
        "aria-label": slider.path});
      const output = techdepEl("output", {}, String(Number(slider.value.toPrecision(6))));
      input.addEventListener("input", () => { output.textContent = input.value; });
      div.append(label, input, output);
      box.appendChild(div);
    }
  }

  function selectedSettings() {
    const settings = {};
    for (const input of byId("sliders").querySelectorAll("input[type=range]")) {
      const slider = state.scenario.sliders.find(s => s.path === input.dataset.path);
      const value = Number(input.value);
      if (Math.abs(value - slider.value) > 1e-12) settings[slider.path] = value;
    }
    return settings;
  }

  function fillSelect(select, values) {
    select.replaceChildren(...values.map(v => techdepEl("option", {value: v}, v)));
  }

  // Charts of the chosen country: those over all sectors, and those of the chosen sector.
  function drawCharts() {
    const s = state.scenario;
    window.techdepCharts.forEach(entry => entry.plot.destroy());
    window.techdepCharts.length = 0;
    byId("charts").replaceChildren();
    const country = byId("country").value, sector = byId("sector").value;
    s.charts.forEach((chart, index) => {
      if (chart.country !== country || (chart.sector && chart.sector !== sector)) return;
      const lines = chart.lines.map((line, l) => ({label: line.label, baseline: line.baseline,
        values: s.steps.map((_, step) => state.values[step] ? state.values[step][index][l] : null)}));
      const entry = techdepLineChart(byId("charts"), {...chart, lines}, s.steps, s.dates, s.events, 520);
      entry.index = index;
    });
  }

  function addPoints(points) {
    for (const point of points) state.values[point.step] = point.values;
    for (const entry of window.techdepCharts) {
      const chart = state.scenario.charts[entry.index];
      const data = [state.scenario.steps];
      chart.lines.forEach((line, l) => {
        data.push(line.baseline);
        data.push(state.scenario.steps.map((_, step) =>
          state.values[step] ? state.values[step][entry.index][l] : null));
      });
      entry.plot.setData(data);
    }
  }

  async function loadScenario(name) {
    showError(null);
    state.running = false;
    state.session = null;
    state.values = [];
    state.scenario = await call("GET", `/api/scenarios/${encodeURIComponent(name)}`);
    byId("description").textContent = state.scenario.description;
    buildSliders(state.scenario.sliders);
    fillSelect(byId("country"), [...new Set(state.scenario.charts.map(c => c.country))]);
    fillSelect(byId("sector"), [...new Set(state.scenario.charts.filter(c => c.sector).map(c => c.sector))]);
    drawCharts();
    setStatus();
  }

  async function setup() {
    showError(null);
    state.running = false;
    try {
      const reply = await call("POST", "/api/sessions",
                               {scenario: state.scenario.name, settings: selectedSettings()});
      state.session = reply.session;
      state.step = reply.step;
      state.steps = reply.steps;
      state.values = [];
      addPoints(reply.points);
    } catch (error) {
      state.session = null;
      showError(error);
    }
    setStatus();
  }

  async function step(count) {
    const reply = await call("POST", `/api/sessions/${state.session}/step`, {steps: count});
    state.step = reply.step;
    addPoints(reply.points);
    setStatus();
    return reply.finished;
  }

  async function run() {
    if (state.running) { state.running = false; setStatus(); return; }
    state.running = true;
    setStatus();
    try {
      while (state.running && state.step < state.steps) {
        const finished = await step(Number(byId("speed").value));
        if (finished) break;
        await new Promise(resolve => setTimeout(resolve, 60));
      }
    } catch (error) {
      showError(error);
    }
    state.running = false;
    setStatus();
  }

  async function reset() {
    state.running = false;
    try {
      const reply = await call("POST", `/api/sessions/${state.session}/reset`);
      state.step = 0;
      state.values = [];
      addPoints(reply.points);
    } catch (error) {
      showError(error);
    }
    setStatus();
  }

  fillSelect(byId("scenario"), initial.scenarios);
  byId("scenario").addEventListener("change", () => loadScenario(byId("scenario").value).catch(showError));
  byId("country").addEventListener("change", () => { drawCharts(); addPoints([]); });
  byId("sector").addEventListener("change", () => { drawCharts(); addPoints([]); });
  byId("setup").addEventListener("click", setup);
  byId("step").addEventListener("click", () => step(1).catch(showError));
  byId("run").addEventListener("click", run);
  byId("reset").addEventListener("click", reset);
  loadScenario(initial.scenarios[0])
    .then(() => document.body.setAttribute("data-ready", "true"))
    .catch(showError);
})();
