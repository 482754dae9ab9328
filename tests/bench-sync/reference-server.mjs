// The reference sync server for `cargo xtask bench-sync`: automerge-repo's
// own Repo with its WebSocket server adapter and its filesystem storage,
// set up as that project's sync server sets itself up (a peer that stores
// every document it is sent and answers requests, announcing nothing), so
// both servers persist what they accept.
//
// Environment: PORT (0, the default, is any free port) and STORAGE_DIR
// (required: the directory it stores documents in). It prints
// `listening on http://127.0.0.1:<port>` once it accepts connections, as
// sync-server does, and stops on SIGTERM or SIGINT.

import http from "node:http";
import fs from "node:fs";
import { WebSocketServer } from "ws";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";

const dir = process.env.STORAGE_DIR;
if (!dir) throw new Error("STORAGE_DIR is not set");
fs.mkdirSync(dir, { recursive: true });

const sockets = new WebSocketServer({ noServer: true });
const repo = new Repo({
  network: [new WebSocketServerAdapter(sockets)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: "reference-server",
  // A sync server answers what it is asked and announces nothing.
  sharePolicy: async () => false,
});

const server = http.createServer((_, response) => {
  response.writeHead(404).end();
});
server.on("upgrade", (request, socket, head) => {
  sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit("connection", ws, request));
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

async function stop() {
  server.close();
  for (const client of sockets.clients) client.terminate();
  // What the repo holds unsaved is written before it goes.
  await repo.shutdown().catch((e) => console.error(`shutdown: ${e}`));
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
