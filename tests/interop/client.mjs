// A JS automerge-repo peer driven over stdin/stdout by
// sync-server/tests/it/interop.rs: one JSON command per line in, one JSON
// reply per line out ({"ok":true,...} or {"ok":false,"error":"..."}).
// Diagnostics go to stderr. Every wait is bounded (`timeout_ms`, default
// 15 s), so a reply always comes.
//
// Commands:
//   {"cmd":"connect","url":"ws://.../sync"}   -> {"ok":true,"peer":"..."}
//   {"cmd":"create","content":{...}}          -> {"ok":true,"url":"automerge:...","heads":[...]}
//   {"cmd":"find","id":"automerge:... or id"} -> {"ok":true,"doc":{...},"heads":[...]}
//   {"cmd":"change","id":...,"key":...,"value":...} -> {"ok":true,"heads":[...]}
//   {"cmd":"read","id":...}                   -> {"ok":true,"doc":{...},"heads":[...]}
//   {"cmd":"synced","id":...}  waits until the server acknowledged our heads
//   {"cmd":"disconnect"} / {"cmd":"reconnect"}
//
// Environment: PORTAL_TOKEN (a bearer session) and PORTAL_PEER_ID.
//
// Heads are hex change hashes, as automerge and Rust's ChangeHash print them.

import { createInterface } from "node:readline";
import {
  Repo,
  decodeHeads,
  isValidAutomergeUrl,
  stringifyAutomergeUrl,
} from "@automerge/automerge-repo";
import { register } from "node:module";

// Authentication: the server takes a session as `Authorization: Bearer`
// (PORTAL_TOKEN) and a peer id `<account>/<device>` (PORTAL_PEER_ID). The
// hooks must be in place before the adapter module is loaded, hence the
// dynamic import.
register("./hooks.mjs", import.meta.url);
const { WebSocketClientAdapter } = await import("@automerge/automerge-repo-network-websocket");

const DEFAULT_TIMEOUT_MS = 15_000;

let repo;
let adapter;
let serverUrl;
const handles = new Map();

function reply(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function toUrl(id) {
  if (typeof id !== "string") throw new Error("`id` must be a string");
  const url = id.startsWith("automerge:") ? id : `automerge:${id}`;
  if (!isValidAutomergeUrl(url)) throw new Error(`not a document id: ${id}`);
  return url;
}

function handleOf(id) {
  const handle = handles.get(toUrl(id));
  if (!handle) throw new Error(`document not opened here: ${id}`);
  return handle;
}

const hexHeads = (handle) => decodeHeads(handle.heads());

// A plain JSON copy of the document (automerge proxies and counters
// removed; 64-bit integers, which automerge gives as BigInt, as numbers).
const snapshot = (handle) =>
  JSON.parse(JSON.stringify(handle.doc(), (_, v) => (typeof v === "bigint" ? Number(v) : v)));

function attach() {
  adapter = new WebSocketClientAdapter(serverUrl, 1000);
  repo.networkSubsystem.addNetworkAdapter(adapter);
}

async function waitForServer(ms) {
  await until(() => repo.peers.length > 0, ms, `connecting to ${serverUrl}`);
  return repo.peers[0];
}

// The storage id the server announced; the repo records per storage id the
// heads that peer last said it has.
function serverStorageId() {
  const peer = repo.peers[0];
  return peer && repo.peerMetadataByPeerId[peer]?.storageId;
}

function sameHeads(a, b) {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

const commands = {
  async connect({ url }, ms) {
    if (repo) throw new Error("already connected; use reconnect");
    serverUrl = url;
    repo = new Repo({ network: [], peerId: process.env.PORTAL_PEER_ID });
    attach();
    return { peer: await waitForServer(ms) };
  },

  async create({ content }) {
    const handle = repo.create(content ?? {});
    handles.set(handle.url, handle);
    return { url: handle.url, heads: hexHeads(handle) };
  },

  async find({ id }, ms) {
    const url = toUrl(id);
    const handle = await repo.find(url, { signal: AbortSignal.timeout(ms) });
    handles.set(stringifyAutomergeUrl(handle.documentId), handle);
    return { doc: snapshot(handle), heads: hexHeads(handle) };
  },

  // Puts `value` at `key` of the map at `path` (keys from the root; the
  // root itself when there is none).
  async change({ id, key, value, path = [] }) {
    if (typeof key !== "string") throw new Error("`key` must be a string");
    if (!Array.isArray(path) || path.some((k) => typeof k !== "string")) {
      throw new Error("`path` must be a list of keys");
    }
    const handle = handleOf(id);
    handle.change((doc) => {
      const map = path.reduce((at, k) => {
        if (typeof at?.[k] !== "object") throw new Error(`no map at ${path.join("/")}`);
        return at[k];
      }, doc);
      map[key] = value;
    });
    return { heads: hexHeads(handle) };
  },

  async read({ id }) {
    const handle = handleOf(id);
    return { doc: snapshot(handle), heads: hexHeads(handle) };
  },

  async synced({ id }, ms) {
    const handle = handleOf(id);
    await until(
      () => {
        const storageId = serverStorageId();
        const theirs = storageId && handle.getSyncInfo(storageId)?.lastHeads;
        return theirs && sameHeads(decodeHeads(theirs), hexHeads(handle));
      },
      ms,
      "the server to acknowledge our heads",
    );
    return { heads: hexHeads(handle) };
  },

  async disconnect(_, ms) {
    repo.networkSubsystem.removeNetworkAdapter(adapter);
    adapter = undefined;
    await until(() => repo.peers.length === 0, ms, "dropping the server");
    return {};
  },

  async reconnect(_, ms) {
    if (adapter) throw new Error("still connected");
    attach();
    return { peer: await waitForServer(ms) };
  },
};

async function run(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `not JSON: ${e.message}` };
  }
  const command = commands[request.cmd];
  if (!command) return { ok: false, error: `unknown command: ${request.cmd}` };
  if (!repo && request.cmd !== "connect") return { ok: false, error: "connect first" };
  const ms = request.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  try {
    const result = await bounded(command(request, ms), ms, request.cmd);
    return { ok: true, ...result };
  } catch (e) {
    console.error(`${request.cmd} failed:`, e);
    return { ok: false, error: String(e?.message ?? e) };
  }
}

// A socket error must not kill the peer: log it, and let the pending
// command's own deadline report the failure.
process.on("uncaughtException", (e) => console.error("uncaught:", e));
process.on("unhandledRejection", (e) => console.error("unhandled rejection:", e));

// Commands run one at a time, in order.
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "") continue;
  reply(await run(line));
}
// stdin closed: the test is done with us.
process.exit(0);
