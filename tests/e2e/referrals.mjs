// Browser end to end of the path from a link to a paid commission.
//
// Ana (a Performer: her referral share is 5%) makes a link on her phone
// with no network; back online, the server confirms it. A client opens the
// link on another phone, browses the shop, buys; Ana's link shows the
// click and the order, and her Earnings the referral line. The order is
// delivered and the client rates Ana on its confirmation. The back-office
// refunds the order; the commission is clawed back. Ben, a Starter, makes
// a link; an order through it is recorded with no commission, and his
// links screen says why. The shop page downloads none of the app.
// Real Chromium, the real server binary, real Postgres; every wait has a
// deadline.

import {
  DESK, PHONE, assert, buyInShop, dropDatabase, fillSignIn, launchChromium, startWithAnaAPerformer, openPage, shot,
  stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e referrals");

async function main() {
  // Ana's history makes her a Performer.
  const { databaseUrl, server, db } = await startWithAnaAPerformer("e2e_referrals");
  const browser = await launchChromium();
  const errors = [];
  try {
    const anaContext = await browser.newContext(PHONE);
    const ana = await openPage(anaContext, errors);
    await ana.goto(`${server.url}/#links`);
    await fillSignIn(ana, "ana@souza.example", "demo-ana-password");
    const status = ana.locator("#sync-status");
    await waitFor("Ana's app to be online", async () =>
      (await status.getAttribute("data-connection")) === "online");
    await ana.goto(`${server.url}/#links`);
    await ana.locator("#link-label").waitFor();
    await waitFor("the tier to be known", async () =>
      (await ana.locator(".links-page .note").count()) === 0 &&
      (await ana.locator("nav.tabs").textContent()).includes("Performer"));

    // 1. A link made offline: it exists at once, waiting to go live.
    await anaContext.setOffline(true);
    await waitFor("Ana's app to know it is offline", async () =>
      (await status.getAttribute("data-connection")) !== "online");
    await ana.fill("#link-label", "Spring fair");
    await ana.click(".link-form button[type=submit]");
    const link = ana.locator("li.link").first();
    await link.waitFor();
    assert((await link.locator("h2").textContent()) === "Spring fair", "the link's label");
    assert(/back online/.test(await link.locator(".link-status").textContent()), "the offline link waits");
    const code = await link.getAttribute("data-code");
    assert(/^[0-9a-hjkmnp-tv-z]{12}$/.test(code), `a code made on the device: ${code}`);
    await link.locator("button", { hasText: "QR code" }).click();
    await link.locator("svg.qr").waitFor();
    await shot(ana, "links-offline-phone");

    // 2. Online: the server confirms it.
    await anaContext.setOffline(false);
    await waitFor("the link to go live", async () =>
      (await link.locator(".link-status").textContent()) === "Live", 60_000);
    const url = await link.locator("input.link-url").inputValue();
    assert(url.endsWith(`/r/${code}`), `the link's address: ${url}`);
    const coupon = await ana.locator(".coupon strong").textContent();
    assert(/^ANA-[2-9A-Z]{4}$/.test(coupon), `Ana's coupon: ${coupon}`);

    // 3. A client opens it on a phone and buys in the shop.
    const clientContext = await browser.newContext(PHONE);
    const client = await clientContext.newPage();
    const fetched = [];
    client.on("request", (r) => fetched.push(new URL(r.url()).pathname));
    await client.goto(url);
    await client.waitForURL((u) => u.pathname === "/shop");
    await shot(client, "shop-phone");
    await client.click("a.name >> text=Card terminal");
    await client.fill("input[name=quantity]", "2");
    await client.click("button:has-text('Add to cart')");
    await client.click("a:has-text('Check out')");
    await client.fill("#name", "Dana Client");
    await client.fill("#email", "dana@client.example");
    await client.fill("#card", "4242 4242 4242 4242");
    await client.click("button:has-text('Pay')");
    await client.locator("h1", { hasText: "Thank you, Dana Client" }).waitFor();
    assert(!fetched.some((p) => p.endsWith(".wasm") || p.endsWith(".js")), `the shop fetched the app: ${fetched}`);
    const order = (await db.query(
      "SELECT id, reference, partner_id, amount_minor, link_code FROM orders WHERE link_code = $1", [code])).rows[0];
    assert(order?.partner_id === "p-ana" && Number(order.amount_minor) === 49800, `the order: ${JSON.stringify(order)}`);

    // 4. Ana's link shows the click and the order; her earnings the line.
    const figure = (name) => link.locator(`.link-figures div:has(dt:text-is("${name}")) dd`);
    await waitFor("the link's figures", async () =>
      (await figure("Clicks").count()) === 1 && (await figure("Clicks").textContent()) === "1" &&
      (await figure("Orders").textContent()) === "1", 30_000);
    assert((await figure("Commission").textContent()).includes("24.90"), "5% of 498.00");
    await shot(ana, "links-phone");
    await ana.click('nav.tabs a[href="#earnings"]');
    await waitFor("the referral line in Ana's earnings", async () =>
      /referral share \(performer\) of order shop-/.test(await ana.locator("#earnings").textContent()), 30_000);

    // 5. The back-office refunds it: the commission is clawed back.
    const adminContext = await browser.newContext(DESK);
    const admin = await openPage(adminContext, errors);
    await admin.goto(`${server.url}/#pipeline`);
    await fillSignIn(admin, "admin@portal.example", "demo-admin-password");
    await admin.waitForURL((u) => u.pathname === "/admin/");
    await admin.click('nav.tabs a[href="#orders"]');
    const listed = admin.locator(`#orders article[data-key="${order.reference}"]`);
    // Delivered first: the client rates Ana on the order's confirmation.
    await listed.locator("button.deliver").click();
    await listed.locator("p.delivered").waitFor();
    const confirmation = client.url();
    await client.goto(confirmation);
    await client.locator("legend", { hasText: "How well did Ana Souza help you?" }).waitFor();
    await client.check('input[name=stars][value="5"]');
    await client.click("button:has-text('Send my rating')");
    await client.locator("text=You rated Ana Souza 5 of 5").waitFor();
    await shot(client, "rating-phone");
    await listed.locator("button.refund").click();
    await listed.locator(".reason-form input[name=reason]").fill("Returned unopened");
    await listed.locator(".reason-form button[type=submit]").click();
    await listed.locator("p.refunded").waitFor();
    await ana.goto(`${server.url}/#links`);
    await waitFor("the commission to be clawed back", async () =>
      (await ana.locator("li.link .link-figures div:has(dt:text-is('Commission')) dd").textContent()).includes("0.00") &&
      /refunded/.test(await ana.locator(".link-orders").textContent()), 30_000);

    // 6. Ben, a Starter: his order is recorded with no commission, and why.
    const benContext = await browser.newContext(PHONE);
    const ben = await openPage(benContext, errors);
    await ben.goto(`${server.url}/#links`);
    await fillSignIn(ben, "ben@okafor.example", "demo-ben-password");
    await ben.goto(`${server.url}/#links`);
    await ben.locator(".links-page .note").waitFor();
    await ben.fill("#link-label", "Newsletter");
    await ben.click(".link-form button[type=submit]");
    const benLink = ben.locator("li.link").first();
    await waitFor("Ben's link to go live", async () =>
      (await benLink.locator(".link-status").textContent()) === "Live", 60_000);
    const other = await (await browser.newContext(PHONE)).newPage();
    await other.goto(await benLink.locator("input.link-url").inputValue());
    await buyInShop(other, server.url, "field-starter-kit", { name: "Eve", email: "eve@client.example" });
    await waitFor("Ben to be told why his order earned nothing", async () =>
      /No commission: Starter earns no referral share: it starts at Active/.test(
        (await ben.locator(".link-orders").textContent().catch(() => "")) ?? ""), 30_000);
    await shot(ben, "links-starter-phone");
    const desk = await openPage(await browser.newContext(DESK), errors);
    await desk.goto(`${server.url}/#links`);
    await fillSignIn(desk, "ben@okafor.example", "demo-ben-password");
    await desk.goto(`${server.url}/#links`);
    await desk.locator("li.link").first().waitFor();
    await shot(desk, "links-desk");
    assert(errors.length === 0, `console errors: ${errors.join("\n")}`);
    console.log("e2e referrals: passed");
  } finally {
    await browser.close();
    await db.end();
    await stopServer(server);
    await dropDatabase(databaseUrl);
  }
}

main()
  .then(() => { clearTimeout(timer); })
  .catch((e) => { console.error(e); process.exit(1); });
