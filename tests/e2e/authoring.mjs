// Authoring a track in the back-office, at a desk's width: an admin starts
// a track, is told what is missing before anything is sent, uploads a
// 5 MB PDF whose first part is cut off on the way (the upload asks the
// server where it stands and goes on), writes a certification exam, saves,
// publishes, and Ben finds the track in his app's catalog on his phone.
// The exam's answer key stays on the server. Ana, his team leader,
// assigns him the module from her phone; his dashboard lists it and his
// phone, on Wi-Fi, downloads it by itself; the admin assigns it to Cleo
// from the back-office and sees where both stand.
//
// With SHOTS_DIR set, screenshots land there.

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, startServer, stopServer, waitFor, watchdog, shot, DESK,
} from "./harness.mjs";

const timer = watchdog("e2e authoring", 240);

// A PDF of a little over 5 MB: a page of text and a long comment after it,
// so that it takes two parts to send.
function bigPdf() {
  const head = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
    "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
  const filler = Buffer.alloc(5 * 1024 * 1024 + 12345, "%");
  return Buffer.concat([Buffer.from(head, "latin1"), filler]);
}

async function main() {
  const databaseUrl = await freshDatabase("authoring");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const dir = mkdtempSync(join(tmpdir(), "authoring-"));
  const browser = await launchChromium();
  const errors = [];
  try {
    const pdf = bigPdf();
    const pdfPath = join(dir, "visit-report-guide.pdf");
    writeFileSync(pdfPath, pdf);

    // 1. The admin opens the training desk: no track yet.
    const desk = await browser.newContext(DESK);
    const admin = await openPage(desk, errors);
    await admin.goto(server.url);
    await fillSignIn(admin, "admin@portal.example", "demo-admin-password");
    await admin.waitForURL((u) => u.pathname === "/admin/");
    await admin.click('nav.tabs a[href="#training"]');
    await admin.locator("#training .track-list").waitFor();
    assert((await admin.locator(".track-row").count()) === 0, "no track yet");

    // 2. A new track; saving it half written says what is missing and
    // sends nothing.
    await admin.click("#new-track");
    await admin.fill("#track-title", "Visit reports");
    await admin.fill("#track-channel", "Field work");
    assert(await admin.getAttribute("#track-id", "placeholder") === "visit-reports", "the id comes from the title");
    const module = admin.locator(".module-edit").first();
    await module.locator("input[id^=title-module]").fill("Writing a visit report");
    await admin.click("#save-track");
    await admin.locator("#editor-refused", { hasText: "Module 1, lesson 1 needs a title." }).waitFor();
    const saved = async () => Number((await db.query("SELECT count(*) FROM training_tracks")).rows[0].count);
    assert(await saved() === 0, "nothing was sent");

    const first = module.locator(".lesson-edit").nth(0);
    await first.locator("input[id^=title-lesson]").fill("What a report is for");
    await first.locator("textarea[id^=body-lesson]").fill("# Why\n\nA report is what the **next** visit starts from.\n\n- Who you met\n- What they need");

    // 3. A second lesson with the PDF; the first part sent is cut off.
    await module.locator("button", { hasText: "Add a lesson" }).click();
    const second = module.locator(".lesson-edit").nth(1);
    await second.locator("input[id^=title-lesson]").fill("The guide");
    let cut = 0;
    await admin.route(/\/api\/admin\/blobs\/uploads\/[0-9a-f]{32}\?offset=/, async (route) => {
      if (cut === 0 && route.request().method() === "PUT") {
        cut += 1;
        await route.abort("connectionreset");
      } else {
        await route.continue();
      }
    });
    await second.locator("input[type=file]").setInputFiles(pdfPath);
    await second.locator(".upload").waitFor();
    await shot(admin, "authoring-upload-desk");
    await second.locator(".file-line a", { hasText: "PDF · 5.3 MB" }).waitFor({ timeout: 60_000 });
    assert(cut === 1, "a part was cut off on the way");
    const sha = createHash("sha256").update(pdf).digest("hex");
    const blob = (await db.query("SELECT bytes, content_type FROM blobs WHERE sha256 = $1", [sha])).rows[0];
    assert(blob && Number(blob.bytes) === pdf.length && blob.content_type === "application/pdf",
      `the server kept the whole file under its hash: ${JSON.stringify(blob)}`);
    await second.locator("input[id^=caption-lesson]").fill("The visit report guide");

    // 4. A certification exam of one question, the second answer right.
    await module.locator("button", { hasText: "Add a certification exam" }).click();
    const exam = module.locator(".quiz-edit");
    await exam.locator("input[id^=title-quiz]").fill("Visit reports certification");
    const question = exam.locator(".question-edit").first();
    await question.locator("textarea[id^=prompt-q]").fill("What does a report start?");
    await question.locator(".choice-edit input[aria-label='Answer A']").fill("The invoice");
    await question.locator(".choice-edit input[aria-label='Answer B']").fill("The next visit");
    await question.locator("input[aria-label='Answer B is right']").check();
    await question.locator("textarea[id^=why-q]").fill("only-the-server-knows");

    // 5. Saved, then published.
    await admin.click("#save-track");
    await admin.locator("p.notice", { hasText: "Saved." }).waitFor();
    await admin.locator('.track-row[data-id="visit-reports"]', { hasText: "Draft, never published" }).waitFor();
    await shot(admin, "authoring-saved-desk");
    await admin.click("#publish-track");
    await admin.locator("#published", { hasText: "version 1" }).waitFor();
    await admin.locator('.track-row[data-id="visit-reports"]', { hasText: "Version 1 published" }).waitFor();
    await waitFor("nothing more to publish", () => admin.locator("#publish-track").isDisabled());
    const catalog = (await db.query(
      "SELECT manifest FROM training_versions WHERE track_id = 'visit-reports' AND version = 1")).rows[0].manifest;
    const text = JSON.stringify(catalog);
    assert(!text.includes("only-the-server-knows"), "the published catalog holds no explanation of the exam");
    assert(catalog.track.modules[0].quiz.questions[0].correct === undefined, "nor its answer key");

    // The same desk on a phone: the list, then the editor alone.
    const phone = await browser.newContext(PHONE);
    const adminPhone = await openPage(phone, errors);
    await adminPhone.goto(server.url);
    await fillSignIn(adminPhone, "admin@portal.example", "demo-admin-password");
    await adminPhone.waitForURL((u) => u.pathname === "/admin/");
    await adminPhone.goto(`${server.url}/admin/#training`);
    await adminPhone.locator('.track-row[data-id="visit-reports"]').waitFor();
    await shot(adminPhone, "authoring-list-phone");
    await adminPhone.click('.track-row[data-id="visit-reports"] button.open-row');
    await adminPhone.locator(".track-form .quiz-edit").waitFor();
    assert((await adminPhone.locator(".track-list").count()) === 0, "on a phone the editor is alone");
    await shot(adminPhone, "authoring-editor-phone");

    // 6. Ben finds it in his catalog. His phone is on Wi-Fi, as the
    // browser says (navigator.connection, as Chrome on Android has it).
    const benContext = await browser.newContext(PHONE);
    await benContext.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, "connection", {
        get: () => ({ type: "wifi", saveData: false, addEventListener() {} }),
      });
    });
    const ben = await openPage(benContext, errors);
    await ben.goto(server.url);
    await fillSignIn(ben, "ben@okafor.example", "demo-ben-password");
    await ben.goto(`${server.url}/#training`);
    await ben.locator(".tracks .track", { hasText: "Visit reports" }).waitFor();
    const kept = () => ben.evaluate(async (url) => {
      const cache = await caches.open("training-files-v1");
      return (await cache.match(url)) !== undefined;
    }, `/blobs/${sha}`);
    assert(!await kept(), "nothing downloaded before it is assigned");

    // 7. Ana, his team leader, assigns him the module from the track's
    // page on her phone, and sees where he stands.
    const ana = await openPage(await browser.newContext(PHONE), errors);
    await ana.goto(server.url);
    await fillSignIn(ana, "ana@souza.example", "demo-ana-password");
    await ana.goto(`${server.url}/#training-visit-reports`);
    await ana.locator(".team-panel summary").click();
    await ana.locator('.team-panel input[name=member][value="p-ben"]').check();
    await ana.locator(".team-panel button[type=submit]").click();
    await ana.locator("#assign-done").waitFor();
    await ana.locator('.team-progress li[data-partner="p-ben"]', { hasText: "0 of 2 lessons" }).waitFor();
    await shot(ana, "authoring-team-panel-phone");

    // 8. Ben's dashboard lists it, and his phone downloads it by itself.
    await ben.goto(`${server.url}/#home`);
    await ben.locator(".assigned .due-item", { hasText: "Writing a visit report" }).waitFor();
    assert((await ben.locator(".assigned .due-item .hint").textContent()).includes("from Ana Souza"),
      "the card says who asked");
    await waitFor("the assigned module on Ben's phone", kept);
    await shot(ben, "authoring-dashboard-assigned-phone");
    const notice = (await db.query(
      "SELECT title FROM notifications WHERE account_id = 'a-ben' AND kind = 'training_assigned'")).rows[0];
    assert(notice && notice.title === "Training to do: Writing a visit report", `Ben is notified: ${JSON.stringify(notice)}`);

    // 9. The admin assigns it to Cleo from the back-office.
    await admin.reload();
    await admin.click('.track-row[data-id="visit-reports"] button.open-row');
    await admin.locator("#assign-form").waitFor();
    await admin.locator('#assign-form input[name=partner][value="p-cleo"]').check();
    await admin.locator("#assign-form button[type=submit]").click();
    await admin.locator("#assigned", { hasText: "Assigned to 1 partner," }).waitFor();
    await admin.locator('.assignments tr[data-partner="p-cleo"]').waitFor();
    await admin.locator('.assignments tr[data-partner="p-ben"]').waitFor();
    await shot(admin, "authoring-assign-desk");

    await waitFor("no page errors", async () => errors.length === 0, 1000).catch(() => {
      throw new Error(`page errors: ${errors.join("\n")}`);
    });
    console.log("e2e authoring: passed");
  } finally {
    await browser.close();
    await db.end();
    await stopServer(server);
    await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(timer);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
