// Three devices of one partner edit the same lead while apart: two field
// clients (`portal-field`, the native program on SQLite) and the app in
// Chromium. The server is down meanwhile: the field clients read and
// write with no network, and a sync says the server is unreachable and
// that the changes are kept. Once each has synced, all three hold the same
// lead: one stage (the same winner everywhere), the three notes and the
// three new leads; each field client's local table equals the server's
// `leads` rows, column for column.
//
// Run by `cargo xtask test`, which sets ADMIN_DATABASE_URL, SERVER_BIN,
// FIELD_BIN, WEB_DIR and FIXTURES.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  PHONE, assert, dropDatabase, env, fillSignIn, freshDatabase, launchChromium, moveLead, openPage, showStage,
  startServer, stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e field");

// A field client with a home of its own: `run(args, input)` runs one
// command and gives its standard output; `fail(args)` runs one that must
// fail and gives what it said on standard error.
function fieldClient(name) {
  const home = mkdtempSync(join(tmpdir(), `field-${name}-`));
  const spawn = (args, input) => spawnSync(env("FIELD_BIN"), args, {
    input,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, PORTAL_FIELD_HOME: home, LC_ALL: "en_US.UTF-8", RUST_LOG: "warn" },
  });
  return {
    name,
    home,
    run(args, input) {
      const out = spawn(args, input);
      if (out.status !== 0) {
        throw new Error(`${name}: portal-field ${args.join(" ")} exited with ${out.status}: ${out.stderr}`);
      }
      return out.stdout;
    },
    fail(args) {
      const out = spawn(args);
      assert(out.status !== 0, `${name}: portal-field ${args.join(" ")} was to fail`);
      return out.stderr;
    },
    leads() {
      const leads = JSON.parse(this.run(["--json", "leads", "--archived"]));
      // In code-unit order, as Postgres sorts with COLLATE "C".
      return leads.sort((x, y) => (x.lead_id < y.lead_id ? -1 : x.lead_id > y.lead_id ? 1 : 0));
    },
    lead(id) {
      return JSON.parse(this.run(["--json", "leads", id]));
    },
  };
}

// The server's `leads` rows of Ben, as a field client lists them (times
// in UTC to the millisecond).
async function serverLeads(db) {
  const stamp = (t) => (t === null ? null : t.toISOString());
  const { rows } = await db.query(
    `SELECT lead_id, stage, contact_name, company, email, phone, notes, value_minor::int8::text AS value_minor,
            currency::text AS currency, created_at, updated_at, archived_at, follow_up_at, follow_up_note
     FROM leads WHERE partner_id = 'p-ben' ORDER BY lead_id COLLATE "C"`);
  return rows.map((r) => ({
    ...r,
    value_minor: Number(r.value_minor),
    created_at: stamp(r.created_at),
    updated_at: stamp(r.updated_at),
    archived_at: stamp(r.archived_at),
    follow_up_at: stamp(r.follow_up_at),
  }));
}

async function main() {
  const databaseUrl = await freshDatabase("field");
  let server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  const clients = [fieldClient("a"), fieldClient("b")];
  const [a, b] = clients;
  try {
    // Each device signs in and fetches the pipeline while online.
    for (const client of clients) {
      client.run(["sign-in", "--server", server.url, "--email", "ben@okafor.example", "--password-stdin"],
        "demo-ben-password\n");
      client.run(["sync"]);
      assert(client.lead("ben-1").stage === "new", `${client.name} has Ada Obi in New`);
    }
    const context = await browser.newContext(PHONE);
    const page = await openPage(context, errors);
    const status = () => page.locator("#sync-status");
    await page.goto(`${server.url}/#pipeline`);
    await fillSignIn(page, "ben@okafor.example", "demo-ben-password");
    await page.locator('article.lead[data-lead="ben-1"]').waitFor();
    await waitFor("the app synced and controlled by its service worker", async () =>
      (await status().getAttribute("data-pending")) === "0" &&
      await page.evaluate(() => navigator.serviceWorker.controller !== null));

    // Apart: the server goes down and the phone loses its network (opened
    // again with none: an open socket would outlive the switch).
    const { port } = new URL(server.url);
    await stopServer(server);
    await context.setOffline(true);
    await page.reload();
    await waitFor("the app to be offline", async () => (await status().getAttribute("data-connection")) === "offline");

    // The same lead, three ways: each device moves it to another stage
    // and logs a note on it; each adds a lead of its own.
    a.run(["lead", "move", "ben-1", "contacted"]);
    a.run(["lead", "note", "ben-1", "Field A: called from the car"]);
    a.run(["lead", "add", "Ines Alves", "--company", "Alves Field", "--value", "1,250.50", "--currency", "eur"]);
    b.run(["lead", "move", "ben-1", "proposal"]);
    b.run(["lead", "note", "ben-1", "Field B: left a voicemail"]);
    b.run(["lead", "add", "Kofi Mensah", "--value", "300"]);
    await moveLead(page, "ben-1", "qualified");
    await page.evaluate(() => { location.hash = "#lead-ben-1"; });
    const ada = page.locator('main.lead-page[data-lead="ben-1"]');
    await page.fill("#log-text", "Browser: met at the fair");
    await ada.locator(".log-form button[type=submit]").click();
    await ada.locator(".timeline li", { hasText: "Browser: met at the fair" }).waitFor();
    await ada.locator("a.back").click();
    await page.click("#new-lead");
    await page.fill("#lead-form input[name=contact_name]", "Lena Park");
    await page.click("#lead-form button[type=submit]");
    await page.locator("article.lead", { hasText: "Lena Park" }).waitFor();

    // With no network, each field client reads its own work and says
    // what waits; a sync says the server cannot be reached and that the
    // changes are kept.
    assert(a.lead("ben-1").stage === "contacted" && b.lead("ben-1").stage === "proposal",
      "each field client reads its own move offline");
    assert(a.leads().some((l) => l.contact_name === "Ines Alves" && l.value_minor === 125050 && l.currency === "EUR"),
      "a lead added offline is listed, its amount read as typed");
    const waiting = JSON.parse(a.run(["--json", "status"])).documents.find((d) => d.kind === "pipeline");
    assert(waiting.changes_waiting === 3, `three changes wait on a (${JSON.stringify(waiting)})`);
    const said = a.fail(["sync"]);
    assert(/cannot be reached/.test(said) && /your changes are kept here/.test(said),
      `an unreachable server is said, and that the changes are kept (${said.trim()})`);
    assert(a.lead("ben-1").stage === "contacted", "a failed sync loses nothing");

    // Together again, one after the other: a, b, the app; then a and b
    // once more for what came after them.
    server = await startServer(databaseUrl, `127.0.0.1:${port}`);
    a.run(["sync"]);
    b.run(["sync"]);
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await waitFor("the app to send what it did offline", async () =>
      (await status().getAttribute("data-connection")) === "online" &&
      (await status().getAttribute("data-pending")) === "0");
    a.run(["sync"]);
    b.run(["sync"]);

    // One lead everywhere: the field clients' tables are equal to each
    // other and, once projected, to the server's rows.
    const rows = a.leads();
    assert(JSON.stringify(b.leads()) === JSON.stringify(rows), "the two field clients hold the same rows");
    await waitFor("the server's leads rows to equal the field clients'", async () =>
      JSON.stringify(await serverLeads(db)) === JSON.stringify(rows));
    const stage = rows.find((l) => l.lead_id === "ben-1").stage;
    assert(["contacted", "qualified", "proposal"].includes(stage), `one of the three moves won (${stage})`);
    for (const name of ["Ines Alves", "Kofi Mensah", "Lena Park"]) {
      assert(rows.some((l) => l.contact_name === name), `${name} is everywhere`);
    }
    // The app shows the same: the winning stage and every note.
    await showStage(page, stage);
    await waitFor(`the app to show Ada Obi in ${stage}`, async () =>
      (await page.locator('article.lead[data-lead="ben-1"]').getAttribute("data-stage")) === stage);
    await page.evaluate(() => { location.hash = "#lead-ben-1"; });
    for (const note of ["Field A: called from the car", "Field B: left a voicemail", "Browser: met at the fair"]) {
      await ada.locator(".timeline li", { hasText: note }).waitFor();
    }
    for (const client of clients) {
      const pipeline = JSON.parse(client.run(["--json", "status"])).documents.find((d) => d.kind === "pipeline");
      assert(pipeline.changes_waiting === 0, `nothing waits on ${client.name}`);
    }
    assert(errors.length === 0, `no errors in the page: ${errors.join("; ")}`);
    console.log(`e2e field: ok (three devices converged on ${stage})`);
  } finally {
    await browser.close();
    await db.end();
    await stopServer(server);
    await dropDatabase(databaseUrl);
    for (const client of clients) rmSync(client.home, { recursive: true, force: true });
  }
}

main().then(() => clearTimeout(timer), (e) => {
  console.error(e);
  process.exit(1);
});
