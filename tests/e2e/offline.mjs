// Browser end to end: a partner signs in, works offline across a restart of
// the app, and what they captured offline reaches Postgres even though their
// session ended meanwhile: the app asks them to sign in again without losing
// anything, then syncs. Then: signing out revokes the session; another
// account on the same device sees none of the first one's data; a session
// revoked while connected (close code 4401) stops the app dialing until the
// partner signs in again; a server restart is noticed and recovered from;
// a team leader sees a team member's pipeline read-only. Real Chromium
// (Debian's), real server binary, real Postgres, a phone-sized viewport;
// the network is switched off and on by the test.
//
// Run by `cargo xtask test`, which sets ADMIN_DATABASE_URL, SERVER_BIN,
// WEB_DIR and FIXTURES.

import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, moveLead, openPage, showStage, startProxy, startServer,
  stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e");

async function main() {
  const databaseUrl = await freshDatabase("e2e");
  const db = new pg.Client({ connectionString: databaseUrl });
  let server = await startServer(databaseUrl);
  await db.connect();
  const browser = await launchChromium();
  try {
    const context = await browser.newContext(PHONE);
    const errors = [];
    const newPage = (inContext = context) => openPage(inContext, errors);
    let page = await newPage();

    const status = () => page.locator("#sync-status");
    const lead = (id) => page.locator(`article.lead[data-lead="${id}"]`);
    const leadNamed = (name) => page.locator("article.lead", { hasText: name });
    // A phone shows one stage: each card says its own.
    const stageOf = async (id) => lead(id).getAttribute("data-stage");
    const signIn = (email, password) => fillSignIn(page, email, password);
    const captureLead = async ({ name, company, value, currency, notes }) => {
      await page.click("#new-lead");
      await page.fill("#lead-form input[name=contact_name]", name);
      await page.fill("#lead-form input[name=company]", company);
      await page.fill("#lead-form input[name=value]", value);
      await page.selectOption("#lead-form select[name=currency]", currency);
      await page.fill("#lead-form textarea[name=notes]", notes);
      await page.click("#lead-form button[type=submit]");
      await leadNamed(name).waitFor();
    };
    const leadRow = async (name) =>
      (await db.query(
        "SELECT stage, company, value_minor, currency, notes FROM leads WHERE partner_id = 'p-ben' AND contact_name = $1",
        [name],
      )).rows[0];

    // 0. Before the app's wasm arrives (held back here), the page already
    // has a sign-in form that works: a wrong password is refused, the
    // right one signs in, and the app, once it arrives, opens signed in
    // with nothing typed lost.
    {
      const early = await browser.newContext(PHONE);
      let release;
      const held = new Promise((resolve) => { release = resolve; });
      await early.route(/\.wasm$/, async (route) => { await held; await route.continue(); });
      // What the app remembers is not to be trusted: garbage there is no
      // one signed in.
      await early.addInitScript(() => {
        if (!sessionStorage.getItem("planted")) {
          sessionStorage.setItem("planted", "1");
          localStorage.setItem("session", "{not json");
        }
      });
      const p = await openPage(early, errors);
      await p.goto(`${server.url}/#pipeline`);
      const form = p.locator("#preboot-form");
      await form.waitFor({ state: "visible" });
      await form.locator("button[type=submit]").click();
      await waitFor("the early form to ask for both fields", async () =>
        /Enter your email and your password/.test((await p.locator("#preboot-error").textContent()) ?? ""));
      await form.locator("input[name=email]").fill("ben@okafor.example");
      await form.locator("input[name=password]").fill("not-his-password");
      await form.locator("button[type=submit]").click();
      await waitFor("the early form to refuse a wrong password", async () =>
        /Wrong email or password/.test((await p.locator("#preboot-error").textContent()) ?? ""));
      assert((await p.locator("#preboot").count()) === 1, "the app had not taken the page over");
      await form.locator("input[name=password]").fill("demo-ben-password");
      await form.locator("button[type=submit]").click();
      await waitFor("the early form to sign Ben in", async () =>
        await p.locator("#preboot-loading").isVisible());
      release();
      await p.locator('article.lead[data-lead="ben-1"]').waitFor();
      assert((await p.locator("#preboot").count()) === 0, "the app took the page over");
      assert((await p.locator("#account").textContent()) === "Ben Okafor", "signed in as Ben");
      // Signed out again, so Ben has one live session from here on.
      await p.click("#sign-out");
      await p.locator("#preboot-form").waitFor();
      await early.close();
    }

    // 1. Online: the app asks who you are; a wrong password is refused.
    await page.goto(`${server.url}/#pipeline`);
    await page.locator("#preboot-form").waitFor();
    await signIn("ben@okafor.example", "not-his-password");
    await waitFor("the wrong password to be refused", async () =>
      /Wrong email or password/.test(await page.locator("#preboot-error").textContent()));

    // 2. Ben signs in: his pipeline syncs and the app installs.
    await signIn("ben@okafor.example", "demo-ben-password");
    await lead("ben-1").waitFor();
    assert((await page.locator("#account").textContent()) === "Ben Okafor", "signed in as Ben");
    assert((await page.locator(".stage-tab").count()) === 6, "six stage tabs");
    assert((await lead("ana-1").count()) === 0, "only Ben's own pipeline");
    await waitFor("the sync badge to say online and synced", async () =>
      (await status().getAttribute("data-connection")) === "online" &&
      (await status().getAttribute("data-pending")) === "0");
    const sessions = await db.query("SELECT count(*)::int AS n FROM sessions WHERE account_id = 'a-ben' AND revoked_at IS NULL AND expires_at > now()");
    assert(sessions.rows[0].n === 1, "one live session for Ben");
    await page.evaluate(() => navigator.serviceWorker.ready);
    await waitFor("the service worker to control the page", () =>
      page.evaluate(() => navigator.serviceWorker.controller !== null));

    // 3. A lead captured online reaches Postgres.
    await captureLead({
      name: "Olivia Online", company: "Signal Co", value: "1,234.50", currency: "EUR",
      notes: "Captured with a signal",
    });
    const online = await waitFor("Postgres to hold the lead captured online", () => leadRow("Olivia Online"));
    assert(Number(online.value_minor) === 123450 && online.currency === "EUR", "value in minor units");

    // 3b. The network goes while the socket is still open (it stays open
    // until a write or a ping times out): the badge says offline within
    // 5 s all the same. An error met offline goes when the connection is
    // back, which the badge says within 2 s.
    await context.setOffline(true);
    await waitFor("the badge to say offline with the socket not yet closed", async () =>
      (await status().getAttribute("data-connection")) === "offline", 5_000);
    await page.click("#sign-out");
    await waitFor("signing out offline to say a connection is needed", async () =>
      /You are offline/.test((await page.locator("p.error").textContent()) ?? ""));
    await context.setOffline(false);
    await waitFor("the badge to say online again", async () =>
      (await status().getAttribute("data-connection")) === "online", 2_000);
    await waitFor("the offline error to go with the condition", async () =>
      (await page.locator("p.error").count()) === 0);
    assert((await page.locator("#account").textContent()) === "Ben Okafor", "still signed in");

    // 3c. The network goes silent and the browser does not notice:
    // navigator.onLine stays true and the socket stays open, but no byte
    // passes (a proxy holds them). The app's heartbeat finds the socket
    // dead and the badge says offline within 5 s; once bytes pass again,
    // the app redials (its backoff waits at most 5 s) and says online.
    {
      const proxy = await startProxy(server.url);
      const silent = await browser.newContext(PHONE);
      const p = await openPage(silent, errors);
      const badge = () => p.locator("#sync-status").getAttribute("data-connection");
      await p.goto(`${proxy.url}/#pipeline`);
      await p.locator("#preboot-form").waitFor();
      await fillSignIn(p, "ben@okafor.example", "demo-ben-password");
      await p.locator('article.lead[data-lead="ben-1"]').waitFor();
      await waitFor("the badge to say online through the proxy", async () => (await badge()) === "online");
      proxy.freeze();
      const frozenAt = Date.now();
      await waitFor("the badge to say offline on a silent network", async () => (await badge()) === "offline", 5_000);
      console.log(`e2e: a silent network shown offline after ${Date.now() - frozenAt} ms`);
      assert(await p.evaluate(() => navigator.onLine), "the browser still thought it was online");
      proxy.thaw();
      await waitFor("the badge to say online once bytes pass again", async () => (await badge()) === "online", 10_000);
      await p.click("#sign-out");
      await p.locator("#preboot-form").waitFor();
      await silent.close();
      await proxy.close();
    }

    // 4. Offline: close the app and open it again. The shell comes from the
    // service worker, the account from the cache, the pipeline from
    // IndexedDB: still signed in, still working.
    await context.setOffline(true);
    await page.close();
    page = await newPage();
    const offlineLoad = await page.goto(`${server.url}/#pipeline`);
    assert(offlineLoad.fromServiceWorker(), "the offline start was answered by the service worker");
    const apiReachable = await page.evaluate(() => fetch("/api/me").then(() => true, () => false));
    assert(!apiReachable, "the network is really off");
    await leadNamed("Olivia Online").waitFor();
    assert(!(await page.locator("#preboot-form").isVisible()), "no sign-in asked for offline");
    assert((await page.locator("#account").textContent()) === "Ben Okafor", "still signed in as Ben");
    await waitFor("the badge to say offline", async () =>
      (await status().getAttribute("data-connection")) === "offline");

    // 5. Capture a lead and move another, offline.
    await captureLead({
      name: "Oscar Offline", company: "Tunnel Co", value: "980", currency: "USD",
      notes: "Signed up with no signal",
    });
    assert((await leadNamed("Oscar Offline").getAttribute("data-stage")) === "new",
      "a new lead starts in New");
    await moveLead(page, "ben-1", "qualified");
    await showStage(page, "qualified");
    await waitFor("ben-1 to show in Qualified", async () => (await stageOf("ben-1")) === "qualified");
    await showStage(page, "contacted");
    const pending = Number(await status().getAttribute("data-pending"));
    assert(pending >= 2, `the badge counts the waiting changes (got ${pending})`);

    // 5b. Still offline, on a lead's own page: correct a field, log a call,
    // set a follow-up; archive another lead.
    await lead("ben-2").locator("a.contact").click();
    const sam = page.locator('main.lead-page[data-lead="ben-2"]');
    assert(await sam.locator("h2.contact").evaluate((el) => el === document.activeElement),
      "focus goes to the lead's name as its page opens");
    assert((await sam.locator('a[href^="tel:"]').getAttribute("href")) === "tel:+13125550202", "tap to call");
    await sam.locator("button", { hasText: "Edit details" }).click();
    await page.fill("#lead-form input[name=phone]", "+1 312 555 0299");
    await page.fill("#lead-form input[name=contact_name]", "x".repeat(201));
    await page.click("#lead-form button[type=submit]");
    assert(/Contact name is 201 characters long; the most is 200/.test(await page.locator("#lead-form .error").textContent()),
      "an over-long field is refused with how much is too much");
    assert((await page.inputValue("#lead-form input[name=phone]")) === "+1 312 555 0299", "nothing typed is lost");
    await page.fill("#lead-form input[name=contact_name]", "Sam Reed");
    await page.click("#lead-form button[type=submit]");
    await waitFor("the edit form to close, focus back on its button", async () =>
      (await page.locator("#lead-form").count()) === 0 &&
      (await page.evaluate(() => document.activeElement?.textContent)) === "Edit details");
    await page.fill("#log-text", "Called from the tunnel");
    await sam.locator(".log-form button[type=submit]").click();
    await sam.locator(".timeline li", { hasText: "Called from the tunnel" }).waitFor();
    await sam.locator(".follow-up button", { hasText: "Set follow-up" }).click();
    await page.fill(".follow-up-form input[name=at]", "2027-01-15T09:30");
    await page.fill(".follow-up-form input[name=note]", "Send the contract");
    await sam.locator(".follow-up-form button[type=submit]").click();
    await sam.locator(".follow-up .due").waitFor();
    await sam.locator("a.back").click();
    await showStage(page, "lost");
    await lead("ben-6").locator("a.contact").click();
    await page.locator('main.lead-page[data-lead="ben-6"] button', { hasText: "Archive" }).click();
    await page.locator(".archived-note").waitFor();
    await page.locator("a.back").click();
    await waitFor("ben-6 to leave the board", async () => (await lead("ben-6").count()) === 0);
    assert((await page.locator(".archived-list summary").textContent()) === "Archived (1)", "listed as archived");
    await showStage(page, "new");
    const followUpAt = await page.evaluate(() => new Date("2027-01-15T09:30").getTime());

    // From here on, the offline work must never leave the screen: the
    // lead captured offline is in New, the stage shown, and the Qualified
    // tab counts the lead moved there (Eva Novak's and Ada Obi's).
    await page.evaluate(() => {
      window.__e2eLost = [];
      const check = () => {
        const oscar = [...document.querySelectorAll('section.stage[data-stage=new] article.lead .contact')]
          .some((el) => el.textContent === "Oscar Offline");
        const moved = document.querySelector("#tab-qualified .count")?.textContent === "2";
        if (!oscar || !moved) window.__e2eLost.push(new Date().toISOString());
      };
      new MutationObserver(check).observe(document.body, { childList: true, subtree: true, characterData: true });
    });

    // 6. While Ben is offline, his session expires.
    const expired = await db.query("UPDATE sessions SET expires_at = now() WHERE account_id = 'a-ben'");
    assert(expired.rowCount >= 1, "Ben's session expired");

    // 7. Online again: the app asks Ben to sign in again, over his pipeline,
    // and keeps everything that waits.
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    const overlay = page.locator("#session-ended");
    await overlay.waitFor();
    assert(/Your session ended — sign in again/.test(await overlay.textContent()), "the overlay says why");
    await waitFor("the badge to say signed out", async () =>
      (await status().getAttribute("data-connection")) === "signed-out");
    assert(await leadNamed("Oscar Offline").isVisible(), "the offline lead is still on screen");
    assert(await leadNamed("Olivia Online").isVisible(), "the online lead is still on screen");
    assert((await page.locator("#tab-qualified .count").textContent()) === "2", "the offline move is still on screen");
    assert(Number(await status().getAttribute("data-pending")) >= 2, "the changes still wait");
    assert((await leadRow("Oscar Offline")) === undefined, "nothing synced without a session");
    assert((await overlay.locator("input[name=email]").inputValue()) === "ben@okafor.example",
      "the overlay knows who was signed in");

    // 8. Ben signs in again: what waited reaches Postgres.
    await overlay.locator("input[name=password]").fill("demo-ben-password");
    await overlay.locator("button[type=submit]").click();
    await overlay.waitFor({ state: "detached" });
    const row = await waitFor("Postgres to hold the offline lead", () => leadRow("Oscar Offline"));
    assert(row.stage === "new" && row.company === "Tunnel Co", "lead fields projected");
    assert(Number(row.value_minor) === 98000 && row.currency === "USD", "value in minor units");
    assert(row.notes === "Signed up with no signal", "notes projected");
    await waitFor("Postgres to hold the offline move", async () => {
      const r = await db.query("SELECT stage FROM leads WHERE partner_id = 'p-ben' AND lead_id = 'ben-1'");
      return r.rows[0]?.stage === "qualified";
    });
    await waitFor("Postgres to hold the edits made on the lead's page", async () => {
      const sam = (await db.query(
        "SELECT phone, follow_up_note, (extract(epoch FROM follow_up_at) * 1000)::bigint AS at FROM leads WHERE partner_id = 'p-ben' AND lead_id = 'ben-2'",
      )).rows[0];
      const omar = (await db.query(
        "SELECT archived_at IS NOT NULL AS archived FROM leads WHERE partner_id = 'p-ben' AND lead_id = 'ben-6'",
      )).rows[0];
      return sam?.phone === "+1 312 555 0299" && sam.follow_up_note === "Send the contract" &&
        Number(sam.at) === followUpAt && omar?.archived === true;
    });
    await waitFor("the badge to show nothing waiting", async () =>
      (await status().getAttribute("data-connection")) === "online" &&
      (await status().getAttribute("data-pending")) === "0");
    const lost = await page.evaluate(() => window.__e2eLost);
    assert(lost.length === 0, `the offline work never left the screen (gone at ${lost.join(", ")})`);
    await showStage(page, "qualified");
    assert((await stageOf("ben-1")) === "qualified", "the offline move is on the board, in Qualified");
    await showStage(page, "new");

    // 9. Sign out: the server revokes the session; the app asks who you are,
    // also after a reload.
    await page.click("#sign-out");
    await page.locator("#preboot-form").waitFor();
    const live = await db.query("SELECT count(*)::int AS n FROM sessions WHERE account_id = 'a-ben' AND revoked_at IS NULL AND expires_at > now()");
    assert(live.rows[0].n === 0, "signing out revoked the session");
    await page.reload();
    await page.locator("#preboot-form").waitFor();

    // 10. Cleo on the same device sees her pipeline and none of Ben's
    // (signed out, the page is the welcome's: she lands on her home).
    await signIn("cleo@martin.example", "demo-cleo-password");
    await page.locator("#home").waitFor();
    await page.click('nav.tabs a[href="#pipeline"]');
    await lead("cleo-1").waitFor();
    assert((await lead("ben-1").count()) === 0 && (await leadNamed("Oscar Offline").count()) === 0,
      "nothing of Ben's on Cleo's screen");
    await waitFor("Cleo's app to be online", async () =>
      (await status().getAttribute("data-connection")) === "online");

    // 11. Cleo's session is revoked while she is connected: the server
    // closes her socket (4401) and the app asks her to sign in again.
    const sockets = [];
    page.on("websocket", (ws) => sockets.push(ws));
    await db.query("UPDATE sessions SET revoked_at = now() WHERE account_id = 'a-cleo' AND revoked_at IS NULL");
    await page.locator("#session-ended").waitFor();
    await waitFor("the badge to say signed out", async () =>
      (await status().getAttribute("data-connection")) === "signed-out");
    assert(await lead("cleo-1").isVisible(), "Cleo's pipeline stays on screen");
    const overlayCleo = page.locator("#session-ended");
    await overlayCleo.locator("input[name=password]").fill("demo-cleo-password");
    await overlayCleo.locator("button[type=submit]").click();
    await overlayCleo.waitFor({ state: "detached" });
    await waitFor("Cleo's app to be online again", async () =>
      (await status().getAttribute("data-connection")) === "online");
    assert(sockets.length === 1,
      `no redial while signed out, one dial after signing in (${sockets.length} sockets opened)`);

    // 12. The server restarts: the app sees its socket close, redials once
    // the server is back, and what Cleo did meanwhile syncs.
    await stopServer(server);
    await waitFor("the badge to notice the server is gone", async () =>
      (await status().getAttribute("data-connection")) === "offline");
    await moveLead(page, "cleo-1", "won");
    server = await startServer(databaseUrl, new URL(server.url).host);
    await waitFor("Postgres to hold Cleo's move made while the server was down", async () => {
      const r = await db.query("SELECT stage FROM leads WHERE partner_id = 'p-cleo' AND lead_id = 'cleo-1'");
      return r.rows[0]?.stage === "won";
    });

    // 13. Ana, Ben's team leader, on a device of her own: her pipeline
    // first, Ben's (with what he captured offline) read-only.
    const anaContext = await browser.newContext(PHONE);
    page = await newPage(anaContext);
    await page.goto(`${server.url}/#pipeline`);
    await signIn("ana@souza.example", "demo-ana-password");
    await lead("ana-1").waitFor();
    assert(await page.locator("#new-lead").isVisible(), "Ana edits her own pipeline");
    await page.selectOption("#pipeline-switch", { label: "Ben Okafor (read-only)" });
    await leadNamed("Oscar Offline").waitFor();
    assert((await lead("ana-1").count()) === 0, "Ben's pipeline replaced Ana's on screen");
    assert((await page.locator("#new-lead").count()) === 0, "no new lead in a read-only pipeline");
    await showStage(page, "qualified");
    await lead("ben-1").waitFor();
    assert((await lead("ben-1").locator("button.move-open").count()) === 0, "no moves in a read-only pipeline");
    assert((await lead("ben-1").getAttribute("tabindex")) === null, "no card to pick up in a read-only pipeline");
    await anaContext.close();

    assert(errors.length === 0, `no errors in the page: ${errors.join(" | ")}`);
    console.log("e2e: offline capture survived an ended session and reached Postgres");
  } finally {
    await browser.close();
    await db.end();
    await stopServer(server);
    await dropDatabase(databaseUrl);
    clearTimeout(timer);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
