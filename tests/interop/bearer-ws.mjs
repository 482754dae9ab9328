// The `ws` WebSocket, presenting the session token in PORTAL_TOKEN as a
// bearer token on the upgrade request (see hooks.mjs for why).
import WebSocket from "ws";

const token = process.env.PORTAL_TOKEN;
if (!token) throw new Error("PORTAL_TOKEN is not set: the server wants a session");

export default class BearerWebSocket extends WebSocket {
  constructor(address, protocols, options) {
    super(address, protocols, {
      ...options,
      headers: { ...options?.headers, authorization: `Bearer ${token}` },
    });
  }
}
