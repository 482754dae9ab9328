// Team chat in two browsers, on phones: Ben and Ana in their team's
// channel. A message, a reaction, a reply in a thread and an edit cross
// live; both go offline and write, Ben's app is closed and opened again
// offline (his messages are still there, "sending"), both come back, and
// both see the same messages in the same order, "sent". The announcements
// are read-only for partners. Presence and typing cross between them, and
// what Ben has not read is counted until he opens the channel. He joins a
// topic channel, and is removed from it by an admin. In the back-office,
// an admin posts to the announcements (Ben reads it as the admin's),
// removes one of Ben's messages (Ana's phone shows it removed) and
// exports the channel; Ben loads history older than his phone keeps.
//
// Prints how long a message takes from Ana's send to Ben's screen. With
// SHOTS_DIR set, screenshots land there.

import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, startServer, stopServer, waitFor, watchdog, shot, DESK,
} from "./harness.mjs";
import zlib from "node:zlib";
import pg from "pg";

const timer = watchdog("e2e chat", 240);

async function signIn(browser, server, errors, email, password) {
  const context = await browser.newContext(PHONE);
  const page = await openPage(context, errors);
  await page.goto(`${server.url}/#chat`);
  await fillSignIn(page, email, password);
  await waitFor("the app to be online", async () =>
    (await page.locator("#sync-status").getAttribute("data-connection")) === "online");
  return { context, page };
}

// A real picture, made here: a gradient as a PNG, or with `noise` one
// that does not compress (a photo's weight).
function gradientPng(w, h, noise = false) {
  const chunk = (type, data) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([head, Buffer.from(type), data, crc]);
  };
  const rows = [];
  for (let y = 0; y < h; y++) {
    rows.push(0);
    for (let x = 0; x < w; x++) {
      const n = noise ? ((x * 7919 + y * 104729) ^ (x * y)) % 97 : 0;
      rows.push((31 + x * 3 + n) & 255, (79 + y * 2 + n * 2) & 255, (209 - x * 2 + n * 3) & 255);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("IDAT", zlib.deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0)),
  ]);
}

// A channel's row (or pick, in the back-office) by its exact name: the
// programme's "Announcements" and a team's "… team announcements" differ.
const row = (page, name, selector = "a.channel-row") =>
  page.locator(selector).filter({ has: page.locator("strong", { hasText: new RegExp(`^${name}$`) }) });

const bodies = (page) => page.locator("ol.messages > li.message .body").allTextContents();

// On a phone, Enter is a new line (its keyboard has no Shift+Enter): the
// button sends.
async function send(page, text) {
  const form = page.locator("form.composer");
  await form.locator("textarea").fill(text);
  await form.locator("button[type=submit]").click();
}

async function main() {
  const databaseUrl = await freshDatabase("chat");
  const server = await startServer(databaseUrl);
  // A microphone that plays a beep, allowed without asking.
  const browser = await launchChromium(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
  const errors = [];
  try {
    const ben = await signIn(browser, server, errors, "ben@okafor.example", "demo-ben-password");
    const ana = await signIn(browser, server, errors, "ana@souza.example", "demo-ana-password");
    for (const { page } of [ben, ana]) {
      await page.goto(`${server.url}/#chat`);
      const team = page.locator("a.channel-row", { hasText: "Team Ana Souza" });
      await team.waitFor();
      assert(await row(page, "Announcements").isVisible(), "the announcements are listed");
      await team.click();
      await page.locator("form.composer textarea").waitFor();
    }
    await shot(ben.page, "chat-empty-phone");

    // Presence: each sees the other here, and Ana typing (ephemeral
    // messages, lossy by design: the app says "here" again every 15 s and
    // "typing" every 3 s while keys go down).
    await waitFor("Ben to see Ana here", async () =>
      /Ana here/.test(await ben.page.locator("p.presence").textContent()), 40_000);
    await waitFor("Ben to see Ana typing", async () => {
      await ana.page.locator("form.composer textarea").pressSequentially("K", { delay: 10 });
      await ana.page.locator("form.composer textarea").fill("");
      return /Ana is typing…/.test(await ben.page.locator("p.presence").textContent());
    }, 20_000);
    await shot(ben.page, "chat-typing-phone");

    // 1. Live: a message, timed to the other phone.
    const sentAt = Date.now();
    await send(ana.page, "Kick-off at nine, @Ben. Agenda: https://example.com/agenda");
    const onBen = ben.page.locator("li.message", { hasText: "Kick-off at" });
    await onBen.waitFor();
    console.log(`e2e chat: Ana's message on Ben's screen in ${Date.now() - sentAt} ms`);
    assert((await onBen.locator(".author").textContent()) === "Ana Souza", "the author is read from the document");
    assert(await onBen.locator(".mention").isVisible(), "the mention is marked");
    assert((await onBen.locator("a[href='https://example.com/agenda']").getAttribute("rel")).includes("noopener"), "the link opens safely");
    await waitFor("Ana's message to read sent", async () =>
      (await ana.page.locator("li.message.mine .status.sent").count()) === 1);

    // A reaction, both ways.
    await onBen.locator("summary", { hasText: "☺+" }).click();
    await onBen.locator("button[aria-label='React 🎉']").click();
    const onAna = ana.page.locator("li.message", { hasText: "Kick-off at" });
    await waitFor("Ben's reaction on Ana's phone", async () =>
      (await onAna.locator("button.reaction").textContent())?.trim() === "🎉 1");

    // A reply in a thread.
    await onBen.locator("a", { hasText: "Reply" }).click();
    await ben.page.waitForURL((u) => u.hash.startsWith("#thread-"));
    await send(ben.page, "On my way");
    await ben.page.locator("ol.messages li.message", { hasText: "On my way" }).waitFor();
    await shot(ben.page, "chat-thread-phone");
    await waitFor("the reply counted on Ana's phone", async () =>
      (await onAna.locator("a", { hasText: "1 reply" }).count()) === 1);
    assert((await ana.page.locator("ol.messages > li.message", { hasText: "On my way" }).count()) === 0,
      "a reply stays in its thread");
    await ben.page.goBack();
    await ben.page.locator("form.composer textarea").waitFor();

    // An edit of one's own message.
    await onAna.locator("button", { hasText: "Edit" }).click();
    const box = ana.page.locator("form.composer textarea");
    await waitFor("the box to hold the message", async () => (await box.inputValue()).startsWith("Kick-off"));
    await box.fill("Kick-off at ten, @Ben. Agenda: https://example.com/agenda");
    await ana.page.locator("form.composer button[type=submit]", { hasText: "Save" }).click();
    await waitFor("the edit on Ben's phone", async () =>
      /Kick-off at ten/.test(await onBen.textContent()) && /\(edited\)/.test(await onBen.textContent()));

    // 2. Both offline; each writes; Ben's app closes and opens again.
    await ben.context.setOffline(true);
    await ana.context.setOffline(true);
    await send(ben.page, "Ben offline one");
    await send(ana.page, "Ana offline one");
    await send(ben.page, "Ben offline two");
    const pending = ben.page.locator("li.message", { hasText: "Ben offline two" }).locator(".status.sending");
    await pending.waitFor();
    await waitFor("an unsent message to say it waits for the network", async () =>
      (await pending.textContent()) === "Sending when online");
    await shot(ben.page, "chat-offline-phone");
    await ben.page.reload();
    await ben.page.locator("li.message", { hasText: "Ben offline one" }).locator(".status.sending").waitFor();
    assert((await ben.page.locator("li.message", { hasText: "Ben offline two" }).count()) === 1,
      "messages written offline survive the app's restart");

    // 3. Back online: the same messages in the same order on both, sent.
    await ben.context.setOffline(false);
    await ana.context.setOffline(false);
    const expected = 5; // the kick-off, three written offline and nothing else at the top level
    const same = await waitFor("both phones to agree", async () => {
      const [b, a] = [await bodies(ben.page), await bodies(ana.page)];
      return b.length === expected - 1 && JSON.stringify(a) === JSON.stringify(b) && b;
    }, 45_000);
    for (const text of ["Ben offline one", "Ana offline one", "Ben offline two"]) {
      assert(same.includes(text), `${text} arrived: ${same}`);
    }
    assert(same.indexOf("Ben offline one") < same.indexOf("Ben offline two"), "Ben's messages keep their order");
    await waitFor("nothing left sending", async () =>
      (await ben.page.locator(".status.sending").count()) === 0 && (await ana.page.locator(".status.sending").count()) === 0, 45_000);
    await shot(ben.page, "chat-channel-phone");

    // 4. The announcements: read, not written, by a partner.
    await ben.page.goto(`${server.url}/#chat`);
    await row(ben.page, "Announcements").click();
    await ben.page.locator("p.read-only", { hasText: "Only the programme team posts here." }).waitFor();
    assert((await ben.page.locator("form.composer").count()) === 0, "no box to write in");
    await shot(ben.page, "chat-list-phone");
    // The team's announcements: Ana, its leader, posts; Ben reads.
    await ana.page.goto(`${server.url}/#chat`);
    await row(ana.page, "Ana Souza's team announcements").click();
    await send(ana.page, "Team call moves to Thursdays");
    await ben.page.goto(`${server.url}/#chat`);
    await row(ben.page, "Ana Souza's team announcements").click();
    await ben.page.locator("li.message", { hasText: "Team call moves to Thursdays" }).waitFor();
    await ben.page.locator("p.read-only", { hasText: "Only your team leader posts here." }).waitFor();
    await ana.page.goto(`${server.url}/#chat`);
    await row(ana.page, "Team Ana Souza").click();
    await ana.page.locator("form.composer textarea").waitFor();

    // Unread: Ana writes while Ben reads the announcements; his Chat tab
    // and the team's row count it, and opening the channel reads it (the
    // marker is his own document, kept for his other devices too).
    await send(ana.page, "Who takes the Lisbon lead?");
    const tab = ben.page.locator("a.tab", { hasText: "Chat" });
    await waitFor("Ben's Chat tab to count the unread message", async () =>
      (await tab.getAttribute("aria-label")) === "Chat, 1 unread");
    await ben.page.goto(`${server.url}/#chat`);
    const teamRow = ben.page.locator("a.channel-row", { hasText: "Team Ana Souza" });
    await teamRow.locator(".unread", { hasText: "1 unread" }).waitFor();
    await shot(ben.page, "chat-unread-phone");
    await teamRow.click();
    await ben.page.locator("li.message", { hasText: "Who takes the Lisbon lead?" }).waitFor();
    await waitFor("the unread count to clear", async () => (await tab.getAttribute("aria-label")) === null);

    // Search: the server's when online, the device's offline.
    await ben.page.goto(`${server.url}/#chat`);
    const search = ben.page.locator("#chat-search");
    await waitFor("Lisbon to be found on the server", async () => {
      await search.fill("lisbon");
      await search.press("Enter");
      await ben.page.locator(".chat-search [role=status] p.hint", { hasText: "found" }).waitFor();
      return /^1 found$/.test(await ben.page.locator(".chat-search [role=status] p.hint").textContent());
    });
    await ben.context.setOffline(true);
    await search.fill("offline");
    await search.press("Enter");
    await waitFor("the device's own search offline", async () =>
      /3 found on this device \(offline\)/.test(await ben.page.locator(".chat-search [role=status] p.hint").textContent()));
    await shot(ben.page, "chat-search-phone");
    await ben.context.setOffline(false);

    // A direct conversation: Ben starts one with Ana (the server makes
    // it), writes, and Ana finds it named after him, unread.
    await ben.page.goto(`${server.url}/#chat`);
    await ben.page.locator("details.new-conversation summary").click();
    await ben.page.locator("details.new-conversation label", { hasText: "Ana Souza" }).locator("input").check();
    await ben.page.locator("details.new-conversation button[type=submit]").click();
    await ben.page.waitForURL((u) => u.hash.startsWith("#chat-"));
    await waitFor("the conversation to open, named after Ana", async () =>
      (await ben.page.locator("#channel-name").textContent()) === "Ana Souza");
    await send(ben.page, "Just between us: the Lisbon deal is close");
    await ben.page.locator("li.message", { hasText: "Just between us" }).waitFor();
    await ana.page.goto(`${server.url}/#chat`);
    const direct = ana.page.locator("a.channel-row", { hasText: "Ben Okafor" });
    await waitFor("Ana to see Ben's conversation, unread", async () =>
      (await direct.count()) === 1 && /1 unread/.test(await direct.textContent()), 20_000);
    await shot(ana.page, "chat-direct-list-phone");
    // Ana reads it, then leaves it: it goes from her list, not from Ben's.
    await direct.click();
    await ana.page.locator("li.message", { hasText: "Just between us" }).waitFor();
    ana.page.once("dialog", (d) => d.accept());
    await ana.page.locator(".conversation-head .leave button", { hasText: "Leave" }).click();
    await ana.page.waitForURL((u) => u.hash === "#chat");
    await waitFor("the conversation to leave Ana's list", async () =>
      (await ana.page.locator("a.channel-row", { hasText: "Ben Okafor" }).count()) === 0);
    await ben.page.goto(`${server.url}/#chat`);
    await ben.page.locator("a.channel-row", { hasText: "Ana Souza" }).filter({ hasNotText: "team" }).waitFor();

    // Files: Ben, offline in the team's channel, drops a picture and a
    // PDF; they show on his phone at once, waiting; online again they
    // upload, and Ana's phone shows the picture and offers the PDF. Then
    // Ana records a voice clip (Chromium's fake microphone) that Ben's
    // phone plays.
    await ben.page.goto(`${server.url}/#chat`);
    await ben.page.locator("a.channel-row", { hasText: "Team Ana Souza" }).click();
    await ben.page.locator("form.composer textarea").waitFor();
    await ben.context.setOffline(true);
    await waitFor("Ben's app to know it is offline", async () =>
      (await ben.page.locator("#sync-status").getAttribute("data-connection")) !== "online");
    const png = gradientPng(64, 48);
    const photo = gradientPng(800, 600, true);
    assert(photo.length > 64 * 1024, `the photo weighs (${photo.length} bytes)`);
    const pdf = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");
    await ben.page.locator("form.composer input[type=file]").setInputFiles([
      { name: "Roof survey.png", mimeType: "image/png", buffer: png },
      { name: "Quote 2027.pdf", mimeType: "application/pdf", buffer: pdf },
      { name: "Site photo.png", mimeType: "image/png", buffer: photo },
    ]);
    const benPicture = ben.page.locator("li.message.mine figure.file-image", { hasText: "Roof survey.png" });
    await benPicture.waitFor();
    assert(/Uploads when online/.test(await benPicture.textContent()), "the picture waits, said so");
    assert(await ben.page.locator("li.message.mine a.file-card", { hasText: "Quote 2027.pdf" }).isVisible(), "the PDF shows as a card");
    await shot(ben.page, "chat-files-offline-phone");
    await ben.context.setOffline(false);
    await waitFor("both files to upload", async () =>
      (await ben.page.locator("li.message.mine .status.sending").count()) === 0, 40_000);
    await ana.page.goto(`${server.url}/#chat`);
    await ana.page.locator("a.channel-row", { hasText: "Team Ana Souza" }).click();
    const anaPicture = ana.page.locator("figure.file-image img[alt='Roof survey.png']");
    await anaPicture.waitFor();
    await waitFor("the picture to load on Ana's phone", async () =>
      anaPicture.evaluate((img) => img.complete && img.naturalWidth === 64));
    const card = ana.page.locator("a.file-card", { hasText: "Quote 2027.pdf" });
    const fetched = await ana.page.evaluate(async (href) => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
    }, await card.getAttribute("href"));
    assert(fetched.status === 200 && fetched.type === "application/pdf" && fetched.text.startsWith("%PDF-"), `the PDF opens: ${JSON.stringify(fetched).slice(0, 200)}`);
    // The photo shows as its thumbnail, made on Ben's phone: a JPEG of
    // its own, sized in the page; the photo whole is a tap away.
    const thumb = ana.page.locator("figure.file-image img[alt='Site photo.png']");
    await thumb.waitFor();
    await waitFor("the thumbnail to load on Ana's phone", async () =>
      thumb.evaluate((img) => img.complete && img.naturalWidth === 480));
    assert((await thumb.getAttribute("width")) === "480" && (await thumb.getAttribute("height")) === "360", "the thumbnail's size is known");
    const [thumbSrc, whole] = [await thumb.getAttribute("src"), await thumb.evaluate((img) => img.closest("a").getAttribute("href"))];
    assert(thumbSrc !== whole, `the thumbnail is not the photo (${thumbSrc})`);
    const sizes = await ana.page.evaluate(async ([t, w]) => {
      const [a, b] = [await fetch(t), await fetch(w)];
      return { thumb: [a.headers.get("content-type"), (await a.arrayBuffer()).byteLength], whole: [b.headers.get("content-type"), (await b.arrayBuffer()).byteLength] };
    }, [thumbSrc, whole]);
    assert(sizes.thumb[0] === "image/jpeg" && sizes.whole[0] === "image/png" && sizes.thumb[1] * 3 < sizes.whole[1],
      `the thumbnail is a small JPEG: ${JSON.stringify(sizes)}`);
    console.log(`e2e chat: photo ${sizes.whole[1]} bytes, its thumbnail ${sizes.thumb[1]} bytes`);
    await shot(ana.page, "chat-files-phone");
    await ana.page.getByRole("button", { name: "Record a voice clip" }).click();
    await ana.page.locator(".recorder .recording").waitFor();
    await waitFor("two seconds of sound", async () =>
      /Recording 0:0[2-9]/.test(await ana.page.locator(".recorder .recording").textContent()), 20_000);
    await ana.page.getByRole("button", { name: "Send clip" }).click();
    const clipOnBen = ben.page.locator("li.message .voice-clip audio");
    await clipOnBen.waitFor({ timeout: 40_000 });
    // The message may come before the clip's bytes: Ben's phone asks again
    // until they are there.
    await waitFor("the clip to load on Ben's phone", async () =>
      clipOnBen.evaluate((audio) => audio.readyState >= 1), 40_000);
    const played = await clipOnBen.evaluate(async (audio) => {
      audio.muted = true;
      await audio.play();
      await new Promise((done) => setTimeout(done, 300));
      return { time: audio.currentTime, duration: audio.duration, error: audio.error && audio.error.code };
    });
    assert(played.error === null && played.time > 0, `Ana's clip plays on Ben's phone: ${JSON.stringify(played)}`);
    const bars = await ben.page.locator("li.message .voice-clip .waveform span").count();
    assert(bars > 10, `the clip's waveform is drawn (${bars} bars)`);
    await shot(ben.page, "chat-voice-phone");

    // A topic channel the admin makes: Ben finds it under "Topic
    // channels", joins it (it opens) and writes; Ana reads him there. The
    // admin removes Ben: what Ana writes next is not his to see, and the
    // channel leaves his list.
    const { token } = await (await fetch(`${server.url}/api/sessions`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "admin@portal.example", password: "demo-admin-password", kind: "bearer" }),
    })).json();
    const asAdmin = (method, path, body) => fetch(`${server.url}${path}`, {
      method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body && JSON.stringify(body),
    });
    const made = await asAdmin("POST", "/api/admin/channels", { name: "Solar installs", members: ["a-ana"] });
    assert(made.status === 201, `the topic is made (${made.status})`);
    const topic = (await made.json()).doc_id;
    await ben.page.goto(`${server.url}/#chat`);
    await ben.page.locator("details.topics summary").click();
    const topicRow = ben.page.locator(".topic-list li", { hasText: "Solar installs" });
    await topicRow.waitFor();
    await shot(ben.page, "chat-topics-phone");
    await topicRow.getByRole("button", { name: "Join Solar installs" }).click();
    await ben.page.waitForURL((u) => u.hash === `#chat-${topic}`);
    await ben.page.locator("form.composer textarea").waitFor();
    await send(ben.page, "Who has done a flat roof?");
    await ben.page.locator("li.message.mine .status.sent").waitFor();
    // Her list is asked for again as it opens: the topic she was put in
    // is there.
    await ana.page.goto(`${server.url}/#chat-${topic}`);
    await ana.page.goto(`${server.url}/#chat`);
    await ana.page.locator("a.channel-row", { hasText: "Solar installs" }).click();
    await ana.page.locator("li.message", { hasText: "flat roof" }).waitFor();
    const removed = await asAdmin("DELETE", `/api/admin/channels/${topic}/members/a-ben`);
    assert(removed.status === 204, `Ben is removed (${removed.status})`);
    await send(ana.page, "Members only from here on");
    await ana.page.locator("li.message.mine", { hasText: "Members only" }).locator(".status.sent").waitFor();
    await ben.page.goto(`${server.url}/#chat`);
    await waitFor("the topic to leave Ben's list", async () =>
      (await ben.page.locator("a.channel-row", { hasText: "Solar installs" }).count()) === 0);
    await ben.page.goto(`${server.url}/#chat-${topic}`);
    await ben.page.locator("main.chat p.hint[role=status]").waitFor();
    assert(await ben.page.getByText("Members only").count() === 0, "what was written after Ben's removal never reached him");

    // 5. The back-office, at a desk: the admin posts an announcement,
    // which Ben's phone shows as the admin's; removes one of Ben's
    // messages, which Ana's phone shows removed; and exports the channel.
    const office = await browser.newContext(DESK);
    const admin = await openPage(office, errors);
    await admin.goto(server.url);
    await fillSignIn(admin, "admin@portal.example", "demo-admin-password");
    await admin.waitForURL((u) => u.pathname === "/admin/");
    await admin.click('nav.tabs a[href="#channels"]');
    await row(admin, "Announcements", "button.channel-pick").click();
    await admin.locator("#post-form textarea").fill("Q1 targets are out: see Resources.");
    await admin.locator("#post-form button[type=submit]").click();
    await admin.locator("li.admin-message", { hasText: "Q1 targets are out" }).waitFor();
    await ben.page.goto(`${server.url}/#chat`);
    await row(ben.page, "Announcements").click();
    const news = ben.page.locator("li.message", { hasText: "Q1 targets are out" });
    await news.waitFor();
    assert((await news.locator(".author").textContent()) === "Portal Admin", "the announcement is the admin's");
    await shot(ben.page, "chat-announcement-phone");

    await ana.page.goto(`${server.url}/#chat`);
    await ana.page.locator("a.channel-row", { hasText: "Team Ana Souza" }).click();
    await ana.page.locator("li.message", { hasText: "Ben offline one" }).waitFor();
    await admin.locator("button.channel-pick", { hasText: "Team Ana Souza" }).click();
    const found = admin.locator("li.admin-message", { hasText: "Ben offline one" });
    // Found by its id: once removed, its text is gone.
    const target = admin.locator(`li.admin-message[data-id="${await found.getAttribute("data-id")}"]`);
    await target.getByRole("button", { name: "Remove…" }).click();
    await shot(admin, "chat-desk-remove-desktop");
    await target.getByRole("button", { name: "Remove", exact: true }).click();
    await target.locator(".gone", { hasText: "Removed by Portal Admin" }).waitFor();
    await waitFor("the removal on Ana's phone", async () =>
      (await ana.page.locator("li.message .gone", { hasText: "Removed by an admin" }).count()) === 1
        && (await ana.page.locator("li.message", { hasText: "Ben offline one" }).count()) === 0);
    await shot(ana.page, "chat-removed-phone");
    const csv = await admin.evaluate(async (href) => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
    }, await admin.locator("a", { hasText: "Export CSV" }).getAttribute("href"));
    assert(csv.status === 200 && csv.type.startsWith("text/csv"), `the export downloads (${csv.status})`);
    assert(/removed by Portal Admin/.test(csv.text) && /Ben offline two/.test(csv.text) && !/Ben offline one/.test(csv.text),
      `the export says what was removed, not what it said: ${csv.text.slice(0, 400)}`);
    await shot(admin, "chat-desk-desktop");
    await admin.setViewportSize({ width: 375, height: 812 });
    await shot(admin, "chat-desk-phone");
    await office.close();

    // Older than the phone keeps (two months): a message of last spring,
    // in the server's projection, loads on demand, online.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    await db.query(
      `INSERT INTO chat_messages (channel_id, id, doc_id, author_id, written_at, body)
       SELECT b.channel_id, 'spring-1', b.doc_id, 'a-ana', now() - interval '200 days', 'Spring kick-off notes'
       FROM channel_buckets b JOIN channels c ON c.doc_id = b.channel_id
       WHERE c.form = 'team' ORDER BY b.period LIMIT 1`);
    await db.end();
    await ben.page.goto(`${server.url}/#chat`);
    await ben.page.locator("a.channel-row", { hasText: "Team Ana Souza" }).click();
    await ben.page.getByRole("button", { name: "Earlier messages" }).click();
    const spring = ben.page.locator(".earlier li.message", { hasText: "Spring kick-off notes" });
    await spring.waitFor();
    assert((await spring.locator(".author").textContent()) === "Ana Souza", "an older message names its author");
    assert(await spring.locator(".message-actions").count() === 0, "older history is read only");
    await ben.page.locator(".earlier p.hint", { hasText: "No earlier messages." }).waitFor();
    assert((await ben.page.locator(".earlier li.message").count()) === 1, "what the phone has is not shown twice");
    await spring.scrollIntoViewIfNeeded();
    await shot(ben.page, "chat-earlier-phone");

    // 6. A desktop: the channels beside the conversation.
    const desk = await browser.newContext(DESK);
    const wide = await openPage(desk, errors);
    await wide.goto(`${server.url}/#chat`);
    await fillSignIn(wide, "ana@souza.example", "demo-ana-password");
    await wide.locator("a.channel-row", { hasText: "Team Ana Souza" }).click();
    await wide.locator("li.message", { hasText: "Ben offline two" }).waitFor();
    assert(await wide.locator("nav.channel-side").isVisible(), "the channel list is beside the conversation");
    await shot(wide, "chat-desktop");
    await desk.close();

    assert(errors.length === 0, `no page errors: ${errors.join(" | ")}`);
    console.log("e2e chat: ok");
  } finally {
    await browser.close();
    await stopServer(server);
    await dropDatabase(databaseUrl);
    clearTimeout(timer);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
