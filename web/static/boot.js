// Starts the app, and paints before it: the app is a wasm bundle of
// several hundred kilobytes, seconds on a phone's network, while this page
// and this script are a few kilobytes. So a returning partner sees that
// their pipeline is opening, and anyone else the welcome (welcome.js: the
// programme, applying) with a sign-in form that works without the app. A
// file of its own (not an inline script) so the content security policy
// can forbid inline scripts altogether.
//
// The wasm is compiled as it downloads, and the app takes the page over
// once somebody is signed in: at once for an account this device
// remembers, after the form's sign-in for anyone else (which leaves the
// session, the HttpOnly cookie, and who signed in, `session` in
// localStorage as the app keeps it, for the app to open with). A visitor
// reads and applies without the app. The back-office's page (same script)
// has no such shell and starts at once.
import init from "/{{APP_JS}}";

const WASM = "/{{APP_WASM}}";
const preboot = document.getElementById("preboot");
const welcome = document.getElementById("welcome");
const form = document.getElementById("preboot-form");
const loading = document.getElementById("preboot-loading");
const failure = document.getElementById("preboot-error");
const submit = form?.querySelector("button[type=submit]");

// Who the app remembers (see web/src/shell/session.rs), if anyone.
function cachedSession() {
  try {
    const cached = JSON.parse(localStorage.getItem("session"));
    return cached && cached.me ? cached : null;
  } catch {
    return null;
  }
}

const cached = cachedSession();
// Someone this device knows: the app opens for them, to their work, even
// when their session is over (it then asks them to sign in again over it).
let someoneSignedIn = Boolean(cached);

if (preboot && !(cached && !cached.ended)) {
  loading.hidden = true;
  welcome.hidden = false;
}

// The browser's offer to install the app can come before the app has
// started: it is kept for the dashboard's install card, which is told.
window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault();
  window.__installPrompt = event;
  window.dispatchEvent(new Event("portal-installable"));
});

let busy = false;
let handedOver = false;
let wake = () => {};

// The sign-in form is in use: something typed, or a sign-in under way.
const inUse = () => !welcome.hidden && (busy || [...form.elements].some((el) => el.value && el.type !== "submit"));

// An error, or (`neutral`) how an application stands: no error, so not
// shown as one.
function say(message, neutral = false) {
  failure.textContent = message;
  failure.hidden = !message;
  failure.className = neutral ? "preboot-note" : "error";
  failure.setAttribute("role", neutral ? "status" : "alert");
}

// The same words as the app's form (web-common's `SignInError`).
async function reason(response) {
  if (response.status === 401) return "Wrong email or password.";
  if (response.status === 429) {
    const wait = Number(response.headers.get("Retry-After"));
    return wait > 0
      ? `Too many attempts. Try again in ${wait < 60 ? `${wait} s` : `${Math.ceil(wait / 60)} min`}.`
      : "Too many attempts. Wait a little, then try again.";
  }
  if (response.status === 503 && response.headers.has("Retry-After")) {
    return "The server is busy checking other sign-ins. Try again in a moment.";
  }
  if (response.status >= 400 && response.status < 500) {
    try {
      const { error } = await response.json();
      if (error && error.trim()) {
        const said = error.charAt(0).toUpperCase() + error.slice(1);
        return /[.!?]$/.test(said) ? said : `${said}.`;
      }
    } catch { /* no message: the status says it */ }
  }
  return `The server could not sign you in (error ${response.status}). Try again shortly.`;
}

const unreachable = () =>
  navigator.onLine
    ? "Cannot reach the server. Check your connection and try again."
    : "You are offline. Signing in needs a connection; try again once you have one.";

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (busy) return;
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) return say("Enter your email and your password.");
  busy = true;
  submit.disabled = true;
  submit.textContent = "Signing in…";
  say("");
  const headers = { "Accept": "application/json", "Content-Type": "application/json", "X-Requested-With": "portal" };
  try {
    const signedIn = await fetch("/api/sessions", {
      method: "POST", headers, body: JSON.stringify({ email, password, kind: "cookie" }),
    });
    if (!signedIn.ok) return say(await reason(signedIn), signedIn.status === 403);
    const answer = await fetch("/api/me", { headers: { "Accept": "application/json" } });
    if (!answer.ok) return say(await reason(answer));
    const me = await answer.json();
    form.elements.password.value = "";
    if (me.role === "admin") {
      // Admins work in the back-office, a bundle of its own.
      location.assign("/admin/");
      return;
    }
    localStorage.setItem("session", JSON.stringify({ me, ended: false }));
    // The app opens where the address says (a link to a lead, say), but
    // not on the welcome's own views nor with an invite.
    if (["#apply", "#applied", "#sign-in"].includes(location.hash) || location.search) {
      history.replaceState(null, "", "/");
    }
    someoneSignedIn = true;
    welcome.hidden = true;
    loading.hidden = false;
  } catch {
    say(unreachable());
  } finally {
    busy = false;
    submit.disabled = false;
    submit.textContent = "Sign in";
    wake();
  }
});
form?.addEventListener("input", () => {
  warmEngine();
  wake();
});

// The sync engine (a worker's module of its own, web-engine) is fetched by
// the app once someone is signed in, after its own module has arrived and
// started: seconds later on a phone's network. Someone typing in the form
// is about to sign in, so its files are fetched now, alongside the app's,
// into the HTTP cache (their names are hashed, so they are cached for
// good), where the worker finds them. Once.
let warmed = false;
function warmEngine() {
  if (warmed) return;
  warmed = true;
  const { engine, engineJs, engineWasm } = document.documentElement.dataset;
  for (const url of [engine, engineJs, engineWasm]) {
    if (url) fetch(url).catch(() => {});
  }
}

// Resolves once somebody is signed in and nobody is using the form.
function ready() {
  return new Promise((resolve) => {
    const check = () => {
      if (someoneSignedIn && !inUse()) {
        resolve();
      } else {
        wake = check;
      }
    };
    check();
  });
}

async function start() {
  // A page without the pre-app shell (the back-office's) just starts.
  if (!preboot) return init({ module_or_path: WASM });
  // Compiling while the bytes arrive; the `preload` in the page started
  // the download with the HTML.
  const compiled = WebAssembly.compileStreaming
    ? WebAssembly.compileStreaming(fetch(WASM)).catch(() => WASM)
    : Promise.resolve(WASM);
  const module = await compiled;
  await ready();
  if (handedOver) return;
  handedOver = true;
  preboot.remove();
  await init({ module_or_path: module });
}

start();
