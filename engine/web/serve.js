// The classroom page: loads a scenario's controls and baseline, runs a session on the server step
// by step and appends each step's values to the charts. The server validates every setting.
// Only controls the student changed are sent, so an untouched run is the baseline exactly.
"use strict";

(function classroom() {
  const initial = JSON.parse(document.getElementById("techdep-data").textContent);
  const byId = id => document.getElementById(id);
  const STORE = "techdep.classroom";
  const state = {scenario: null, session: null, step: 0, steps: 0, running: false, settingUp: false,
                 values: [], settings: {}, runs: [], message: ""};

  async function call(method, url, body) {
    const response = await fetch(url, {method, headers: {"Content-Type": "application/json"},
                                       body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await response.json();
    if (!response.ok) {
      const error = new Error(data.error || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function showError(error) { byId("error").textContent = error ? String(error.message || error) : ""; }
  const short = v => String(Number(Number(v).toPrecision(6)));

  function remember() {
    localStorage.setItem(STORE, JSON.stringify({scenario: state.scenario?.name, session: state.session,
                                                controls: currentSettings()}));
  }

  function setStatus(message) {
    if (message !== undefined) state.message = message;
    const s = state.scenario;
    const where = state.settingUp ? "setting up"
      : state.session ? `step ${state.step} of ${state.steps} (${s.dates[state.step]})${state.running ? ", running" : ""}`
      : "not set up";
    byId("status").textContent = state.message ? `${where}. ${state.message}` : where;
    // Until a Setup's reply arrives, Step and Run would advance the session it is replacing.
    byId("step").disabled = byId("run").disabled = state.settingUp || !state.session || state.step >= state.steps;
    byId("setup").disabled = state.settingUp;
    byId("reset").disabled = state.settingUp || !state.session;
    byId("keep").disabled = !state.session;
    byId("run").textContent = state.running ? "Pause" : "Run";
    if (state.running) byId("run").disabled = false;
    for (const id of ["download-csv", "download-yaml"]) byId(id).hidden = !state.session;
    if (state.session) {
      byId("download-csv").href = `/api/sessions/${state.session}/timeseries.csv`;
      byId("download-yaml").href = `/api/sessions/${state.session}/scenario.yaml`;
    }
  }

  // One control: plain name, explanation, slider and number field, default and its own reset.
  function buildControl(slider) {
    const div = techdepEl("div", {"class": "control", "data-control": slider.path});
    const id = `control-${slider.path.replace(/[^a-zA-Z0-9]+/g, "-")}`;
    const label = techdepEl("label", {for: id}, slider.label || slider.path);
    const help = techdepEl("p", {"class": "help", id: `${id}-help`},
                           `${slider.meaning}${slider.unit ? ` [${slider.unit}]` : ""}. Default ${short(slider.value)}; --set ${slider.path}`);
    // step "any": the scenario's own value (0.026) is kept as it is, never snapped to the grid;
    // the slider snaps only what the student drags.
    const range = techdepEl("input", {type: "range", id, min: slider.min, max: slider.max, step: "any",
      "data-path": slider.path, "aria-describedby": `${id}-help`});
    const number = techdepEl("input", {type: "number", min: slider.min, max: slider.max, step: "any",
      "aria-label": `${slider.label || slider.path}, exact value`, "data-number": slider.path});
    const reset = techdepEl("button", {type: "button", "class": "reset-one",
      "aria-label": `Reset ${slider.label || slider.path} to its default`}, "default");
    const set = value => {
      range.value = String(value);
      number.value = short(value);
      const changed = Math.abs(Number(value) - slider.value) > 1e-12;
      div.classList.toggle("changed", changed);
      reset.disabled = !changed;
    };
    range.addEventListener("input", () => {
      const snapped = Math.round((Number(range.value) - slider.min) / slider.step) * slider.step + slider.min;
      set(short(Math.min(slider.max, Math.max(slider.min, snapped))));
      remember();
    });
    number.addEventListener("change", () => { if (number.value !== "") set(number.value); remember(); });
    reset.addEventListener("click", () => { set(slider.value); remember(); });
    div.set = set;
    set(slider.value);
    const row = techdepEl("div", {"class": "control-row"});
    row.append(range, number, reset);
    div.append(label, help, row);
    return div;
  }

  function buildControls(sliders) {
    const box = byId("sliders");
    box.replaceChildren();
    const groups = new Map();
    for (const slider of sliders) {
      if (!groups.has(slider.group)) groups.set(slider.group, []);
      groups.get(slider.group).push(slider);
    }
    for (const [group, members] of groups) {
      const fieldset = techdepEl("fieldset", {"class": "group"});
      fieldset.appendChild(techdepEl("legend", {}, group || "Other"));
      for (const slider of members) fieldset.appendChild(buildControl(slider));
      box.appendChild(fieldset);
    }
  }

  function controlOf(path) { return byId("sliders").querySelector(`[data-control="${CSS.escape(path)}"]`); }

  // Only the controls whose value differs from the scenario's own.
  function currentSettings() {
    const settings = {};
    if (!state.scenario) return settings;
    for (const slider of state.scenario.sliders) {
      // The number field holds the exact value (a range input clamps to its own ends; the server,
      // not the page, decides what is out of range).
      const input = byId("sliders").querySelector(`input[data-number="${CSS.escape(slider.path)}"]`);
      const value = Number(input.value);
      if (Math.abs(value - slider.value) > 1e-12) settings[slider.path] = value;
    }
    return settings;
  }

  function applySettings(settings) {
    for (const slider of state.scenario.sliders) {
      const control = controlOf(slider.path);
      if (control) control.set(slider.path in settings ? settings[slider.path] : slider.value);
    }
  }

  function fillSelect(select, values) {
    select.replaceChildren(...values.map(v => techdepEl("option", {value: v}, v)));
  }

  function comparison() {
    const chosen = byId("compare").value;
    if (chosen === "baseline") return null;
    return state.runs[Number(chosen)] || null;
  }

  function seriesOf(values, index, l) {
    return state.scenario.steps.map((_, step) => values[step] ? values[step][index][l] : null);
  }

  // Charts of the chosen country: those over all sectors, and those of the chosen sector.
  function drawCharts() {
    const s = state.scenario;
    window.techdepCharts.forEach(entry => entry.destroy());
    window.techdepCharts.length = 0;
    byId("charts").replaceChildren();
    const country = byId("country").value, sector = byId("sector").value;
    const other = comparison();
    s.charts.forEach((chart, index) => {
      if (chart.country !== country || (chart.sector && chart.sector !== sector)) return;
      const lines = chart.lines.map((line, l) => ({label: line.label,
        baseline: other ? seriesOf(other.values, index, l) : line.baseline,
        values: seriesOf(state.values, index, l)}));
      const entry = techdepLineChart(byId("charts"), {...chart, lines}, s.steps, s.dates, s.events,
                                     {baselineLabel: other ? other.name : "baseline"});
      entry.index = index;
    });
    addPoints([]);
  }

  function addPoints(points) {
    for (const point of points) state.values[point.step] = point.values;
    const other = comparison();
    const differences = [];
    for (const entry of window.techdepCharts) {
      const chart = state.scenario.charts[entry.index];
      const data = [state.scenario.steps];
      chart.lines.forEach((line, l) => {
        const reference = other ? seriesOf(other.values, entry.index, l) : line.baseline;
        const current = seriesOf(state.values, entry.index, l);
        data.push(reference, current);
        const at = state.step;
        if (current[at] !== null && current[at] !== undefined && reference[at] !== null && reference[at] !== undefined) {
          const gap = current[at] - reference[at];
          if (Math.abs(gap) >= 5e-4) differences.push({text: `${chart.title}, ${line.label}: ${techdepFormat(current[at], chart.unit)} vs ${techdepFormat(reference[at], chart.unit)} (${techdepSigned(gap)})`, size: Math.abs(gap)});
        }
      });
      entry.plot.setData(data);
      entry.refreshTable();
    }
    differences.sort((a, b) => b.size - a.size);
    byId("difference").textContent = state.session
      ? (differences.length === 0
          ? `At ${state.scenario.dates[state.step]} this run equals ${other ? other.name : "the scenario as written"} on the charts shown.`
          : `Largest differences at ${state.scenario.dates[state.step]} from ${other ? other.name : "the scenario as written"}: ` +
            differences.slice(0, 3).map(d => d.text).join("; ") + ".")
      : "";
  }

  async function loadScenario(name) {
    showError(null);
    state.running = false;
    state.session = null;
    state.values = [];
    state.runs = [];
    for (;;) {
      try {
        state.scenario = await call("GET", `/api/scenarios/${encodeURIComponent(name)}`);
        break;
      } catch (error) {
        if (error.status !== 503) throw error;  // still loading on the server: wait
        setStatus("the server is still loading this scenario");
        await new Promise(resolve => setTimeout(resolve, 500));
      }
    }
    byId("scenario").value = name;
    byId("description").textContent = state.scenario.description;
    techdepAssignColours(state.scenario.charts);
    buildControls(state.scenario.sliders);
    fillSelect(byId("country"), [...new Set(state.scenario.charts.map(c => c.country))]);
    fillSelect(byId("sector"), [...new Set(state.scenario.charts.filter(c => c.sector).map(c => c.sector))]);
    fillCompare();
    drawCharts();
    setStatus("");
  }

  function fillCompare() {
    const select = byId("compare");
    const chosen = select.value;
    select.replaceChildren(techdepEl("option", {value: "baseline"}, "the scenario as written"),
      ...state.runs.map((run, i) => techdepEl("option", {value: String(i)}, run.name)));
    if ([...select.options].some(o => o.value === chosen)) select.value = chosen;
  }

  function describe(settings) {
    const count = Object.keys(settings).length;
    return count === 0 ? "the scenario as written" : `${count} changed control${count > 1 ? "s" : ""}`;
  }

  async function setup(message) {
    if (state.settingUp) return;
    showError(null);
    state.running = false;
    state.settingUp = true;
    setStatus("");
    const settings = currentSettings();
    try {
      const body = {scenario: state.scenario.name, settings};
      if (state.session) body.replaces = state.session;
      const reply = await call("POST", "/api/sessions", body);
      state.session = reply.session;
      state.settings = reply.settings;
      state.step = reply.step;
      state.steps = reply.steps;
      state.values = [];
      addPoints(reply.points);
      remember();
      state.settingUp = false;
      setStatus(`${message || "Set up"} with ${describe(settings)}.`);
    } catch (error) {
      state.session = null;
      state.settingUp = false;
      showError(error);
      setStatus("");
    }
  }

  // Returns whether the run should stop: it reached its end, or a Setup replaced its session
  // while the step was on its way (that reply belongs to a run the page no longer shows).
  async function step(count) {
    if (state.settingUp || !state.session) return true;
    const session = state.session;
    const replaced = () => state.settingUp || session !== state.session;
    let reply;
    try {
      reply = await call("POST", `/api/sessions/${session}/step`, {steps: count});
    } catch (error) {
      if (replaced()) return true;  // the new session removed this one on the server
      throw error;
    }
    if (replaced()) return true;
    state.step = reply.step;
    addPoints(reply.points);
    setStatus(reply.finished ? "The run has reached its end." : "");
    return reply.finished;
  }

  async function run() {
    if (state.running) { state.running = false; setStatus("Paused."); return; }
    state.running = true;
    setStatus("");
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

  function keepRun() {
    const number = state.runs.length + 1;
    state.runs.push({name: `run ${number} (${describe(state.settings)}, to ${state.scenario.dates[state.step]})`,
                     values: state.values.slice()});
    // Kept runs last as long as the browser tab (a reload keeps them); too large ones only in memory.
    try {
      sessionStorage.setItem(`${STORE}.runs`, JSON.stringify({scenario: state.scenario.name, runs: state.runs}));
    } catch { /* over the storage quota */ }
    fillCompare();
    setStatus(`Kept as run ${number}; choose it under "Compare with".`);
  }

  function settingsLink() {
    const url = new URL(location.href);
    url.search = "";
    url.searchParams.set("scenario", state.scenario.name);
    for (const [path, value] of Object.entries(currentSettings())) url.searchParams.append("set", `${path}=${value}`);
    return url.href;
  }

  // A reloaded page finds its session (and its controls) again; a link restores settings.
  async function restore() {
    const params = new URLSearchParams(location.search);
    if (params.has("scenario") && initial.scenarios.includes(params.get("scenario"))) {
      await loadScenario(params.get("scenario"));
      const settings = {};
      for (const item of params.getAll("set")) {
        const at = item.lastIndexOf("=");
        settings[item.slice(0, at)] = Number(item.slice(at + 1));
      }
      applySettings(settings);
      setStatus("Controls restored from the link; press Setup.");
      return;
    }
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch { saved = null; }
    if (!saved || !initial.scenarios.includes(saved.scenario)) {
      await loadScenario(initial.scenarios[0]);
      return;
    }
    await loadScenario(saved.scenario);
    applySettings(saved.controls || {});
    try {
      const kept = JSON.parse(sessionStorage.getItem(`${STORE}.runs`) || "null");
      if (kept && kept.scenario === saved.scenario) { state.runs = kept.runs; fillCompare(); }
    } catch { state.runs = []; }
    if (!saved.session) return;
    try {
      const reply = await call("GET", `/api/sessions/${saved.session}`);
      state.session = saved.session;
      state.settings = reply.settings;
      state.step = reply.step;
      state.steps = reply.steps;
      addPoints(reply.points);
      setStatus("Your run is back as you left it.");
    } catch {
      setStatus("Your previous run has expired on the server; press Setup to start again.");
    }
  }

  // The server loads scenarios behind an open port: wait for the list, name any that failed.
  async function waitForScenarios() {
    for (;;) {
      const list = await call("GET", "/api/scenarios");
      const ready = list.filter(item => item.status === "ready").map(item => item.name);
      if (!list.some(item => item.status === "loading") || ready.length > 0) {
        initial.scenarios = ready;
        const chosen = byId("scenario").value;
        fillSelect(byId("scenario"), ready);
        if (ready.includes(chosen)) byId("scenario").value = chosen;
        const failed = list.filter(item => item.status === "failed");
        if (failed.length > 0) showError(failed.map(item => `${item.file}: ${item.error}`).join("\n"));
        if (list.some(item => item.status === "loading")) setTimeout(() => waitForScenarios().catch(showError), 1000);
        return;
      }
      byId("status").textContent = `loading scenarios (${ready.length} of ${list.length})`;
      await new Promise(resolve => setTimeout(resolve, 400));
    }
  }

  fillSelect(byId("scenario"), initial.scenarios);
  byId("scenario").addEventListener("change", () => loadScenario(byId("scenario").value).then(remember).catch(showError));
  byId("country").addEventListener("change", drawCharts);
  byId("sector").addEventListener("change", drawCharts);
  byId("compare").addEventListener("change", drawCharts);
  byId("setup").addEventListener("click", () => setup());
  byId("step").addEventListener("click", () => step(1).catch(showError));
  byId("run").addEventListener("click", run);
  byId("reset").addEventListener("click", () => setup("Restarted from the beginning"));
  byId("keep").addEventListener("click", keepRun);
  byId("defaults").addEventListener("click", () => {
    applySettings({});
    remember();
    setStatus("Every control is back at its default; press Setup or Restart to run with them.");
  });
  // A scenario file (a download from this page, say) added to the list for this server.
  byId("upload").addEventListener("change", async () => {
    const file = byId("upload").files[0];
    if (!file) return;
    showError(null);
    try {
      const response = await fetch("/api/scenarios", {method: "POST", body: await file.text()});
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
      initial.scenarios.push(data.name);
      fillSelect(byId("scenario"), initial.scenarios);
      await loadScenario(data.name);
      remember();
      setStatus(`Added ${data.name} from ${file.name}.`);
    } catch (error) {
      showError(error);
    }
    byId("upload").value = "";
  });
  byId("copy-link").addEventListener("click", () => {
    const link = settingsLink();
    byId("link").replaceChildren(techdepEl("a", {href: link}, link));
    navigator.clipboard?.writeText(link).catch(() => {});
  });
  waitForScenarios()
    .then(restore)
    .then(() => document.body.setAttribute("data-ready", "true"))
    .catch(showError);
})();
