// Browser tests of report.html and the classroom page in Debian's Chromium, driven by
// playwright-core (engine/web/node_modules). Usage:
//   node tests/browser/web.mjs TECHDEP_BINARY SCREENSHOT_DIR
// Exits 77 (CTest's skip code) when Chromium is not installed; 0 when every check passed.
import {spawnSync} from "node:child_process";
import {mkdtempSync, mkdirSync, readFileSync, rmSync} from "node:fs";
import {tmpdir} from "node:os";
import path from "node:path";
import {check, finish, launchBrowser, root, startServer, tally} from "./lib.mjs";

const [binary, shots] = process.argv.slice(2);

// Waits for the classroom's status line to start with `prefix`; a timeout says what the page
// showed instead (its status and its error line), which a bare timeout would not.
async function waitForStatus(page, prefix, timeout = 30000) {
  try {
    await page.waitForFunction(wanted => document.querySelector("#status").textContent.startsWith(wanted),
                               prefix, {timeout});
  } catch (error) {
    const [status, shown] = await page.evaluate(() => ["#status", "#error"].map(
      id => document.querySelector(id).textContent));
    throw new Error(`waiting for the status "${prefix}...": ${error.message.split("\n")[0]}; ` +
                    `the status reads "${status}", the error line "${shown}"`);
  }
}
const browser = await launchBrowser();
mkdirSync(shots, {recursive: true});
const work = mkdtempSync(path.join(tmpdir(), "techdep-browser-"));
let server = null;
try {
  // 1. The report of a run: loads offline, no failed request, charts hold the run's values.
  const runDir = path.join(work, "run");
  const run = spawnSync(binary, ["run", "scenarios/teaching-world.yaml", "--out", runDir, "--report"],
                        {cwd: root, encoding: "utf8"});
  check(run.status === 0, `techdep run --report exits 0 (got ${run.status}: ${run.stderr})`);
  const page = await browser.newPage({viewport: {width: 1280, height: 900}});
  const requests = [];
  page.on("request", request => requests.push(request.url()));
  const failures = [];
  page.on("requestfailed", request => failures.push(request.url()));
  const errors = [];
  page.on("pageerror", error => errors.push(String(error)));
  await page.goto("file://" + path.join(runDir, "report.html"));
  await page.waitForSelector("body[data-rendered=true]", {timeout: 20000});
  check(failures.length === 0, `report: no failed requests (${failures})`);
  check(requests.every(url => url.startsWith("file://")), `report: nothing fetched beyond the file (${requests})`);
  check(errors.length === 0, `report: no script errors (${errors})`);
  const csv = readFileSync(path.join(runDir, "timeseries.csv"), "utf8").trim().split("\n");
  const header = csv[0].split(",");
  const column = name => header.indexOf(name);
  const expected = csv.slice(1).map(line => line.split(","))
    .filter(row => row[column("metric")] === "domestic_share" && row[column("country")] === "RUS" &&
                   row[column("sector")] === "semiconductors")
    .map(row => Number(row[column("value")]));
  const shown = await page.evaluate(() => {
    const entry = window.techdepCharts.find(e => e.id === "domestic_share.RUS");
    const index = entry.plot.series.findIndex(s => s.label === "semiconductors");
    return {steps: entry.plot.data[0].length, values: Array.from(entry.plot.data[index]),
            charts: window.techdepCharts.length, canvases: document.querySelectorAll("canvas").length};
  });
  check(shown.steps === 73, `report: 73 steps on the x axis (got ${shown.steps})`);
  check(JSON.stringify(shown.values) === JSON.stringify(expected),
        "report: the domestic-share chart holds timeseries.csv's values exactly");
  check(shown.charts >= 10 && shown.canvases === shown.charts, `report: every chart drawn (${shown.charts})`);
  const wedgeBars = await page.locator("svg.wedge rect").count();
  check(wedgeBars === 7, `report: wedge chart has 5 events plus the two totals (got ${wedgeBars})`);
  const footer = await page.textContent("#provenance");
  const manifest = JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"));
  check(footer.includes(manifest.resolved_scenario_sha256) && footer.includes("seed 42"),
        "report: footer names the scenario hash and the seed");
  // Issue 15.3: every event number sits inside its plot; 15.5: share axes stop at 1.
  const layout = await page.evaluate(() => window.techdepCharts.map(e => ({
    id: e.id, boxes: e.markerBoxes, unit: e.chart.unit, yMax: e.plot.scales.y.max})));
  check(layout.every(c => c.boxes.length > 0 && c.boxes.every(b => b.left >= b.plotLeft - 0.5 && b.right <= b.plotRight + 0.5)),
        "report: every event label lies inside its plot");
  // A share that stays at 1 (IRN's payments in sanctions-2022) gets [0, 1], not uPlot's [0, 2].
  const flat = await page.evaluate(() => techdepShareRange(null, 1, 1));
  check(flat[0] === 0 && flat[1] === 1, `report: a flat share at 1 has the axis [0, 1] (${flat})`);
  check(layout.filter(c => c.unit === "share").every(c => c.yMax <= 1 + 1e-9),
        `report: share axes end at 1 at most (${layout.filter(c => c.unit === "share").map(c => c.yMax).join(",")})`);
  // 15.10: one colour per label on every chart; bands and baselines do not crowd the legend.
  const colours = await page.evaluate(() => {
    const seen = {};
    for (const e of window.techdepCharts) {
      e.plot.series.forEach((s, i) => {
        if (i === 0 || e.hidden.has(i) || / \(/.test(s.label)) return;
        (seen[s.label] = seen[s.label] || new Set()).add(typeof s.stroke === "function" ? s.stroke() : s.stroke);
      });
    }
    return Object.entries(seen).filter(([, strokes]) => strokes.size > 1).map(([label]) => label);
  });
  check(colours.length === 0, `report: a label keeps its colour across charts (${colours})`);
  // The wedge chart: an axis with its unit, no "+0.0000".
  const wedge = await page.evaluate(() => ({text: document.querySelector("svg.wedge").textContent,
    axis: document.querySelectorAll("svg.wedge line.axis").length, label: document.querySelector("svg.wedge").getAttribute("aria-label")}));
  check(wedge.axis === 1 && wedge.text.includes("[share]") && !/[+-]0\.0000/.test(wedge.text) && wedge.label.length > 20,
        `report: the wedge chart has an axis, a unit, a text alternative and no signed zeros`);
  const dates = await page.locator("#events tbody tr td:first-child").allTextContents();
  check(dates.join() === [...dates].sort().join(), `report: events table in date order (${dates})`);
  // Each chart has its values as a table.
  await page.locator("figure.chart details.values summary").first().click();
  // The table is filled when it opens: on a loaded machine that is not at once.
  await page.locator("figure.chart details.values table tbody tr").first().waitFor();
  const rows = await page.locator("figure.chart details.values table tbody tr").count();
  check(rows === 73, `report: a chart's values table has a row per step (${rows})`);
  await page.screenshot({path: path.join(shots, "report.png"), fullPage: false});
  await page.setViewportSize({width: 390, height: 844});
  await page.waitForTimeout(300);
  const phoneWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  check(phoneWidth <= 390, `report: a 390 px phone lays the report out in 390 px (${phoneWidth})`);
  await page.screenshot({path: path.join(shots, "report-phone.png"), fullPage: false});
  await page.close();

  // 2. The classroom page: pick, set a slider, Setup, Step, Run to the end, Reset, downloads.
  let url;
  ({server, url} = await startServer(binary, ["scenarios/teaching-world.yaml", "scenarios/sanctions-2022.yaml",
                                               "--port", "0"]));
  const classroom = await browser.newPage({viewport: {width: 1280, height: 1000}});
  const pageErrors = [];
  classroom.on("pageerror", error => pageErrors.push(String(error)));
  await classroom.goto(url);
  await classroom.waitForSelector("body[data-ready=true]", {timeout: 20000});
  await classroom.waitForFunction(() => document.querySelectorAll("#scenario option").length === 2);
  const options = await classroom.locator("#scenario option").allTextContents();
  check(options.join(",") === "teaching-world,sanctions-2022", `classroom: scenarios offered (${options})`);
  // Issue 15.1: an untouched run is the baseline, to the last digit, with no --set in its YAML.
  const firstWave = await classroom.inputValue('input[data-number="events[first-wave].rate"]');
  check(firstWave === "0.026", `classroom: first-wave rate shown as written (${firstWave})`);
  await classroom.click("#setup");
  await waitForStatus(classroom, "step 0 of 72");
  await classroom.click("#run");
  // 72 steps of a sanitizer build on a loaded 2-core machine take far longer than an optimised one.
  await waitForStatus(classroom, "step 72 of 72", 240000);
  const untouched = await classroom.evaluate(() => window.techdepCharts.every(entry =>
    entry.chart.lines.every((line, l) => entry.plot.data[2 * l + 2][72] === entry.plot.data[2 * l + 1][72])));
  check(untouched, "classroom: an untouched run equals the baseline on every chart");
  const untouchedYaml = await (await classroom.request.get(
    new URL(await classroom.getAttribute("#download-yaml", "href"), url).href)).text();
  check(!untouchedYaml.includes("#   --set"), "classroom: an untouched run's YAML lists no --set");
  // 15.10: plain names, grouped, an announced status.
  const labels = await classroom.locator(".control > label").allTextContents();
  check(labels.length > 5 && labels.every(text => !text.includes("[") && !text.includes("events")),
        `classroom: controls have plain names (${labels.slice(0, 3)})`);
  check(await classroom.getAttribute("#status", "aria-live") === "polite", "classroom: the status line is announced");
  // 15.2: the slider's left end is accepted.
  await classroom.fill('input[data-number="sectors.software.adjustment"]', await classroom.getAttribute(
    'input[data-number="sectors.software.adjustment"]', "min"));
  await classroom.dispatchEvent('input[data-number="sectors.software.adjustment"]', "change");
  await classroom.click("#setup");
  await classroom.waitForFunction(() => /changed control/.test(document.querySelector("#status").textContent));
  check((await classroom.textContent("#error")) === "", `classroom: a slider's left end is accepted (${await classroom.textContent("#error")})`);
  await classroom.click('[data-control="sectors.software.adjustment"] .reset-one');

  const slider = classroom.locator('input[data-path="events[export-controls-2022].intensity"]');
  await slider.evaluate(el => { el.value = "0.3"; el.dispatchEvent(new Event("input")); });
  // Until the new session exists, Step and Run are off: a step sent before it went to the
  // session being replaced, which the server then removed ("no such session"), and the status
  // still read "step 0 of 72" from the previous Setup. Read in the click's own task.
  const pressed = await classroom.evaluate(() => {
    document.querySelector("#setup").click();
    return {step: document.querySelector("#step").disabled, run: document.querySelector("#run").disabled,
            status: document.querySelector("#status").textContent};
  });
  check(pressed.step && pressed.run && pressed.status.startsWith("setting up"),
        `classroom: Step and Run wait for Setup's new session (${JSON.stringify(pressed)})`);
  await waitForStatus(classroom, "step 0 of 72");
  await classroom.click("#step");
  await waitForStatus(classroom, "step 1 of 72");
  await classroom.click("#run");
  // The same 72 sanitizer-built steps as above: 60 s ran out once beside the game's test.
  await waitForStatus(classroom, "step 72 of 72", 240000);
  const live = await classroom.evaluate(() => {
    const entry = window.techdepCharts.find(e => e.id === "domestic_share.RUS");
    const baseline = entry.plot.series.findIndex(s => s.label === "semiconductors (baseline)");
    return {baseline: entry.plot.data[baseline][72], current: entry.plot.data[baseline + 1][72],
            stroke: entry.plot.series[baseline].stroke()};
  });
  check(live.current !== null && live.current !== live.baseline,
        `classroom: the student's run differs from the grey baseline (${live.current} vs ${live.baseline})`);
  check(/^#[0-9a-f]{6}99$/.test(live.stroke), `classroom: the baseline is dashed in its line's colour (${live.stroke})`);
  await classroom.screenshot({path: path.join(shots, "classroom.png")});
  // Compare: keep this run, set up the scenario as written, overlay the kept run.
  await classroom.click("#keep");
  const kept = await classroom.locator("#compare option").count();
  check(kept === 2, `classroom: a kept run is offered for comparison (${kept} options)`);

  // The downloads: the YAML reproduces the settings (techdep validate accepts it beside the
  // original), the CSV holds the run so far.
  const yamlHref = await classroom.getAttribute("#download-yaml", "href");
  const yaml = await (await classroom.request.get(new URL(yamlHref, url).href)).text();
  check(yaml.includes("--set events[export-controls-2022].intensity=0.3"), "classroom: YAML names the setting");
  const saved = path.join(root, "scenarios", `.browser-test-${process.pid}.yaml`);
  try {
    (await import("node:fs")).writeFileSync(saved, yaml);
    const validate = spawnSync(binary, ["validate", saved], {cwd: root, encoding: "utf8"});
    check(validate.status === 0, `classroom: techdep validate accepts the YAML (${validate.stderr})`);
  } finally {
    rmSync(saved, {force: true});
  }
  const csvHref = await classroom.getAttribute("#download-csv", "href");
  const csvText = await (await classroom.request.get(new URL(csvHref, url).href)).text();
  check(csvText.startsWith("scenario,point,replicate,step,date,") && csvText.includes(",72,2027-01,"),
        "classroom: CSV download holds the run up to step 72");

  // 15.9: a reload brings back the run and the controls.
  await classroom.reload();
  await classroom.waitForSelector("body[data-ready=true]", {timeout: 20000});
  await waitForStatus(classroom, "step 72 of 72");
  check(await classroom.inputValue('input[data-number="events[export-controls-2022].intensity"]') === "0.3",
        "classroom: a reload keeps the control values");
  // 15.6: Restart uses the controls as they are now, and says so.
  await classroom.fill('input[data-number="events[export-controls-2022].evasion"]', "0.6");
  await classroom.dispatchEvent('input[data-number="events[export-controls-2022].evasion"]', "change");
  await classroom.click("#reset");
  await classroom.waitForFunction(() => /Restarted .* 2 changed controls/.test(document.querySelector("#status").textContent));
  const restartedYaml = await (await classroom.request.get(
    new URL(await classroom.getAttribute("#download-yaml", "href"), url).href)).text();
  check(restartedYaml.includes("--set events[export-controls-2022].evasion=0.6"), "classroom: Restart runs the new settings");
  // Compare with the kept run: the dashed line is run 1.
  await classroom.selectOption("#compare", "0");
  const compared = await classroom.evaluate(() => window.techdepCharts[0].plot.series[1].label);
  check(compared.includes("run 1"), `classroom: the dashed line is the kept run (${compared})`);
  // A 390 px phone: no horizontal scrolling.
  await classroom.setViewportSize({width: 390, height: 844});
  await classroom.waitForTimeout(400);
  const phone = await classroom.evaluate(() => document.documentElement.scrollWidth);
  check(phone <= 390, `classroom: a 390 px phone lays the page out in 390 px (${phone})`);
  await classroom.screenshot({path: path.join(shots, "classroom-phone.png")});
  await classroom.setViewportSize({width: 1280, height: 1000});

  // A bad setting: the server's 400 message appears on the page.
  const exact = classroom.locator('input[data-number="events[export-controls-2022].intensity"]');
  await exact.fill("1.5");
  await exact.dispatchEvent("change");
  await classroom.click("#setup");
  await classroom.waitForFunction(() => document.querySelector("#error").textContent.length > 0);
  const message = await classroom.textContent("#error");
  check(message.includes("intensity"), `classroom: the loader's message is shown (${message})`);
  await exact.fill("0.3");
  await exact.dispatchEvent("change");
  await classroom.click("#setup");
  await waitForStatus(classroom, "step 0 of 72");
  check(pageErrors.length === 0, `classroom: no script errors (${pageErrors})`);
  await classroom.close();
} catch (error) {
  tally.failed += 1;
  console.log(`FAILED: ${error.stack || error}`);
} finally {
  if (server) server.kill("SIGINT");
  await browser.close();
  rmSync(work, {recursive: true, force: true});
}
finish();
