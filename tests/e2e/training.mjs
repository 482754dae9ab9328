// The training hub in the browser, on a phone: an admin publishes a track
// (a real video with speech, made here by ffmpeg and espeak-ng, a PDF, a
// practice quiz and a certification exam) through the API; Ben downloads
// the module, goes offline, closes and reopens the app, watches the video
// with a seek (the range answered from the device), reads the PDF, marks
// the lessons done, passes the practice quiz, takes the exam offline and
// reconnects; the server grades it, the certificate PDF is issued and verifies at
// /verify/<id>, and Ben's tier counts the module.
//
// Prints the bytes Ben downloads for the module and the time a downloaded
// lesson takes to open offline. With SHOTS_DIR set, screenshots and the
// certificate PDF land there.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  PHONE, adminToken, api, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, startServer, stopServer, waitFor, watchdog, SHOTS as shots, shot, DESK,
} from "./harness.mjs";

const timer = watchdog("e2e training", 300);
const MARKER = "only-the-server-knows";

// A six-second faststart MP4 (H.264 and AAC): ffmpeg's test pattern with
// a spoken sentence from espeak-ng.
function makeVideo(dir) {
  const wav = join(dir, "speech.wav");
  const mp4 = join(dir, "lesson.mp4");
  execFileSync("espeak-ng", ["-w", wav, "Welcome. This lesson shows how to open a conversation with a clinic."]);
  execFileSync("ffmpeg", [
    "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=6",
    "-i", wav, "-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
    "-movflags", "+faststart", mp4,
  ]);
  return readFileSync(mp4);
}

// A one-page PDF with a line of text, its cross-reference table counted.
function makePdf(text) {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    null,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  const stream = `BT /F1 18 Tf 72 760 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = "%PDF-1.4\n";
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

async function upload(server, token, bytes, contentType) {
  const sha = sha256(bytes);
  const begun = await api(server, token, "POST", "/api/admin/blobs/uploads",
    { sha256: sha, bytes: bytes.length, content_type: contentType });
  assert(begun.status === 201, `upload begun: ${JSON.stringify(begun)}`);
  const id = begun.json.upload;
  const put = await api(server, token, "PUT", `/api/admin/blobs/uploads/${id}?offset=0`, bytes, "application/octet-stream");
  assert(put.status === 200, `upload sent: ${JSON.stringify(put)}`);
  const done = await api(server, token, "POST", `/api/admin/blobs/uploads/${id}/finish`);
  assert(done.status === 200, `upload finished: ${JSON.stringify(done)}`);
  return sha;
}

async function main() {
  const databaseUrl = await freshDatabase("training");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const dir = mkdtempSync(join(tmpdir(), "training-media-"));
  const browser = await launchChromium();
  const errors = [];
  try {
    // 0. The admin publishes a track.
    const admin = await adminToken(server);
    const video = makeVideo(dir);
    const pdf = makePdf("Clinic pitch: three questions to open with.");
    const videoSha = await upload(server, admin, video, "video/mp4");
    const pdfSha = await upload(server, admin, pdf, "application/pdf");
    const choices = [{ id: "a", text: "Ask about their patients" }, { id: "b", text: "Talk about the price" }, { id: "c", text: "Send a brochure" }];
    const track = {
      id: "clinics", channel: "Selling", title: "Selling to clinics", audience: "everyone",
      summary: "Open, qualify and close a clinic in three conversations.",
      modules: [
        {
          id: "opening", title: "Opening the conversation", minutes: 12,
          summary: "The first five minutes with a practice manager.",
          lessons: [
            { id: "watch", title: "Watch: the first call", body: "Watch the call, then read the notes.",
              media: { sha256: videoSha, kind: "video", content_type: "video/mp4", bytes: video.length, caption: "The first call with a clinic" } },
            { id: "read", title: "Read: three questions", body: "",
              media: { sha256: pdfSha, kind: "pdf", content_type: "application/pdf", bytes: pdf.length, caption: "Three questions" } },
            { id: "notes", title: "Notes", body: "# Why it works\n\nPeople talk about **their** patients first.\n\n- Listen\n- Ask\n- Write it down" },
          ],
          quiz: { id: "opening-check", title: "Check your opening", kind: "practice", pass_percent: 50, questions: [
            { id: "q1", prompt: "What comes first?", choices, correct: ["a"], explanation: "Patients before price." },
          ] },
        },
        {
          id: "certify", title: "Certification", minutes: 10,
          lessons: [{ id: "rules", title: "How the exam works", body: "Ten minutes, one attempt a day." }],
          quiz: { id: "clinic-exam", title: "Clinic sales certification", kind: "exam", pass_percent: 60, questions: [
            { id: "e1", prompt: "What comes first?", choices, correct: ["a"], explanation: MARKER },
            { id: "e2", prompt: "Which help a first call?", multiple: true, choices, correct: ["a", "c"], explanation: MARKER },
          ] },
        },
      ],
    };
    let r = await api(server, admin, "PUT", "/api/admin/training/tracks/clinics", track);
    assert(r.status === 200, `track saved: ${JSON.stringify(r)}`);
    r = await api(server, admin, "POST", "/api/admin/training/tracks/clinics/publish");
    assert(r.status === 200, `track published: ${JSON.stringify(r)}`);

    // 1. Ben, on his phone, finds it and downloads the first module.
    const context = await browser.newContext(PHONE);
    let page = await openPage(context, errors);
    await page.goto(server.url);
    await fillSignIn(page, "ben@okafor.example", "demo-ben-password");
    await page.goto(`${server.url}/#training`);
    await page.locator(".tracks .track", { hasText: "Selling to clinics" }).waitFor();
    await shot(page, "training-catalog-phone");
    await page.fill("#training-search", "practice manager");
    await page.locator(".found a", { hasText: "Opening the conversation" }).waitFor();
    await page.fill("#training-search", "");
    await page.click(".tracks .track a");
    const opening = page.locator('section.module[data-module="opening"]');
    const downloadButton = opening.locator(".download-button");
    await downloadButton.waitFor();
    const label = await downloadButton.textContent();
    const bytes = video.length + pdf.length;
    assert(label.includes("Download for offline"), `the download says its size: ${label}`);
    await downloadButton.click();
    await opening.locator(".kept").waitFor();
    await shot(page, "training-track-phone");
    const shell = await page.evaluate(async () => (await navigator.serviceWorker.ready).active !== null);
    assert(shell, "the service worker is active");

    // 2. Offline, the app closed and opened again.
    await context.setOffline(true);
    await page.close();
    page = await openPage(context, errors);
    const opened = Date.now();
    await page.goto(`${server.url}/#lesson-clinics_watch`);
    const videoEl = page.locator("#lesson-video");
    await videoEl.waitFor();
    await waitFor("the video's metadata, offline", async () =>
      page.evaluate(() => document.querySelector("#lesson-video").readyState >= 1));
    const openMs = Date.now() - opened;
    const duration = await page.evaluate(() => document.querySelector("#lesson-video").duration);
    assert(duration > 5 && duration < 7, `the video is six seconds: ${duration}`);
    await page.evaluate(() => {
      const v = document.querySelector("#lesson-video");
      v.currentTime = 4;
    });
    await waitFor("the seek to land", async () =>
      page.evaluate(() => {
        const v = document.querySelector("#lesson-video");
        return !v.seeking && v.currentTime >= 3.9;
      }));
    const ranged = await page.evaluate(async (sha) => {
      const res = await fetch(`/blobs/${sha}`, { headers: { Range: "bytes=100-199" } });
      return { status: res.status, length: (await res.arrayBuffer()).byteLength, by: res.headers.get("x-served-by"), range: res.headers.get("content-range") };
    }, videoSha);
    assert(ranged.status === 206 && ranged.length === 100 && ranged.by === "service-worker",
      `a range is cut from the download: ${JSON.stringify(ranged)}`);
    assert(ranged.range === `bytes 100-199/${video.length}`, `its Content-Range: ${ranged.range}`);
    await shot(page, "training-lesson-phone");
    await page.click("#lesson-done");
    await page.locator(".lesson .done").waitFor();
    // The PDF, from the device.
    await page.goto(`${server.url}/#lesson-clinics_read`);
    await page.locator("#lesson-pdf").waitFor();
    const pdfRead = await page.evaluate(async (sha) => {
      const res = await fetch(`/blobs/${sha}`);
      return { status: res.status, type: res.headers.get("content-type"), head: (await res.text()).slice(0, 5) };
    }, pdfSha);
    assert(pdfRead.status === 200 && pdfRead.type === "application/pdf" && pdfRead.head === "%PDF-",
      `the PDF reads offline: ${JSON.stringify(pdfRead)}`);
    await page.click("#lesson-done");
    await page.goto(`${server.url}/#lesson-clinics_notes`);
    await page.locator(".lesson .body strong", { hasText: "their" }).waitFor();
    await page.click("#lesson-done");
    await page.locator(".lesson .done").waitFor();

    // 3. The practice quiz, graded here.
    await page.goto(`${server.url}/#quiz-clinics_opening-check`);
    await page.locator('fieldset[data-question="q1"] input[value="b"]').check();
    await page.click("#quiz-form button[type=submit]");
    await page.locator("#quiz-result .wrong").waitFor();
    assert(/Patients before price/.test(await page.locator('fieldset[data-question="q1"]').textContent()),
      "a practice quiz explains");
    await page.goto(`${server.url}/#quiz-clinics_opening-check`);
    await page.reload();
    await page.locator('fieldset[data-question="q1"] input[value="a"]').check();
    await page.click("#quiz-form button[type=submit]");
    await page.locator("#quiz-result", { hasText: "You scored 100%: passed" }).waitFor();

    // 4. The exam, offline: nothing on the device can grade it.
    await page.goto(`${server.url}/#lesson-clinics_rules`);
    await page.click("#lesson-done");
    await page.goto(`${server.url}/#quiz-clinics_clinic-exam`);
    await page.locator('fieldset[data-question="e1"]').waitFor();
    await shot(page, "training-exam-phone");
    await page.locator('fieldset[data-question="e1"] input[value="a"]').check();
    await page.locator('fieldset[data-question="e2"] input[value="a"]').check();
    await page.locator('fieldset[data-question="e2"] input[value="c"]').check();
    await page.click("#quiz-form button[type=submit]");
    await page.locator("#quiz-result", { hasText: "graded when this device is back online" }).waitFor();
    const attempts = await db.query("SELECT count(*)::int AS n FROM quiz_attempts WHERE partner_id = 'p-ben'");
    assert(attempts.rows[0].n === 0, "nothing reached the server while offline");

    // 5. Back online: the server grades it; the certificate verifies.
    await context.setOffline(false);
    const certificate = page.locator("#quiz-result a", { hasText: "Certificate" });
    await waitFor("the exam graded and the certificate shown", async () => (await certificate.count()) > 0, 60_000);
    const href = await certificate.getAttribute("href");
    const verify = await fetch(`${server.url}${href}`);
    const verified = await verify.text();
    assert(verify.status === 200 && verified.includes("genuine") && verified.includes("Selling to clinics"),
      `the certificate verifies at ${href}`);
    const pdfHref = await page.locator("#quiz-result a.certificate-pdf").getAttribute("href");
    const certificatePdf = await fetch(`${server.url}${pdfHref}`);
    const certificateBytes = Buffer.from(await certificatePdf.arrayBuffer());
    assert(certificatePdf.status === 200 && certificateBytes.subarray(0, 5).toString() === "%PDF-",
      `the certificate PDF is issued at ${pdfHref}`);
    if (shots) writeFileSync(`${shots}/certificate.pdf`, certificateBytes);
    await shot(page, "training-certified-phone");
    const graded = await db.query("SELECT outcome, score_percent FROM quiz_attempts WHERE partner_id = 'p-ben' AND kind = 'exam'");
    assert(graded.rows[0].outcome === "passed" && graded.rows[0].score_percent === 100, `graded: ${JSON.stringify(graded.rows)}`);

    // 6. The tier counts both modules.
    await page.goto(`${server.url}/#tier`);
    await waitFor("the tier to count the modules", async () =>
      /2 of 10 modules/.test((await page.locator("#tier").textContent()) ?? ""), 30_000);

    // 7. The answer key is in nothing Ben's device was given.
    const me = await page.evaluate(async () => (await fetch("/api/me")).text());
    assert(!me.includes(MARKER), "the answer key is not in /api/me");

    // The desk width, for the screenshots.
    if (shots) {
      const desk = await browser.newContext(DESK);
      const wide = await openPage(desk, errors);
      await wide.goto(server.url);
      await fillSignIn(wide, "ben@okafor.example", "demo-ben-password");
      await wide.goto(`${server.url}/#training-clinics`);
      await wide.locator('section.module[data-module="opening"]').waitFor();
      await shot(wide, "training-track-desk");
      await wide.goto(`${server.url}/#training`);
      await wide.locator(".tracks .track").first().waitFor();
      await shot(wide, "training-catalog-desk");
      await desk.close();
    }
    assert(errors.length === 0, `no console errors: ${errors.join("\n")}`);
    console.log(`figures: one module downloads ${bytes} bytes (a ${video.length}-byte video and a ${pdf.length}-byte PDF); a downloaded lesson opened offline, video ready, in ${openMs} ms`);
  } finally {
    await browser.close();
    await db.end();
    await stopServer(server);
    await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(timer);
  }
}

main().then(() => console.log("e2e training: ok"), (e) => {
  console.error(e);
  process.exit(1);
});
