// Browser end to end of the resources library, online and offline.
//
// Ana opens the library on her phone, searches it, and saves the flyer
// (a template: her own copy, PNG and PDF) and the brochure (a PDF) for
// offline use. With no network, the app opens again from a reload, lists
// the library "as of", previews her flyer and downloads the brochure from
// the device; the logo, never saved, says it needs the network. What she
// did offline is recorded on the phone and reaches the server once she is
// back online, kept once even when sent again. Prints the figures the
// closing notes report (`resources offline:`).
// Real Chromium, the real server binary, real Postgres; every wait has a
// deadline.

import {
  DESK, PHONE, assert, buyInShop, dropDatabase, fillSignIn, launchChromium, startWithAnaAPerformer, openPage, shot,
  stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e resources");

// The bytes kept in the resources' cache, and how many files.
const cached = (page) => page.evaluate(async () => {
  const cache = await caches.open("resources-v1");
  let bytes = 0;
  const keys = await cache.keys();
  for (const request of keys) bytes += (await (await cache.match(request)).blob()).size;
  return { files: keys.length, bytes };
});

const card = (page, id) => page.locator(`li.resource[data-id="${id}"]`);

async function main() {
  // A Performer, so what her flyer sells earns her a commission.
  const { databaseUrl, server, db } = await startWithAnaAPerformer("e2e_resources");
  const browser = await launchChromium();
  const errors = [];
  const figures = {};
  try {
    const context = await browser.newContext({ ...PHONE, acceptDownloads: true });
    const ana = await openPage(context, errors);
    await ana.goto(`${server.url}/#resources`);
    await fillSignIn(ana, "ana@souza.example", "demo-ana-password");
    const status = ana.locator("#sync-status");
    await waitFor("Ana's app to be online", async () =>
      (await status.getAttribute("data-connection")) === "online");
    await ana.evaluate(() => navigator.serviceWorker.ready);
    await waitFor("the service worker to control the page", () =>
      ana.evaluate(() => navigator.serviceWorker.controller !== null), 60_000);
    await ana.goto(`${server.url}/#resources`);

    // 1. The library, by category; the flyer is Ana's own copy.
    await waitFor("the library's three resources", async () => (await ana.locator("li.resource").count()) === 3);
    const headings = await ana.locator(".resource-category h2").allTextContents();
    assert(headings.join("|") === "Social posts and flyers|Sales kit|Brand", `the categories: ${headings}`);
    const flyer = card(ana, "terminal-flyer");
    await waitFor("Ana's copy of the flyer to show", () =>
      flyer.locator(".resource-thumb img").evaluate((img) => img.complete && img.naturalWidth > 0));
    const tabs = await ana.locator("nav.tabs a[aria-current=page]").textContent();
    assert(tabs.trim() === "Resources", `the Resources tab is the current one: ${tabs}`);
    await shot(ana, "resources-phone");

    // 2. A search on the device.
    await ana.fill("#resource-search", "LOGO transparent");
    await waitFor("the search to leave the logo", async () => (await ana.locator("li.resource").count()) === 1);
    assert(await card(ana, "logo").count() === 1, "the logo is what was found");
    await ana.fill("#resource-search", "nothing like this");
    await ana.getByText("Nothing in the library matches").waitFor();
    await ana.fill("#resource-search", "");
    await waitFor("every resource back", async () => (await ana.locator("li.resource").count()) === 3);

    // 3. Saved for offline: the flyer (her PNG and PDF) and the brochure.
    for (const id of ["terminal-flyer", "brochure"]) {
      const started = Date.now();
      await card(ana, id).locator("button[aria-pressed]").click();
      await waitFor(`${id} to be saved`, async () =>
        (await card(ana, id).locator("button[aria-pressed]").getAttribute("aria-pressed")) === "true", 60_000);
      figures[`save_${id}_ms`] = Date.now() - started;
    }
    const kept = await cached(ana);
    assert(kept.files === 3, `three files kept: ${JSON.stringify(kept)}`);
    figures.saved_files = kept.files;
    figures.saved_bytes = kept.bytes;

    // 4. Offline, the app opens again from a reload, the library as of
    //    when it was read.
    await context.setOffline(true);
    const reloaded = Date.now();
    await ana.reload();
    await waitFor("the library offline", async () => (await ana.locator("li.resource").count()) === 3);
    figures.library_offline_ms = Date.now() - reloaded;
    await ana.locator(".resources-page .note", { hasText: "Offline: the library as of" }).waitFor();
    // The logo was never saved: it says so, and offers nothing that would fail.
    const logo = card(ana, "logo");
    await logo.getByText("Not saved on this device").waitFor();
    assert(await logo.locator(".resource-actions").count() === 0, "nothing offered for the logo offline that would fail");

    // Her flyer previews from the device.
    const opening = Date.now();
    await flyer.locator("button", { hasText: "Preview" }).click();
    await waitFor("the flyer's preview offline", () =>
      flyer.locator(".resource-preview img").evaluate((img) => img.complete && img.naturalWidth > 0));
    figures.preview_offline_ms = Date.now() - opening;
    const size = await flyer.locator(".resource-preview img").evaluate((img) => [img.naturalWidth, img.naturalHeight]);
    assert(size[0] >= 300, `the preview is Ana's whole flyer: ${size}`);
    await shot(ana, "resources-offline-phone");

    // The brochure downloads from the device, whole.
    const brochure = card(ana, "brochure");
    const downloadStarted = Date.now();
    const [download] = await Promise.all([
      ana.waitForEvent("download"),
      brochure.locator("a.button", { hasText: "Download" }).click(),
    ]);
    const path = await download.path();
    figures.download_offline_ms = Date.now() - downloadStarted;
    assert(download.suggestedFilename() === "brochure.pdf", `the file's name: ${download.suggestedFilename()}`);
    const { readFileSync } = await import("node:fs");
    const pdf = readFileSync(path);
    assert(pdf.subarray(0, 5).toString() === "%PDF-", "the brochure downloaded offline is a PDF");
    figures.brochure_bytes = pdf.length;
    // Her PDF copy of the flyer too, with her name in it.
    const [copy] = await Promise.all([
      ana.waitForEvent("download"),
      flyer.locator("a.button", { hasText: "Download PDF" }).click(),
    ]);
    const copyPdf = readFileSync(await copy.path());
    assert(copyPdf.subarray(0, 5).toString() === "%PDF-", "Ana's copy downloaded offline is a PDF");

    // What she did offline waits on the phone: a view, two downloads.
    const waiting = () => ana.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith("resource-events:"));
      return key ? JSON.parse(localStorage.getItem(key)) : [];
    });
    const offlineEvents = await waiting();
    const kinds = offlineEvents.map((e) => e.kind).sort().join(",");
    assert(kinds === "cobrand,download,view", `the events waiting: ${kinds}`);
    const before = Number((await db.query(
      "SELECT count(*) FROM resource_events WHERE partner_id = 'p-ana'")).rows[0].count);

    // 5. Online again: the events reach the server, once.
    await context.setOffline(false);
    const back = Date.now();
    await waitFor("the events to leave the phone", async () => (await waiting()).length === 0, 60_000);
    figures.events_sent_after_reconnect_ms = Date.now() - back;
    const rows = (await db.query(
      "SELECT kind, resource_id FROM resource_events WHERE partner_id = 'p-ana' ORDER BY kind")).rows;
    assert(rows.length === before + 3, `the server kept the offline events: ${JSON.stringify(rows)}`);
    const again = await ana.evaluate(async (events) => {
      const r = await fetch("/api/resources/events", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Requested-With": "fetch" },
        body: JSON.stringify({ events }),
      });
      return r.json();
    }, offlineEvents);
    assert(again.kept === 0 && again.already === 3, `sent again, kept once: ${JSON.stringify(again)}`);
    figures.events_recorded_offline = offlineEvents.length;

    // 6. Taken off the device.
    await brochure.locator("button[aria-pressed=true]").click();
    await waitFor("the brochure off the device", async () =>
      (await brochure.locator("button[aria-pressed]").getAttribute("aria-pressed")) === "false");
    assert((await cached(ana)).files === 2, "only the flyer's two files stay");

    // 7. A client opens the link in Ana's flyer and buys: the order is
    //    hers, and the flyer's figures say so.
    const flyerSvg = await ana.evaluate(async () => {
      const list = await (await fetch("/api/resources")).json();
      const flyer = list.categories.flatMap((c) => c.resources).find((r) => r.id === "terminal-flyer");
      return (await fetch(flyer.cobranded.svg)).text();
    });
    const flyerLink = flyerSvg.match(/https?:\/\/[^<"\s]+\/r\/[0-9a-z]{12}/)?.[0];
    assert(flyerLink, "Ana's flyer carries a link of hers");
    assert(flyerSvg.includes("Ana Souza"), "and her name");
    const client = await (await browser.newContext(PHONE)).newPage();
    await client.goto(flyerLink);
    await client.waitForURL((u) => u.pathname === "/shop");
    await buyInShop(client, server.url, "field-starter-kit", { name: "Flyer Reader", email: "reader@client.example" });
    const code = flyerLink.split("/r/")[1];
    const order = (await db.query("SELECT partner_id FROM orders WHERE link_code = $1", [code])).rows[0];
    assert(order?.partner_id === "p-ana", `the flyer's order is Ana's: ${JSON.stringify(order)}`);
    // Her links list the flyer's, with its click, its order and her
    // commission; her earnings, the referral line.
    await ana.click(".resources-links a");
    const flyerLinkCard = ana.locator(`li.link[data-code="${code}"]`);
    await flyerLinkCard.waitFor({ timeout: 30_000 });
    const linkFigure = (name) => flyerLinkCard.locator(`.link-figures div:has(dt:text-is("${name}")) dd`);
    await waitFor("the flyer link's click and order", async () =>
      (await linkFigure("Clicks").count()) === 1 && (await linkFigure("Clicks").textContent()) === "1" &&
      (await linkFigure("Orders").textContent()) === "1", 30_000);
    assert(/\d/.test(await linkFigure("Commission").textContent()), "a commission on the flyer's order");
    assert((await flyerLinkCard.locator("h2").textContent()).includes("Card terminal flyer"), "named after the flyer");
    await shot(ana, "links-from-flyer-phone");
    await ana.click('nav.tabs a[href="#earnings"]');
    await waitFor("the flyer's referral line in Ana's earnings", async () =>
      /referral share \(performer\) of order shop-/.test(await ana.locator("#earnings").textContent()), 30_000);
    await ana.goto(`${server.url}/#resources`);

    // 8. The back-office publishes a template into a new category; Ana's
    //    library has it, as her own copy, when it is read again.
    const adminContext = await browser.newContext(DESK);
    const admin = await openPage(adminContext, errors);
    await admin.goto(`${server.url}/#resources`);
    await fillSignIn(admin, "admin@portal.example", "demo-admin-password");
    await admin.waitForURL((u) => u.pathname === "/admin/");
    await admin.click('nav.tabs a[href="#resources"]');
    await admin.locator("#resource-form").waitFor();
    // Her uses, and the click and the order her flyer brought, are on its row.
    const flyerRow = admin.locator('#resources tr[data-id="terminal-flyer"]');
    await flyerRow.waitFor();
    const cells = await flyerRow.locator("td").allTextContents();
    assert(cells.slice(0, 6).join(",") === "1,0,0,1,1,1", `views, downloads, shares, copies, clicks, orders: ${cells}`);
    assert(cells[6] !== "–", `the flyer's revenue: ${cells[6]}`);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300">
      <rect width="600" height="300" fill="#1d4ed8"/>
      <text x="30" y="80" font-size="40" fill="#fff">See you at the fair</text>
      <text x="30" y="140" font-size="28" fill="#fff">{{partner_name}}, {{company}}</text>
      <image x="440" y="130" width="140" height="140" href="{{qr}}"/></svg>`;
    await admin.setInputFiles('#resource-form input[type=file]',
      { name: "fair.svg", mimeType: "image/svg+xml", buffer: Buffer.from(svg) });
    await admin.fill("#resource-form input[maxlength='120']", "Fair invitation");
    await admin.fill("#resource-form textarea", "Invite clients to the stand.");
    await admin.fill("#resource-form input[list=resource-categories]", "Trade fairs");
    await shot(admin, "resources-backoffice-desk");
    await admin.click("#resource-form button[type=submit]");
    await admin.getByText("Published “Fair invitation”").waitFor({ timeout: 60_000 });
    await admin.locator('#resources tr[data-id="fair-invitation"]').waitFor();
    await shot(admin, "resources-backoffice-published-desk");
    await adminContext.close();
    await ana.reload();
    const fair = card(ana, "fair-invitation");
    await fair.waitFor({ timeout: 30_000 });
    await waitFor("Ana's copy of the new template", () =>
      fair.locator(".resource-thumb img").evaluate((img) => img.complete && img.naturalWidth > 0));
    const headingsNow = await ana.locator(".resource-category h2").allTextContents();
    assert(headingsNow.includes("Trade fairs"), `the new category: ${headingsNow}`);

    // A desk's width.
    const desk = await openPage(await browser.newContext(DESK), errors);
    await desk.goto(`${server.url}/#resources`);
    await fillSignIn(desk, "ana@souza.example", "demo-ana-password");
    await desk.goto(`${server.url}/#resources`);
    await waitFor("the library at a desk", async () => (await desk.locator("li.resource").count()) === 4);
    await card(desk, "terminal-flyer").locator("button", { hasText: "Preview" }).click();
    await waitFor("the flyer's preview at a desk", () =>
      card(desk, "terminal-flyer").locator(".resource-preview img")
        .evaluate((img) => img.complete && img.naturalWidth > 0));
    await shot(desk, "resources-desk");

    assert(errors.length === 0, `console errors: ${errors.join("\n")}`);
    console.log(`resources offline: ${JSON.stringify(figures)}`);
    console.log("e2e resources: passed");
  } finally {
    await browser.close();
    await db.end();
    await stopServer(server);
    await dropDatabase(databaseUrl);
  }
}

main()
  .then(() => { clearTimeout(timer); })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
