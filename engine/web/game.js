// The sanctions game page: open or join a room, set your role's levers each turn, watch the
// shared world, read the debrief. The server keeps the game; this page only shows it and polls.
"use strict";

(function game() {
  const initial = JSON.parse(document.getElementById("techdep-data").textContent);
  const byId = id => document.getElementById(id);
  const STORE = "techdep.game";
  const state = {code: null, player: null, teacher: null, room: null, scenario: null, drawn: "",
                 pendingName: "", values: [], valuesCode: null};

  async function call(method, url, body) {
    const response = await fetch(url, {method, headers: {"Content-Type": "application/json"},
                                       body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }
  const showError = error => { byId("error").textContent = error ? String(error.message || error) : ""; };
  const status = text => { byId("status").textContent = text; };
  const remember = () => localStorage.setItem(STORE, JSON.stringify(
    {code: state.code, player: state.player, teacher: state.teacher}));

  function fillSelect(select, values) {
    const chosen = select.value;
    select.replaceChildren(...values.map(v => techdepEl("option", {value: v}, v)));
    if (values.includes(chosen)) select.value = chosen;
  }

  // Polls ask only for the steps the page does not hold yet (earlier steps never change).
  async function fetchRoom() {
    const query = new URLSearchParams();
    if (state.player) query.set("player", state.player);
    if (state.teacher) query.set("teacher", state.teacher);
    if (state.values && state.valuesCode === state.code) query.set("from", String(state.values.length));
    const room = await call("GET", `/api/rooms/${state.code}?${query}`);
    if (state.valuesCode !== state.code) { state.values = []; state.valuesCode = state.code; }
    for (const point of room.points) state.values[point.step] = point.values;
    return room;
  }

  function myRole() { return state.room?.you?.role || null; }

  function leverControl(lever, disabled) {
    const div = techdepEl("div", {"class": "control"});
    const id = `lever-${lever.id}`;
    div.appendChild(techdepEl("label", {for: id}, lever.label));
    div.appendChild(techdepEl("p", {"class": "help", id: `${id}-help`},
                              `${lever.help} Scenario value ${lever.default}.${lever.over ? " (over: this event has ended)" : ""}`));
    const row = techdepEl("div", {"class": "control-row"});
    const range = techdepEl("input", {type: "range", id, min: lever.min, max: lever.max, step: "any",
                                      value: lever.value, "data-lever": lever.id, "aria-describedby": `${id}-help`});
    const number = techdepEl("input", {type: "number", min: lever.min, max: lever.max, step: "any",
                                       value: lever.value, "aria-label": `${lever.label}, exact value`});
    range.addEventListener("input", () => {
      range.value = String(Math.round(Number(range.value) / lever.step) * lever.step);
      number.value = String(Number(Number(range.value).toPrecision(6)));
    });
    number.addEventListener("change", () => { range.value = number.value; });
    if (disabled || lever.over) { range.disabled = true; number.disabled = true; }
    row.append(range, number);
    div.appendChild(row);
    return div;
  }

  function renderRoles() {
    const room = state.room;
    const box = byId("roles");
    // Keep a student's half-set levers: rebuild the role cards only when the turn or the
    // submissions change.
    const signature = JSON.stringify([room.turn, room.finished, myRole(),
      room.roles.map(r => [r.id, r.submitted, r.players, r.score])]);
    if (signature === state.drawn) return;
    state.drawn = signature;
    box.replaceChildren();
    for (const role of room.roles) {
      const mine = role.id === myRole();
      const card = techdepEl("section", {"class": mine ? "role mine" : "role", "data-role": role.id,
                                         "aria-label": `${role.name}${mine ? " (your role)" : ""}`});
      card.appendChild(techdepEl("h4", {}, `${role.name}${mine ? " (you)" : ""}`));
      card.appendChild(techdepEl("p", {"class": "help"}, role.goal));
      card.appendChild(techdepEl("p", {}, `Score ${role.score.toFixed(1)}` +
        (role.history.length > 1 ? ` (turn by turn: ${role.history.map(v => v.toFixed(1)).join(", ")})` : "")));
      card.appendChild(techdepEl("p", {"class": "muted"},
        `Players: ${role.players.length ? role.players.join(", ") : "none"}; ` +
        (room.finished ? "game over" : role.submitted ? "submitted this turn" : "not submitted yet")));
      if (mine && !room.finished) {
        const form = techdepEl("form", {"class": "levers"});
        for (const lever of role.levers) form.appendChild(leverControl(lever, false));
        const submit = techdepEl("button", {type: "submit"}, role.submitted ? "Change my move" : "Submit my move");
        form.appendChild(submit);
        form.addEventListener("submit", event => { event.preventDefault(); submitMove(form).catch(showError); });
        card.appendChild(form);
      } else {
        const list = techdepEl("ul", {"class": "help"});
        for (const lever of role.levers) list.appendChild(techdepEl("li", {}, `${lever.label}: ${Number(lever.value.toPrecision(4))}`));
        card.appendChild(list);
      }
      box.appendChild(card);
    }
  }

  async function submitMove(form) {
    showError(null);
    const levers = {};
    for (const input of form.querySelectorAll("input[data-lever]")) {
      if (!input.disabled) levers[input.dataset.lever] = Number(input.value);
    }
    const reply = await call("POST", `/api/rooms/${state.code}/submit`, {player: state.player, levers});
    status(reply.stepped ? `Everyone has moved: the world is now at turn ${reply.turn}.`
                         : "Move submitted; waiting for the other roles (or the teacher).");
    await refresh();
  }

  function renderCharts() {
    const room = state.room, scenario = state.scenario;
    const country = byId("country").value, sector = byId("sector").value;
    const key = `${country}|${sector}`;
    if (state.chartKey !== key) {
      state.chartKey = key;
      window.techdepCharts.forEach(entry => entry.destroy());
      window.techdepCharts.length = 0;
      byId("charts").replaceChildren();
      scenario.charts.forEach((chart, index) => {
        if (chart.country !== country || (chart.sector && chart.sector !== sector)) return;
        const lines = chart.lines.map(line => ({label: line.label, baseline: line.baseline, values: []}));
        const entry = techdepLineChart(byId("charts"), {...chart, lines}, scenario.steps, scenario.dates,
                                       scenario.events, {baselineLabel: "as written"});
        entry.index = index;
      });
    }
    const values = state.values;
    for (const entry of window.techdepCharts) {
      const chart = scenario.charts[entry.index];
      const data = [scenario.steps];
      chart.lines.forEach((line, l) => {
        data.push(line.baseline, scenario.steps.map((_, s) => values[s] ? values[s][entry.index][l] : null));
      });
      entry.plot.setData(data);
      entry.refreshTable();
    }
  }

  function renderDebrief() {
    const debrief = state.room.debrief;
    byId("debrief").hidden = !debrief;
    if (!debrief) return;
    const roles = state.room.roles;
    const table = byId("debrief-table");
    table.replaceChildren();
    const head = techdepEl("tr");
    for (const title of ["outcome", "scenario as written", "this class", ...roles.map(r => `${r.name}'s moves`)]) {
      head.appendChild(techdepEl("th", {scope: "col"}, title));
    }
    table.appendChild(techdepEl("thead")).appendChild(head);
    const body = table.appendChild(techdepEl("tbody"));
    for (const metric of debrief.metrics) {
      const row = techdepEl("tr");
      row.appendChild(techdepEl("th", {scope: "row"}, metric.label));
      row.appendChild(techdepEl("td", {}, Number(metric.historical.toPrecision(4)).toString()));
      row.appendChild(techdepEl("td", {}, Number(metric.class.toPrecision(4)).toString()));
      for (const role of roles) row.appendChild(techdepEl("td", {}, techdepSigned(metric.by_role[role.id])));
      body.appendChild(row);
    }
    const headline = debrief.metrics[0];
    const top = roles.map(r => ({name: r.name, value: headline.by_role[r.id]}))
      .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))[0];
    byId("debrief-text").textContent =
      `${headline.label}: ${Number(headline.class.toPrecision(3))} in this class's world against ` +
      `${Number(headline.historical.toPrecision(3))} in the scenario as written. ` +
      (top ? `The moves of ${top.name} account for the largest part (${techdepSigned(top.value)}). ` : "") +
      `Each role's column is its share of the difference (${debrief.method}); a row's shares add up ` +
      `to "this class" minus "scenario as written".`;
  }

  async function refresh() {
    if (!state.code) return;
    state.room = await fetchRoom();
    const room = state.room;
    if (!state.scenario || state.scenario.name !== room.scenario) {
      state.scenario = await call("GET", `/api/scenarios/${encodeURIComponent(room.scenario)}`);
      techdepAssignColours(state.scenario.charts);
      fillSelect(byId("country"), [...new Set(state.scenario.charts.map(c => c.country))]);
      fillSelect(byId("sector"), [...new Set(state.scenario.charts.filter(c => c.sector).map(c => c.sector))]);
      const target = room.roles.find(r => r.id !== "coalition");
      if (target && [...byId("country").options].some(o => o.value === target.id)) byId("country").value = target.id;
    }
    byId("lobby").hidden = !!room.you || !!room.teacher;
    byId("room").hidden = !(room.you || room.teacher);
    byId("room-code").textContent = room.code;
    byId("room-turn").textContent = room.finished
      ? `game over at ${room.date}`
      : `turn ${room.turn + 1} of ${room.turns}, the world at ${room.date}`;
    byId("teacher").hidden = !room.teacher;
    byId("teacher-key").textContent = state.teacher || "";
    byId("advance").disabled = room.finished;
    byId("download-game").href = `/api/rooms/${room.code}/game.yaml`;
    if (room.you || room.teacher) {
      renderRoles();
      renderCharts();
      renderDebrief();
    }
    document.body.setAttribute("data-turn", String(room.turn));
    document.body.setAttribute("data-finished", String(room.finished));
  }

  async function findRoom(event) {
    event.preventDefault();
    showError(null);
    state.code = byId("join-code").value.trim().toUpperCase();
    state.pendingName = byId("join-name").value.trim();
    state.player = null;
    const room = await fetchRoom();
    const buttons = byId("role-buttons");
    buttons.replaceChildren();
    for (const role of room.roles) {
      const button = techdepEl("button", {type: "button", "data-role": role.id},
                               `${role.name} (${role.players.length} playing)`);
      button.title = role.goal;
      button.addEventListener("click", () => join(role.id).catch(showError));
      buttons.appendChild(button);
    }
    byId("role-choice").hidden = false;
    status(`Room ${room.code}: ${room.scenario}, ${room.turns} turns. Pick a role.`);
  }

  async function join(role) {
    const reply = await call("POST", `/api/rooms/${state.code}/join`, {name: state.pendingName, role});
    state.player = reply.player;
    remember();
    state.drawn = "";
    await refresh();
    status(`You play ${state.room.roles.find(r => r.id === role).name} in room ${state.code}.`);
  }

  async function openRoom(event) {
    event.preventDefault();
    showError(null);
    const body = {scenario: byId("open-scenario").value, turn: byId("open-turn").value};
    if (byId("open-turns").value) body.turns = Number(byId("open-turns").value);
    const reply = await call("POST", "/api/rooms", body);
    state.code = reply.code;
    state.teacher = reply.teacher_key;
    state.player = null;
    remember();
    await refresh();
    status(`Room ${reply.code} is open: students join at ${location.origin}/game with the code ${reply.code}.`);
  }

  async function advance() {
    showError(null);
    const reply = await call("POST", `/api/rooms/${state.code}/advance`, {teacher_key: state.teacher});
    await refresh();
    status(state.room.finished ? "The game is over: read the debrief." : `The world moved to turn ${reply.turn + 1}.`);
  }

  // The server may still be loading scenarios when this page opens: fill the list when they are.
  async function fillScenarios() {
    for (;;) {
      const list = await call("GET", "/api/scenarios");
      fillSelect(byId("open-scenario"), list.filter(item => item.status === "ready").map(item => item.name));
      if (!list.some(item => item.status === "loading")) return;
      await new Promise(resolve => setTimeout(resolve, 500));
    }
  }
  fillSelect(byId("open-scenario"), initial.scenarios);
  fillScenarios().catch(showError);
  byId("join-form").addEventListener("submit", event => findRoom(event).catch(showError));
  byId("open-form").addEventListener("submit", event => openRoom(event).catch(showError));
  byId("advance").addEventListener("click", () => advance().catch(showError));
  byId("country").addEventListener("change", () => renderCharts());
  byId("sector").addEventListener("change", () => renderCharts());
  byId("leave").addEventListener("click", () => {
    localStorage.removeItem(STORE);
    location.reload();
  });

  // A reloaded page (or a restarted server) finds the room and the player again.
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(STORE) || "null"); } catch { saved = null; }
  const start = saved && saved.code
    ? (Object.assign(state, saved), refresh().then(() => status(`Back in room ${state.code}.`)))
    : Promise.resolve();
  start.catch(showError).finally(() => {
    document.body.setAttribute("data-ready", "true");
    // A failed poll (the server restarting) shows its error until a poll succeeds again.
    let pollFailed = false;
    setInterval(() => {
      refresh().then(() => { if (pollFailed) showError(null); pollFailed = false; })
        .catch(error => { pollFailed = true; showError(error); });
    }, 1500);
  });
})();
