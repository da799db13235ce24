// The sanctions game in Debian's Chromium: a teacher and three students in four browser contexts
// play teaching-world to the debrief; the server is restarted in mid-game and resumes the room
// from its SQLite file; the downloaded game replays exactly with `techdep run`. Usage:
//   node tests/browser/game.mjs TECHDEP_BINARY SCREENSHOT_DIR
// Exits 77 (CTest's skip code) when Chromium is not installed.
import {spawnSync} from "node:child_process";
import {mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import path from "node:path";
import {check, finish, launchBrowser, root, startServer, tally} from "./lib.mjs";

const [binary, shots] = process.argv.slice(2);
const browser = await launchBrowser();
mkdirSync(shots, {recursive: true});

const work = mkdtempSync(path.join(tmpdir(), "techdep-game-"));
const database = path.join(work, "rooms.sqlite");
let server = null;
async function serve(port) {
  const started = await startServer(binary, ["scenarios/teaching-world.yaml", "--port", String(port), "--rooms", database]);
  server = started.server;
  return started;
}
function stopServer() {
  return new Promise(resolve => { server.on("exit", resolve); server.kill("SIGINT"); });
}

const saved = path.join(root, "scenarios", `.browser-game-${process.pid}.yaml`);
try {
  const {url, port} = await serve(0);
  const errors = [];
  const open = async (width) => {
    const context = await browser.newContext({viewport: {width, height: 1000}});
    const page = await context.newPage();
    page.on("pageerror", error => errors.push(String(error)));
    await page.goto(url + "game");
    await page.waitForSelector("body[data-ready=true]", {timeout: 30000});
    return page;
  };
  // The teacher opens a room of three yearly turns.
  const teacher = await open(1280);
  await teacher.waitForFunction(() => document.querySelectorAll("#open-scenario option").length > 0);
  await teacher.fill("#open-turns", "3");
  await teacher.click("#open-form button[type=submit]");
  await teacher.waitForFunction(() => /^[A-Z2-9]{6}$/.test(document.querySelector("#room-code").textContent));
  const code = await teacher.textContent("#room-code");
  check(!(await teacher.isHidden("#teacher")), "game: the teacher sees the teacher controls");

  // Three students join with the code, one role each (the fourth role stays empty).
  const players = [["Ana", "coalition"], ["Boris", "RUS"], ["Chen", "CHN"]];
  const students = [];
  for (const [name, role] of players) {
    const page = await open(name === "Chen" ? 390 : 1000);
    await page.fill("#join-code", code.toLowerCase());
    await page.fill("#join-name", name);
    await page.press("#join-name", "Enter");  // keyboard only
    await page.waitForSelector(`#role-buttons button[data-role="${role}"]`);
    await page.click(`#role-buttons button[data-role="${role}"]`);
    await page.waitForSelector(`section.role.mine[data-role="${role}"]`);
    students.push({page, name, role});
  }
  check(await students[0].page.isHidden("#teacher"), "game: a student does not see the teacher controls");
  const rolesSeen = await students[0].page.locator("section.role").count();
  check(rolesSeen === 4, `game: teaching-world offers four roles (${rolesSeen})`);

  const playTurn = async (turn, values) => {
    for (const [index, student] of students.entries()) {
      const page = student.page;
      await page.waitForFunction(t => document.body.dataset.turn === String(t), turn, {timeout: 30000});
      // The page's poll rebuilds the role cards when another role submits; a move typed into a
      // card being replaced is lost with it. Submit again until the server has the move (the
      // card then says so, or the turn moved on).
      for (let attempt = 0; ; attempt += 1) {
        const first = page.locator("section.role.mine input[type=number]").first();
        await first.fill(String(values[index]));
        await first.dispatchEvent("change");
        await page.click("section.role.mine button[type=submit]");
        try {
          await page.waitForFunction(t => document.body.dataset.turn !== String(t) ||
            /submitted this turn/.test(document.querySelector("section.role.mine")?.textContent || ""),
            turn, {timeout: 5000});
          break;
        } catch (error) {
          if (attempt >= 3) throw error;
        }
      }
    }
    for (const student of students) {
      await student.page.waitForFunction(t => document.body.dataset.turn === String(t + 1), turn, {timeout: 30000});
    }
  };
  await playTurn(0, [0.5, 0.8, 0.1]);
  await students[1].page.screenshot({path: path.join(shots, "game-turn1.png")});

  // Restart the server in mid-game: the room comes back at its turn, the pages carry on.
  await stopServer();
  await serve(port);
  for (const student of students) {
    await student.page.waitForFunction(() => document.body.dataset.turn === "1" &&
      document.querySelector("#error").textContent === "", null, {timeout: 30000});
  }
  check(true, "game: after a restart every page is back at turn 1");
  await playTurn(1, [0.95, 0.2, 0.4]);
  // The teacher advances the last turn without waiting for everyone.
  await teacher.click("#advance");
  for (const page of [teacher, ...students.map(s => s.page)]) {
    await page.waitForFunction(() => document.body.dataset.finished === "true", null, {timeout: 60000});
    await page.waitForSelector("#debrief:not([hidden]) #debrief-table tbody tr");
  }
  // The debrief: each row's shares add up to the class's outcome minus the scenario as written.
  const rows = await teacher.evaluate(async code => {
    const room = await (await fetch(`/api/rooms/${code}`)).json();
    return room.debrief.metrics.map(m => ({sum: Object.values(m.by_role).reduce((a, b) => a + b, 0),
                                           gap: m.class - m.historical}));
  }, code);
  check(rows.length === 5 && rows.every(r => Math.abs(r.sum - r.gap) < 1e-9), `game: debrief shares add up (${JSON.stringify(rows)})`);
  const debriefText = await students[2].page.textContent("#debrief-text");
  check(/scenario as written/.test(debriefText), `game: the debrief compares with the scenario as written`);
  await teacher.screenshot({path: path.join(shots, "game-debrief.png"), fullPage: true});
  await students[2].page.screenshot({path: path.join(shots, "game-phone.png")});
  const phoneWidth = await students[2].page.evaluate(() => document.documentElement.scrollWidth);
  check(phoneWidth <= 390, `game: the 390 px phone needs no horizontal scrolling (${phoneWidth})`);

  // The game log replays exactly with techdep run.
  const href = await teacher.getAttribute("#download-game", "href");
  const yaml = await (await teacher.request.get(new URL(href, url).href)).text();
  writeFileSync(saved, yaml.replace(/^extends: .*$/m, "extends: teaching-world.yaml"));
  const out = path.join(work, "replay");
  const run = spawnSync(binary, ["run", saved, "--out", out], {cwd: root, encoding: "utf8"});
  check(run.status === 0, `game: techdep run replays the game (${run.stderr})`);
  const csv = readFileSync(path.join(out, "timeseries.csv"), "utf8").trim().split("\n");
  const header = csv[0].split(",");
  const at = name => header.indexOf(name);
  const replayed = csv.slice(1).map(line => line.split(","))
    .find(row => row[at("metric")] === "sovereignty" && row[at("country")] === "RUS" && row[at("step")] === "72");
  const shown = await teacher.evaluate(async code => {
    const room = await (await fetch(`/api/rooms/${code}`)).json();
    const scenario = await (await fetch(`/api/scenarios/${room.scenario}`)).json();
    const chart = scenario.charts.findIndex(c => c.id === "sovereignty.RUS");
    return room.points[72].values[chart][0];
  }, code);
  check(replayed && Number(replayed[at("value")]) === shown,
        `game: the replay's RUS sovereignty at the end equals the game's (${replayed && replayed[at("value")]} vs ${shown})`);
  check(errors.length === 0, `game: no script errors (${errors})`);
} catch (error) {
  tally.failed += 1;
  console.log(`FAILED: ${error.stack || error}`);
} finally {
  rmSync(saved, {force: true});
  if (server && server.exitCode === null) server.kill("SIGINT");
  await browser.close();
  rmSync(work, {recursive: true, force: true});
}
finish();
