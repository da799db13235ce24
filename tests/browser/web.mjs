// Browser tests of report.html and the classroom page in Debian's Chromium, driven by
// playwright-core (web/node_modules). Usage:
//   node tests/browser/web.mjs TECHDEP_BINARY SCREENSHOT_DIR
// Exits 77 (CTest's skip code) when Chromium is not installed; 0 when every check passed.
import {spawn, spawnSync} from "node:child_process";
import {existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync} from "node:fs";
import {createRequire} from "node:module";
import {tmpdir} from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const [binary, shots] = process.argv.slice(2);
const chromium = process.env.TECHDEP_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(chromium)) {
  console.log(`SKIP: ${chromium} is not installed (apt-get install chromium)`);
  process.exit(77);
}
const require = createRequire(path.join(root, "web", "package.json"));
const {chromium: playwright} = require("playwright-core");
mkdirSync(shots, {recursive: true});

let passed = 0, failed = 0;
function check(condition, what) {
  if (condition) { passed += 1; } else { failed += 1; console.log(`FAILED: ${what}`); }
}

const browser = await playwright.launch({
  executablePath: chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
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
  await page.screenshot({path: path.join(shots, "report.png"), fullPage: false});
  await page.close();

  // 2. The classroom page: pick, set a slider, Setup, Step, Run to the end, Reset, downloads.
  server = spawn(binary, ["serve", "scenarios/teaching-world.yaml", "scenarios/sanctions-2022.yaml",
                          "--port", "0"], {cwd: root, stdio: ["ignore", "pipe", "inherit"]});
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("serve did not print its URL in 60 s")), 60000);
    server.stdout.on("data", chunk => {
      out += chunk;
      const match = out.match(/serving (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    server.on("exit", code => reject(new Error(`serve exited with ${code}`)));
  });
  const classroom = await browser.newPage({viewport: {width: 1280, height: 1000}});
  const pageErrors = [];
  classroom.on("pageerror", error => pageErrors.push(String(error)));
  await classroom.goto(url);
  await classroom.waitForSelector("body[data-ready=true]", {timeout: 20000});
  const options = await classroom.locator("#scenario option").allTextContents();
  check(options.join(",") === "teaching-world,sanctions-2022", `classroom: scenarios offered (${options})`);
  const slider = classroom.locator('input[data-path="events[export-controls-2022].intensity"]');
  await slider.evaluate(el => { el.value = "0.3"; el.dispatchEvent(new Event("input")); });
  await classroom.click("#setup");
  await classroom.waitForFunction(() => document.querySelector("#status").textContent.startsWith("step 0 of 72"));
  await classroom.click("#step");
  await classroom.waitForFunction(() => document.querySelector("#status").textContent.startsWith("step 1 of 72"));
  await classroom.click("#run");
  await classroom.waitForFunction(() => document.querySelector("#status").textContent.startsWith("step 72 of 72"),
                                  null, {timeout: 60000});
  const live = await classroom.evaluate(() => {
    const entry = window.techdepCharts.find(e => e.id === "domestic_share.RUS");
    const baseline = entry.plot.series.findIndex(s => s.label === "semiconductors (baseline)");
    return {baseline: entry.plot.data[baseline][72], current: entry.plot.data[baseline + 1][72],
            stroke: entry.plot.series[baseline].stroke()};
  });
  check(live.current !== null && live.current !== live.baseline,
        `classroom: the student's run differs from the grey baseline (${live.current} vs ${live.baseline})`);
  check(live.stroke === "#9a9a9a", `classroom: the baseline is grey (${live.stroke})`);
  await classroom.screenshot({path: path.join(shots, "classroom.png")});

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

  // A bad setting: the server's 400 message appears on the page.
  await slider.evaluate(el => { el.max = "5"; el.value = "1.5"; el.dispatchEvent(new Event("input")); });
  await classroom.click("#setup");
  await classroom.waitForFunction(() => document.querySelector("#error").textContent.length > 0);
  const message = await classroom.textContent("#error");
  check(message.includes("intensity"), `classroom: the loader's message is shown (${message})`);
  await slider.evaluate(el => { el.value = "0.3"; el.dispatchEvent(new Event("input")); });
  await classroom.click("#setup");
  await classroom.waitForFunction(() => document.querySelector("#status").textContent.startsWith("step 0 of 72"));
  await classroom.click("#reset");
  check(pageErrors.length === 0, `classroom: no script errors (${pageErrors})`);
  await classroom.close();
} catch (error) {
  failed += 1;
  console.log(`FAILED: ${error.stack || error}`);
} finally {
  if (server) server.kill("SIGINT");
  await browser.close();
  rmSync(work, {recursive: true, force: true});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
