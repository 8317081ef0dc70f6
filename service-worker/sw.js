// The Talapker service worker (fetch hook). Served at /sw.js so its scope is the whole site.
// The shell is cached per deployment (the version below changes with every release); the
// queue of entries lives in IndexedDB and survives any cache change.
importScripts("/sw/storage.js", "/sw/queue.js");

var VERSION = "__SHELL_VERSION__";
var SHELL = "talapker-shell-" + VERSION;
var PAGES = "talapker-pages";
var SHELL_URLS = [
  "/offline",
  "/static/css/app.css",
  "/static/vendor/htmx.min.js",
  "/static/js/iin.js",
  "/static/js/validate.js",
  "/static/js/app.js",
  "/static/js/offline.js",
  "/static/js/pending.js",
  "/static/manifest.webmanifest",
  "/static/icons/icon.svg",
  "/sw/storage.js",
  "/sw/queue.js",
];

// Every time the browser starts this worker (after a restart, or to handle an event), it
// tries the queue once; replays are idempotent, so an extra attempt costs nothing.
self.TalapkerQueue.replay().then(notify).catch(function () {});

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (c) { return c.addAll(SHELL_URLS); }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("talapker-shell-") === 0 && k !== SHELL; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); }).then(function () { return self.TalapkerQueue.replay(); })
  );
});

self.addEventListener("sync", function (event) {
  if (event.tag === "talapker-replay") event.waitUntil(self.TalapkerQueue.replay().then(notify));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "replay") event.waitUntil(self.TalapkerQueue.replay().then(notify));
});

function notify(result) {
  return self.clients.matchAll().then(function (cs) {
    cs.forEach(function (c) { c.postMessage({ type: "replayed", result: result }); });
    return result;
  });
}

function isShell(url) {
  return url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/sw/") === 0;
}

// Pages and fragments worth having offline: whole pages, the add form and the КАТО picker.
function cacheable(request, url) {
  if (url.pathname.indexOf("/cabinet/sync/") === 0 || url.pathname === "/healthz" || /\.xlsx$/.test(url.pathname)) return false;
  if (url.pathname === "/kato" || url.pathname === "/cabinet/applicants/new") return true;
  return !request.headers.get("HX-Request");
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (isShell(url) || url.pathname === "/offline") {
    event.respondWith(
      caches.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || fetch(request).then(function (resp) {
          if (resp.ok) { var copy = resp.clone(); caches.open(SHELL).then(function (c) { c.put(request, copy); }); }
          return resp;
        });
      })
    );
    return;
  }
  if (!cacheable(request, url)) return;
  // Network first; the cached copy when the network is not there.
  event.respondWith(
    fetch(request).then(function (resp) {
      if (resp.ok && resp.type === "basic" && !resp.redirected) {
        var copy = resp.clone();
        caches.open(PAGES).then(function (c) { c.put(url.pathname + url.search, copy); });
      }
      return resp;
    }).catch(function () {
      return caches.open(PAGES).then(function (c) { return c.match(url.pathname + url.search, { ignoreVary: true }); }).then(function (hit) {
        if (hit) return hit;
        if (request.mode === "navigate") {
          return caches.match("/offline", { ignoreVary: true }).then(function (shell) {
            return shell || new Response("Нет подключения", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
          });
        }
        return new Response("", { status: 503 });
      });
    })
  );
});
