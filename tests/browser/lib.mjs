// What the browser tests share: Debian's Chromium through playwright-core (engine/web/node_modules), a
// pass/fail tally, and a `techdep serve` started on a port it prints.
import {spawn} from "node:child_process";
import {existsSync} from "node:fs";
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath} from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Exits 77 (CTest's skip code) when Chromium is not installed.
export async function launchBrowser() {
  const chromium = process.env.TECHDEP_CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    console.log(`SKIP: ${chromium} is not installed (apt-get install chromium)`);
    process.exit(77);
  }
  const require = createRequire(path.join(root, "engine", "web", "package.json"));
  const {chromium: playwright} = require("playwright-core");
  return playwright.launch({
    executablePath: chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export const tally = {passed: 0, failed: 0};
export function check(condition, what) {
  if (condition) { tally.passed += 1; } else { tally.failed += 1; console.log(`FAILED: ${what}`); }
}

// Starts `techdep serve ARGS`; resolves with the process, its URL and port once it prints them.
export function startServer(binary, args) {
  const server = spawn(binary, ["serve", ...args], {cwd: root, stdio: ["ignore", "pipe", "inherit"]});
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("serve did not print its URL in 60 s")), 60000);
    server.stdout.on("data", chunk => {
      out += chunk;
      const match = out.match(/serving (http:\/\/127\.0\.0\.1:(\d+)\/)/);
      if (match) { clearTimeout(timer); resolve({server, url: match[1], port: Number(match[2])}); }
    });
    server.on("exit", code => reject(new Error(`serve exited with ${code}`)));
  });
}

export function finish() {
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed === 0 ? 0 : 1);
}
