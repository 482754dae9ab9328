// Starts the app. A file of its own (not an inline script) so the content
// security policy can forbid inline scripts altogether.
import init from "/{{APP_JS}}";
init({ module_or_path: "/{{APP_WASM}}" });
