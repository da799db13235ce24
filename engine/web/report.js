// Renders report.html from the JSON the techdep binary embedded in it; nothing is fetched.
"use strict";

(function renderReport() {
  const data = JSON.parse(document.getElementById("techdep-data").textContent);
  const byId = id => document.getElementById(id);
  document.title = `techdep report: ${data.name}`;
  byId("title").textContent = `${data.name}`;
  byId("subtitle").textContent = `${data.dates[0]} to ${data.dates[data.dates.length - 1]}` +
    (data.baseline ? `, compared with ${data.baseline} (grey)` : "");
  byId("description").textContent = data.description || "(the scenario has no description)";

  techdepAssignColours(data.charts);
  const tbody = byId("events").querySelector("tbody");
  for (const event of data.events) {
    const row = techdepEl("tr");
    row.appendChild(techdepEl("td", {}, event.date));
    row.appendChild(techdepEl("td", {}, event.id));
    row.appendChild(techdepEl("td", {}, event.type));
    row.appendChild(techdepEl("td", {}, event.source));
    tbody.appendChild(row);
  }

  for (const paragraph of data.narrative) byId("narrative").appendChild(techdepEl("p", {}, paragraph));

  if (data.attribution) {
    byId("attribution-caption").textContent = data.attribution.caption;
    techdepWedgeChart(byId("wedge"), data.attribution);
  } else {
    byId("attribution").appendChild(techdepEl("p", {}, "No events to attribute."));
  }

  const notes = [];
  if (data.bands) notes.push("Shaded bands: 5-95 % (light) and 25-75 % (dark) of the replicates.");
  if (data.baseline) notes.push(`Dashed lines in each line's colour: the baseline run (${data.baseline}).`);
  notes.push("Dashed vertical lines: events (grey) and rule firings (orange), numbered as in the list under each chart. Each chart's values are in a table under it.");
  byId("chart-notes").textContent = notes.join(" ");

  // One section per focus country: charts over every sector first, then one folding block per
  // sector, the first open, so that a large scenario stays readable.
  const container = byId("charts");
  const chartOptions = {baselineLabel: data.baseline || "baseline"};
  for (const country of data.focus) {
    const charts = data.charts.filter(chart => chart.country === country);
    if (charts.length === 0) continue;
    container.appendChild(techdepEl("h3", {}, country));
    const general = techdepEl("div", {"class": "charts"});
    container.appendChild(general);
    const sectors = [...new Set(charts.filter(c => c.sector).map(c => c.sector))];
    for (const chart of charts.filter(c => !c.sector)) {
      techdepLineChart(general, chart, data.steps, data.dates, data.events, chartOptions);
    }
    sectors.forEach((sector, i) => {
      const details = techdepEl("details", i === 0 ? {open: ""} : {});
      details.appendChild(techdepEl("summary", {}, `${country} ${sector}`));
      const box = techdepEl("div", {"class": "charts"});
      details.appendChild(box);
      container.appendChild(details);
      for (const chart of charts.filter(c => c.sector === sector)) {
        techdepLineChart(box, chart, data.steps, data.dates, data.events, chartOptions);
      }
    });
  }

  const p = data.provenance;
  byId("provenance").textContent =
    `techdep ${p.version}, commit ${p.git_commit}, seed ${p.seed}, ` +
    `scenario.resolved.yaml SHA-256 ${p.scenario_sha256}, run ${p.status} ${p.finished_utc}; ` +
    `report built by ${p.report_by}. Charts: uPlot (MIT).`;
  document.body.setAttribute("data-rendered", "true");
})();
