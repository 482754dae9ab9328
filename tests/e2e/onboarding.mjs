// From visitor to partner, in the browser: a visitor on a phone reads the
// programme (its tiers and rates, the server's rules), follows Ana's invite
// link, applies (every field error said where it is), and reads that the
// application is being reviewed, also when signing in too early; an admin
// at a desk approves them into Ana's team in the back-office; the new
// partner signs in on the phone and the app opens.
//
// With SHOTS_DIR set, screenshots of each step land there (375 x 812 and
// 1280 x 800).

import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, moveLead, openPage, startServer, stopServer, waitFor, watchdog, SHOTS as shots, shot, DESK,
} from "./harness.mjs";

const timer = watchdog("e2e onboarding");

async function main() {
  const databaseUrl = await freshDatabase("onboarding");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  try {
    // 0. Ana, a team leader, gets her invite link from her dashboard.
    const anaContext = await browser.newContext(PHONE);
    const ana = await openPage(anaContext, errors);
    await ana.goto(server.url);
    await fillSignIn(ana, "ana@souza.example", "demo-ana-password");
    await ana.locator("#get-invite").click();
    const inviteLink = await waitFor("Ana's invite link", async () =>
      (await ana.locator("#invite-link").count()) && (await ana.locator("#invite-link").inputValue()));
    assert(new URL(inviteLink).searchParams.get("invite")?.length === 10, `an invite link: ${inviteLink}`);
    await shot(ana, "invite-phone");
    await anaContext.close();

    // 1. A visitor on a phone: the programme first, with the server's rates.
    const phone = await browser.newContext(PHONE);
    const page = await openPage(phone, errors);
    await page.goto(server.url);
    await page.locator("#landing h1").waitFor();
    await waitFor("the tiers to be read from the server", async () =>
      (await page.locator("#tiers tbody tr[data-tier]").count()) === 4);
    const rows = await page.locator("#tiers tbody tr").allInnerTexts();
    assert(/Starter\s+0–2\s+20%/.test(rows[0]) && /Elite\s+25 or more\s+30%/.test(rows[3]),
      `the tiers read as the rules say: ${JSON.stringify(rows)}`);
    assert(await page.locator("#preboot-form").isVisible(), "the sign-in form is on the welcome");
    await shot(page, "welcome-phone");
    const desk = await browser.newContext(DESK);
    const wide = await openPage(desk, errors);
    await wide.goto(server.url);
    await wide.locator("#tiers tbody tr[data-tier]").first().waitFor();
    const [landing, side] = await Promise.all(["#landing", ".welcome-side"].map((s) => wide.locator(s).boundingBox()));
    assert(side.x > landing.x + landing.width, "a desktop keeps the programme beside the form");
    await shot(wide, "welcome-desktop");

    // 2. By Ana's link: the form says whose team, and every field's error
    // is said at the field.
    await page.goto(inviteLink);
    const form = page.locator("#apply-form");
    await form.waitFor({ state: "visible" });
    assert(!(await page.locator("#landing").isVisible()), "a phone shows the form alone");
    await waitFor("the invite to name Ana's team", async () =>
      /Ana Souza's team/.test(await page.locator("#apply-team").textContent()));
    await form.locator("button[type=submit]").click();
    for (const field of ["name", "email", "password"]) {
      assert(await page.locator(`#apply-${field}-error`).isVisible(), `an empty ${field} is said at its field`);
      assert((await form.locator(`input[name=${field}]`).getAttribute("aria-invalid")) === "true", `${field} is marked invalid`);
    }
    assert(await page.evaluate(() => document.activeElement?.name) === "name", "focus goes to the first wrong field");
    await form.locator("input[name=name]").fill("Eli Moss");
    await form.locator("input[name=email]").fill("eli@moss.example");
    await form.locator("input[name=company]").fill("Moss Ltd");
    await form.locator("input[name=password]").fill("too short");
    await form.locator("button[type=submit]").click();
    assert(/12 characters/.test(await page.locator("#apply-password-error").textContent()), "a short password is said at its field");
    assert(!(await page.locator("#apply-name-error").isVisible()), "a corrected field is no longer wrong");
    await shot(page, "apply-errors-phone");
    await form.locator("input[name=password]").fill("correct horse battery");
    await form.locator("button[type=submit]").click();
    await page.locator("#applied").waitFor({ state: "visible" });
    assert(/Eli Moss/.test(await page.locator("#applied").textContent()), "the review page names the applicant");
    assert(await page.evaluate(() => document.activeElement?.id) === "applied", "focus moves to the review page");
    await shot(page, "applied-phone");
    const stored = await db.query("SELECT status, invited_by FROM accounts WHERE email = 'eli@moss.example'");
    assert(stored.rows[0]?.status === "applied" && stored.rows[0]?.invited_by === "a-ana", "the application names Ana");

    // Signing in too early says how the application stands.
    await page.click("#applied a[href='#sign-in']");
    await fillSignIn(page, "eli@moss.example", "correct horse battery");
    await waitFor("the early sign-in to say the application is being reviewed", async () =>
      /being reviewed/.test((await page.locator("#preboot-error").textContent()) ?? ""));
    assert((await page.locator("#preboot").count()) === 1, "the app did not open for an applicant");

    // 3. The admin, at a desk, approves Eli into Ana's team.
    const admin = await openPage(desk, errors);
    await admin.goto(server.url);
    await fillSignIn(admin, "admin@portal.example", "demo-admin-password");
    await admin.waitForURL((u) => u.pathname === "/admin/");
    await admin.click('nav a[href="#applications"]');
    const card = admin.locator('#applications article[data-key="eli@moss.example"]');
    await card.waitFor();
    assert(/Came by Ana Souza's invite link/.test(await card.textContent()), "the desk says whose link it was");
    const team = card.locator("select[name=team]");
    assert((await team.inputValue()) === "a-ana", "Ana's team is chosen already");
    await shot(admin, "applications-desktop");
    await card.locator("button.approve").click();
    await waitFor("the approval to reach the database", async () => {
      const r = await db.query("SELECT status, team_leader_id FROM accounts WHERE email = 'eli@moss.example'");
      return r.rows[0]?.status === "approved" && r.rows[0]?.team_leader_id === "a-ana";
    });
    await card.waitFor({ state: "detached" });
    await admin.locator("#applications p", { hasText: "Nobody is waiting" }).waitFor();

    // 4. Eli signs in on the phone: the app opens on the dashboard, whose
    // checklist says what to do first.
    await fillSignIn(page, "eli@moss.example", "correct horse battery");
    await page.locator("#account").waitFor();
    assert((await page.locator("#account").textContent()) === "Eli Moss", "signed in as Eli");
    assert((await page.locator("#preboot").count()) === 0, "the app took the page over");
    const step = (name) => page.locator(".checklist li.step").filter({ hasText: name });
    await step("Finish your profile").waitFor();
    const states = async () => page.locator(".checklist li.step").evaluateAll((items) => items.map((li) => li.dataset.state));
    assert(JSON.stringify(await states()) === JSON.stringify(["to-do", "to-do", "to-do", "to-do", "to-do", "to-do"]),
      `a new partner has everything to do: ${await states()}`);
    await shot(page, "first-sign-in-phone");

    // 5. The profile: a wrong phone is said at its field; then it is done.
    await step("Finish your profile").locator("a").click();
    const profile = page.locator("#profile-form");
    await profile.waitFor();
    assert((await profile.locator("input[name=company]").inputValue()) === "Moss Ltd", "the company applied with is filled in");
    await profile.locator("input[name=phone]").fill("12");
    await profile.locator("select[name=country]").selectOption("BR");
    await profile.locator("select[name=currency]").selectOption("BRL");
    await profile.locator("button[type=submit]").click();
    await page.locator("#profile-phone-error").waitFor();
    await shot(page, "profile-error-phone");
    // A photo from the device: made a small square JPEG before it is sent.
    await profile.locator("input[type=file]").setInputFiles(new URL("../../web/dist/icon-512.png", import.meta.url).pathname);
    await profile.locator(".photo-field p", { hasText: "Photo saved." }).waitFor();
    await profile.locator("img.photo").waitFor();
    const photo = (await db.query("SELECT photo_type, length(photo) AS bytes FROM accounts WHERE email = 'eli@moss.example'")).rows[0];
    assert(photo.photo_type === "image/jpeg" && photo.bytes < 64 * 1024, `a small JPEG was kept: ${JSON.stringify(photo)}`);
    await profile.locator("input[name=phone]").fill("+55 11 5555 0199");
    await profile.locator("button[type=submit]").click();
    await profile.locator("p.notice", { hasText: "Saved." }).waitFor();
    await shot(page, "profile-phone");
    await page.click('nav.tabs a[href="#home"]');
    await waitFor("the profile step to be ticked", async () => (await states())[0] === "done");

    // 6. A first lead ticks its step.
    await page.click('nav.tabs a[href="#pipeline"]');
    await page.click("#new-lead");
    await page.fill("#lead-form input[name=contact_name]", "Rosa Lima");
    await page.fill("#lead-form input[name=company]", "Lima Foods");
    await page.fill("#lead-form input[name=value]", "1,200.00");
    await page.click("#lead-form button[type=submit]");
    await page.locator("article.lead", { hasText: "Rosa Lima" }).waitFor();
    await page.click('nav.tabs a[href="#home"]');
    await waitFor("the first-lead step to be ticked", async () => (await states())[3] === "done");
    assert(/1 lead/.test(await page.locator('#stat-pipeline li[data-stage="new"]').textContent()), "the pipeline figure counts it");
    await shot(page, "dashboard-phone");

    // 7. Eli wins the lead offline, the admin approves the deal: Eli's
    // bell, the feed and the commission figure change, and stay offline.
    await page.click('nav.tabs a[href="#pipeline"]');
    const rosa = await page.locator("article.lead", { hasText: "Rosa Lima" }).getAttribute("data-lead");
    await phone.setOffline(true);
    await moveLead(page, rosa, "won");
    await page.click('nav.tabs a[href="#home"]');
    await waitFor("the first-deal step to be ticked offline", async () => (await states())[4] === "done");
    await phone.setOffline(false);
    const deal = await waitFor("Eli's deal to reach the server", async () =>
      (await db.query("SELECT d.id FROM deals d JOIN accounts a ON a.partner_id = d.partner_id WHERE a.email = 'eli@moss.example' AND d.status = 'submitted'")).rows[0]);
    await admin.click('nav a[href="#approvals"]');
    // At a desk's width the queue is a table; the deal opens beside it.
    await admin.locator(`#deals-table tr[data-id="${deal.id}"] button.open-row`).click();
    const queued = admin.locator(`#approvals article[data-id="${deal.id}"]`);
    // The decision shows what it will do before it is made.
    await queued.locator(".preview", { hasText: "Eli Moss: 240.00 USD, base commission (20%)" }).waitFor();
    await shot(admin, "approval-preview-desktop");
    await queued.locator("button.approve").click();
    const approvedAt = Date.now();
    const bell = page.locator("#bell");
    await waitFor("Eli's bell to count the approval", async () =>
      (await bell.getAttribute("aria-label")) === "Notifications, 1 unread");
    console.log(`e2e onboarding: approval in the back-office to the partner's bell in ${Date.now() - approvedAt} ms`);
    await page.locator(".feed-item", { hasText: "Deal approved: Rosa Lima (Lima Foods)" }).waitFor();
    await waitFor("the commission figure to show the pending commission", async () =>
      /pending/.test((await page.locator("#stat-commission").textContent()) ?? "")
      && !/None yet/.test(await page.locator("#stat-commission").textContent()));
    // Every step but training and a referral link is done.
    await waitFor("the checklist to leave training to do", async () =>
      JSON.stringify(await states()) === JSON.stringify(["done", "to-do", "to-do", "done", "done", "done"]));
    assert((await step("Complete a training module").locator("a").getAttribute("href")) === "#training",
      "the training step opens Training");
    await phone.setOffline(true);
    await page.reload();
    await page.locator(".feed-item", { hasText: "Deal approved: Rosa Lima" }).waitFor();
    assert(/pending/.test(await page.locator("#stat-commission").textContent()), "the figures stay offline");
    assert(JSON.stringify(await states()) === JSON.stringify(["done", "to-do", "to-do", "done", "done", "done"]),
      "the checklist reads the same offline");
    await shot(page, "dashboard-after-approval-phone");
    await phone.setOffline(false);
    if (shots) {
      await page.setViewportSize(DESK.viewport);
      await shot(page, "dashboard-desktop");
      await page.setViewportSize(PHONE.viewport);
    }

    assert(errors.length === 0, `no errors in the pages: ${errors.join(" | ")}`);
    console.log("e2e onboarding: passed");
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
