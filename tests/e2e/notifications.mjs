// Notifications in the browser: an admin approves Ben's deal and his app's
// bell counts it within moments (the inbox document the server writes,
// synced live); the list opens the lead; offline, after a reload, the list
// is still there (kept on the device). The service worker shows a push
// message delivered to it (by CDP, as a push service would) and a click on
// it opens the notice's screen.
//
// With SHOTS_DIR set, screenshots land there.

import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, startServer, stopServer, waitFor, watchdog, SHOTS as shots, shot,
} from "./harness.mjs";

const timer = watchdog("e2e notifications");

async function main() {
  const databaseUrl = await freshDatabase("notifications");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  try {
    const context = await browser.newContext(PHONE);
    await context.grantPermissions(["notifications"], { origin: server.url });
    const page = await openPage(context, errors);
    await page.goto(`${server.url}/#pipeline`);
    await fillSignIn(page, "ben@okafor.example", "demo-ben-password");
    await page.locator('article.lead[data-lead="ben-1"]').waitFor();
    const bell = page.locator("#bell");
    await waitFor("the bell to say nothing is unread", async () =>
      (await bell.getAttribute("aria-label")) === "Notifications");
    await waitFor("the app to be online", async () =>
      (await page.locator("#sync-status").getAttribute("data-connection")) === "online");

    // 1. The admin approves Ben's won deal (Grace Kim's): his bell counts it.
    const deal = await waitFor("Ben's won lead to be filed as a deal", async () =>
      (await db.query("SELECT id, amount_minor, currency, version FROM deals WHERE partner_id = 'p-ben' AND lead_id = 'ben-5'")).rows[0]);
    const signedIn = await fetch(`${server.url}/api/sessions`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "admin@portal.example", password: "demo-admin-password", kind: "bearer" }),
    });
    const { token } = await signedIn.json();
    const asked = Date.now();
    const approved = await fetch(`${server.url}/api/admin/deals/${deal.id}/approve`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ amount_minor: Number(deal.amount_minor), currency: deal.currency, version: Number(deal.version) }),
    });
    assert(approved.status === 200, `the deal is approved (${approved.status})`);
    await waitFor("the bell to count the approval", async () =>
      (await bell.getAttribute("aria-label")) === "Notifications, 1 unread");
    console.log(`e2e notifications: approval to the partner's bell in ${Date.now() - asked} ms`);
    await shot(page, "bell-phone");

    // 2. The list names the customer and opens the lead.
    await bell.click();
    const notice = page.locator("li.notice-item").first();
    await notice.waitFor();
    assert((await page.title()) === "Notifications · Partner Portal", `the window's title names the screen: ${await page.title()}`);
    assert(/Deal approved: Grace Kim \(Kim Studio\)/.test(await notice.textContent()), "the notice names the customer");
    assert(await notice.locator(".new-mark").isVisible(), "a notice not seen before is marked new");
    await waitFor("the bell to clear once the list is seen", async () =>
      (await bell.getAttribute("aria-label")) === "Notifications");
    await shot(page, "notifications-phone");
    if (shots) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await shot(page, "notifications-desktop");
      await page.setViewportSize(PHONE.viewport);
    }
    await notice.locator("a").click();
    await page.waitForURL((u) => u.hash === "#lead-ben-5");
    await page.locator("#lead-page, .lead-page").first().waitFor();

    // 3. Offline, after a reload: the list is still there, seen.
    await context.setOffline(true);
    await page.reload();
    await page.goto(`${server.url}/#notifications`);
    await page.locator("li.notice-item").first().waitFor();
    assert((await page.locator("li.notice-item .new-mark").count()) === 0, "seen stays seen on this device");
    assert((await bell.getAttribute("aria-label")) === "Notifications", "nothing unread after the reload");
    await context.setOffline(false);

    // 4. A push message reaches the service worker: it shows it, and a
    // click opens its screen.
    const cdp = await context.newCDPSession(page);
    const registrations = [];
    cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations));
    await cdp.send("ServiceWorker.enable");
    const registration = await waitFor("the service worker's registration", async () =>
      registrations.find((r) => !r.isDeleted && new URL(r.scopeURL).origin === server.url));
    const message = {
      web_push: 8030,
      notification: { title: "Follow up: Sam Reed (Reed & Co)", body: "Call about the pilot", navigate: "/#lead-ben-2", tag: "n-999" },
      id: 999, kind: "follow_up_due", screen: "#lead-ben-2",
    };
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: server.url, registrationId: registration.registrationId, data: JSON.stringify(message),
    });
    const shown = await waitFor("the service worker to show the message", async () => {
      const titles = await page.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => `${n.title}|${n.body}|${n.data?.screen}`));
      return titles.find((t) => t.startsWith("Follow up"));
    });
    assert(shown === "Follow up: Sam Reed (Reed & Co)|Call about the pilot|#lead-ben-2", `shown as sent: ${shown}`);
    const [worker] = context.serviceWorkers();
    assert(worker, "the service worker is reachable");
    await worker.evaluate(async () => {
      const [shownNotice] = await self.registration.getNotifications({ tag: "n-999" });
      self.dispatchEvent(new NotificationEvent("notificationclick", { notification: shownNotice }));
    });
    await page.waitForURL((u) => u.hash === "#lead-ben-2");
    await page.locator("#lead-page, .lead-page").first().waitFor();

    assert(errors.length === 0, `no errors in the page: ${errors.join(" | ")}`);
    console.log("e2e notifications: passed");
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
