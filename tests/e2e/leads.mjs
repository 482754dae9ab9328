// The pipeline as a field seller works it, on a phone and on a desktop:
// search, filters and sort narrow the board; a lead moves by an explicit
// act only (never an arrow key on a select): its card's "Move" action, a
// swipe on a phone, a drag across the columns on a desktop, or picked up
// and carried by keyboard; the last move can be undone; "won" always asks
// first; focus follows the moved lead; no swipe goes back in the browser's
// history; at 1280 px the stages stand side by side and at 375 px nothing
// scrolls sideways, even with a long unbroken word.

import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, showStage, startServer,
  stopServer, storedStage, swipe, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e leads");

async function main() {
  const databaseUrl = await freshDatabase("leads");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  // Where Postgres has a lead: what the server made of the moves.
  const stored = (id) => storedStage(db, id);
  const storedAs = (id, stage, why) => waitFor(`Postgres to hold ${id} in ${stage} (${why})`,
    async () => (await stored(id)) === stage);
  const focused = (page) => page.evaluate(() =>
    document.activeElement?.dataset.lead ?? document.activeElement?.className ?? "");
  try {
    // A phone.
    const phone = await browser.newContext(PHONE);
    const page = await openPage(phone, errors);
    const lead = (id) => page.locator(`article.lead[data-lead="${id}"]`);
    await page.goto(`${server.url}/#pipeline`);
    await fillSignIn(page, "ben@okafor.example", "demo-ben-password");
    await lead("ben-1").waitFor();
    const all = (await page.locator(".stage-tab .count").allTextContents()).reduce((n, c) => n + Number(c), 0);
    assert(all === 6, `six leads counted across the stage tabs (${all})`);
    assert((await page.locator("article.lead").count()) === 1, "a phone draws the one stage shown (New: Ada Obi)");

    // Search: every word, any case, name, company, email or notes; what
    // matches is listed wherever it is, stage under stage.
    await page.fill("#lead-search", "VEGA legal");
    await waitFor("the search to narrow the board", async () =>
      (await page.locator("article.lead").count()) === 1 && (await lead("ben-4").count()) === 1);
    assert(/Showing 1 of \d+ leads/.test(await page.locator(".narrowed").textContent()), "it says how many it shows");
    await page.fill("#lead-search", "example");
    await waitFor("matches in every stage, listed", async () =>
      (await page.locator("article.lead").count()) === 6 && (await page.locator("section.stage").count()) === 6);
    await page.click("#clear-filters");
    await waitFor("the strip back", async () => (await page.locator("article.lead").count()) === 1);
    assert((await page.inputValue("#lead-search")) === "", "the search field is emptied too");

    // Filters and sort.
    await page.click("#filters-toggle");
    await page.selectOption("#currency-filter", "EUR");
    await waitFor("only leads in euros", async () =>
      (await page.locator("article.lead").count()) === 1 && (await lead("ben-3").count()) === 1);
    await page.selectOption("#currency-filter", "");
    await page.selectOption("#stage-filter", "lost");
    await waitFor("only lost leads", async () =>
      (await page.locator("article.lead").count()) === 1 && (await lead("ben-6").count()) === 1);
    await page.selectOption("#stage-filter", "");
    await page.fill("#min-value", "1,500");
    await page.press("#min-value", "Enter");
    await page.fill("#max-value", "2,000");
    await page.press("#max-value", "Enter");
    await waitFor("only leads worth 1,500 to 2,000", async () => {
      const values = await page.locator("article.lead .value").allTextContents();
      // Shown grouped, as people read them: "1,750.00 USD".
      const numbers = values.map((v) => Number(v.split(" ")[0].replaceAll(",", "")));
      return numbers.length === 1 && numbers.every((n) => n >= 1500 && n <= 2000);
    });
    // A bound that does not read says so, and every field keeps what was
    // typed in it.
    await page.fill("#max-value", "abc");
    await page.press("#max-value", "Enter");
    await page.locator(".filters .error", { hasText: 'At most: "abc" is not an amount.' }).waitFor();
    assert((await page.inputValue("#min-value")) === "1,500" && (await page.inputValue("#max-value")) === "abc",
      "the fields keep what was typed in them");
    await page.click("#clear-filters");
    await waitFor("the strip back", async () => (await page.locator("article.lead").count()) === 1);
    assert((await page.inputValue("#max-value")) === "", "the bounds are emptied too");

    // A move by keyboard: Tab to the card's "Move", Enter, Tab to a stage,
    // Enter. Arrow keys move nothing.
    assert((await page.locator("article.lead select").count()) === 0, "no select on a card");
    await lead("ben-1").locator("button.move-open").focus();
    assert((await page.evaluate(() => document.activeElement.getAttribute("aria-label"))) === "Move Ada Obi",
      "the action is named with the lead");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    const contacted = lead("ben-1").locator("button.stage-button[data-stage=contacted]");
    await contacted.waitFor();
    assert((await lead("ben-1").getAttribute("data-stage")) === "new", "opening the moves moved nothing");
    await contacted.focus();
    await page.keyboard.press("Enter");
    await waitFor("ben-1 to leave New", async () => (await lead("ben-1").count()) === 0);
    const toast = page.locator(".toast");
    assert(/Moved Ada Obi to Contacted/.test(await toast.textContent()), "the move is said, with an undo");
    await waitFor("focus on the undo (the card left the stage shown)", async () => (await focused(page)) === "undo");
    await storedAs("ben-1", "contacted", "moved by keyboard");
    await toast.locator("button.undo").click();
    await lead("ben-1").waitFor();
    await toast.waitFor({ state: "detached" });
    await waitFor("focus back on the card", async () => (await focused(page)) === "ben-1");
    await storedAs("ben-1", "new", "undone");

    // A swipe: to the right moves the card one stage on, to the left one
    // back; a short one moves nothing; none goes back in the history.
    const history = await page.evaluate(() => [history.length, location.href]);
    await swipe(page, lead("ben-1"), 40);
    assert((await lead("ben-1").getAttribute("data-stage")) === "new", "a short swipe moves nothing");
    await swipe(page, lead("ben-1"), 160);
    await waitFor("ben-1 swiped out of New", async () => (await lead("ben-1").count()) === 0);
    assert(/Moved Ada Obi to Contacted/.test(await toast.textContent()), "the swipe is said, with an undo");
    await storedAs("ben-1", "contacted", "swiped on");
    await showStage(page, "contacted");
    await swipe(page, lead("ben-1"), -160);
    await waitFor("ben-1 swiped back out of Contacted", async () => (await lead("ben-1").count()) === 0);
    await storedAs("ben-1", "new", "swiped back");
    // Beside the cards, a swipe turns the stage.
    await swipe(page, page.locator("section.stage[data-stage=contacted] .totals"), -160);
    await page.locator("section.stage[data-stage=qualified]").waitFor();
    assert(JSON.stringify(await page.evaluate(() => [history.length, location.href])) === JSON.stringify(history),
      "no swipe opened a lead's page or moved in the browser's history");
    // The stage tabs go along with the arrow keys.
    await page.locator("#tab-qualified").focus();
    await page.keyboard.press("ArrowLeft");
    await page.locator("section.stage[data-stage=contacted]").waitFor();
    assert((await page.evaluate(() => document.activeElement.id)) === "tab-contacted", "focus follows the tab");
    await page.keyboard.press("Home");
    await page.locator("section.stage[data-stage=new]").waitFor();

    // Picked up by keyboard: Space, an arrow, Enter; Escape puts it back.
    await lead("ben-1").focus();
    await page.keyboard.press("Space");
    await page.keyboard.press("ArrowRight");
    assert(/Contacted/.test(await page.locator("#board-announce").textContent()), "the stage it would go to is said");
    await page.keyboard.press("Escape");
    assert((await lead("ben-1").getAttribute("data-stage")) === "new", "Escape put it back");
    await page.keyboard.press("Space");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Enter");
    await storedAs("ben-1", "qualified", "carried by keyboard");
    await page.locator(".toast button.undo").click();
    await storedAs("ben-1", "new", "undone");

    // "Won" asks first, whichever way the card gets there.
    await showStage(page, "proposal");
    await swipe(page, lead("ben-4"), 160);
    const ask = lead("ben-4").locator("form.confirm-won");
    await ask.waitFor();
    assert(/Mark Luis Vega won\?/.test(await ask.textContent()) && (await ask.locator(".earns").count()) === 1,
      "the question names the deal and what it would earn");
    await ask.locator("button", { hasText: "Cancel" }).click();
    await ask.waitFor({ state: "detached" });
    assert((await lead("ben-4").getAttribute("data-stage")) === "proposal" && (await page.locator(".toast").count()) === 0,
      "nothing moved without a yes");
    // Swiped again, it asks again; a yes moves it, and the card, drawn
    // again in Won, does not ask a third time.
    await swipe(page, lead("ben-4"), 160);
    await ask.locator("button[type=submit]").click();
    await waitFor("ben-4 marked won", async () => (await lead("ben-4").count()) === 0);
    assert(/Moved Luis Vega to Won/.test(await page.locator(".toast").textContent()), "the move is said");
    await storedAs("ben-4", "won", "swiped onto Won and confirmed");
    await showStage(page, "won");
    await lead("ben-4").waitFor();
    assert((await lead("ben-4").locator("form.confirm-won").count()) === 0, "the card in Won asks nothing");
    await showStage(page, "new");

    // Nothing scrolls sideways at 375 px, even a name of one long word.
    await page.click("#new-lead");
    await page.fill("#lead-form input[name=contact_name]", "W".repeat(150));
    await page.click("#lead-form button[type=submit]");
    await page.locator("article.lead", { hasText: "WWWWWWWWWW" }).waitFor();
    await waitFor("focus back on \"+ New lead\" as the form closes", async () =>
      (await page.evaluate(() => document.activeElement?.id)) === "new-lead");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 375, `the page is ${width} px wide at 375 px`);
    const small = await page.evaluate(() => [...document.querySelectorAll("main button, main a, main input:not([type=checkbox]), main select")]
      .filter((el) => el.offsetParent !== null)
      .map((el) => [el.textContent.trim() || el.getAttribute("aria-label") || el.id, el.getBoundingClientRect().height])
      .filter(([, h]) => h < 44));
    assert(small.length === 0, `every target is at least 44 px tall (${JSON.stringify(small)})`);
    await phone.close();

    // A desktop: the stages side by side.
    const desk = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
    const wide = await openPage(desk, errors);
    const card = (id) => wide.locator(`article.lead[data-lead="${id}"]`);
    const column = (stage) => wide.locator(`section.stage[data-stage=${stage}]`);
    const stageOf = (id) => card(id).evaluate((el) => el.closest("section.stage").dataset.stage);
    await wide.goto(`${server.url}/#pipeline`);
    await fillSignIn(wide, "ben@okafor.example", "demo-ben-password");
    await card("ben-1").waitFor();
    const tops = await wide.locator("section.stage").evaluateAll((els) => els.map((el) => el.getBoundingClientRect().top));
    assert(tops.length === 6 && tops.every((t) => t === tops[0]), `six columns in a row (${tops})`);
    const used = await wide.locator("section.stage").evaluateAll((els) =>
      els[els.length - 1].getBoundingClientRect().right - els[0].getBoundingClientRect().left);
    assert(used > 1000, `the board uses the width (${used} px)`);

    // Dragged with the mouse from New to Qualified, in small steps as a
    // hand moves; the column under the card is marked while it is carried.
    const drag = async (id, stage, { look } = {}) => {
      const from = await card(id).boundingBox();
      const to = await column(stage).boundingBox();
      await wide.mouse.move(from.x + from.width / 2, from.y + 12);
      await wide.mouse.down();
      for (let i = 1; i <= 12; i++) {
        await wide.mouse.move(from.x + from.width / 2 + ((to.x + to.width / 2 - from.x - from.width / 2) * i) / 12, from.y + 12 + 40 * i / 12);
      }
      if (look) await look();
      await wide.mouse.up();
    };
    await drag("ben-1", "qualified", {
      look: async () => assert((await column("qualified").getAttribute("data-over")) === "", "the column it would land in is marked"),
    });
    await waitFor("ben-1 dropped in Qualified", async () => (await stageOf("ben-1")) === "qualified");
    assert((await column("qualified").getAttribute("data-over")) === null, "the mark goes when the card lands");
    await waitFor("focus on the card where it landed", async () => (await focused(wide)) === "ben-1");
    await storedAs("ben-1", "qualified", "dragged");
    await wide.locator(".toast button.undo").click();
    await waitFor("ben-1 back in New", async () => (await stageOf("ben-1")) === "new");
    await storedAs("ben-1", "new", "undone");

    // Carried by keyboard across two columns.
    await card("ben-1").focus();
    await wide.keyboard.press("Enter");
    await wide.keyboard.press("ArrowRight");
    await wide.keyboard.press("ArrowRight");
    assert((await column("qualified").getAttribute("data-over")) === "", "the column it would land in is marked");
    await wide.keyboard.press("Enter");
    await waitFor("ben-1 carried to Qualified", async () => (await stageOf("ben-1")) === "qualified");
    await waitFor("focus on the card where it landed", async () => (await focused(wide)) === "ben-1");
    await storedAs("ben-1", "qualified", "carried by keyboard");

    // Dropped on Won: the card asks first, with what it would earn; no
    // and then yes.
    await drag("ben-3", "won");
    const confirm = card("ben-3").locator("form.confirm-won");
    await confirm.waitFor();
    assert((await confirm.locator(".earns").count()) === 1, "the question says what it would earn");
    await wide.keyboard.press("Escape");
    await confirm.waitFor({ state: "detached" });
    // A second Escape closes the stage buttons, back to "Move".
    await wide.keyboard.press("Escape");
    await card("ben-3").locator(".stage-moves").waitFor({ state: "detached" });
    assert((await wide.evaluate(() => document.activeElement.getAttribute("aria-label"))) === "Move Eva Novak",
      "focus back on the card's Move");
    assert((await stageOf("ben-3")) === "qualified" && (await wide.locator(".toast", { hasText: "Eva Novak" }).count()) === 0,
      "nothing moved without a yes");
    await drag("ben-3", "won");
    await confirm.locator("button[type=submit]").click();
    await waitFor("ben-3 in Won", async () => (await stageOf("ben-3")) === "won");
    await storedAs("ben-3", "won", "dropped on Won and confirmed");
    assert((await confirm.count()) === 0, "the card drawn in Won asks nothing");
    // Back from a lead's page, focus is on its card.
    await card("ben-2").locator("a.contact").click();
    await wide.locator('main.lead-page[data-lead="ben-2"] a.back').click();
    await waitFor("focus on the card of the lead just seen", async () => (await focused(wide)) === "ben-2");
    await desk.close();

    // A finger on a wide touch screen drags a card across the columns too.
    const tablet = await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true, locale: "en-US" });
    const slate = await openPage(tablet, errors);
    await slate.goto(`${server.url}/#pipeline`);
    await fillSignIn(slate, "ben@okafor.example", "demo-ben-password");
    const sam = slate.locator('article.lead[data-lead="ben-2"]');
    await sam.waitFor();
    const [fromBox, toBox] = [await sam.boundingBox(), await slate.locator("section.stage[data-stage=proposal]").boundingBox()];
    await swipe(slate, sam, toBox.x + toBox.width / 2 - (fromBox.x + fromBox.width / 2), { steps: 12 });
    await waitFor("ben-2 dragged by a finger to Proposal", async () =>
      (await sam.evaluate((el) => el.closest("section.stage").dataset.stage)) === "proposal");
    await storedAs("ben-2", "proposal", "dragged by touch");
    await slate.locator(".toast button.undo").click();
    await storedAs("ben-2", "contacted", "undone");
    await tablet.close();

    // Two devices of Ben's, apart, change Sam Reed's phone number: each
    // shows the merged value, marked with the other; keeping one settles
    // it on both, and Postgres has it.
    const devices = [];
    for (const name of ["first", "second"]) {
      const context = await browser.newContext(PHONE);
      const device = await openPage(context, errors);
      await device.goto(`${server.url}/#pipeline`);
      await fillSignIn(device, "ben@okafor.example", "demo-ben-password");
      await device.locator(".stages").waitFor();
      await waitFor(`the ${name} device synced and controlled by its service worker`, async () =>
        (await device.locator("#sync-status").getAttribute("data-pending")) === "0" &&
        await device.evaluate(() => navigator.serviceWorker.controller !== null));
      devices.push({ context, page: device });
    }
    const [first, second] = devices;
    // The second goes offline (opened again with no network: an open
    // socket would outlive the switch).
    await second.context.setOffline(true);
    await second.page.reload();
    await waitFor("the second device to be offline", async () =>
      (await second.page.locator("#sync-status").getAttribute("data-connection")) === "offline");
    const setPhone = async ({ page: device }, phone) => {
      await device.evaluate(() => { location.hash = "#lead-ben-2"; });
      await device.locator("main.lead-page button", { hasText: "Edit details" }).click();
      await device.fill("#lead-form input[name=phone]", phone);
      await device.click("#lead-form button[type=submit]");
      await device.locator("#lead-form").waitFor({ state: "detached" });
    };
    await setPhone(first, "+1 312 555 0101");
    await waitFor("the first device's change in Postgres", async () =>
      (await db.query("SELECT phone FROM leads WHERE lead_id = 'ben-2'")).rows[0]?.phone === "+1 312 555 0101");
    await setPhone(second, "+1 312 555 0303");
    await second.context.setOffline(false);
    await second.page.evaluate(() => window.dispatchEvent(new Event("online")));
    const mark = ({ page: device }) => device.locator('main.lead-page .conflict-mark[data-field="phone"]');
    for (const device of devices) {
      await waitFor("both values known on each device", async () =>
        (await mark(device).count()) === 1 && /555 0101/.test(await mark(device).textContent()) &&
        /555 0303/.test(await mark(device).textContent()));
    }
    assert((await mark(first).locator("p").textContent()) === (await mark(second).locator("p").textContent()),
      "both devices show the same value, marked with the same other");
    // "Keep" it if it is the one shown, "Use" it if it is the other.
    await mark(first).locator("button", { hasText: "+1 312 555 0303" }).click();
    for (const device of devices) {
      await waitFor("the mark gone on each device", async () => (await mark(device).count()) === 0);
    }
    await waitFor("Postgres to hold the number kept", async () =>
      (await db.query("SELECT phone FROM leads WHERE lead_id = 'ben-2'")).rows[0]?.phone === "+1 312 555 0303");
    for (const { context } of devices) await context.close();

    assert(errors.length === 0, `no errors in the page: ${errors.join(" | ")}`);
    console.log("e2e leads: searched, filtered, moved by keyboard, swipe and drag, undone, on a phone and a desktop; a field changed on two devices marked and settled");
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
