// The real worker (www/client/worker.js) with faults the browser tests inject; shipped code has none.
// Loaded with FaceEmbedder's `workerUrl` option. Two ways in:
//   - a request for the URL input `/__fault/crash` or `/__fault/hang` crashes the worker (an
//     uncaught error) or blocks it in a busy loop, as a runaway model would;
//   - a message on the BroadcastChannel 'facenet-faults', {worker: 'facenet-0', how:
//     'crash' | 'hang', ms}, does the same to the named worker whatever it is doing.
import '/www/client/worker.js';

const scope = /** @type {any} */ (self);
const real = scope.onmessage;

function crash() {
  setTimeout(() => { throw new Error('worker crash injected by the test'); });
}

/** @param {number} ms */
function hang(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy, as a runaway computation would be */ }
}

scope.onmessage = (/** @type {MessageEvent} */ event) => {
  const msg = event.data;
  const url = msg?.type === 'embed' && msg.input?.kind === 'url' ? new URL(msg.input.url).pathname : '';
  if (url === '/__fault/crash') return crash();
  if (url === '/__fault/hang') return hang(60000);
  return real.call(scope, event);
};

new BroadcastChannel('facenet-faults').onmessage = (event) => {
  if (event.data.worker !== scope.name) return;
  if (event.data.how === 'crash') crash();
  else hang(event.data.ms ?? 60000);
};
