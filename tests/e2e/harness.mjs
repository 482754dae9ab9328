// What both browser end-to-end tests need: their settings from
// `cargo xtask test`, a deadline on everything, a fresh database, the real
// server binary, and Debian's Chromium.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import net from "node:net";
import { createInterface } from "node:readline";
import pg from "pg";
import { chromium } from "playwright-core";

export const DEADLINE_MS = 30_000;

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run this through cargo xtask test`);
  return v;
};

// The whole test is bounded: a hang is a failure, not a stuck CI job.
export function watchdog(name, seconds = 240) {
  return setTimeout(() => {
    console.error(`${name}: timed out after ${seconds} s`);
    process.exit(1);
  }, seconds * 1000);
}

// Polls `check` until it gives something truthy, which it returns.
export async function waitFor(what, check, deadline = DEADLINE_MS) {
  const start = Date.now();
  let last;
  while (Date.now() - start < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

// A database of its own, made from the cluster's admin connection.
export async function freshDatabase(prefix) {
  const admin = env("ADMIN_DATABASE_URL");
  const name = `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return admin.replace(/\/[^/]*$/, `/${name}`);
}

// Drops a database `freshDatabase` made.
export async function dropDatabase(databaseUrl) {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: env("ADMIN_DATABASE_URL") });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.end();
}

// The server binary on `listen`, seeded with the fixtures; resolves once
// it says where it listens.
// Its files go to a data directory of its own, named after the database,
// so a restarted server finds them again.
function seedDir(flag, name) {
  const dir = join(dirname(env("FIXTURES")), name);
  return existsSync(dir) ? [flag, dir] : [];
}

export function startServer(databaseUrl, listen = "127.0.0.1:0", extra = []) {
  const dataDir = join(tmpdir(), `portal-data-${new URL(databaseUrl).pathname.slice(1)}`);
  const child = spawn(
    env("SERVER_BIN"),
    [
      "--listen", listen, "--web-dir", env("WEB_DIR"), "--seed", env("FIXTURES"),
      // The shop's catalog and the resources beside the fixtures, where
      // they are (a measurement's own fixtures have neither).
      ...seedDir("--seed-shop", "shop"), ...seedDir("--seed-resources", "resources"),
      "--data-dir", dataDir, ...extra,
    ],
    { env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: "warn" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const m = line.match(/^listening on (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

export async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const stopped = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGTERM");
  await stopped;
}

// A fresh database and the server on it, with ten deals approved ten
// days ago for Ana, which make her a Performer (her referral share 5%):
// the server is started again after they are written, since it writes
// account views as it starts. Resolves to the database's URL, the server
// and a client connected to the database.
export async function startWithAnaAPerformer(prefix) {
  const databaseUrl = await freshDatabase(prefix);
  let server = await startServer(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(
    `INSERT INTO deals (partner_id, lead_id, doc_id, amount_minor, currency, status, decided_at)
     SELECT 'p-ana', 'history-' || g,
            (SELECT doc_id FROM documents WHERE owner_id = 'p-ana' AND kind = 'pipeline'),
            1000, 'USD', 'approved', now() - interval '10 days'
     FROM generate_series(1, 10) g`);
  await stopServer(server);
  server = await startServer(databaseUrl);
  return { databaseUrl, server, db };
}

// A JSON API call to `server` with a bearer `token`: its status and its
// body (JSON when it reads as JSON, else the text).
export async function api(server, token, method, path, body, contentType = "application/json") {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body: body === undefined ? undefined : contentType === "application/json" ? JSON.stringify(body) : body,
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: response.status, json };
}

// A bearer token of the demo admin's.
export async function adminToken(server) {
  const signIn = await fetch(`${server.url}/api/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@portal.example", password: "demo-admin-password", kind: "bearer" }),
  });
  return (await signIn.json()).token;
}

// A client's purchase of one `product` (its slug) in the shop at `origin`,
// on `page`, paid with the test provider's card that pays.
export async function buyInShop(page, origin, product, { name, email }) {
  await page.goto(`${origin}/shop/p/${product}`);
  await page.click("button:has-text('Add to cart')");
  await page.click("a:has-text('Check out')");
  await page.fill("#name", name);
  await page.fill("#email", email);
  await page.fill("#card", "4242424242424242");
  await page.click("button:has-text('Pay')");
  await page.locator("h1", { hasText: "Thank you" }).waitFor();
}

// Errors a page may log without anything being wrong: resources refused
// while offline or signed out (a 401 from /api/me, a WebSocket upgrade
// refused, sockets refused while the server restarts), which the apps
// expect and handle; and Chromium's word that a test's (incognito) context
// has no push service, when the app subscribes again on start.
export const EXPECTED_CONSOLE =
  /Failed to load resource|ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed|does not support the Push API in incognito mode/;

// The options of every browser context the tests make. The locale is
// pinned: the apps read typed amounts by the browser's language (the tests
// type "1,234.50", which is 1234.50 only where a comma groups digits), so
// the tests must not depend on the machine's.
// A desk's window, as the tests that look at a desktop width open it.
export const DESK = { viewport: { width: 1280, height: 800 }, locale: "en-US" };

// With SHOTS_DIR set, the tests save screenshots (and files) there.
export const SHOTS = process.env.SHOTS_DIR;

// A full-page screenshot of `page` as `<name>.png` in SHOTS_DIR, if set.
export async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

export const PHONE = {
  viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, locale: "en-US",
};

// `extra`: more flags (the chat's fake microphone, say).
export function launchChromium(extra = []) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
      "--lang=en-US", ...extra,
    ],
  });
}

// A new page in `context` whose uncaught errors and unexpected console
// errors are collected in `errors`.
export async function openPage(context, errors) {
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && !EXPECTED_CONSOLE.test(m.text()) && errors.push(m.text()));
  return page;
}

// The median of `xs`: what the measurements (bench-*.mjs) report.
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Shows `stage` on the board of `page`: on a phone, whose board shows one
// stage at a time, taps its tab; a desktop shows every stage already.
export async function showStage(page, stage) {
  await page.locator(".stages").waitFor();
  const tab = page.locator(`#tab-${stage}`);
  if ((await tab.count()) === 0) return;
  await tab.click();
  await page.locator(`section.stage[data-stage=${stage}]`).waitFor();
}

// Moves lead `id` on the board of `page` to `stage` the way a partner
// does: its card's one "Move" action, then the stage's button; "won" asks
// to confirm (and for the amount, which `amount` types, when the lead has
// none). Returns the confirmation form for "won", to look at or cancel.
export async function moveLead(page, id, stage, { amount, confirm = true } = {}) {
  const card = page.locator(`article.lead[data-lead="${id}"]`);
  await card.locator("button.move-open").click();
  await card.locator(`button.stage-button[data-stage=${stage}]`).click();
  if (stage !== "won") return null;
  const form = card.locator("form.confirm-won");
  if (amount !== undefined) await form.locator("input[name=amount]").fill(amount);
  if (confirm) await form.locator("button[type=submit]").click();
  return form;
}

// A finger's horizontal swipe of `dx` pixels across `target` (a locator)
// on `page`, a touch context's: real touch events through the DevTools
// protocol (what a phone's browser gets; Chromium makes the pointer events
// of them), in steps, starting at the middle of the target.
export async function swipe(page, target, dx, { steps = 8 } = {}) {
  const box = await target.boundingBox();
  const x = box.x + box.width / 2, y = box.y + Math.min(box.height / 2, 40);
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, px) =>
    cdp.send("Input.dispatchTouchEvent", { type, touchPoints: type === "touchEnd" ? [] : [{ x: px, y }] });
  await touch("touchStart", x);
  for (let i = 1; i <= steps; i++) await touch("touchMove", x + (dx * i) / steps);
  await touch("touchEnd", x + dx);
  await cdp.detach();
}

// Fills in and sends the sign-in form on `page`.
// Signs in with the welcome's form, the one anyone signed out gets (the
// app opens only once someone is signed in).
export async function fillSignIn(page, email, password) {
  const form = page.locator("#preboot-form");
  await form.locator("input[name=email]").fill(email);
  await form.locator("input[name=password]").fill(password);
  await form.locator("button[type=submit]").click();
}

// A TCP proxy in front of `target` (an http:// URL) that can stop passing
// bytes without closing anything: what a phone sees when its network goes
// but the browser does not notice (navigator.onLine stays true, sockets stay
// open). `freeze` holds every byte, of new connections too; `thaw` delivers
// what was held and lets everything flow again.
// A TCP proxy on loopback in front of `target`: `wire(client, upstream,
// id)` joins each connection (numbered by `id`) to its own to the target.
// The proxies below differ only in how bytes cross.
async function tcpProxy(target, wire) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let connections = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on("close", () => sockets.delete(client));
    upstream.on("close", () => sockets.delete(upstream));
    wire(client, upstream, ++connections);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function startProxy(target) {
  const held = [];
  let frozen = false;
  const forward = (from, to) => from.on("data", (chunk) => {
    if (frozen) held.push([to, chunk]);
    else to.write(chunk);
  });
  const proxy = await tcpProxy(target, (client, upstream) => {
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  return {
    url: proxy.url,
    freeze() { frozen = true; },
    thaw() {
      frozen = false;
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    close: proxy.close,
  };
}

// A slow link in front of the server: every byte between the browser and
// `url` (the page's, its workers', the service worker's) crosses one link
// of `rate` bytes per second each way, shared fairly by the connections
// (segments of a TCP segment's size, taken from each in turn, as a
// bottleneck's queue interleaves flows), each segment arriving `latency`
// ms (half a round trip) after it has crossed. DevTools' throttling
// reaches the page alone: a dedicated worker refuses it ("Not supported")
// and the service worker's fetches skip it, so a measurement through
// DevTools alone would give the sync engine's module a free ride. Counts
// the bytes it carries (HTTP as sent, WebSocket frames with their framing).
// `throttle(false)` lets bytes through at once.
export async function slowLink(url, { latency, rate }) {
  const SEGMENT = 1460;
  let on = true;
  let bytes = 0;
  const direction = () => {
    // Per connection, what waits to cross: [bytes, deliver] in order (an
    // empty buffer carries the end of the stream).
    const queues = new Map();
    // Per connection, when its last piece arrives.
    const arrives = new Map();
    const turn = [];
    let busy = false;
    const cross = () => {
      busy = false;
      for (let tries = turn.length; tries > 0; tries--) {
        const id = turn.shift();
        const queue = queues.get(id);
        if (!queue?.length) {
          queues.delete(id);
          continue;
        }
        turn.push(id);
        const [buf, deliver] = queue[0];
        const piece = buf.subarray(0, SEGMENT);
        if (piece.length === buf.length) queue.shift();
        else queue[0] = [buf.subarray(SEGMENT), deliver];
        busy = true;
        const crossing = on ? (Math.max(piece.length, 1) * 1000) / rate : 0;
        setTimeout(() => {
          // Never before the connection's previous piece, even once the
          // link is no longer throttled.
          const now = Date.now();
          const at = Math.max(now + (on ? latency : 0), arrives.get(id) ?? 0);
          arrives.set(id, at);
          setTimeout(() => deliver(piece), at - now);
          cross();
        }, crossing);
        return;
      }
    };
    return (id, chunk, deliver) => {
      bytes += chunk.length;
      if (!queues.has(id)) {
        queues.set(id, []);
        turn.push(id);
      }
      queues.get(id).push([chunk, deliver]);
      if (!busy) cross();
    };
  };
  const down = direction();
  const up = direction();
  const proxy = await tcpProxy(url, (client, upstream, id) => {
    const pipe = (from, to, link) => {
      from.on("data", (chunk) => link(id, chunk, (piece) => to.destroyed || to.write(piece)));
      from.on("end", () => link(id, Buffer.alloc(0), () => to.destroyed || to.end()));
      from.on("error", () => to.destroy());
    };
    pipe(client, upstream, up);
    pipe(upstream, client, down);
  });
  return {
    url: proxy.url,
    bytes: () => bytes,
    throttle: (yes) => { on = yes; },
    close: proxy.close,
  };
}

// The stage Postgres holds for a lead (what the server made of the moves
// that reached it), through `db`, a connected pg client.
export async function storedStage(db, id) {
  return (await db.query("SELECT stage FROM leads WHERE lead_id = $1", [id])).rows[0]?.stage;
}
