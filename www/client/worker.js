// Module worker: loads the wasm module and the model once, then embeds on request.
// Everything here runs off the page's thread; a trap in wasm poisons only this worker, which
// says so (`fatal`) and is replaced by the client.

import { BUILD_MAX_MEMORY_MB, CACHE_NAME, FaceEmbedError, describeBytes, toWire } from './protocol.js';
import { RELAXED_SIMD_PROBE } from './support.js';

/** @typedef {import('./protocol.js').ToWorker} ToWorker */
/** @typedef {import('./protocol.js').WorkerInit} WorkerInit */
/** @typedef {import('./protocol.js').WorkerInput} WorkerInput */
/** @typedef {import('./protocol.js').Progress} Progress */

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** @type {any} the FaceNetModel from the wasm module */
let model = null;
/** @type {any} the wasm-bindgen module, kept to build the detector on first use */
let bindings = null;
/** @type {WorkerInit | null} */
let initOptions = null;
/** @type {Promise<any> | null} the FaceDetectorModel, loaded once (evicted on failure) */
let detectorLoad = null;
/** The threaded build's memory maximum in MB; null for the single-threaded builds (no maximum). */
let maxMemoryMB = /** @type {number | null} */ (null);
/** @type {WebAssembly.Memory | null} */
let memory = null;
/** @type {{modelName: string, modelVersion: string, dimension: number} | null} */
let info = null;
/** @type {string | null} why the threaded build asked for is not running */
let threadsError = null;

const scope = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/** @param {MessageEvent<ToWorker>} event */
scope.onmessage = (event) => {
  const msg = event.data;
  switch (msg.type) {
    case 'init': answer(msg.id, () => load(msg.id, msg.options)); break;
    case 'embed': answer(msg.id, () => embed(msg.input)); break;
    case 'embedMany': answer(msg.id, () => embedMany(msg.input)); break;
    case 'detect': answer(msg.id, () => detect(msg.id, msg.input)); break;
    case 'stats': answer(msg.id, async () => stats()); break;
  }
};

/**
 * @param {number} id
 * @param {() => Promise<any>} work
 */
async function answer(id, work) {
  try {
    const value = await work();
    scope.postMessage({ type: 'result', id, ok: true, value }, transferables(value));
  } catch (error) {
    // A trap (panic, out of memory) leaves the wasm instance unusable: this worker must go.
    const fatal = error instanceof WebAssembly.RuntimeError;
    scope.postMessage({ type: 'result', id, ok: false, error: toWire(error, fatal ? 'WorkerCrashed' : 'InferenceError'), fatal });
  }
}

/**
 * Buffers and bitmaps of an answer, moved to the page rather than copied.
 * @param {any} value
 * @returns {Transferable[]}
 */
function transferables(value) {
  if (value?.embedding instanceof Float32Array) return [value.embedding.buffer];
  if (Array.isArray(value)) return value.flatMap((r) => (r.ok ? transferables(r.value) : []));
  if (Array.isArray(value?.faces)) {
    return value.faces.flatMap((/** @type {any} */ f) => [f.crop.bitmap, f.crop.imageData.data.buffer]);
  }
  return [];
}

/**
 * @param {number} id
 * @param {Progress} progress
 */
function report(id, progress) {
  scope.postMessage({ type: 'progress', id, progress });
}

/**
 * @param {Response} response
 * @param {Uint8Array} bytes
 */
function whatArrived(response, bytes) {
  return `HTTP ${response.status}, content-type ${response.headers.get('content-type') ?? 'none'}, ${describeBytes(bytes)}`;
}

/** @param {ArrayBuffer | Uint8Array} bytes */
async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', /** @type {BufferSource} */ (bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Fetches a URL as bytes, with progress when `onBytes` is given.
 * @param {string} url
 * @param {number} [expectedSize]
 * @param {(loaded: number, total: number) => void} [onBytes]
 */
async function fetchBytes(url, expectedSize, onBytes) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new FaceEmbedError('ModelLoadError', `cannot fetch ${url}: ${error}`);
  }
  const total = expectedSize || Number(response.headers.get('content-length')) || 0;
  if (!response.body || !onBytes) {
    return { response, bytes: new Uint8Array(await response.arrayBuffer()) };
  }
  // One buffer of the announced size, filled chunk by chunk: no 2× peak from concatenating.
  let bytes = new Uint8Array(total || 1 << 20);
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, loaded + value.length));
      grown.set(bytes.subarray(0, loaded));
      bytes = grown;
    }
    bytes.set(value, loaded);
    loaded += value.length;
    onBytes(loaded, total);
  }
  return { response, bytes: bytes.subarray(0, loaded) };
}

/**
 * A manifest as JSON, or a `ModelLoadError` saying what arrived instead.
 * @param {string} url
 * @param {string} what e.g. 'a model manifest'
 * @returns {Promise<any>}
 */
async function fetchManifest(url, what) {
  const { response, bytes } = await fetchBytes(url);
  try {
    if (!response.ok) throw new Error('not OK');
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new FaceEmbedError('ModelLoadError', `${url} did not return ${what}: ${whatArrived(response, bytes)}`);
  }
}

/**
 * The model's bytes: from the Cache API when an entry with the right hash is there, otherwise
 * downloaded, checked and stored. A corrupt or truncated entry is dropped and fetched again.
 * @param {number} id
 * @param {string} url
 * @param {{sha256?: string, size?: number}} manifest
 * @param {boolean} useCache
 */
async function modelBytes(id, url, manifest, useCache) {
  const expected = manifest.sha256?.toLowerCase();
  const key = new URL(url, location.href);
  if (expected) key.searchParams.set('sha256', expected);
  /** @type {Cache | null} */
  let cache = null;
  if (useCache && expected && typeof caches !== 'undefined') {
    try {
      cache = await caches.open(CACHE_NAME);
      const hit = await cache.match(key.href);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        if ((await sha256Hex(bytes)) === expected) {
          report(id, { status: 'done', file: url, loaded: bytes.length, total: bytes.length, fromCache: true });
          return { bytes, verified: true, fromCache: true };
        }
        console.warn(`facenet-wasm: cached model for ${url} failed its sha256 check; fetching it again`);
        await cache.delete(key.href);
      }
    } catch (error) {
      console.warn('facenet-wasm: the Cache API failed; the model will be downloaded', error);
      cache = null;
    }
  }
  report(id, { status: 'download', file: url, loaded: 0, total: manifest.size ?? 0 });
  const { response, bytes } = await fetchBytes(url, manifest.size, (loaded, total) =>
    report(id, { status: 'progress', file: url, loaded, total }));
  if (!response.ok || bytes[0] === 0x3c /* '<' */ || bytes[0] === 0x7b /* '{' */) {
    throw new FaceEmbedError('ModelLoadError', `${url} did not return an ONNX model: ${whatArrived(response, bytes)}`);
  }
  let verified = false;
  if (expected) {
    const actual = await sha256Hex(bytes);
    if (actual !== expected) {
      throw new FaceEmbedError('ModelLoadError',
        `${url} returned a model with sha256 ${actual}, expected ${expected} (${whatArrived(response, bytes)}); ` +
        'the download was truncated or the server has another version');
    }
    verified = true;
    if (cache) {
      try {
        await cache.put(key.href, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
      } catch (error) {
        console.warn('facenet-wasm: could not store the model in the Cache API', error);
      }
    }
  }
  report(id, { status: 'done', file: url, loaded: bytes.length, total: bytes.length, fromCache: false });
  return { bytes, verified, fromCache: false };
}

/**
 * Fetches and compiles one build of the module and instantiates its bindings.
 * @param {number} id
 * @param {string} wasmUrl
 * @param {string} bindingsUrl
 * @param {WebAssembly.Memory} [sharedMemory] the threaded build's memory, made here with the
 *   maximum chosen for this device (the bindings would make one of the build's 1 GiB)
 * @returns {Promise<{bindings: any, exports: any}>}
 */
async function instantiateBuild(id, wasmUrl, bindingsUrl, sharedMemory) {
  const { response, bytes } = await fetchBytes(wasmUrl);
  if (!response.ok || !WASM_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new FaceEmbedError('ModelLoadError',
      `${wasmUrl} did not return a WebAssembly module (expected magic 00 61 73 6d): ${whatArrived(response, bytes)}`);
  }
  report(id, { status: 'compile', file: wasmUrl });
  const module = await WebAssembly.compile(bytes);
  const imported = await import(bindingsUrl);
  return { bindings: imported, exports: await imported.default({ module_or_path: module, memory: sharedMemory }) };
}

/**
 * Instantiates the fastest build this worker can run: the threaded one where threads were
 * asked for, relaxed SIMD validates, the page is cross-origin isolated and the engine has
 * SharedArrayBuffer (its memory is one: WebKitGTK 2.50 has none even when isolated); else
 * relaxed SIMD; else SIMD128. A threaded build that fails or does not
 * start its threads in time is dropped, with a warning and `threadsError`, for the
 * single-threaded one: the load goes on.
 * @param {number} id
 * @param {WorkerInit} options
 * @returns {Promise<{wasm: import('./protocol.js').WasmBuild, threads: number}>}
 */
async function instantiate(id, options) {
  const relaxed = WebAssembly.validate(RELAXED_SIMD_PROBE);
  const wanted = options.threads ?? 0;
  if (wanted > 1 && options.threadsWasmUrl && options.threadsBindingsUrl) {
    // Every reason that holds, so that a support question gets the whole answer.
    const missing = [
      !relaxed && 'no relaxed SIMD in this browser',
      !scope.crossOriginIsolated && 'the page is not cross-origin isolated (COOP/COEP headers)',
      typeof SharedArrayBuffer !== 'function' && 'no SharedArrayBuffer in this browser',
    ].filter(Boolean);
    if (missing.length > 0) {
      threadsError = missing.join('; ');
    } else {
      try {
        // 64 KiB pages: 1024 to start (the module asks for far fewer), the device's maximum.
        const maximum = Math.round((options.maxMemoryMB ?? BUILD_MAX_MEMORY_MB) * 16);
        const shared = new WebAssembly.Memory({ initial: Math.min(1024, maximum), maximum, shared: true });
        const built = await instantiateBuild(id, options.threadsWasmUrl, options.threadsBindingsUrl, shared);
        await startThreads(built.bindings, wanted, options.threadsTimeoutMs ?? 10000);
        const threads = built.bindings.useThreadPool();
        ({ bindings } = built);
        memory = built.exports.memory;
        maxMemoryMB = options.maxMemoryMB ?? null;
        return { wasm: 'threads', threads };
      } catch (error) {
        threadsError = error instanceof Error ? error.message : String(error);
        console.warn('facenet-wasm: the threaded build did not start; running single-threaded:', error);
      }
    }
  }
  /** @type {import('./protocol.js').WasmBuild} */
  const wasm = options.relaxedWasmUrl && relaxed ? 'relaxed-simd' : 'simd128';
  const built = await instantiateBuild(id, wasm === 'relaxed-simd' ? /** @type {string} */ (options.relaxedWasmUrl) : options.wasmUrl,
    options.bindingsUrl);
  ({ bindings } = built);
  memory = built.exports.memory;
  return { wasm, threads: 1 };
}

/**
 * Starts the rayon threads, failing fast where a Content-Security-Policy refuses the blob:
 * workers wasm-bindgen-rayon starts them from (it would otherwise wait for them forever), and
 * after `timeoutMs` for any other reason they do not come up.
 * @param {any} threadedBindings
 * @param {number} threads
 * @param {number} timeoutMs
 */
async function startThreads(threadedBindings, threads, timeoutMs) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {(event: Event) => void} */
  let onViolation = () => {};
  const refused = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the ${threads} threads did not start in ${timeoutMs} ms`)), timeoutMs);
    onViolation = (event) => {
      const { effectiveDirective, blockedURI } = /** @type {SecurityPolicyViolationEvent} */ (event);
      reject(new Error(`the Content-Security-Policy refuses the threads' workers (${effectiveDirective} ${blockedURI}); allow worker-src blob:`));
    };
    scope.addEventListener('securitypolicyviolation', onViolation);
  });
  try {
    await Promise.race([blobWorkersStart(Math.min(timeoutMs, 5000)), refused]);
    await Promise.race([threadedBindings.initThreadPool(threads), refused]);
  } finally {
    clearTimeout(timer);
    scope.removeEventListener('securitypolicyviolation', onViolation);
  }
}

/**
 * Resolves once a blob: worker (what the threads are started from) runs here, and rejects at
 * once where one cannot: Chromium reports a CSP refusal as a securitypolicyviolation event (seen
 * above), Firefox 153 only as the worker's error event, which the thread pool never surfaces
 * (it would wait for its threads until the timeout).
 * @param {number} timeoutMs
 */
function blobWorkersStart(timeoutMs) {
  const url = URL.createObjectURL(new Blob(['postMessage(0)'], { type: 'text/javascript' }));
  const refusedHere = "blob: workers do not start here (a Content-Security-Policy without worker-src blob:?), and the threads' workers are blob: workers";
  return new Promise((resolve, reject) => {
    let probe;
    try {
      probe = new Worker(url);
    } catch (error) {
      URL.revokeObjectURL(url);
      reject(new Error(`${refusedHere}: ${error}`));
      return;
    }
    const end = (/** @type {Error | null} */ error) => {
      clearTimeout(timer);
      probe.terminate();
      URL.revokeObjectURL(url);
      if (error) reject(error); else resolve(undefined);
    };
    const timer = setTimeout(() => end(new Error(`${refusedHere}: none answered in ${timeoutMs} ms`)), timeoutMs);
    probe.onmessage = () => end(null);
    probe.onerror = () => end(new Error(refusedHere));
  });
}

/**
 * @param {number} id
 * @param {WorkerInit} options
 */
async function load(id, options) {
  const start = performance.now();
  report(id, { status: 'initiate', file: options.modelUrl });
  let manifest = options.manifest;
  if (!manifest && options.manifestUrl) manifest = await fetchManifest(options.manifestUrl, 'a model manifest');
  const m = /** @type {{sha256?: string, size?: number, outputs?: {model: string}[]}} */ (manifest ?? {});
  const names = (m.outputs ?? []).map((o) => o.model);
  if (options.model && names.length && !names.includes(options.model)) {
    // Before downloading the model for nothing.
    throw new FaceEmbedError('UnknownModel', `unknown model ${JSON.stringify(options.model)}; this model file offers: ${names.join(', ')}`);
  }

  const compileStart = performance.now();
  const { wasm, threads } = await instantiate(id, options);
  initOptions = options;
  const compileMs = performance.now() - compileStart;

  const downloadStart = performance.now();
  const { bytes, verified, fromCache } = await modelBytes(id, options.modelUrl, m, options.cache !== false);
  const modelMs = performance.now() - downloadStart;

  report(id, { status: 'plan', file: options.modelUrl });
  const planStart = performance.now();
  model = new bindings.FaceNetModel(bytes, { model: options.model, manifest, verifyHash: !verified });
  const planMs = performance.now() - planStart;
  // One embedding of a blank crop during the load: the first run of a plan allocates its
  // scratch space and warms V8's code for it (~185 ms more than the next), a cost that would
  // otherwise land on the user's first face.
  const warmStart = performance.now();
  model.embedRgba(new Uint8Array(160 * 160 * 4).fill(128), 160, 160);
  const warmMs = performance.now() - warmStart;
  info = { modelName: model.modelName, modelVersion: model.modelVersion, dimension: model.dimension };
  if (options.detector) await ensureDetector(id);
  report(id, { status: 'ready', file: options.modelUrl, fromCache });
  return { ...info, fromCache, wasm, threads, threadsError, maxMemoryMB, timings: { compileMs, modelMs, planMs, warmMs, totalMs: performance.now() - start } };
}

/**
 * The face detector, loaded like the model (cached by hash, checked, typed errors) the first
 * time it is needed; a failed load is forgotten so the next request tries again.
 * @param {number} id
 */
function ensureDetector(id) {
  if (!detectorLoad) {
    detectorLoad = loadDetector(id).catch((error) => {
      detectorLoad = null;
      throw error;
    });
  }
  return detectorLoad;
}

/** @param {number} id */
async function loadDetector(id) {
  const options = /** @type {WorkerInit} */ (initOptions);
  if (!bindings) throw new FaceEmbedError('ModelLoadError', 'the wasm module is not loaded');
  const manifest = await fetchManifest(options.detectorManifestUrl, 'a detector manifest');
  const { bytes, verified } = await modelBytes(id, options.detectorUrl, manifest, options.cache !== false);
  report(id, { status: 'plan', file: options.detectorUrl });
  return new bindings.FaceDetectorModel(bytes, { ...options.detectorOptions, manifest, verifyHash: !verified });
}

/**
 * The input's pixels or bytes, and which of the model's two entry points takes them.
 * @template T
 * @param {WorkerInput} input
 * @param {(bytes: Uint8Array) => T} encoded
 * @param {(rgba: Uint8ClampedArray, width: number, height: number) => T} pixels
 * @returns {Promise<T>}
 */
async function withInput(input, encoded, pixels) {
  switch (input.kind) {
    case 'blob':
      return encoded(new Uint8Array(await input.blob.arrayBuffer()));
    case 'url':
      return encoded(await fetchInput(input.url, input.headers));
    case 'imagedata':
      return pixels(input.imageData.data, input.imageData.width, input.imageData.height);
    case 'bitmap': {
      const { width, height } = input.bitmap;
      const canvas = new OffscreenCanvas(width, height);
      const context = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d'));
      context.drawImage(input.bitmap, 0, 0);
      return pixels(context.getImageData(0, 0, width, height).data, width, height);
    }
    default:
      throw new FaceEmbedError('InvalidInput', `unknown input kind ${JSON.stringify(/** @type {any} */ (input).kind)}`);
  }
}

/**
 * @param {WorkerInput} input
 */
async function embed(input) {
  if (!model || !info) throw new FaceEmbedError('ModelLoadError', 'the model is not loaded');
  const start = performance.now();
  /** @type {Float32Array} */
  const embedding = await withInput(input, (bytes) => model.embedImage(bytes), (rgba, w, h) => model.embedRgba(rgba, w, h));
  return { embedding, dimension: info.dimension, model: info.modelName, modelVersion: info.modelVersion, elapsedMs: performance.now() - start };
}

/**
 * Several crops at once (the pool groups them for a threaded worker): one result per input,
 * `{ok: true, value}` as embed() answers or `{ok: false, error}`, so a bad crop fails alone.
 * @param {WorkerInput[]} inputs
 */
async function embedMany(inputs) {
  if (!model || !info) throw new FaceEmbedError('ModelLoadError', 'the model is not loaded');
  const start = performance.now();
  /** @type {(Uint8Array | {rgba: Uint8ClampedArray, width: number, height: number} | {error: unknown})[]} */
  const crops = await Promise.all(inputs.map((input) =>
    withInput(input, (bytes) => /** @type {Uint8Array | {rgba: Uint8ClampedArray, width: number, height: number}} */ (bytes),
      (rgba, width, height) => ({ rgba, width, height })).catch((error) => ({ error }))));
  const runnable = crops.filter((c) => !('error' in c));
  /** @type {(Float32Array | Error)[]} */
  const outputs = model.embedBatch(runnable);
  const elapsedMs = performance.now() - start;
  const { modelName, modelVersion, dimension } = info;
  let next = 0;
  return crops.map((crop) => {
    const output = 'error' in crop ? crop.error : outputs[next++];
    return output instanceof Float32Array
      ? { ok: true, value: { embedding: output, dimension, model: modelName, modelVersion, elapsedMs } }
      : { ok: false, error: toWire(output, 'InferenceError') };
  });
}

/**
 * Faces of a photo, each with its aligned crop as a bitmap, a JPEG blob and pixels.
 * @param {number} id
 * @param {WorkerInput} input
 */
async function detect(id, input) {
  const detector = await ensureDetector(id);
  const start = performance.now();
  /** @type {{width: number, height: number, faces: any[]}} */
  const found = await withInput(input, (bytes) => detector.detectImage(bytes), (rgba, w, h) => detector.detectRgba(rgba, w, h));
  const faces = await Promise.all(found.faces.map(async (/** @type {any} */ face) => {
    const { width, height, rgba, jpeg } = face.crop;
    const imageData = new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength), width, height);
    const bitmap = await createImageBitmap(imageData);
    return { ...face, crop: { width, height, bitmap, blob: new Blob([jpeg], { type: 'image/jpeg' }), imageData } };
  }));
  return { width: found.width, height: found.height, faces, elapsedMs: performance.now() - start };
}

/**
 * A crop on the backend, fetched with the user's token.
 * @param {string} url
 * @param {Record<string, string>} headers
 */
async function fetchInput(url, headers) {
  let response;
  try {
    response = await fetch(url, { headers });
  } catch (error) {
    throw new FaceEmbedError('FetchError', `GET ${url} failed: ${error}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new FaceEmbedError('Unauthorized', `GET ${url}: HTTP ${response.status}; check the token`);
  }
  if (response.status === 404) throw new FaceEmbedError('CropNotFound', `GET ${url}: HTTP 404`);
  if (!response.ok) throw new FaceEmbedError('FetchError', `GET ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function stats() {
  const perf = /** @type {{memory?: {usedJSHeapSize: number}}} */ (/** @type {unknown} */ (performance));
  return { wasmMemoryBytes: memory ? memory.buffer.byteLength : 0, jsHeapBytes: perf.memory?.usedJSHeapSize ?? null };
}
