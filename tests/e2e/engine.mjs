// The sync engine comes late: its module (web-engine, run in a worker) does
// not arrive, as on a first visit whose network drops after the screens'
// module has come. The board shows Ben's pipeline as last read on the
// device; a lead moved meanwhile moves at once and is counted as waiting;
// the app says it is not syncing and tries again; once the module can be
// fetched, the engine starts, takes the move, and Postgres has it.
//
// The service worker is kept out of this context, so that every fetch of
// the engine's module reaches the network, where this test refuses it.

import pg from "pg";
import {
  PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, openPage, startServer,
  stopServer, storedStage, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e engine");

async function main() {
  const databaseUrl = await freshDatabase("engine");
  const server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const browser = await launchChromium();
  const errors = [];
  const stored = (id) => storedStage(db, id);
  try {
    const context = await browser.newContext({ ...PHONE, serviceWorkers: "block" });
    const page = await openPage(context, errors);
    const lead = (id) => page.locator(`article.lead[data-lead="${id}"]`);
    await page.goto(`${server.url}/#pipeline`);
    await fillSignIn(page, "ben@okafor.example", "demo-ben-password");
    await lead("ben-1").waitFor();
    // The pipeline's last reading is kept on the device (at most every 2 s).
    await waitFor("the reading kept", () => page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name);
      const name = names.find((n) => n.startsWith("partner-portal-views:"));
      if (!name) return false;
      const found = await new Promise((resolve) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => {
          const tx = open.result.transaction("views", "readonly");
          const count = tx.objectStore("views").count();
          count.onsuccess = () => { resolve(count.result > 0); open.result.close(); };
          count.onerror = () => resolve(false);
        };
        open.onerror = () => resolve(false);
      });
      return found;
    }));

    // The engine's module cannot be fetched any more.
    let refused = 0;
    await context.route(/\/engine-[0-9a-f]+\.wasm$/, (route) => { refused += 1; return route.abort(); });
    await page.reload();
    await lead("ben-1").waitFor();
    const error = page.locator(".error", { hasText: "Not syncing yet" });
    await error.waitFor();
    assert(refused >= 1, "the engine's module was asked for");
    assert((await lead("ben-1").getAttribute("data-stage")) === "new", "shown as last read");

    // Moved while there is no engine: on screen at once, counted as waiting.
    await lead("ben-1").locator("button.move-open").click();
    await lead("ben-1").locator("button.stage-button[data-stage=contacted]").click();
    await waitFor("ben-1 shown in Contacted", async () =>
      (await lead("ben-1").count()) === 0 || (await lead("ben-1").getAttribute("data-stage")) === "contacted");
    await waitFor("the move counted as waiting", async () =>
      (await page.locator("#sync-status").getAttribute("data-pending")) === "1");
    assert((await stored("ben-1")) === "new", "nothing reached the server");

    // The module can be fetched again: the next try starts the engine,
    // which takes the move; the words about not syncing go.
    await context.unroute(/\/engine-[0-9a-f]+\.wasm$/);
    await waitFor("Postgres to hold ben-1 in contacted", async () => (await stored("ben-1")) === "contacted", 60_000);
    await waitFor("the words about not syncing gone", async () => (await error.count()) === 0);
    await waitFor("nothing waiting", async () =>
      (await page.locator("#sync-status").getAttribute("data-pending")) === "0");
    // And nothing else is said to be wrong (a worker taken for dead, say).
    assert((await page.locator(".error").count()) === 0,
      `no error shown: ${await page.locator(".error").allTextContents()}`);

    // Opened again with nothing waiting and the network there: the badge
    // never says offline while the first connection is made, nor counts
    // changes that are not waiting (a peer just connected shares nothing
    // yet, which is no news of what the server has). Every state the
    // badge shows is noted, from before the app's scripts run.
    await context.addInitScript(() => {
      window.__badge = [];
      new MutationObserver(() => {
        const badge = document.getElementById("sync-status");
        const seen = badge && `${badge.dataset.connection}/${badge.dataset.pending}`;
        if (seen && window.__badge.at(-1) !== seen) window.__badge.push(seen);
      }).observe(document, {
        subtree: true, childList: true, attributes: true, attributeFilter: ["data-connection", "data-pending"],
      });
    });
    await page.reload();
    await waitFor("online again", async () =>
      (await page.locator("#sync-status").getAttribute("data-connection")) === "online");
    const shown = await page.evaluate(() => window.__badge);
    assert(shown.every((s) => !s.startsWith("offline") && s.endsWith("/0")),
      `the badge only connected, with nothing waiting: ${shown.join(" → ")}`);
    await context.close();
    assert(errors.length === 0, `no unexpected errors: ${errors.join("; ")}`);
    console.log("e2e engine: a move made before the engine's module arrived was shown at once, waited, and reached Postgres once it came");
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
