// Module resolution hooks for client.mjs: the reference WebSocket adapter
// opens its socket with `new WebSocket(url)` from "isomorphic-ws" and has no
// way to add a header, while our server wants the session as
// `Authorization: Bearer` from every client that is not a browser. So the
// adapter's "isomorphic-ws" resolves to bearer-ws.mjs, which is the `ws`
// WebSocket with that header. Nothing else about the client changes.
export async function resolve(specifier, context, next) {
  if (specifier === "isomorphic-ws") {
    return { url: new URL("./bearer-ws.mjs", import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
