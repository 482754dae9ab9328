// Browser end to end of the team leader's loop.
//
// Ana, a team leader and a Starter, opens her Team screen on her phone:
// Ben's figures, and a note that overrides start at Performer. She assigns
// Ben a module from the training hub; Ben completes it offline, and once
// his phone is back online Ana's screen shows it done. Ben wins a deal and
// it is approved: Ana's screen says what it would have paid her at
// Performer. Once she is a Performer, Ben's next approved deal pays her an
// override, listed with Ben and the customer it comes from; she celebrates
// Ben's win in the team's channel and he reacts. Ben finds his
// place on the leaderboards and meets the admin's challenge of two deals
// in a month, once. Ana's screen reads offline too, "as of", and
// opens Ben's pipeline read-only. Real
// Chromium, the real server binary, real Postgres; every wait has a
// deadline.

import pg from "pg";
import {
  DESK, PHONE, adminToken, api, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium,
  moveLead, openPage, shot, showStage, startServer, stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e team", 300);

// An admin's approval of `partner`'s deal for `lead`, once filed, with the
// figures the back-office shows.
async function approve(server, admin, db, partner, lead) {
  const id = await waitFor(`the deal of ${lead}`, async () =>
    (await db.query("SELECT id FROM deals WHERE partner_id = $1 AND lead_id = $2 AND status = 'submitted'",
      [partner, lead])).rows[0]?.id);
  const listed = (await api(server, admin, "GET", "/api/admin/deals?status=all")).json
    .find((d) => String(d.id) === String(id));
  const r = await api(server, admin, "POST", `/api/admin/deals/${id}/approve`,
    { amount_minor: listed.amount_minor, currency: listed.currency, version: listed.version });
  assert(r.status === 200, `approved: ${JSON.stringify(r)}`);
}

async function main() {
  const databaseUrl = await freshDatabase("e2e_team");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  try {
    // A published track of one short module, to assign.
    const admin = await adminToken(server);
    const track = {
      id: "team-basics", channel: "Selling", title: "Team basics", audience: "everyone",
      summary: "What every new partner reads first.",
      modules: [{
        id: "first-week", title: "Your first week", minutes: 5,
        lessons: [{ id: "hello", title: "Hello", body: "Call three customers you already know." }],
      }],
    };
    let r = await api(server, admin, "PUT", "/api/admin/training/tracks/team-basics", track);
    assert(r.status === 200, `track saved: ${JSON.stringify(r)}`);
    r = await api(server, admin, "POST", "/api/admin/training/tracks/team-basics/publish");
    assert(r.status === 200, `track published: ${JSON.stringify(r)}`);

    // The admin defines a challenge on the back-office's desk: two deals
    // approved in a month, for a bonus of 25.00 USD. A target that is not a number is
    // refused before anything is sent.
    const desk0 = await openPage(await browser.newContext(DESK), errors);
    await desk0.goto(server.url);
    await fillSignIn(desk0, "admin@portal.example", "demo-admin-password");
    await desk0.waitForURL((u) => u.pathname === "/admin/");
    await desk0.goto(`${server.url}/admin/#challenges`);
    const challengeForm = desk0.locator("#challenge-form");
    await challengeForm.waitFor();
    await challengeForm.locator("input[name=title]").fill("Two deals this month");
    await challengeForm.locator("textarea[name=description]").fill("Close two deals in a calendar month.");
    await challengeForm.locator("select[name=reward]").selectOption("bonus");
    await challengeForm.locator("input[name=bonus]").fill("25.00");
    await challengeForm.locator("input[name=target]").fill("two");
    await challengeForm.locator("button[type=submit]").click();
    await desk0.locator("text=Target: a whole number").waitFor();
    assert(Number((await db.query("SELECT count(*) FROM challenges")).rows[0].count) === 0, "nothing was sent");
    await challengeForm.locator("input[name=target]").fill("2");
    await challengeForm.locator("button[type=submit]").click();
    await desk0.locator("#challenge-done", { hasText: "At least 2 deals approved each month" }).waitFor();
    await shot(desk0, "challenges-desk");

    // 1. Ana's Team screen on her phone: Ben, and the override note.
    const anaContext = await browser.newContext(PHONE);
    const ana = await openPage(anaContext, errors);
    await ana.goto(server.url);
    await fillSignIn(ana, "ana@souza.example", "demo-ana-password");
    await ana.locator("a.tab", { hasText: "Team" }).click();
    const benCard = ana.locator('li.member[data-member="p-ben"]');
    await benCard.waitFor();
    assert((await ana.locator("li.member").count()) === 1, "Ben is Ana's one member");
    await benCard.locator(".training", { hasText: "0 modules done" }).waitFor();
    const note = ana.locator("#overrides .callout");
    await note.waitFor();
    const said = await note.textContent();
    assert(said.includes("Overrides start at Performer") && said.includes("10 more approved deals"),
      `a Starter is told where overrides start: ${said}`);
    await shot(ana, "team-phone");

    // 2. Ana assigns Ben the module from the training hub: her Team
    // screen shows it assigned.
    await ana.goto(`${server.url}/#training-team-basics`);
    await ana.locator(".team-panel summary").click();
    await ana.locator('.team-panel input[name=member][value="p-ben"]').check();
    await ana.locator(".team-panel button[type=submit]").click();
    await ana.locator("#assign-done").waitFor();
    await ana.goto(`${server.url}/#team`);
    await benCard.locator(".training", { hasText: "1 assigned" }).waitFor();

    // 3. Ben completes it offline; back online, Ana's screen shows it.
    const benContext = await browser.newContext(PHONE);
    const ben = await openPage(benContext, errors);
    await ben.goto(server.url);
    await fillSignIn(ben, "ben@okafor.example", "demo-ben-password");
    await ben.goto(`${server.url}/#training-team-basics`);
    await ben.locator("text=Your first week").first().waitFor();
    await benContext.setOffline(true);
    await ben.goto(`${server.url}/#lesson-team-basics_hello`);
    await ben.click("#lesson-done");
    await ben.locator(".lesson .done").waitFor();
    const progress = async () => Number((await db.query(
      "SELECT count(*) FROM training_progress WHERE partner_id = 'p-ben'")).rows[0].count);
    assert(await progress() === 0, "nothing reached the server while Ben was offline");
    await benContext.setOffline(false);
    await benCard.locator(".training", { hasText: "1 module done" }).waitFor();
    assert(!(await benCard.locator(".training").textContent()).includes("assigned"), "nothing left assigned");

    // 4. Ben wins ben-4 on his phone and it is approved: Ana, a Starter,
    // is told what it would have paid her at Performer (10% of Ben's 20%
    // of 1,750.00 USD).
    await ben.goto(`${server.url}/#pipeline`);
    await showStage(ben, "proposal");
    await ben.locator('article.lead[data-lead="ben-4"]').waitFor();
    await moveLead(ben, "ben-4", "won");
    await approve(server, admin, db, "p-ben", "ben-4");
    await ana.locator("#overrides .missed", { hasText: "35.00 USD" }).waitFor();
    await benCard.locator(".won", { hasText: "2" }).waitFor();

    // 5. Ana reaches Performer (ten deals of her own approved lately);
    // Ben's next approved deal pays her an override, listed with its
    // source: Ben, and Grace Kim, the customer.
    await db.query(
      `INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status, decided_at)
       SELECT 'p-ana', 'history-' || g,
              (SELECT doc_id FROM documents WHERE owner_id = 'p-ana' AND kind = 'pipeline'),
              1000, 'USD', 'approved', now() - interval '10 days'
       FROM generate_series(1, 10) g`);
    await approve(server, admin, db, "p-ben", "ben-5");
    const line = ana.locator('#overrides li.override-line[data-member="p-ben"][data-lead="ben-5"]');
    await line.waitFor();
    const text = await line.textContent();
    // 20% of 900.00 USD is Ben's 180.00; Ana's 10% of it is 18.00.
    assert(text.includes("Ben Okafor") && text.includes("Grace Kim") && text.includes("18.00 USD"),
      `the override line names its source: ${text}`);
    assert((await ana.locator("#overrides .callout").count()) === 0, "a Performer earns: no note");
    await shot(ana, "team-overrides-phone");

    // 6. Ben's place on the leaderboards, ranked by the server: his two
    // deals approved this month, his line marked as his.
    await ben.goto(`${server.url}/#tier`);
    await ben.locator("a", { hasText: "Leaderboards, challenges and achievements" }).click();
    const mine = ben.locator('#leaderboard li.board-line.mine[data-partner="p-ben"]');
    await waitFor("Ben's two approved deals on the board", async () =>
      (await mine.count()) === 1 && (await mine.locator(".score").textContent()) === "2");
    assert((await ben.locator("#leaderboard .board-me").textContent()).startsWith("You are "),
      "Ben is told his place");
    // Two deals this month: the challenge met, its achievement listed.
    await ben.locator("#challenges li.challenge.met", { hasText: "Two deals this month" }).waitFor();
    await ben.locator("#achievements li.achievement", { hasText: "Two deals this month" }).waitFor();
    const notice = (await db.query(
      "SELECT title FROM notifications WHERE account_id = 'a-ben' AND kind = 'achievement'")).rows;
    assert(notice.length === 1 && notice[0].title === "Challenge met: Two deals this month",
      `Ben is told once: ${JSON.stringify(notice)}`);
    await shot(ben, "leaderboard-phone");
    await ben.locator("#leaderboard button.toggle", { hasText: "My team" }).click();
    await ben.locator('#leaderboard section.board[data-board$="-team"]').waitFor();
    await ben.locator("#board-metric").selectOption("revenue.USD");
    await ben.locator('#leaderboard section.board[data-board="month-revenue.USD-team"] li.mine .score',
      { hasText: "2,650.00 USD" }).waitFor();
    // Offline, the leaderboard reads from the device.
    await benContext.setOffline(true);
    await ben.reload();
    await ben.locator("#leaderboard section.board li.mine").waitFor();
    await ben.locator("#leaderboard .as-of").waitFor();
    await shot(ben, "leaderboard-offline-phone");
    await benContext.setOffline(false);
    // His Tier screen and his dashboard show the achievement, its bonus
    // waiting for an admin.
    await ben.goto(`${server.url}/#tier`);
    const waiting = ben.locator('#tier .highlights li.achievement[data-bonus="pending"]',
      { hasText: "Two deals this month" });
    await waiting.waitFor();
    assert((await waiting.textContent()).includes("Bonus of 25.00 USD: waiting for approval"),
      `the bonus waits: ${await waiting.textContent()}`);
    await shot(ben, "tier-achievements-phone");
    await ben.goto(`${server.url}/#home`);
    await ben.locator("#home .highlights li.achievement", { hasText: "Two deals this month" }).waitFor();
    assert((await ben.locator("#home .highlights .board-me").textContent()).includes("in deals approved this month"),
      "the dashboard says his rank");
    await shot(ben, "home-achievements-phone");

    // 7. Offline, the team screen reads from the device, "as of".
    await anaContext.setOffline(true);
    await ana.reload();
    await ana.locator('#overrides li.override-line[data-lead="ben-5"]').waitFor();
    await ana.locator("#team .as-of").waitFor();
    await shot(ana, "team-offline-phone");
    await anaContext.setOffline(false);

    // 8. Ben's page, and his pipeline read-only on the board.
    await benCard.locator("a.member-link").click();
    await ana.locator('.member-page li.deal[data-lead="ben-5"][data-status="approved"]').waitFor();
    await shot(ana, "team-member-phone");

    // Ana celebrates Ben's win: a win card in the team's channel, which
    // opens; Ben sees it on his phone and reacts, and Ana sees his
    // reaction.
    await ana.locator('.member-page li.deal[data-lead="ben-4"] button.celebrate').click();
    await ana.waitForURL((u) => u.hash.startsWith("#chat-"));
    const channelHash = new URL(ana.url()).hash;
    const card = ana.locator("li.message", { hasText: "Win! Ben Okafor closed Luis Vega" });
    await card.waitFor();
    assert((await card.textContent()).includes("1,750.00 USD"), "the card says the amount");
    await ben.goto(`${server.url}/${channelHash}`);
    const onBen = ben.locator("li.message", { hasText: "Win! Ben Okafor closed Luis Vega" });
    await onBen.waitFor();
    await onBen.locator("summary", { hasText: "☺+" }).click();
    await onBen.locator("button[aria-label='React 🎉']").click();
    await waitFor("Ben's reaction on Ana's phone", async () =>
      (await card.locator("button.reaction").textContent())?.trim() === "🎉 1");
    await shot(ana, "team-celebrated-phone");
    await ana.goto(`${server.url}/#member-p-ben`);
    await ana.locator(".member-page button", { hasText: "Open Ben Okafor's pipeline" }).click();
    await ana.waitForURL((u) => u.hash === "#pipeline");
    const shown = await ana.locator("#pipeline-switch").inputValue();
    const benPipeline = (await db.query(
      "SELECT doc_id FROM documents WHERE owner_id = 'p-ben' AND kind = 'pipeline'")).rows[0].doc_id;
    assert(shown === benPipeline, `Ben's pipeline is shown: ${shown}`);
    await showStage(ana, "new");
    await ana.locator('article.lead[data-lead="ben-1"]').waitFor();

    // 9. The same screens on a desktop.
    const desk = await openPage(await browser.newContext(DESK), errors);
    await desk.goto(server.url);
    await fillSignIn(desk, "ana@souza.example", "demo-ana-password");
    await desk.goto(`${server.url}/#team`);
    await desk.locator('li.member[data-member="p-ben"]').waitFor();
    await desk.locator("#overrides li.override-line").first().waitFor();
    await shot(desk, "team-desk");
    await desk.goto(`${server.url}/#member-p-ben`);
    await desk.locator(".member-page table.stage-totals").waitFor();
    await shot(desk, "team-member-desk");
    await desk.goto(`${server.url}/#leaderboard`);
    await desk.locator("#leaderboard section.board").waitFor();
    await shot(desk, "leaderboard-desk");
    await desk0.reload();
    await desk0.locator("article.card[data-id]", { hasText: "1 met" }).waitFor();
    // 10. The admin approves Ben's bonus as a deal: one line in his
    // ledger, which his earnings list, and his achievement says so.
    const bonus = desk0.locator("#bonuses article.card", { hasText: "Ben Okafor" });
    await bonus.waitFor();
    assert((await bonus.textContent()).includes("25.00 USD"), "the bonus says its amount");
    await shot(desk0, "challenges-met-desk");
    await bonus.locator("button.approve").click();
    await desk0.locator("#bonus-done").waitFor();
    const paid = (await db.query(
      "SELECT amount_minor, currency FROM ledger_lines WHERE partner_id = 'p-ben' AND kind = 'bonus'")).rows;
    assert(paid.length === 1 && Number(paid[0].amount_minor) === 2500 && paid[0].currency === "USD",
      `one bonus line: ${JSON.stringify(paid)}`);
    await waitFor("the bonus queue to empty", async () => (await desk0.locator("#bonuses").count()) === 0);
    await ben.goto(`${server.url}/#earnings`);
    await ben.locator("li.line", { hasText: "Challenge bonus" }).waitFor();
    await ben.goto(`${server.url}/#tier`);
    await ben.locator('#tier .highlights li.achievement[data-bonus="approved"]',
      { hasText: "in your earnings" }).waitFor();

    assert(errors.length === 0, `no page errors: ${errors.join("\n")}`);
    console.log("e2e team: passed");
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
