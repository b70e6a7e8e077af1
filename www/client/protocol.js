// The wire protocol between FaceEmbedder (page) and worker.js, in one place: message shapes,
// error codes, and how errors cross the boundary ({name, code, message, stack}, rebuilt here).

import { ERROR_CODES, MODEL_VERSION_LENGTH } from './contract.js';

// The codes are generated from the Rust definitions (www/client/contract.js, checked by
// crates/server/tests/contract.rs).
export { ERROR_CODES, MODEL_VERSION_LENGTH };

/** @typedef {import('./contract.js').ErrorCode} ErrorCode */

/** The Cache API cache holding model files, keyed by URL and sha256. */
export const CACHE_NAME = 'facenet-wasm-models-v1';

/**
 * "1234 bytes starting with 3c 21 44 4f 43 54 59 50 ("<!DOCTYP")": what arrived instead.
 * The same wording as the Rust core's messages.
 * @param {Uint8Array} bytes
 */
export function describeBytes(bytes) {
  const head = Array.from(bytes.subarray(0, 8));
  const hex = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = head.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${bytes.length} bytes starting with ${hex} (${JSON.stringify(text)})`;
}

/** The threaded build's own memory maximum (scripts/build-wasm: --max-memory), in MB. */
export const BUILD_MAX_MEMORY_MB = 1024;

/** An Error with a stable `code`; `name` is the code too, so it shows in stack traces. */
export class FaceEmbedError extends Error {
  /**
   * @param {ErrorCode} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = code;
    /** @type {ErrorCode} */
    this.code = code;
  }
}

/**
 * @typedef {object} WireError
 * @property {string} name
 * @property {ErrorCode} code
 * @property {string} message
 * @property {string} [stack]
 */

/**
 * Any thrown value → a structured-cloneable error. Errors from the wasm module already carry a
 * `code`; anything else is named by `fallback`.
 * @param {unknown} error
 * @param {ErrorCode} fallback
 * @returns {WireError}
 */
export function toWire(error, fallback) {
  const e = /** @type {{code?: unknown, message?: unknown, stack?: unknown}} */ (error ?? {});
  const code = typeof e.code === 'string' && ERROR_CODES.includes(/** @type {ErrorCode} */ (e.code))
    ? /** @type {ErrorCode} */ (e.code)
    : fallback;
  const message = typeof e.message === 'string' ? e.message : String(error);
  return { name: code, code, message, stack: typeof e.stack === 'string' ? e.stack : undefined };
}

/**
 * @param {WireError} wire
 * @returns {FaceEmbedError}
 */
export function fromWire(wire) {
  const error = new FaceEmbedError(wire.code, wire.message);
  if (wire.stack) error.stack = wire.stack;
  return error;
}

/**
 * What the page sends to a worker.
 * @typedef {{type: 'init', id: number, options: WorkerInit}
 *   | {type: 'embed', id: number, input: WorkerInput}
 *   | {type: 'embedMany', id: number, input: WorkerInput[]}
 *   | {type: 'detect', id: number, input: WorkerInput}
 *   | {type: 'stats', id: number}} ToWorker
 */

/**
 * @typedef {object} WorkerInit
 * @property {string} bindingsUrl URL of the wasm-bindgen JS module (pkg/facenet_wasm.js)
 * @property {string} wasmUrl URL of the .wasm file (SIMD128)
 * @property {string | null} [relaxedWasmUrl] URL of the relaxed-SIMD build, used where it validates
 * @property {number} [threads] rayon threads for the threaded build (0 or absent: single-threaded)
 * @property {string | null} [threadsBindingsUrl] URL of the threaded build's JS module (pkg/threads/facenet_wasm.js)
 * @property {string | null} [threadsWasmUrl] URL of the threaded build's .wasm (relaxed SIMD + atomics)
 * @property {number} [threadsTimeoutMs] how long the threads may take to start before the
 *   worker falls back to the single-threaded build (default 10000)
 * @property {number} [maxMemoryMB] the threaded build's shared memory maximum (FaceEmbedder's
 *   `maxMemoryMB`, resolved by `threadLimits`)
 * @property {string} modelUrl URL of the ONNX file
 * @property {string} [manifestUrl] URL of the model's manifest JSON
 * @property {object} [manifest] the manifest itself, instead of manifestUrl
 * @property {string} [model] model name, e.g. 'facenet' or 'facenet512'
 * @property {boolean} [cache] keep the model in the Cache API (default true)
 * @property {string} detectorUrl URL of the face detector's ONNX file
 * @property {string} detectorManifestUrl URL of the detector's manifest JSON
 * @property {boolean} [detector] load the detector with the model (default: on the first detect)
 * @property {DetectorOptions} [detectorOptions]
 */

/**
 * How photos are searched (the Rust core's DetectorOptions).
 * @typedef {object} DetectorOptions
 * @property {number} [maxSide] photos with a longer side are scaled down to it first (default
 *   3200: faces of ~25 px in a 4000×3000 photo are found; lower is faster)
 * @property {number} [minScore] lowest face score kept (default 0.6)
 */

/**
 * One face found in a photo, in the photo's own pixels (EXIF orientation applied).
 * @typedef {object} DetectedFace
 * @property {{x: number, y: number, width: number, height: number}} box
 * @property {number} score detector confidence, 0–1
 * @property {[number, number][]} landmarks five points: eyes, nose tip, mouth corners (left,
 *   right in the image)
 * @property {{width: number, height: number, bitmap: ImageBitmap, blob: Blob, imageData: ImageData}} crop
 *   the aligned crop the embedder sees (160×160): as a bitmap to draw, a JPEG to upload, pixels
 */

/**
 * An input as it crosses to the worker; every kind is structured-cloneable, so the page keeps
 * it for a retry.
 * @typedef {{kind: 'blob', blob: Blob}
 *   | {kind: 'bitmap', bitmap: ImageBitmap}
 *   | {kind: 'imagedata', imageData: ImageData}
 *   | {kind: 'url', url: string, headers: Record<string, string>}} WorkerInput
 */

/**
 * Which build of the wasm module a worker runs: relaxed SIMD (fused multiply-add) where the
 * browser has it, plain SIMD128 elsewhere.
 * 'threads' is the relaxed-SIMD build with atomics: one shared memory, tract's matrix products
 * split across `threads` rayon threads (Web Workers of their own).
 * @typedef {'threads' | 'relaxed-simd' | 'simd128'} WasmBuild
 */

/**
 * How long a worker's load took, in milliseconds.
 * @typedef {{compileMs: number, modelMs: number, planMs: number, warmMs: number, totalMs: number}} LoadTimings
 */

/**
 * Download and load stages, as transformers.js reports them.
 * @typedef {object} Progress
 * @property {'initiate'|'download'|'progress'|'done'|'compile'|'plan'|'ready'} status
 * @property {string} [file] the URL concerned
 * @property {number} [loaded] bytes so far
 * @property {number} [total] bytes in all, known up front from the manifest
 * @property {boolean} [fromCache] the model came from the Cache API
 * @property {number} [worker] which worker of the pool reports it
 */

/**
 * What a worker answers.
 * @typedef {{type: 'progress', id: number, progress: Progress}
 *   | {type: 'result', id: number, ok: true, value: any}
 *   | {type: 'result', id: number, ok: false, error: WireError, fatal: boolean}} FromWorker
 */
