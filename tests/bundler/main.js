// Bundled by Vite in tests/browser/bundler.test.mjs: the pkg/ package, imported by name.
import init, { FaceNetModel, errorCodes } from 'facenet-wasm';

try {
  await init();
  window.__result = { ok: typeof FaceNetModel === 'function', codes: errorCodes() };
} catch (error) {
  window.__result = { ok: false, error: String(error) };
}
