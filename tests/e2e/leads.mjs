// The pipeline as a field seller works it, on a phone and on a desktop:
// search, filters and sort narrow the board; a lead moves by keyboard
// through its card's one "Move" action (never an arrow key on a select);
// the last move can be undone; at 1280 px the stages stand side by side and
// at 375 px nothing scrolls sideways, even with a long unbroken word.

import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, startServer,
  stopServer, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e leads");

async function main() {
  const databaseUrl = await freshDatabase("leads");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  try {
    // A phone.
    const phone = await browser.newContext(PHONE);
    const page = await openPage(phone, errors);
    const lead = (id) => page.locator(`article.lead[data-lead="${id}"]`);
    const stageOf = (id) => lead(id).evaluate((el) => el.closest("section.stage").dataset.stage);
    await page.goto(server.url);
    await fillSignIn(page, "ben@okafor.example", "demo-ben-password");
    await lead("ben-1").waitFor();
    const all = await page.locator("article.lead").count();

    // Search: every word, any case, name, company, email or notes.
    await page.fill("#lead-search", "VEGA legal");
    await waitFor("the search to narrow the board", async () =>
      (await page.locator("article.lead").count()) === 1 && (await lead("ben-4").count()) === 1);
    assert(/Showing 1 of \d+ leads/.test(await page.locator(".narrowed").textContent()), "it says how many it shows");
    await page.click("#clear-filters");
    await waitFor("all leads back", async () => (await page.locator("article.lead").count()) === all);
    assert((await page.inputValue("#lead-search")) === "", "the search field is emptied too");

    // Filters and sort.
    await page.click("#filters-toggle");
    await page.selectOption("#currency-filter", "EUR");
    await waitFor("only leads in euros", async () =>
      (await page.locator("article.lead").count()) === 1 && (await lead("ben-3").count()) === 1);
    await page.selectOption("#currency-filter", "");
    await page.fill("#min-value", "1,500");
    await page.press("#min-value", "Enter");
    await waitFor("only leads worth 1,500 or more", async () => {
      const values = await page.locator("article.lead .value").allTextContents();
      return values.length > 0 && values.every((v) => Number(v.split(" ")[0]) >= 1500);
    });
    await page.fill("#min-value", "");
    await page.press("#min-value", "Enter");
    await waitFor("all leads back", async () => (await page.locator("article.lead").count()) === all);

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
    assert((await stageOf("ben-1")) === "new", "opening the moves moved nothing");
    await contacted.focus();
    await page.keyboard.press("Enter");
    await waitFor("ben-1 in Contacted", async () => (await stageOf("ben-1")) === "contacted");
    const toast = page.locator(".toast");
    assert(/Moved Ada Obi to Contacted/.test(await toast.textContent()), "the move is said, with an undo");
    await waitFor("Postgres to hold the move", async () =>
      (await db.query("SELECT stage FROM leads WHERE lead_id = 'ben-1'")).rows[0]?.stage === "contacted");
    await toast.locator("button.undo").click();
    await waitFor("ben-1 back in New", async () => (await stageOf("ben-1")) === "new");
    await toast.waitFor({ state: "detached" });
    await waitFor("Postgres to hold the undo", async () =>
      (await db.query("SELECT stage FROM leads WHERE lead_id = 'ben-1'")).rows[0]?.stage === "new");

    // Nothing scrolls sideways at 375 px, even a name of one long word.
    await page.click("#new-lead");
    await page.fill("#lead-form input[name=contact_name]", "W".repeat(150));
    await page.click("#lead-form button[type=submit]");
    await page.locator("article.lead", { hasText: "WWWWWWWWWW" }).waitFor();
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
    await wide.goto(server.url);
    await fillSignIn(wide, "ben@okafor.example", "demo-ben-password");
    await wide.locator('article.lead[data-lead="ben-1"]').waitFor();
    const tops = await wide.locator("section.stage").evaluateAll((els) => els.map((el) => el.getBoundingClientRect().top));
    assert(tops.length === 6 && tops.every((t) => t === tops[0]), `six columns in a row (${tops})`);
    const used = await wide.locator("section.stage").evaluateAll((els) =>
      els[els.length - 1].getBoundingClientRect().right - els[0].getBoundingClientRect().left);
    assert(used > 1000, `the board uses the width (${used} px)`);
    await desk.close();

    assert(errors.length === 0, `no errors in the page: ${errors.join(" | ")}`);
    console.log("e2e leads: searched, filtered, moved by keyboard, undone, on a phone and a desktop");
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
