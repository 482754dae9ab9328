// `cargo xtask bench-load`: how long a partner waits on a phone on 3G.
//
// Debian's Chromium, a 375 x 812 phone viewport, the network throttled to
// Lighthouse's Regular 3G (300 ms round trip, 700 kbit/s each way) and the
// CPU slowed 4x through the DevTools protocol, against the real server
// serving the release build of the PWA. RUNS cold runs (a new browser
// context each: empty HTTP cache, no service worker, no IndexedDB), each:
//
//   first text   first contentful paint, from the start of navigation
//   sign-in      the early sign-in form shown and listening (web/static/boot.js)
//   data         Ben's pipeline on screen, from the moment he submits the form
//   offline      the app opened again with the network off: navigation to
//                his pipeline on screen (the service worker, IndexedDB)
//   bytes        bytes on the link, either way, from navigation until the
//                pipeline shows (HTTP as sent, compressed, with headers;
//                WebSocket frames; the service worker's precache too)
//
// and the medians of each against the product's goals. A measurement, not a
// test: with BOUND=loose (how `cargo xtask test` runs it, once) it fails only
// beyond four times a goal, to keep the measurement working; otherwise it
// reports and exits 0. Writes target/bench-load.json when REPORT is set.

import { writeFileSync } from "node:fs";
import {
  assert, dropDatabase, freshDatabase, launchChromium, median, slowLink, startServer, stopServer,
  waitFor, watchdog,
} from "./harness.mjs";

const RUNS = Number(process.env.RUNS ?? 5);
const LOOSE = process.env.BOUND === "loose";
const timer = watchdog("bench-load", 60 + RUNS * 150);

// Regular 3G as the product's issue 13 defines it (Lighthouse's figures for
// the link: 300 ms round trip, 700 kbit/s each way), as a slow link in
// front of the server (`slowLink`), which everything the browser fetches
// crosses: the page, the sync engine's worker and the service worker's
// precache alike. And a 4x CPU slowdown, through DevTools, which reaches
// the page only: Chromium refuses to slow a worker ("Operation is only
// supported for pages"), so the sync engine runs at this machine's speed
// (on a phone it has a core of its own, but a slower one).
const REGULAR_3G = { latency: 150, rate: (700 * 1000) / 8 };
const CPU_SLOWDOWN = 4;

const GOALS_MS = { firstText: 1500, signIn: 3000, data: 10000, offline: 1000 };

// Runs in the page before its own scripts: notes when the early form is
// usable, when the form is sent, and when a lead is on screen, in ms since
// the navigation started.
function instrument() {
  const marks = (window.__bench = {});
  const note = (name) => { if (marks[name] === undefined) marks[name] = performance.now(); };
  const visible = (el) => el && !el.hidden && el.offsetParent !== null;
  const look = () => {
    const form = document.getElementById("preboot-form");
    if (visible(form) && !form.querySelector("button[type=submit]").disabled) note("signIn");
    if (document.querySelector("article.lead")) note("data");
  };
  new MutationObserver(look).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["hidden"],
  });
  document.addEventListener("submit", () => note("submitted"), true);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === "first-contentful-paint") note("firstText");
    }
  }).observe({ type: "paint", buffered: true });
}

async function throttled(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
  return cdp;
}

const marks = (page) => page.evaluate(() => ({ ...window.__bench }));

async function oneRun(browser, server) {
  const context = await browser.newContext({
    viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, locale: "en-US",
  });
  await context.addInitScript(instrument);
  const page = await context.newPage();
  const cdp = await throttled(context, page);
  const link = await slowLink(server.url, REGULAR_3G);

  await page.goto(`${link.url}/#pipeline`, { waitUntil: "commit" });
  const form = page.locator("#preboot-form");
  await form.waitFor({ state: "visible", timeout: 60_000 });
  await form.locator("input[name=email]").fill("ben@okafor.example");
  await form.locator("input[name=password]").fill("demo-ben-password");
  await form.locator("button[type=submit]").click();
  await page.locator('article.lead[data-lead="ben-1"]').waitFor({ timeout: 120_000 });
  const cold = await marks(page);
  const bytes = link.bytes();

  // The service worker has the shell once it controls a page and its
  // install (the precache) is done; then the network goes.
  await waitFor("the service worker to be ready", () =>
    page.evaluate(() => Promise.race([
      navigator.serviceWorker.ready.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 1000)),
    ])), 60_000);
  await waitFor("the service worker to control the page", () =>
    page.evaluate(() => navigator.serviceWorker.controller !== null), 60_000);
  await context.setOffline(true);
  await page.reload({ waitUntil: "commit" });
  await page.locator('article.lead[data-lead="ben-1"]').waitFor({ timeout: 60_000 });
  const repeat = await marks(page);

  // Signed out again, so the runs do not pile up sessions.
  await context.setOffline(false);
  link.throttle(false);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
  await page.click("#sign-out");
  await page.locator("#preboot-form").waitFor({ timeout: 30_000 });
  await context.close();
  await link.close();

  for (const name of ["firstText", "signIn", "submitted", "data"]) {
    assert(cold[name] !== undefined, `the cold run noted ${name}`);
  }
  return {
    firstText: cold.firstText,
    signIn: cold.signIn,
    data: cold.data - cold.submitted,
    offline: repeat.data,
    bytes,
  };
}

// The storefront's product page, as a client opens a partner's link on a
// phone: a cold browser on the same link and CPU, from navigation until
// the page has loaded whole (its stylesheet and picture), and its first
// text. It must not download the partner app.
const SHOP_GOALS_MS = { shopFirstText: 1500, shopLoaded: 2000 };

async function shopRun(browser, server) {
  const context = await browser.newContext({
    viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, locale: "en-US",
  });
  await context.addInitScript(instrument);
  const page = await context.newPage();
  await throttled(context, page);
  const link = await slowLink(server.url, REGULAR_3G);
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(`${link.url}/shop/p/card-terminal`, { waitUntil: "load", timeout: 60_000 });
  const loaded = await page.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventStart);
  // The first paint is told after the load event on a page this small.
  await waitFor("the shop's first paint", () =>
    page.evaluate(() => window.__bench.firstText !== undefined), 30_000);
  const marks = await page.evaluate(() => ({ ...window.__bench }));
  const bytes = link.bytes();
  await context.close();
  await link.close();
  assert(marks.firstText !== undefined, "the shop's page painted");
  assert(!fetched.some((p) => p.endsWith(".wasm") || p.endsWith(".js")), `the shop fetched the app: ${fetched.join(", ")}`);
  return { shopFirstText: marks.firstText, shopLoaded: loaded, shopBytes: bytes };
}

async function main() {
  const databaseUrl = await freshDatabase("bench");
  const server = await startServer(databaseUrl);
  const browser = await launchChromium();
  const runs = [];
  const shopRuns = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const run = await oneRun(browser, server);
      console.log(`bench-load: run ${i + 1}: ` + Object.entries(run)
        .map(([k, v]) => `${k} ${k === "bytes" ? v : Math.round(v) + " ms"}`).join(", "));
      runs.push(run);
    }
    for (let i = 0; i < RUNS; i++) {
      const run = await shopRun(browser, server);
      console.log(`bench-load: shop run ${i + 1}: ` + Object.entries(run)
        .map(([k, v]) => `${k} ${k === "shopBytes" ? v : Math.round(v) + " ms"}`).join(", "));
      shopRuns.push(run);
    }
  } finally {
    await browser.close();
    await stopServer(server);
    await dropDatabase(databaseUrl);
  }

  const medians = Object.fromEntries(
    Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]),
  );
  console.log(`\nbench-load: medians of ${RUNS} cold run(s), Regular 3G (300 ms, 700 kbit/s), CPU ${CPU_SLOWDOWN}x (the page; not the engine's worker), 375 x 812`);
  const failures = [];
  for (const [k, goal] of Object.entries(GOALS_MS)) {
    const v = medians[k];
    const met = v <= goal;
    console.log(`  ${k.padEnd(10)} ${String(Math.round(v)).padStart(6)} ms   goal < ${goal} ms   ${met ? "met" : "MISSED"}`);
    if (LOOSE && v > 4 * goal) failures.push(`${k}: ${Math.round(v)} ms, beyond four times its goal`);
  }
  console.log(`  ${"bytes".padEnd(10)} ${String(medians.bytes).padStart(9)} B on the wire until the pipeline shows`);
  const shop = Object.fromEntries(
    Object.keys(shopRuns[0]).map((k) => [k, median(shopRuns.map((r) => r[k]))]),
  );
  console.log("  the shop's product page, cold, same link and CPU:");
  for (const [k, goal] of Object.entries(SHOP_GOALS_MS)) {
    const v = shop[k];
    console.log(`  ${k.padEnd(14)} ${String(Math.round(v)).padStart(6)} ms   goal < ${goal} ms   ${v <= goal ? "met" : "MISSED"}`);
    if (LOOSE && v > 4 * goal) failures.push(`${k}: ${Math.round(v)} ms, beyond four times its goal`);
  }
  console.log(`  ${"shopBytes".padEnd(14)} ${String(shop.shopBytes).padStart(9)} B on the wire until it loaded`);
  if (process.env.REPORT) {
    writeFileSync(process.env.REPORT, JSON.stringify({ runs, medians, goals_ms: GOALS_MS, shop_runs: shopRuns, shop, shop_goals_ms: SHOP_GOALS_MS }, null, 2));
  }
  if (failures.length) throw new Error(`bench-load: ${failures.join("; ")}`);
}

main()
  .then(() => { clearTimeout(timer); })
  .catch((e) => { console.error(e); process.exit(1); });
