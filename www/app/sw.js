// The session page offline: this service worker (served at /sw.js, scope /) keeps the page, the
// client, the wasm builds and the model manifests, so that a classroom without Wi-Fi opens the
// page, loads the models (the ONNX files are in the worker's own Cache API, checked by sha256),
// finds and embeds the lesson's faces and queues them in the outbox until the server answers.
//
// Network first, for at most NETWORK_WAIT_MS when a copy is kept (a new version of the page is
// used as soon as the server gives it), then the kept copy. Never kept: the API (pupils' data,
// answered no-store) and the ONNX files (the worker caches them by hash).

const CACHE = 'facenet-wasm-page-v1';
const NETWORK_WAIT_MS = 4000;

/** What the page needs before its first photo; the rest is kept as the page asks for it. */
const SHELL = [
  '/www/app/index.html', '/www/app/app.css', '/www/app/app.js', '/www/app/page.js', '/www/app/school.js',
  '/www/app/outbox-view.js', '/www/app/offline.js', '/www/app/manifest.webmanifest', '/www/app/icon.svg',
  '/www/client/facenet.js', '/www/client/worker.js', '/www/client/protocol.js', '/www/client/contract.js',
  '/www/client/api.js', '/www/client/outbox.js', '/www/client/support.js',
  '/pkg/facenet_wasm.js', '/pkg/facenet_wasm_bg.wasm', '/pkg/facenet_wasm_relaxed_bg.wasm',
  '/pkg/threads/facenet_wasm.js', '/pkg/threads/facenet_wasm_bg.wasm',
  '/models/facenet.json', '/models/retinaface.json',
];

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One by one: a build that is missing (no threaded build here) does not stop the rest.
    await Promise.all(SHELL.map((path) => cache.add(path).catch(() => {})));
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('facenet-wasm-page-') && name !== CACHE) await caches.delete(name);
    await sw.clients.claim();
  })());
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.endsWith('.onnx')) return;
  event.respondWith(networkFirst(request));
});

/** @param {Request} request */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreVary: true });
  const fromNetwork = fetch(request).then((response) => {
    // Only plain same-origin answers: not a redirect (a navigation may not be answered with one).
    if (response.ok && response.type === 'basic' && !response.redirected) cache.put(request, response.clone());
    return response;
  });
  if (!kept) return fromNetwork;
  const late = new Promise((resolve) => setTimeout(() => resolve(kept), NETWORK_WAIT_MS));
  return /** @type {Promise<Response>} */ (Promise.race([fromNetwork.catch(() => kept), late]));
}
