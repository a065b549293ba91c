// Imported by the generated service worker (vite.config.ts, workbox.importScripts): answers
// GET /__fieldbook/reachable with whether the relay's /healthz can be fetched right now. The
// engine asks before it opens a WebSocket, so that a device that is offline (or whose relay is
// down) makes no attempt the browser would log as a network error; a failed fetch here is
// logged in the worker's console, not the page's. The answer is always a 200 response; the
// header `x-fieldbook-reachable` says "1" or "0".
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || url.pathname !== "/__fieldbook/reachable") return;
  const answer = (reachable) =>
    new Response(reachable ? "reachable\n" : "unreachable\n", {
      status: 200,
      headers: { "content-type": "text/plain", "cache-control": "no-store", "x-fieldbook-reachable": reachable ? "1" : "0" },
    });
  event.respondWith(
    fetch(new URL("/healthz", self.location.origin), { cache: "no-store" }).then(
      (response) => answer(response.ok),
      () => answer(false),
    ),
  );
});
