// The sync engine's worker: loads the web-engine module, which starts
// listening to the page as it is instantiated (web-engine/src/worker.rs).
// Its wasm compiles as it downloads. A file of its own, with a hashed name
// like every file the service worker precaches. A module that cannot be
// fetched or compiled (offline before the service worker has it) is said
// to the page in the protocol's words (engine-protocol's `StartFailed`),
// since a worker's error event does not carry a failed promise.
import init from "/{{APP_JS}}";

// A failure inside one of the engine's tasks (a promise job: a trap, a
// thrown error) reaches no handler; thrown again from a task of its own
// it becomes the worker's error event, which the page takes for a dead
// engine (web/src/engine.rs, `EngineEvent::Crashed`) and says so.
addEventListener("unhandledrejection", (event) => {
  setTimeout(() => { throw event.reason; });
});

init({ module_or_path: "/{{APP_WASM}}" }).catch((error) => {
  console.warn("sync engine:", error);
  postMessage(JSON.stringify({ from: "start_failed", why: "the sync engine did not load" }));
});
