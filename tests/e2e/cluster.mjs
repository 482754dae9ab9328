// Three server nodes over one Postgres behind HAProxy (Debian's, with the
// shipped deploy/haproxy.cfg), used from real browsers: Ben on his phone
// and Ana, his team leader, at her desk. Their sockets meet on one node
// (the portal_affinity cookie /api/me sets, which the browser's socket
// carries); Ana sees Ben's move live; that node is killed (SIGKILL) and
// both apps carry on through the proxy on the others: Ben's next move
// reaches Postgres and Ana's screen.
//
// Run by `cargo xtask test`, which sets ADMIN_DATABASE_URL, SERVER_BIN,
// WEB_DIR and FIXTURES.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  DESK, PHONE, assert, dropDatabase, fillSignIn, freshDatabase, launchChromium, moveLead, openPage, shot,
  showStage, startServer, stopServer, storedStage, waitFor, watchdog,
} from "./harness.mjs";

const timer = watchdog("e2e cluster");
const METRICS_TOKEN = "e2e-cluster-metrics";

// A free loopback port (taken and given back: HAProxy binds it next).
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// HAProxy in front of `nodes` (http:// URLs), from deploy/haproxy.cfg.
async function startHaproxy(nodes) {
  const port = await freePort();
  const servers = nodes.map((url, i) => `    server node${i + 1} ${new URL(url).host}`).join("\n");
  const config = readFileSync(new URL("../../deploy/haproxy.cfg", import.meta.url), "utf8")
    .replace("{{listen}}", `127.0.0.1:${port}`)
    .replace("{{servers}}", servers);
  const path = join(tmpdir(), `portal-e2e-haproxy-${port}.cfg`);
  writeFileSync(path, config);
  const child = spawn("/usr/sbin/haproxy", ["-db", "-f", path], { stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor("HAProxy to pass requests on", async () => {
    try {
      return (await fetch(`${url}/healthz`)).status === 200;
    } catch {
      return false;
    }
  });
  return { child, url };
}

// Open /sync connections on a node.
async function connections(node) {
  const res = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith("portal_sync_connections "));
  return Number(line.split(" ")[1]);
}

async function main() {
  const databaseUrl = await freshDatabase("cluster");
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const extra = ["--metrics-token", METRICS_TOKEN, "--trusted-proxies", "127.0.0.1"];
  // One after another: the first migrates the fresh database.
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startServer(databaseUrl, "127.0.0.1:0", extra));
  const proxy = await startHaproxy(nodes.map((n) => n.url));
  const browser = await launchChromium();
  const errors = [];
  try {
    const phone = await browser.newContext(PHONE);
    const ben = await openPage(phone, errors);
    const desk = await browser.newContext(DESK);
    const ana = await openPage(desk, errors);
    const lead = (page, id) => page.locator(`article.lead[data-lead="${id}"]`);

    await ben.goto(`${proxy.url}/#pipeline`);
    await fillSignIn(ben, "ben@okafor.example", "demo-ben-password");
    await lead(ben, "ben-1").waitFor();
    await ana.goto(`${proxy.url}/#pipeline`);
    await fillSignIn(ana, "ana@souza.example", "demo-ana-password");
    await lead(ana, "ana-1").waitFor();
    await ana.selectOption("#pipeline-switch", { label: "Ben Okafor (read-only)" });
    await lead(ana, "ben-1").waitFor();

    // The same affinity for a team, and their sockets on one node.
    const affinity = async (context) =>
      (await context.cookies()).find((c) => c.name === "portal_affinity")?.value;
    const [benAffinity, anaAffinity] = [await affinity(phone), await affinity(desk)];
    assert(benAffinity && benAffinity === anaAffinity, `one affinity for the team: ${benAffinity} ${anaAffinity}`);
    const home = await waitFor("both apps' sockets on one node", async () => {
      const counts = await Promise.all(nodes.map(connections));
      const i = counts.findIndex((c) => c === 2);
      return i >= 0 && counts.reduce((a, b) => a + b, 0) === 2 ? i : false;
    });

    // Ben's move, live on Ana's screen.
    await moveLead(ben, "ben-1", "contacted");
    await waitFor("Ana to see ben-1 in Contacted", async () =>
      (await lead(ana, "ben-1").getAttribute("data-stage")) === "contacted");
    await waitFor("Postgres to hold ben-1 in contacted", async () => (await storedStage(db, "ben-1")) === "contacted");

    // Their node dies. Both apps find another through the proxy.
    nodes[home].child.kill("SIGKILL");
    await new Promise((resolve) => nodes[home].child.once("exit", resolve));
    const alive = nodes.filter((_, i) => i !== home);
    await waitFor("both apps back on the other nodes", async () =>
      (await Promise.all(alive.map(connections))).reduce((a, b) => a + b, 0) === 2, 60_000);
    await showStage(ben, "contacted");
    await moveLead(ben, "ben-2", "qualified");
    await waitFor("Postgres to hold ben-2 in qualified", async () => (await storedStage(db, "ben-2")) === "qualified");
    await waitFor("Ana to see ben-2 in Qualified", async () =>
      (await lead(ana, "ben-2").getAttribute("data-stage")) === "qualified");
    await waitFor("nothing waiting on Ben's phone", async () =>
      (await ben.locator("#sync-status").getAttribute("data-pending")) === "0");
    await shot(ben, "cluster-phone-after-failover");
    await shot(ana, "cluster-desk-after-failover");
    assert((await ben.locator(".error").count()) === 0,
      `no error on Ben's phone: ${await ben.locator(".error").allTextContents()}`);
    assert(errors.length === 0, `no errors in the pages: ${errors.join(" | ")}`);
    console.log(`e2e: a team on one node of three behind HAProxy; node ${home + 1} killed, both apps carried on`);
  } finally {
    await browser.close();
    await db.end();
    proxy?.child.kill("SIGTERM");
    for (const node of nodes) await stopServer(node);
    await dropDatabase(databaseUrl);
    clearTimeout(timer);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
