// Browser end to end: a lead captured offline in the installed PWA reaches
// Postgres. Real Chromium (Debian's), real server binary, real Postgres, a
// phone-sized viewport; the network is switched off and on by the test.
//
// Run by `cargo xtask test`, which sets ADMIN_DATABASE_URL, SERVER_BIN,
// WEB_DIR and FIXTURES.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import pg from "pg";
import { chromium } from "playwright-core";

const DEADLINE_MS = 30_000;
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run this through cargo xtask test`);
  return v;
};

// The whole test is bounded: a hang is a failure, not a stuck CI job.
const watchdog = setTimeout(() => {
  console.error("e2e: timed out after 180 s");
  process.exit(1);
}, 180_000);

async function waitFor(what, check, deadline = DEADLINE_MS) {
  const start = Date.now();
  let last;
  while (Date.now() - start < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

async function freshDatabase() {
  const admin = env("ADMIN_DATABASE_URL");
  const name = `e2e_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return admin.replace(/\/[^/]*$/, `/${name}`);
}

function startServer(databaseUrl) {
  const child = spawn(
    env("SERVER_BIN"),
    ["--listen", "127.0.0.1:0", "--web-dir", env("WEB_DIR"), "--seed", env("FIXTURES")],
    { env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const m = line.match(/^listening on (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function main() {
  const databaseUrl = await freshDatabase();
  const db = new pg.Client({ connectionString: databaseUrl });
  const server = await startServer(databaseUrl);
  await db.connect();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    ],
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 375, height: 812 },
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(m.text()) && errors.push(m.text()));

    const status = () => page.locator("#sync-status");
    const lead = (id) => page.locator(`article.lead[data-lead="${id}"]`);
    const stageOf = async (id) =>
      lead(id).evaluate((el) => el.closest("section.stage").dataset.stage);

    // 1. Online: open the app, pick the partner, let it sync and install.
    await page.goto(server.url);
    await page.locator("#partner option[value=p-ana]").waitFor({ state: "attached" });
    await page.selectOption("#partner", "p-ana");
    await lead("ana-1").waitFor();
    assert((await page.locator("section.stage").count()) === 6, "six stage sections");
    await waitFor("the sync badge to say online and synced", async () =>
      (await status().getAttribute("data-connection")) === "online" &&
      (await status().getAttribute("data-pending")) === "0");
    await page.evaluate(() => navigator.serviceWorker.ready);
    await waitFor("the service worker to control the page", () =>
      page.evaluate(() => navigator.serviceWorker.controller !== null));

    // 2. Offline: reload, and the app opens from the service worker.
    await context.setOffline(true);
    const offlineLoad = await page.reload();
    assert(offlineLoad.fromServiceWorker(), "the offline reload was answered by the service worker");
    const apiReachable = await page.evaluate(() => fetch("/api/partners").then(() => true, () => false));
    assert(!apiReachable, "the network is really off");
    await lead("ana-1").waitFor();
    await waitFor("the badge to say offline", async () =>
      (await status().getAttribute("data-connection")) === "offline");

    // 3. Create a lead and move another, offline.
    await page.click("#new-lead");
    await page.fill("#lead-form input[name=contact_name]", "Olivia Offline");
    await page.fill("#lead-form input[name=company]", "Tunnel Co");
    await page.fill("#lead-form input[name=email]", "olivia@tunnel.example");
    await page.fill("#lead-form input[name=value]", "1,234.50");
    await page.selectOption("#lead-form select[name=currency]", "EUR");
    await page.fill("#lead-form textarea[name=notes]", "Signed up with no signal");
    await page.click("#lead-form button[type=submit]");
    const olivia = page.locator("article.lead", { hasText: "Olivia Offline" });
    await olivia.waitFor();
    assert((await olivia.evaluate((el) => el.closest("section.stage").dataset.stage)) === "new", "a new lead starts in New");
    await lead("ana-1").locator("select.move-stage").selectOption("qualified");
    await waitFor("ana-1 to show in Qualified", async () => (await stageOf("ana-1")) === "qualified");
    const pending = Number(await status().getAttribute("data-pending"));
    assert(pending >= 2, `the badge counts the waiting changes (got ${pending})`);

    // 4. Reload, still offline: both edits come back from IndexedDB.
    await page.reload();
    await olivia.waitFor();
    assert((await stageOf("ana-1")) === "qualified", "the move survived an offline reload");
    assert(Number(await status().getAttribute("data-pending")) >= 2, "still waiting after reload");

    // 5. Online again: within the deadline Postgres holds both edits.
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    const row = await waitFor("Postgres to hold the offline lead", async () => {
      const r = await db.query(
        "SELECT stage, company, value_minor, currency, notes FROM leads WHERE partner_id = 'p-ana' AND contact_name = 'Olivia Offline'",
      );
      return r.rows[0];
    });
    assert(row.stage === "new" && row.company === "Tunnel Co", "lead fields projected");
    assert(Number(row.value_minor) === 123450 && row.currency === "EUR", "value in minor units");
    assert(row.notes === "Signed up with no signal", "notes projected");
    await waitFor("Postgres to hold the offline move", async () => {
      const r = await db.query("SELECT stage FROM leads WHERE partner_id = 'p-ana' AND lead_id = 'ana-1'");
      return r.rows[0]?.stage === "qualified";
    });
    await waitFor("the badge to show nothing waiting", async () =>
      (await status().getAttribute("data-connection")) === "online" &&
      (await status().getAttribute("data-pending")) === "0");
    assert(errors.length === 0, `no errors in the page: ${errors.join(" | ")}`);
    console.log("e2e: offline capture reached Postgres");
  } finally {
    await browser.close();
    await db.end();
    server.child.kill("SIGTERM");
    clearTimeout(watchdog);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
