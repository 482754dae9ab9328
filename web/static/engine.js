// The sync engine's worker: loads the web-engine module, which starts
// listening to the page as it is instantiated (web-engine/src/worker.rs).
// Its wasm compiles as it downloads. A file of its own, with a hashed name
// like every file the service worker precaches.
import init from "/{{APP_JS}}";

init({ module_or_path: "/{{APP_WASM}}" });
