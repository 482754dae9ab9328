// Service worker: precaches the app shell so the app opens with no network.
// `cargo xtask build-web` writes the two constants below; every other file
// name in PRECACHE carries a content hash, so a cached copy is never stale.
const VERSION = "{{VERSION}}";
const PRECACHE = {{PRECACHE}};
const CACHE = `shell-${VERSION}`;
// Training files a partner downloaded for offline use (`/blobs/<sha256>`),
// put there whole by the app (web/static/files.js).
const FILES = "training-files-v1";
// Resources a partner saved for offline use: each under its address in
// the library, which names its version (`?v=`), so a kept copy is never
// stale; put there whole by the app (web/src/resources).
const RESOURCES = "resources-v1";
// Payout statements as PDFs, kept once opened (each is made from frozen
// data: the same file every time), so they open offline.
const STATEMENTS = "statements-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      // Old shells go; downloaded training files stay (they are named by
      // their hash, so never stale).
      .then((keys) => Promise.all(
        keys.filter((k) => k !== CACHE && k !== FILES && k !== RESOURCES && k !== STATEMENTS)
          .map((k) => caches.delete(k))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // A saved resource's file or co-branded copy: from the device.
  if (/^\/api\/resources\/[^/]+\/(file|cobranded\/(png|pdf|svg))$/.test(url.pathname)) {
    event.respondWith(kept(request, url.pathname + url.search, RESOURCES));
    return;
  }
  // Live data is never served from the cache.
  if (url.pathname.startsWith("/api/") || url.pathname === "/sync" || url.pathname === "/healthz") return;
  // The back-office (admins, online only) is not part of the shell.
  if (url.pathname.startsWith("/admin")) {
    if (request.mode === "navigate") {
      event.respondWith(fetch(request).catch(() => new Response(
        "<!doctype html><meta charset=utf-8><title>Back-office</title>" +
        "<p id=backoffice-offline>The back-office works online only, and the server cannot be reached now.</p>",
        { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
      )));
    }
    return;
  }
  if (url.pathname.startsWith("/statements/")) {
    event.respondWith(
      fetch(request)
        .then(async (response) => {
          if (response.status === 200) {
            const cache = await caches.open(STATEMENTS);
            await cache.put(url.pathname, response.clone());
          }
          return response;
        })
        .catch(async () => (await caches.match(url.pathname, { cacheName: STATEMENTS })) ||
          new Response("This statement was not opened on this device while online.", { status: 503 }))
    );
    return;
  }
  if (url.pathname.startsWith("/blobs/")) {
    event.respondWith(kept(request, url.pathname, FILES));
    return;
  }
  if (request.mode === "navigate") {
    // The shell is the same for every route; try the network for a fresh
    // one, fall back to the cached copy when offline.
    event.respondWith(
      fetch(request).catch(() => caches.match("/index.html", { cacheName: CACHE }))
    );
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request))
  );
});

// A push message (crates/wire `PushMessage`, sent by the server's
// notifications module): always shown, whether or not the app is open (a
// browser revokes the subscription of a worker that shows nothing). Its
// tag is the notice's id, so a message delivered twice shows once.
self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    message = {};
  }
  const shown = message.notification || {};
  const screen = typeof message.screen === "string" && /^#[a-z0-9_-]*$/.test(message.screen)
    ? message.screen
    : "#notifications";
  event.waitUntil(self.registration.showNotification(shown.title || "Partner Portal", {
    body: shown.body || "",
    tag: shown.tag || undefined,
    icon: "/icon-192.png",
    badge: "/icon-192.png",
    data: { screen, id: message.id },
  }));
});

// A click opens the notice's screen: in the app's window if one is open,
// else in a new one.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const screen = event.notification.data?.screen ?? "#notifications";
  const url = new URL(`/${screen}`, self.location.origin).href;
  const opening = (async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const app = open.find((client) => new URL(client.url).origin === self.location.origin);
    if (app) {
      // Only a click the browser dispatched may bring a window forward.
      await app.focus().catch(() => {});
      try {
        await app.navigate(url);
        return;
      } catch {
        // A window this worker does not control cannot be navigated.
      }
    }
    await self.clients.openWindow(url);
  })();
  // An event the browser did not dispatch (the tests') cannot be extended.
  try {
    event.waitUntil(opening);
  } catch {
    // Nothing to keep alive for.
  }
});

// A file the app kept (a training module's, a saved resource's): from
// the cache `name` under `key` when it is there, the range asked for cut
// from the whole file (a cached response is whole: the Cache API refuses
// 206s, and Safari plays and seeks a video only through ranges);
// otherwise from the network, as it answers.
async function kept(request, key, name) {
  const cache = await caches.open(name);
  const hit = await cache.match(key);
  if (!hit) return fetch(request);
  const range = request.headers.get("Range");
  if (!range) return hit;
  const whole = await hit.blob();
  const size = whole.size;
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  let start, end;
  if (m && m[1] !== "") {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  } else if (m && m[2] !== "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  }
  if (start === undefined || Number.isNaN(start) || Number.isNaN(end)) return hit;
  if (start >= size) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  if (end < start) return hit;
  const headers = new Headers(hit.headers);
  headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
  headers.set("Content-Length", String(end - start + 1));
  headers.set("X-Served-By", "service-worker");
  return new Response(whole.slice(start, end + 1), { status: 206, headers });
}
