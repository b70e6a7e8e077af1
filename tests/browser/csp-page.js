// Runs under a Content-Security-Policy that allows only 'self' and 'wasm-unsafe-eval'; reports
// the outcome and every violation the document saw (the event is every engine's; console text
// is not).
const violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
const report = (value) => { window.__result = { ...value, violations }; };
try {
  const { FaceEmbedder } = await import('/www/client/facenet.js');
  // The worker script gets the same policy (a worker's CSP comes from its own response).
  const csp = new URLSearchParams(location.search).get('csp') ?? '';
  const embedder = await FaceEmbedder.create({ workers: 1, cache: false, workerUrl: `/www/client/worker.js?csp=${encodeURIComponent(csp)}` });
  const blob = await (await fetch('/tests/faces/s1a.jpg')).blob();
  const { dimension, model } = await embedder.embed(blob);
  report({ ok: true, dimension, model, crossOriginIsolated: self.crossOriginIsolated });
  embedder.terminate();
} catch (error) {
  report({ ok: false, code: error.code, message: String(error.message ?? error) });
}
