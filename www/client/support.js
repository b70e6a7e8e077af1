// What facenet-wasm cannot run without, checked in the page before anything downloads, so that a
// browser missing one says so in words instead of failing somewhere in a worker:
//
//   const missing = missingFeatures();      // [] on Chrome/Edge 91+, Firefox 114+, Safari 16.4+
//   if (missing.length) throw unsupported(missing);   // FaceEmbedError 'BrowserUnsupported'
//
// FaceEmbedder.create and Outbox.open check what each needs; the session page checks all at
// once and says so above everything else (the register can still be kept by hand).
//
// The rest is chosen, not required: relaxed SIMD and threads are the faster builds where the
// engine has them (worker.js picks), the Cache API only keeps the model between visits.
import { FaceEmbedError } from './protocol.js';

/**
 * @typedef {'webassembly' | 'wasm-simd' | 'module-workers' | 'offscreen-canvas' | 'image-bitmap' | 'indexeddb'} Feature
 */

/** Each feature in a teacher's words: what the browser lacks, what it is for. @type {Readonly<Record<Feature, string>>} */
export const FEATURES = Object.freeze({
  'webassembly': 'WebAssembly (the face models run in it)',
  'wasm-simd': 'WebAssembly SIMD (fast maths for the face models)',
  'module-workers': 'module workers (the models run beside the page, not in it)',
  'offscreen-canvas': 'OffscreenCanvas (photos are decoded and cut into faces beside the page)',
  'image-bitmap': 'createImageBitmap (photos are decoded by the browser)',
  'indexeddb': 'IndexedDB (faces wait on this device until the server has them)',
});

/**
 * A module of one function `() -> v128` whose body is `instructions`: it validates only where
 * the engine knows them.
 * @param {number[]} instructions
 */
const v128Probe = (instructions) => new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, instructions.length + 4, 0x01, instructions.length + 2, 0x00, // code section: one body, no locals
  ...instructions,
  0x0b, // end
]);

const V128_CONST_0 = [0xfd, 0x0c, ...new Array(16).fill(0)];

/** `v128.const 0`: WebAssembly SIMD (Chrome 91, Firefox 89, Safari 16.4). */
const SIMD_PROBE = v128Probe(V128_CONST_0);

/**
 * `v128.const 0; i32x4.relaxed_trunc_f32x4_s`: relaxed SIMD (checked: Chromium 156 and Firefox
 * 153 yes, WebKitGTK 2.50 no; Node 20 only with --experimental-wasm-relaxed-simd).
 */
export const RELAXED_SIMD_PROBE = v128Probe([...V128_CONST_0, 0xfd, 0x81, 0x02]);

/**
 * Whether `new Worker(url, { type: 'module' })` would start a module worker: an engine without
 * them never reads the option. The URL does not parse, so no worker starts and no
 * Content-Security-Policy is asked: the options are read, then the constructor throws.
 * @param {any} scope
 */
function hasModuleWorkers(scope) {
  if (typeof scope.Worker !== 'function') return false;
  let read = false;
  try {
    new scope.Worker('http://[', { get type() { read = true; return 'module'; } }).terminate();
  } catch {
    // SyntaxError, as meant
  }
  return read;
}

/** What FaceEmbedder needs (the outbox alone needs IndexedDB). @type {readonly Feature[]} */
export const EMBEDDER_NEEDS = Object.freeze(['webassembly', 'wasm-simd', 'module-workers', 'offscreen-canvas', 'image-bitmap']);

/**
 * The features of `needs` this browser lacks, in FEATURES' order; [] where all are there.
 * @param {readonly Feature[]} [needs] default: all of FEATURES
 * @param {any} [scope] the global object to look in
 * @returns {Feature[]}
 */
export function missingFeatures(needs = /** @type {Feature[]} */ (Object.keys(FEATURES)), scope = globalThis) {
  const wasm = typeof scope.WebAssembly === 'object' && typeof scope.WebAssembly.validate === 'function';
  /** @type {[Feature, boolean][]} */
  const checks = [
    ['webassembly', wasm],
    ['wasm-simd', wasm && scope.WebAssembly.validate(SIMD_PROBE)],
    ['module-workers', hasModuleWorkers(scope)],
    ['offscreen-canvas', typeof scope.OffscreenCanvas === 'function'],
    ['image-bitmap', typeof scope.createImageBitmap === 'function'],
    ['indexeddb', typeof scope.indexedDB === 'object' && scope.indexedDB !== null],
  ];
  return checks.filter(([feature, ok]) => !ok && needs.includes(feature)).map(([feature]) => feature);
}

/**
 * The error for a browser lacking `missing`: code 'BrowserUnsupported', a message a teacher can
 * read out to whoever looks after the school's computers, and `missing` for programs.
 * @param {Feature[]} missing
 * @returns {FaceEmbedError & { missing: Feature[] }}
 */
export function unsupported(missing) {
  const error = /** @type {FaceEmbedError & { missing: Feature[] }} */ (new FaceEmbedError('BrowserUnsupported',
    `This browser cannot recognise faces: it lacks ${missing.map((f) => FEATURES[f]).join('; ')}. ` +
    'Use a current Chrome, Edge or Firefox, or Safari on iPadOS/macOS 16.4 or later.'));
  error.missing = missing;
  return error;
}
