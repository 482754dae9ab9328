// Browser end to end of the money path: a partner proposes, the back-office
// decides, and the partner's device shows what the server decided.
//
// Ben corrects a lead's amount and marks it won offline; back online, the deal
// reaches the server; an admin signs in (the partner app sends them to the
// back-office, a bundle of its own at /admin/ that partners never download)
// and approves it (a second browser); Ben's Earnings screen shows the
// pending commission (20% of the deal: he is a Starter) and keeps showing
// it offline. Then the
// server restarts with no commission hold, Ben registers a payout method and
// wins another deal, which the admin approves; the admin previews and runs
// the month's payouts; Ben's screen shows the statement, printable, and the
// balance moved from available to paid; then the admin claws ben-2 back and
// Ben's device shows that he owes it. Along the way: the back-office says it
// is online only when it is offline, sets Elite terms, records and refunds
// an order and shows a report.
// Real Chromium (Debian's), real server binary, real Postgres, phone-sized
// viewports; every wait has a deadline.
//
// Run by `cargo xtask test` after offline.mjs, which sets
// ADMIN_DATABASE_URL, SERVER_BIN, WEB_DIR and FIXTURES.

import pg from "pg";
import {
  DEADLINE_MS, PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, moveLead, openPage, showStage, startServer, swipe,
  stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e earnings");

async function main() {
  const databaseUrl = await freshDatabase("e2e_earnings");
  const db = new pg.Client({ connectionString: databaseUrl });
  // The default hold first (30 days): an approved commission is pending.
  let server = await startServer(databaseUrl, "127.0.0.1:0");
  const host = new URL(server.url).host;
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  const newPage = (context) => openPage(context, errors);
  const signIn = async (page, email, password) => {
    await page.goto(`${server.url}/#pipeline`);
    await fillSignIn(page, email, password);
  };
  const go = async (page, hash) => {
    await page.click(`nav.tabs a[href="${hash}"]`);
    await waitFor(`the ${hash} tab to be current`, async () =>
      (await page.locator(`nav.tabs a[href="${hash}"]`).getAttribute("aria-current")) === "page");
  };
  const deal = async (lead) =>
    (await db.query("SELECT id, status, amount_minor FROM deals WHERE partner_id = 'p-ben' AND lead_id = $1", [lead])).rows[0];
  // A Starter earns 20% of a deal, rounded half away from zero on the cent.
  const starterCommission = async (lead) => {
    const r = await db.query("SELECT value_minor FROM leads WHERE partner_id = 'p-ben' AND lead_id = $1", [lead]);
    return Math.round(Number(r.rows[0].value_minor) * 2000 / 10000);
  };

  try {
    const benContext = await browser.newContext(PHONE);
    // The back-office is not the partner's download.
    const partnerFetchedAdmin = [];
    benContext.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/admin")) partnerFetchedAdmin.push(r.url());
    });
    let ben = await newPage(benContext);
    const status = () => ben.locator("#sync-status");
    const lead = (id) => ben.locator(`article.lead[data-lead="${id}"]`);
    const figure = (currency, field) =>
      ben.locator(`#earnings section.balance[data-currency="${currency}"] .figure[data-field="${field}"]`);
    const minorOf = async (locator) => Number(await locator.getAttribute("data-minor"));

    // 1. Ben signs in; his account view syncs with his pipeline: the tier
    // badge says Starter.
    await signIn(ben, "ben@okafor.example", "demo-ben-password");
    await showStage(ben, "proposal");
    await lead("ben-4").waitFor();
    await waitFor("Ben's app to be online and synced", async () =>
      (await status().getAttribute("data-connection")) === "online" &&
      (await status().getAttribute("data-pending")) === "0");
    await waitFor("the tier badge", async () =>
      (await ben.locator('nav.tabs a[href="#tier"]').textContent()) === "Starter");
    await ben.evaluate(() => navigator.serviceWorker.ready);
    await waitFor("the service worker to control the page", () =>
      ben.evaluate(() => navigator.serviceWorker.controller !== null));

    // 2. Offline (the app opened again with no network: an open socket
    // would outlive the switch), Ben corrects the amount of ben-4, which
    // the card shows, and marks it won.
    await benContext.setOffline(true);
    await ben.close();
    ben = await newPage(benContext);
    assert((await ben.goto(`${server.url}/#pipeline`)).fromServiceWorker(), "the app opened from the service worker");
    await showStage(ben, "proposal");
    await lead("ben-4").waitFor();
    await waitFor("the badge to say offline", async () =>
      (await status().getAttribute("data-connection")) === "offline");
    assert(/1,750\.00 USD/.test(await lead("ben-4").locator(".value").textContent()), "the card shows the amount");
    // The amount is corrected on the lead's page, where every field is.
    await lead("ben-4").locator("a.contact").click();
    const page4 = ben.locator('main.lead-page[data-lead="ben-4"]');
    await page4.locator("button", { hasText: "Edit details" }).click();
    const editForm = ben.locator("#lead-form");
    assert((await editForm.locator("input[name=value]").inputValue()) === "1750.00", "the form starts from it");
    assert(await editForm.locator("input[name=contact_name]").evaluate((el) => el === document.activeElement),
      "focus moves into the form");
    await editForm.locator("input[name=value]").fill("1,800.00");
    await editForm.locator("button[type=submit]").click();
    await waitFor("the corrected amount on the lead's page", async () =>
      (await page4.locator(".lead-summary .value").textContent()) === "1,800.00 USD");
    await page4.locator("button.stage-button[data-stage=won]").click();
    const confirmWon = page4.locator("form.confirm-won");
    assert(/1,800\.00 USD/.test(await confirmWon.textContent()), "marking won names the deal's amount");
    // What it would earn, computed on the device (offline) by the rules
    // the server prices with: compared below with what the server pays.
    const previewed = Number(await confirmWon.locator(".earns").getAttribute("data-minor"));
    assert(/At your current rate \(20%, Starter\)/.test(await confirmWon.textContent()), "the rate and tier it uses");
    await confirmWon.locator("button[type=submit]").click();
    await waitFor("the lead to show Won", async () =>
      (await page4.locator(".stage-chip").textContent()) === "Won");
    await page4.locator("a.back").click();
    await showStage(ben, "won");
    await ben.locator('section.stage[data-stage=won] article.lead[data-lead="ben-4"]').waitFor();
    assert(Number(await status().getAttribute("data-pending")) >= 2, "the changes wait for the network");
    // A lead with no amount is not marked won until it has one.
    await showStage(ben, "new");
    await ben.click("#new-lead");
    await ben.fill("#lead-form input[name=contact_name]", "Nadia Nought");
    await ben.click("#lead-form button[type=submit]");
    const nought = ben.locator("article.lead", { hasText: "Nadia Nought" });
    const askAmount = await moveLead(ben, await nought.getAttribute("data-lead"), "won", { confirm: false });
    await askAmount.locator("button[type=submit]").click();
    await askAmount.locator(".error").waitFor();
    await askAmount.locator("button[type=button]").click();
    assert((await nought.getAttribute("data-stage")) === "new",
      "a lead with no amount stays where it was");
    // The Earnings screen works offline: it is a synced document.
    await go(ben, "#earnings");
    await ben.locator("#earnings .as-of").waitFor();
    assert(/No earnings yet/.test(await ben.locator("#earnings").textContent()), "no earnings before a decision");
    // ben-5 was submitted before: it waits, named, with what it would earn.
    const waiting = ben.locator('#coming li[data-lead="ben-5"]');
    assert(/Grace Kim \(Kim Studio\)/.test(await waiting.textContent()), "a deal waiting names its customer");
    assert(Number(await waiting.getAttribute("data-minor")) === 18000, "20% of 900.00 USD, expected");
    await go(ben, "#pipeline");
    await showStage(ben, "won");

    // 3. Back online: the deal reaches the server, at the corrected amount,
    // and Ben's card says it awaits approval.
    await benContext.setOffline(false);
    await ben.evaluate(() => window.dispatchEvent(new Event("online")));
    const submitted = await waitFor("the deal of ben-4 to be submitted", async () => {
      const d = await deal("ben-4");
      return d?.status === "submitted" && d;
    });
    assert(Number(submitted.amount_minor) === 180000, `deal at the corrected amount (${submitted.amount_minor})`);
    await lead("ben-4").locator('p.deal[data-deal="submitted"]').waitFor();

    // 4. An admin, on a device of their own, approves it on the approval
    // queue. Admins have no pipeline: the back-office is their app.
    const adminContext = await browser.newContext(PHONE);
    const admin = await newPage(adminContext);
    await signIn(admin, "admin@portal.example", "demo-admin-password");
    await admin.waitForURL((u) => u.pathname === "/admin/", { timeout: DEADLINE_MS });
    const queued = admin.locator('#approvals article[data-key="ben-4"]');
    await queued.waitFor();
    assert((await admin.locator("article.lead").count()) === 0, "no pipeline for an admin");
    assert(/1,800\.00 USD/.test(await queued.textContent()), "the queue shows the deal's amount");
    await queued.locator("button.approve").click();
    await waitFor("the deal to be approved", async () => (await deal("ben-4"))?.status === "approved");
    await queued.waitFor({ state: "detached" });

    // 5. Ben's device shows the decision and the pending commission, with
    // its rate, hold date and explanation.
    const commission = await starterCommission("ben-4");
    assert(commission === 36000, `20% of 1800.00 is 360.00 (${commission})`);
    await lead("ben-4").locator('p.deal[data-deal="approved"]').waitFor();
    // Approved: the lead stays won in the app, swiped or moved.
    await swipe(ben, lead("ben-4"), -160);
    await waitFor("the swipe to be refused, and why said", async () =>
      /approved: the lead stays won/.test(await ben.locator("#board-announce").textContent()));
    assert((await lead("ben-4").getAttribute("data-stage")) === "won", "an approved deal's lead cannot be swiped out of won");
    await lead("ben-4").locator("a.contact").click();
    const held = ben.locator('main.lead-page[data-lead="ben-4"]');
    assert(await held.locator("button.stage-button[data-stage=lost]").isDisabled(), "an approved deal's lead cannot leave won");
    assert(/this lead stays won/.test(await held.locator(".stage-moves").textContent()), "and the page says why");
    await held.locator("a.back").click();
    await go(ben, "#earnings");
    await waitFor("the pending commission", async () => (await minorOf(figure("USD", "pending"))) === commission);
    assert((await minorOf(figure("USD", "available"))) === 0, "nothing available during the hold");
    const line = ben.locator("#earnings li.line[data-status=pending]");
    assert((await minorOf(line)) === commission, "the line's amount");
    assert(previewed === commission, `the commission previewed offline is the line paid (${previewed})`);
    assert(/Luis Vega \(Vega Motors\)/.test(await line.locator(".customer").textContent()), "the line names its customer");
    const lineText = await line.textContent();
    assert(/360\.00 USD/.test(lineText) && /at 20%/.test(lineText) && /held until/.test(lineText),
      `the line says its amount, rate and hold (${lineText})`);
    assert(/deal with Luis Vega \(Vega Motors\)/.test(lineText), `the line names the customer (${lineText})`);
    await go(ben, "#tier");
    const tier = ben.locator("#tier");
    assert((await tier.getAttribute("data-tier")) === "starter", "a Starter still");
    assert((await tier.locator("li.component").count()) >= 1, "the components that count are listed");
    assert(Number(await tier.locator("progress").first().getAttribute("value")) > 0, "progress towards Active");

    // Offline, the figures stay on the device.
    await benContext.setOffline(true);
    await ben.reload();
    await go(ben, "#earnings");
    await waitFor("the pending commission offline", async () => (await minorOf(figure("USD", "pending"))) === commission);
    await benContext.setOffline(false);
    await ben.evaluate(() => window.dispatchEvent(new Event("online")));

    // 6. The back-office is online only, and says so.
    await adminContext.setOffline(true);
    await admin.click('nav.tabs a[href="#partners"]');
    await admin.locator("#desk-offline").waitFor();
    await adminContext.setOffline(false);
    await admin.click('nav.tabs a[href="#approvals"]');
    await admin.locator("#approvals").waitFor();

    // 7. The server restarts with no commission hold: lines are available
    // at once from now on.
    await stopServer(server);
    server = await startServer(databaseUrl, host, ["--commission-hold-days", "0"]);
    await waitFor("Ben's app to be back online", async () =>
      (await status().getAttribute("data-connection")) === "online");

    // 8. Ben registers where he is paid; the server keeps it masked.
    await ben.fill("#payout-form input[name=holder]", "Ben Okafor");
    await ben.fill("#payout-form input[name=account]", "DE89 3704 0044 0532 0130 00");
    await ben.click("#payout-form button[type=submit]");
    const saved = await waitFor("the payout method to be saved", async () =>
      (await ben.locator("#payout-saved").count()) && ben.locator("#payout-saved").textContent());
    assert(/bank account •••• 3000/.test(saved) && !/0532/.test(saved), `the method is shown masked (${saved})`);

    // 9. He wins ben-2 at its amount; the admin approves it.
    await go(ben, "#pipeline");
    await showStage(ben, "contacted");
    await moveLead(ben, "ben-2", "won");
    await waitFor("the deal of ben-2 to be submitted", async () => (await deal("ben-2"))?.status === "submitted");
    await admin.reload();
    await admin.locator('#approvals article[data-key="ben-2"] button.approve').click();
    await waitFor("the deal of ben-2 to be approved", async () => (await deal("ben-2"))?.status === "approved");
    const second = await starterCommission("ben-2");
    await go(ben, "#earnings");
    await waitFor("the second commission to be available", async () =>
      (await minorOf(figure("USD", "available"))) === second);

    // 10. The admin sees Ben among the partners, previews the run, runs it
    // and gets the file for the finance team.
    await admin.click('nav.tabs a[href="#partners"]');
    const benRow = admin.locator('#partners article[data-id="p-ben"]');
    await benRow.waitFor();
    assert((await benRow.getAttribute("data-key")) === "starter", "Ben's tier on the partners list");
    // The extra rate he will earn once Elite: typed as a percentage, kept in
    // basis points; a comma is refused before anything is sent.
    await benRow.locator(".terms-form input[name=extra]").fill("2,5");
    await benRow.locator(".terms-form button[type=submit]").click();
    await admin.locator('#partners p.error[role=alert]').waitFor();
    await benRow.locator(".terms-form input[name=extra]").fill("2.5");
    await benRow.locator(".terms-form button[type=submit]").click();
    await waitFor("Ben's Elite terms", async () =>
      (await db.query("SELECT elite_custom_bps FROM partner_terms WHERE partner_id = 'p-ben'")).rows[0]?.elite_custom_bps === 250);
    await waitFor("the agreed rate on the partners list", async () =>
      (await admin.locator('#partners article[data-id="p-ben"] .terms-form input[name=extra]').inputValue()) === "2.5");
    await admin.click('nav.tabs a[href="#payouts"]');
    const payable = admin.locator('#payouts article[data-id="p-ben"][data-key="USD"]');
    await payable.waitFor();
    const preview = await payable.textContent();
    assert(/520\.00 USD/.test(preview) && /•••• 3000/.test(preview), `the preview pays Ben (${preview})`);
    await admin.click("#payout-run button[type=submit]");
    const done = admin.locator("#payout-done");
    await done.waitFor();
    const exportUrl = await done.locator("a").getAttribute("href");
    const csv = await (await adminContext.request.get(new URL(exportUrl, server.url).href)).text();
    assert(/p-ben,USD,520\.00,Ben Okafor,bank_account •••• 3000/.test(csv), `the payout file pays Ben (${csv})`);

    // 11. Ben's device: a statement, and the balance moved from available to
    // paid; the pending commission still waits for its hold.
    await waitFor("the balance to be paid", async () =>
      (await minorOf(figure("USD", "paid"))) === second &&
      (await minorOf(figure("USD", "available"))) === 0);
    assert((await minorOf(figure("USD", "pending"))) === commission, "the held commission stays pending");
    await ben.locator("#earnings a.statement-link").first().click();
    const statement = ben.locator("#statement");
    await statement.waitFor();
    assert(Number(await statement.locator("#statement-total").getAttribute("data-minor")) === second,
      "the statement's total");
    assert((await statement.locator("tbody tr").count()) === 1, "the statement lists the line it paid");
    assert(/deal with Sam Reed \(Reed & Co\)/.test(await statement.locator("tbody").textContent()),
      "the line of ben-2, by its customer");
    await ben.emulateMedia({ media: "print" });
    assert(!(await ben.locator("nav.tabs").isVisible()), "the printed statement has no navigation");
    assert(await statement.isVisible(), "the printed statement shows the statement");
    await ben.emulateMedia({ media: "screen" });

    // 12. Orders and reports on the back-office.
    await admin.click('nav.tabs a[href="#orders"]');
    await admin.fill("#order-form input[name=reference]", "ORD-E2E-1");
    await admin.selectOption("#order-form select[name=partner]", "p-ben");
    await admin.fill("#order-form input[name=amount]", "1000.00");
    await admin.click("#order-form button[type=submit]");
    await waitFor("the order to be recorded", async () =>
      /Order #\d+ recorded/.test(await admin.locator("#orders").textContent()));
    const order = (await db.query("SELECT partner_id, amount_minor, currency FROM orders WHERE reference = 'ORD-E2E-1'")).rows[0];
    assert(order?.partner_id === "p-ben" && Number(order.amount_minor) === 100000 && order.currency === "USD",
      `the order reached Postgres (${JSON.stringify(order)})`);
    // It is listed, and refunded with a reason.
    const listedOrder = admin.locator('#orders article[data-key="ORD-E2E-1"]');
    await listedOrder.locator("button.refund").click();
    await listedOrder.locator(".reason-form input[name=reason]").fill("Returned unopened");
    await listedOrder.locator(".reason-form button[type=submit]").click();
    await listedOrder.locator("p.refunded").waitFor();
    const refunded = (await db.query("SELECT refunded_at FROM orders WHERE reference = 'ORD-E2E-1'")).rows[0];
    assert(refunded?.refunded_at, "the refund reached Postgres");
    await admin.click('nav.tabs a[href="#reports"]');
    await admin.selectOption("#report-pick", "average_deal");
    await admin.locator("#report-table tbody tr").first().waitFor();
    // Read as a person reads it: named columns, amounts in their currency,
    // months by name; sortable.
    const headings = await admin.locator("#report-table thead th").allInnerTexts();
    assert(JSON.stringify(headings) === JSON.stringify(["Month", "Currency", "Deals", "Average"]), `report headings: ${headings}`);
    const firstRow = await admin.locator("#report-table tbody tr").first().innerText();
    assert(/[A-Z][a-z]{2} \d{4}/.test(firstRow) && /\d\.\d{2} (USD|EUR|JPY)|\d (JPY)/.test(firstRow), `a formatted row: ${firstRow}`);
    await admin.locator("#report-table th button.sort", { hasText: "Average" }).click();
    assert((await admin.locator("#report-table th[aria-sort]").getAttribute("aria-sort")) === "ascending", "sorted by the column clicked");

    // 13. ben-2's customer cancels after Ben was paid: the admin claws the
    // deal back; Ben's device shows the reversal, and he owes it.
    await admin.click('nav.tabs a[href="#approvals"]');
    await admin.selectOption("#deal-status", "approved");
    const ben2 = admin.locator('#approvals article[data-key="ben-2"]');
    await ben2.locator("button.clawback").click();
    await waitFor("the reason field to take focus as its form opens", async () =>
      (await admin.evaluate(() => document.activeElement?.name)) === "reason");
    await ben2.locator(".reason-form input[name=reason]").fill("Customer cancelled");
    await ben2.locator(".reason-form button[type=submit]").click();
    await ben2.locator("p.clawed-back").waitFor();
    await go(ben, "#earnings");
    await waitFor("the clawback on Ben's device", async () =>
      (await minorOf(figure("USD", "available"))) === -second &&
      (await minorOf(figure("USD", "paid"))) === second);
    assert((await ben.locator(`#earnings li.line[data-minor="${-second}"]`).count()) === 1,
      "the reversing line is listed");

    // A partner's session never reaches the back-office's data.
    const denied = await ben.evaluate(async () => (await fetch("/api/admin/deals")).status);
    assert(denied === 403, `a partner asking for the approval queue is refused (${denied})`);
    assert(partnerFetchedAdmin.length === 0, `the partner app fetched ${partnerFetchedAdmin.join(", ")}`);

    assert(errors.length === 0, `no errors in the pages: ${errors.join(" | ")}`);
    console.log("e2e earnings: a deal won offline was approved, earned, paid and shown on the device");
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
