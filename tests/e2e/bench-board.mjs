// `cargo xtask bench-board`: how long a busy partner waits for their
// pipeline when they open the app on a phone with no network.
//
// The partner of fixtures/big-pipeline.mjs (500 leads, a year of calls,
// meetings, notes and moves) signs in once, so the pipeline and the app are
// on the device; then, after WARMUP opens that are reported but not counted
// (Chromium keeps a wasm module's compiled code once it has been loaded a
// few times: what a partner who opens the app every day gets), RUNS times,
// the app is opened again with the network off and the CPU slowed 4x
// (375 x 812, Debian's Chromium), and the time is
// taken from the start of navigation until the board is on screen (every
// stage counted, the first 30 cards of each drawn, the rest a tap away)
// and the page is free to take a tap (the first task after the frame that
// shows them): the service worker's shell, the wasm, the pipeline's last
// reading from IndexedDB, drawing the board. Also noted: when the sync
// engine (its own module, in a worker, started once the board is drawn)
// has the document open and has read it (`opened`, `read`); each open
// waits for that before the next, as a partner's day does. The CPU
// slowdown reaches the page, not the worker (Chromium refuses to slow a
// worker). Reports each run and the median against the goal (500 ms).
// Then RUNS moves on that board, each timed from the tap on a stage: the
// card gone from its stage, the engine's new reading back on the page,
// and the page's longest task meanwhile (reported, no goal). A measurement, not a test: with
// BOUND=loose (how `cargo xtask test` runs it, once) it fails only beyond
// ten times the goal, to keep it working. Writes REPORT (JSON) when set.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, median, startServer,
  stopServer, waitFor, watchdog,
} from "./harness.mjs";

const RUNS = Number(process.env.RUNS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 2);
const LOOSE = process.env.BOUND === "loose";
const GOAL_MS = 500;
const CPU_SLOWDOWN = 4;
const timer = watchdog("bench-board", 120 + RUNS * 60);

// In the page before its scripts: notes when the board's cards are on
// screen (as many as it says it draws: the first ones of each stage), then
// when the main thread is next free.
function instrument() {
  const marks = (window.__bench = {});
  const note = (name) => { if (marks[name] === undefined) marks[name] = performance.now(); };
  const look = () => {
    const stages = document.querySelector(".stages[data-cards]");
    const drawn = document.querySelectorAll("article.lead").length;
    if (marks.board === undefined && stages && drawn > 0 && drawn === Number(stages.dataset.cards)) {
      note("board");
      requestAnimationFrame(() => setTimeout(() => note("interactive"), 0));
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "bench-board-"));
  const fixturePath = join(dir, "big.json");
  const made = spawnSync("node", [new URL("../../fixtures/big-pipeline.mjs", import.meta.url).pathname], {
    encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
  });
  assert(made.status === 0, `the generator ran: ${made.stderr}`);
  writeFileSync(fixturePath, made.stdout);
  const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));
  const leads = fixture.partners[0].leads;
  const onBoard = leads.filter((l) => !l.archived).length;
  const activity = leads.reduce((n, l) => n + l.activity.length, 0);
  console.log(`bench-board: ${leads.length} leads (${onBoard} on the board), ${activity} activity entries`);

  process.env.FIXTURES = fixturePath;
  const databaseUrl = await freshDatabase("board");
  const server = await startServer(databaseUrl);
  const browser = await launchChromium();
  const runs = [];
  const moves = [];
  try {
    const context = await browser.newContext({
      viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, locale: "en-US",
    });
    await context.addInitScript(instrument);
    const page = await context.newPage();
    await page.goto(`${server.url}/#pipeline`);
    await fillSignIn(page, "dana@busy.example", "demo-dana-password");
    await waitFor("the board", async () =>
      (await page.locator("article.lead").count()) > 0 &&
      (await page.locator(".stages").getAttribute("data-cards")) === String(await page.locator("article.lead").count()), 120_000);
    const counts = await page.locator(".stage-tab .count").allTextContents();
    assert(counts.reduce((n, c) => n + Number(c), 0) === onBoard, `every lead on the board is counted (${counts})`);
    await waitFor("the service worker to control the page", () =>
      page.evaluate(() => navigator.serviceWorker.controller !== null), 60_000);
    await waitFor("everything synced", async () =>
      (await page.locator("#sync-status").getAttribute("data-pending")) === "0", 60_000);
    await context.setOffline(true);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });

    for (let i = 0; i < WARMUP + RUNS; i++) {
      await page.reload({ waitUntil: "commit" });
      await waitFor("the board, opened offline", () =>
        page.evaluate(() => window.__bench?.interactive !== undefined), 60_000);
      // And the sync engine's reading of the document: the open is over
      // (the next one would otherwise share the machine with this one's
      // engine, still loading in its worker).
      await waitFor("the engine's reading", () =>
        page.evaluate(() => performance.getEntriesByName("read model::pipeline::Pipeline").length > 0), 60_000);
      const marks = await page.evaluate(() => ({
        ...window.__bench,
        // The app's own marks (web/src/clock.rs and web/src/document.rs): where the time went.
        ...Object.fromEntries(performance.getEntriesByType("mark").map((m) => [m.name, m.startTime])),
      }));
      const run = {
        appStart: marks["app-start"],
        opened: marks["open model::pipeline::Pipeline"],
        read: marks["read model::pipeline::Pipeline"],
        board: marks.board,
        interactive: marks.interactive,
      };
      const label = i < WARMUP ? `warm-up ${i + 1}` : `run ${i + 1 - WARMUP}`;
      console.log(`bench-board: ${label}: ` + Object.entries(run)
        .map(([k, v]) => `${k} ${v === undefined ? "-" : Math.round(v)}`).join(", ") + " ms");
      if (i >= WARMUP) runs.push(run);
    }

    // Then moves on that board, as a partner makes them: what a change
    // costs the page now that the document is in the engine's worker. From
    // the tap on a stage: the card gone from its stage (the screen's own
    // reading), the document's new reading come back (the badge counts the
    // change, offline), and the longest task the page ran meanwhile (the
    // reading's 500 leads are parsed and drawn on it).
    for (let i = 0; i < RUNS; i++) {
      const card = page.locator("article.lead").first();
      const id = await card.getAttribute("data-lead");
      const from = await card.getAttribute("data-stage");
      const to = from === "contacted" ? "qualified" : "contacted";
      await card.locator("button.move-open").click();
      await card.locator(`button.stage-button[data-stage=${to}]`).waitFor();
      const move = await page.evaluate(async ({ id, from, to }) => {
        let longest = 0;
        const tasks = new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
        });
        tasks.observe({ type: "longtask" });
        const badge = document.getElementById("sync-status");
        const pending = Number(badge.dataset.pending);
        const start = performance.now();
        const until = (done) => new Promise((resolve) => {
          const look = () => (done() ? resolve(performance.now() - start) : requestAnimationFrame(look));
          look();
        });
        document.querySelector(`article.lead[data-lead="${id}"] button.stage-button[data-stage=${to}]`).click();
        const shown = await until(() => !document.querySelector(`article.lead[data-lead="${id}"][data-stage=${from}]`));
        const read = await until(() => Number(badge.dataset.pending) > pending);
        await new Promise((resolve) => setTimeout(resolve, 500));
        tasks.disconnect();
        return { shown, read, longestTask: longest };
      }, { id, from, to });
      console.log(`bench-board: move ${i + 1}: ` + Object.entries(move).map(([k, v]) => `${k} ${Math.round(v)}`).join(", ") + " ms");
      moves.push(move);
    }
    await context.close();
  } finally {
    await browser.close();
    await stopServer(server);
    await dropDatabase(databaseUrl);
  }
  const interactive = median(runs.map((r) => r.interactive));
  const met = interactive <= GOAL_MS;
  console.log(`\nbench-board: median of ${RUNS} offline open(s), CPU ${CPU_SLOWDOWN}x, 375 x 812: ` +
    `board interactive after ${Math.round(interactive)} ms (` +
    ["appStart", "opened", "read", "board"].map((k) => `${k} ${Math.round(median(runs.map((r) => r[k] ?? NaN)))}`).join(", ") +
    " ms), " +
    `goal < ${GOAL_MS} ms: ${met ? "met" : "MISSED"}`);
  console.log(`bench-board: median of ${RUNS} move(s) on that board: ` +
    ["shown", "read", "longestTask"].map((k) => `${k} ${Math.round(median(moves.map((m) => m[k])))}`).join(", ") +
    " ms (longest task: 0 when none took 50 ms)");
  if (process.env.REPORT) {
    writeFileSync(process.env.REPORT, JSON.stringify({ leads: leads.length, onBoard, activity, runs, moves, median_ms: interactive, goal_ms: GOAL_MS }, null, 2));
  }
  if (LOOSE && interactive > 10 * GOAL_MS) {
    throw new Error(`bench-board: ${Math.round(interactive)} ms, beyond ten times its goal`);
  }
}

main()
  .then(() => { clearTimeout(timer); })
  .catch((e) => { console.error(e); process.exit(1); });
