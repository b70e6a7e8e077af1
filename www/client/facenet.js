// FaceEmbedder: FaceNet embeddings in a pool of module workers.
//
//   import { FaceEmbedder } from './facenet.js';
//   const embedder = await FaceEmbedder.create({ model: 'facenet', onProgress: console.log });
//   const { embedding, dimension, model, modelVersion } = await embedder.embed(file);
//   const results = await embedder.embedBatch(files, { onProgress: ({ done, total }) => {} });
//   const faces = await embedder.embedFaces(photo);   // [{box, score, landmarks, crop, embedding, …}]
//   embedder.terminate();
//
// No bundler needed; with one, pass the URLs (workerUrl, bindingsUrl, wasmUrl, relaxedWasmUrl,
// modelUrl, manifestUrl, detectorUrl, detectorManifestUrl) if it moves files. Needs only 'wasm-unsafe-eval' beyond 'self' in a
// CSP: the workers load from real URLs, never blob: or eval.

import { authorization } from './api.js';
import { BUILD_MAX_MEMORY_MB, CACHE_NAME, FaceEmbedError, fromWire } from './protocol.js';
import { EMBEDDER_NEEDS, missingFeatures, unsupported } from './support.js';

export { FaceEmbedError, ERROR_CODES, CACHE_NAME, BUILD_MAX_MEMORY_MB } from './protocol.js';
export { FEATURES, missingFeatures, unsupported } from './support.js';

/** @typedef {import('./protocol.js').ErrorCode} ErrorCode */
/** @typedef {import('./protocol.js').Progress} Progress */
/** @typedef {import('./protocol.js').WorkerInput} WorkerInput */
/** @typedef {import('./protocol.js').FromWorker} FromWorker */
/** @typedef {import('./protocol.js').DetectedFace} DetectedFace */

/**
 * What can be embedded: encoded image bytes (File, Blob, ArrayBuffer, a typed array), decoded
 * pixels (ImageBitmap, ImageData), or the URL of a crop on the backend (`{url}` objects may add
 * headers; `token` of the options adds `Authorization: Bearer …`).
 * @typedef {Blob | ArrayBuffer | ArrayBufferView | ImageBitmap | ImageData | string | URL
 *   | {url: string | URL, headers?: Record<string, string>}} EmbedInput
 */

/**
 * @typedef {object} Embedding
 * @property {Float32Array} embedding unit-length vector
 * @property {number} dimension its length (128 for `facenet`, 512 for `facenet512`)
 * @property {string} model the model name
 * @property {string} modelVersion first 12 hex digits of the weights' sha256
 * @property {number} elapsedMs time spent in the worker
 */

/**
 * @typedef {{index: number, ok: true} & Embedding | {index: number, ok: false, error: FaceEmbedError}} BatchResult
 */

/** @typedef {DetectedFace & Embedding} EmbeddedFace a face with the vector of its aligned crop */

/**
 * @template T
 * @typedef {{index: number, ok: true, faces: T[]} | {index: number, ok: false, error: FaceEmbedError}} PhotoResult
 */

/**
 * @template R
 * @typedef {{onProgress?: (p: {done: number, total: number, failed: number, result: R}) => void, timeoutMs?: number}} BatchOptions
 */

/**
 * @typedef {object} FaceEmbedderOptions
 * @property {string} [model] 'facenet' (128-d, default) or 'facenet512'
 * @property {number} [workers] pool size; default: one worker with a thread per core where the
 *   threaded build runs, else navigator.hardwareConcurrency, at most 4. Workers × threads never
 *   exceed the cores.
 * @property {number | 'auto'} [threads] rayon threads per worker for the threaded build (one
 *   shared memory: the weights are held once; each face's matrix products split across the
 *   threads). 'auto' (default): the cores divided among the workers, at most 8, where the page is
 *   cross-origin isolated (`crossOriginIsolated`: COOP/COEP headers, which facenet-server sends);
 *   0 or 1: the single-threaded build. Where the threaded build cannot start, the worker falls
 *   back to the single-threaded one and the pool grows to the single-threaded size.
 * @property {number} [threadsTimeoutMs] how long the threads may take to start before a worker
 *   falls back to the single-threaded build (default 10000)
 * @property {number} [maxMemoryMB] the threaded build's memory maximum per worker, in MB, which
 *   the browser reserves when the worker starts (default and bounds: `threadLimits`); the
 *   single-threaded builds grow their memory as needed and reserve nothing
 * @property {string | URL} [threadsBindingsUrl] default: ../../pkg/threads/facenet_wasm.js
 * @property {string | URL} [threadsWasmUrl] default: ../../pkg/threads/facenet_wasm_bg.wasm
 * @property {number} [timeoutMs] per request, once it reaches a worker (default 30000)
 * @property {number} [loadTimeoutMs] for a worker to load the model (default 180000)
 * @property {(progress: Progress) => void} [onProgress] download, compile and plan stages
 * @property {string} [token] bearer token for URL inputs
 * @property {boolean} [cache] keep the model in the Cache API (default true)
 * @property {string | URL} [workerUrl] default: worker.js beside this file
 * @property {string | URL} [bindingsUrl] default: ../../pkg/facenet_wasm.js
 * @property {string | URL} [wasmUrl] default: ../../pkg/facenet_wasm_bg.wasm (SIMD128)
 * @property {string | URL | null} [relaxedWasmUrl] the same module built with relaxed SIMD
 *   (fused multiply-add: 102 instead of 121 ms per face in Chromium 156), used where the browser
 *   has it; default: ../../pkg/facenet_wasm_relaxed_bg.wasm, or none when `wasmUrl` is given without
 *   it; null: never
 * @property {string | URL} [modelUrl] default: ../../models/facenet.onnx
 * @property {string | URL} [manifestUrl] default: ../../models/facenet.json
 * @property {boolean} [detector] load the face detector in every worker at start (default: each
 *   worker loads it on its first detect(); it is 1.7 MB, cached like the model)
 * @property {string | URL} [detectorUrl] default: ../../models/retinaface.onnx
 * @property {string | URL} [detectorManifestUrl] default: ../../models/retinaface.json
 * @property {number} [maxSide] photos are scaled down to this long side before detection
 *   (default 3200: faces of ~25 px in a 4000×3000 photo are found; work grows with its square)
 * @property {number} [minScore] lowest face score kept (default 0.6)
 */

/**
 * @typedef {object} LoadStats
 * @property {boolean} fromCache
 * @property {import('./protocol.js').WasmBuild} wasm
 * @property {number} threads
 * @property {string | null} threadsError
 * @property {number | null} maxMemoryMB the threaded build's memory maximum (threadLimits); null
 *   for the single-threaded builds, whose memory has none
 * @property {import('./protocol.js').LoadTimings} timings
 */

/**
 * One request in the queue, or (op 'embedMany') several embeddings sent to a threaded worker
 * together, whose answer is one result per member.
 * @typedef {object} Job
 * @property {'embed' | 'detect' | 'embedMany'} op
 * @property {WorkerInput | WorkerInput[]} input
 * @property {(value: any) => void} resolve
 * @property {(error: FaceEmbedError) => void} reject
 * @property {number} attempts how many workers died on it so far
 * @property {number} timeoutMs
 * @property {Job[]} [members] the requests of an 'embedMany'
 */

/**
 * @typedef {object} Slot
 * @property {number} index
 * @property {Worker} worker
 * @property {boolean} ready
 * @property {number} capacity embeddings it takes at once: its threads in the threaded build, else 1
 * @property {Job | null} job
 * @property {number} requestId
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 * @property {Map<number, {resolve: (v: any) => void, reject: (e: FaceEmbedError) => void}>} calls
 */

const here = import.meta.url;

const cores = () => Math.max(navigator.hardwareConcurrency || 1, 1);

/**
 * Threads per worker: the cores divided among the workers (at most 8 with 'auto', and only where
 * the page can share memory), or what was asked if that is fewer; below 2 the single-threaded
 * build runs.
 * @param {FaceEmbedderOptions} options
 */
function threadsPerWorker(options) {
  const asked = options.threads ?? 'auto';
  const share = Math.min(threadLimits().threads, Math.floor(cores() / Math.max(1, options.workers ?? 1)));
  if (asked !== 'auto') return Math.max(0, Math.min(Math.floor(asked), share));
  return globalThis.crossOriginIsolated ? Math.min(8, share) : 0;
}

/**
 * The threaded build's limits on this device, sized so that a 2 GB tablet is not pushed over.
 * A shared wasm memory reserves its maximum when it is made (iOS kills a tab that reserves too
 * much; a 32-bit or small Android device fails the allocation), so its maximum is a quarter of
 * the device's memory where the browser says (`navigator.deviceMemory`: Chromium, in steps of
 * 0.25–8 GB), between 512 MB (a worker with FaceNet, the detector and a 12-megapixel photo peaks
 * near 400 MB) and the build's 1024 MB; 1024 MB where the browser does not say. Threads: at most
 * 8, at most 2 on a device of 2 GB or less (each thread is a Web Worker of its own).
 * `maxMemoryMB` overrides the memory, within 512 MB and the build's maximum.
 *
 *   threadLimits()                    // { maxMemoryMB: 512, threads: 2 } on a 2 GB tablet
 *   threadLimits({ maxMemoryMB: 768 }) // { maxMemoryMB: 768, threads: … }
 * @param {{ maxMemoryMB?: number }} [options]
 * @param {{ deviceMemory?: number }} [device] what the browser says (default: navigator)
 * @returns {{ maxMemoryMB: number, threads: number }}
 */
export function threadLimits(options = {}, device = /** @type {{ deviceMemory?: number }} */ (globalThis.navigator ?? {})) {
  const gb = typeof device.deviceMemory === 'number' && device.deviceMemory > 0 ? device.deviceMemory : null;
  const wanted = options.maxMemoryMB ?? (gb === null ? BUILD_MAX_MEMORY_MB : (gb * 1024) / 4);
  return {
    maxMemoryMB: Math.round(Math.min(BUILD_MAX_MEMORY_MB, Math.max(512, wanted))),
    threads: gb !== null && gb <= 2 ? 2 : 8,
  };
}

/** @param {string | URL | undefined} url @param {string} fallback */
const resolveUrl = (url, fallback) => new URL(url ?? fallback, here).href;

/** Embeds face crops in Web Workers; create with {@link FaceEmbedder.create}. */
export class FaceEmbedder {
  /** @type {Slot[]} */
  #slots = [];
  /** @type {Job[]} */
  #queue = [];
  #nextId = 1;
  #terminated = false;
  /** @type {Required<Pick<FaceEmbedderOptions, 'timeoutMs' | 'loadTimeoutMs'>> & FaceEmbedderOptions} */
  #options;
  /** @type {import('./protocol.js').WorkerInit} */
  #init;
  /** Filled by the first worker to load: model name, version, dimension. */
  info = { modelName: '', modelVersion: '', dimension: 0 };
  /**
   * Load figures of the first worker: {compileMs, modelMs, planMs, warmMs, totalMs}, fromCache,
   * which build of the module it runs ('threads', 'relaxed-simd' or 'simd128'), its threads (1
   * unless 'threads') and, when threads were asked for and are not running, why (`threadsError`).
   * @type {LoadStats}
   */
  loadStats = { fromCache: false, wasm: 'simd128', threads: 1, threadsError: null, maxMemoryMB: null, timings: { compileMs: 0, modelMs: 0, planMs: 0, warmMs: 0, totalMs: 0 } };
  /** How many workers were replaced after a crash or a timeout. */
  restarts = 0;
  /** Workers that died while loading, in a row: past 3, stop replacing them. */
  #deadOnLoad = 0;

  /** @param {FaceEmbedderOptions} options */
  constructor(options) {
    this.#options = { timeoutMs: 30000, loadTimeoutMs: 180000, ...options };
    this.#init = {
      bindingsUrl: resolveUrl(options.bindingsUrl, '../../pkg/facenet_wasm.js'),
      wasmUrl: resolveUrl(options.wasmUrl, '../../pkg/facenet_wasm_bg.wasm'),
      // A wasmUrl of its own means the files moved: no guessing where the relaxed build went.
      relaxedWasmUrl: options.relaxedWasmUrl === null || (options.relaxedWasmUrl === undefined && options.wasmUrl)
        ? null
        : resolveUrl(options.relaxedWasmUrl ?? undefined, '../../pkg/facenet_wasm_relaxed_bg.wasm'),
      modelUrl: resolveUrl(options.modelUrl, '../../models/facenet.onnx'),
      manifestUrl: resolveUrl(options.manifestUrl, '../../models/facenet.json'),
      model: options.model ?? 'facenet',
      cache: options.cache ?? true,
      detectorUrl: resolveUrl(options.detectorUrl, '../../models/retinaface.onnx'),
      detectorManifestUrl: resolveUrl(options.detectorManifestUrl, '../../models/retinaface.json'),
      detector: options.detector ?? false,
      detectorOptions: { maxSide: options.maxSide, minScore: options.minScore },
      threads: threadsPerWorker(options),
      threadsTimeoutMs: options.threadsTimeoutMs,
      maxMemoryMB: threadLimits(options).maxMemoryMB,
      threadsBindingsUrl: resolveUrl(options.threadsBindingsUrl, '../../pkg/threads/facenet_wasm.js'),
      threadsWasmUrl: resolveUrl(options.threadsWasmUrl, '../../pkg/threads/facenet_wasm_bg.wasm'),
    };
  }

  /**
   * Starts the pool and resolves once the first worker has the model (downloading it once;
   * the other workers then load it from the cache). Rejects with `ModelLoadError` or
   * `UnknownModel` if the model cannot be loaded, and with `BrowserUnsupported` (before anything
   * downloads) where the browser lacks what the models need (support.js).
   * @param {FaceEmbedderOptions} [options]
   * @returns {Promise<FaceEmbedder>}
   */
  static async create(options = {}) {
    const missing = missingFeatures(EMBEDDER_NEEDS);
    if (missing.length > 0) throw unsupported(missing);
    const embedder = new FaceEmbedder(options);
    const threads = embedder.#init.threads ?? 0;
    try {
      await embedder.#spawn(0);
    } catch (error) {
      embedder.terminate();
      throw error;
    }
    // The threaded build is decided in the worker: where it fell back, size the pool for the
    // single-threaded build instead.
    const threaded = embedder.loadStats.wasm === 'threads';
    const size = options.workers ?? (threaded ? Math.max(1, Math.floor(cores() / threads)) : Math.min(cores(), 4));
    if (!threaded) embedder.#init = { ...embedder.#init, threads: 0 };
    for (let i = 1; i < size; i++) {
      embedder.#spawn(i).catch((error) => console.warn(`facenet-wasm: worker ${i} failed to start`, error));
    }
    return embedder;
  }

  /** Model name the vectors are tagged with. */
  get model() { return this.info.modelName; }
  /** Weights version the vectors are tagged with. */
  get modelVersion() { return this.info.modelVersion; }
  /** Vector length. */
  get dimension() { return this.info.dimension; }
  /** Number of live workers. */
  get workers() { return this.#slots.filter((s) => s.ready).length; }

  /**
   * Embeds one face crop.
   * @param {EmbedInput} input
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<Embedding>}
   */
  embed(input, options = {}) {
    return this.#enqueue('embed', input, options);
  }

  /**
   * Finds the faces of a photo (File/Blob, bytes, ImageBitmap, ImageData or URL): box, score,
   * five landmarks in the photo's pixels (EXIF orientation applied), and the aligned 160×160
   * crop as an ImageBitmap, a JPEG Blob to upload and ImageData. Best score first; a photo
   * without faces gives []. The detector is loaded on first use (or at start with
   * `detector: true`).
   * @param {EmbedInput} input
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<DetectedFace[]>}
   */
  async detect(input, options = {}) {
    const found = await this.#enqueue('detect', input, options);
    return found.faces;
  }

  /**
   * Finds the faces of a photo and embeds each aligned crop, spread over the pool.
   * @param {EmbedInput} input
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<EmbeddedFace[]>}
   */
  async embedFaces(input, options = {}) {
    const faces = await this.detect(input, options);
    const vectors = await Promise.all(faces.map((face) => this.embed(face.crop.imageData, options)));
    return faces.map((face, i) => ({ ...face, ...vectors[i] }));
  }

  /**
   * detect() for many photos; one bad photo fails alone, in its own slot.
   * @param {EmbedInput[]} inputs
   * @param {BatchOptions<PhotoResult<DetectedFace>>} [options]
   * @returns {Promise<PhotoResult<DetectedFace>[]>}
   */
  detectBatch(inputs, options = {}) {
    return this.#batch(inputs, async (input, index) => ({ index, ok: true, faces: await this.detect(input, options) }), options);
  }

  /**
   * embedFaces() for many photos; one bad photo fails alone, in its own slot.
   * @param {EmbedInput[]} inputs
   * @param {BatchOptions<PhotoResult<EmbeddedFace>>} [options]
   * @returns {Promise<PhotoResult<EmbeddedFace>[]>}
   */
  embedFacesBatch(inputs, options = {}) {
    return this.#batch(inputs, async (input, index) => ({ index, ok: true, faces: await this.embedFaces(input, options) }), options);
  }

  /**
   * The next request for a worker that takes `capacity` embeddings at once: with more
   * embeddings queued, up to `capacity` of them as one group, which the threaded build runs a
   * whole crop per thread (a lone request instead splits its products across the threads).
   * Requests that already crashed a worker go alone.
   * @param {number} capacity
   * @returns {Job}
   */
  #take(capacity) {
    const first = /** @type {Job} */ (this.#queue.shift());
    const fresh = (/** @type {Job} */ job) => job.op === 'embed' && job.attempts === 0;
    if (capacity < 2 || !fresh(first)) return first;
    const members = [first];
    for (let i = 0; i < this.#queue.length && members.length < capacity;) {
      if (fresh(this.#queue[i])) members.push(...this.#queue.splice(i, 1));
      else i++;
    }
    if (members.length === 1) return first;
    return {
      op: 'embedMany',
      input: members.map((m) => /** @type {WorkerInput} */ (m.input)),
      members,
      attempts: 0,
      timeoutMs: Math.max(...members.map((m) => m.timeoutMs)),
      resolve: (/** @type {({ok: true, value: any} | {ok: false, error: import('./protocol.js').WireError})[]} */ results) =>
        results.forEach((r, i) => (r.ok ? members[i].resolve(r.value) : members[i].reject(fromWire(r.error)))),
      reject: (error) => members.forEach((m) => m.reject(error)),
    };
  }

  /**
   * @param {'embed' | 'detect'} op
   * @param {EmbedInput} input
   * @param {{timeoutMs?: number}} options
   * @returns {Promise<any>}
   */
  #enqueue(op, input, options) {
    return new Promise((resolve, reject) => {
      if (this.#terminated) {
        reject(new FaceEmbedError('Cancelled', 'the embedder was terminated'));
        return;
      }
      let wire;
      try {
        wire = this.#toWorkerInput(input);
      } catch (error) {
        reject(error);
        return;
      }
      this.#queue.push({ op, input: wire, resolve, reject, attempts: 0, timeoutMs: options.timeoutMs ?? this.#options.timeoutMs });
      this.#pump();
    });
  }

  /**
   * Embeds many crops across the pool. Never rejects for one bad item: each result says
   * `ok` with its vector, or carries its own error.
   * @param {EmbedInput[]} inputs
   * @param {{onProgress?: (p: {done: number, total: number, failed: number, result: BatchResult}) => void, timeoutMs?: number}} [options]
   * @returns {Promise<BatchResult[]>}
   */
  embedBatch(inputs, options = {}) {
    return this.#batch(inputs, async (input, index) => ({ index, ok: true, ...(await this.embed(input, options)) }), options);
  }

  /**
   * Runs `work` on every input across the pool: each result is `ok` or carries its own error.
   * @template {{index: number, ok: boolean}} R
   * @param {EmbedInput[]} inputs
   * @param {(input: EmbedInput, index: number) => Promise<R>} work
   * @param {BatchOptions<R | {index: number, ok: false, error: FaceEmbedError}>} options
   * @returns {Promise<(R | {index: number, ok: false, error: FaceEmbedError})[]>}
   */
  async #batch(inputs, work, options) {
    let done = 0;
    let failed = 0;
    return Promise.all(inputs.map(async (input, index) => {
      /** @type {R | {index: number, ok: false, error: FaceEmbedError}} */
      let result;
      try {
        result = await work(input, index);
      } catch (error) {
        failed++;
        result = { index, ok: false, error: /** @type {FaceEmbedError} */ (error) };
      }
      done++;
      options.onProgress?.({ done, total: inputs.length, failed, result });
      return result;
    }));
  }

  /**
   * Memory of each live worker: wasm linear memory and, where the browser tells, JS heap.
   * @returns {Promise<{wasmMemoryBytes: number, jsHeapBytes: number | null}[]>}
   */
  async stats() {
    return Promise.all(this.#slots.filter((s) => s.ready).map((s) => this.#call(s, { type: 'stats' })));
  }

  /** Deletes the cached model files (the next load downloads them again). */
  static async clearCache() {
    return typeof caches === 'undefined' ? false : caches.delete(CACHE_NAME);
  }

  /** Same as the static {@link FaceEmbedder.clearCache}. */
  clearCache() {
    return FaceEmbedder.clearCache();
  }

  /** Stops every worker; pending requests reject with `Cancelled`. */
  terminate() {
    this.#terminated = true;
    const cancelled = () => new FaceEmbedError('Cancelled', 'the embedder was terminated');
    for (const slot of this.#slots) {
      clearTimeout(slot.timer);
      slot.worker.terminate();
      slot.job?.reject(cancelled());
      for (const call of slot.calls.values()) call.reject(cancelled());
    }
    for (const job of this.#queue.splice(0)) job.reject(cancelled());
    this.#slots = [];
  }

  /**
   * @param {EmbedInput} input
   * @returns {WorkerInput}
   */
  #toWorkerInput(input) {
    // Inputs are kept until answered, for one retry on another worker: bytes become an
    // immutable Blob (one copy) rather than a transferred buffer the caller would lose.
    if (input instanceof Blob) return { kind: 'blob', blob: input };
    if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) return { kind: 'blob', blob: new Blob([/** @type {BlobPart} */ (input)]) };
    if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) return { kind: 'bitmap', bitmap: input };
    if (typeof ImageData !== 'undefined' && input instanceof ImageData) return { kind: 'imagedata', imageData: input };
    /** @type {Record<string, string>} */
    const headers = this.#options.token ? authorization(this.#options.token) : {};
    if (typeof input === 'string' || input instanceof URL) return { kind: 'url', url: new URL(input, location.href).href, headers };
    if (input && typeof input === 'object' && 'url' in input) {
      return { kind: 'url', url: new URL(input.url, location.href).href, headers: { ...headers, ...input.headers } };
    }
    throw new FaceEmbedError('InvalidInput', 'embed() takes a File/Blob, ArrayBuffer, typed array, ImageBitmap, ImageData or URL');
  }

  /**
   * Starts (or restarts) worker `index` and loads the model in it.
   * @param {number} index
   */
  async #spawn(index) {
    const worker = new Worker(resolveUrl(this.#options.workerUrl, './worker.js'), { type: 'module', name: `facenet-${index}` });
    /** @type {Slot} */
    const slot = { index, worker, ready: false, capacity: 1, job: null, requestId: 0, timer: undefined, calls: new Map() };
    this.#slots[index] = slot;
    worker.onmessage = (event) => this.#onMessage(slot, /** @type {FromWorker} */ (event.data));
    worker.onerror = (event) => {
      event.preventDefault();
      this.#replace(slot, 'WorkerCrashed', `worker ${index} crashed: ${event.message}`);
    };
    const loadTimer = setTimeout(
      () => this.#replace(slot, 'Timeout', `worker ${index} did not load the model in ${this.#options.loadTimeoutMs} ms`),
      this.#options.loadTimeoutMs);
    try {
      const loaded = await this.#call(slot, { type: 'init', options: this.#init });
      if (!this.info.modelName) {
        this.info = { modelName: loaded.modelName, modelVersion: loaded.modelVersion, dimension: loaded.dimension };
        this.loadStats = { fromCache: loaded.fromCache, wasm: loaded.wasm, threads: loaded.threads,
          threadsError: loaded.threadsError, maxMemoryMB: loaded.maxMemoryMB, timings: loaded.timings };
      }
      slot.capacity = loaded.wasm === 'threads' ? loaded.threads : 1;
      slot.ready = true;
    } finally {
      clearTimeout(loadTimer);
    }
    this.#pump();
  }

  /**
   * A request that is not an embedding (init, stats): answered by id.
   * @param {Slot} slot
   * @param {{type: 'init', options: import('./protocol.js').WorkerInit} | {type: 'stats'}} message
   * @returns {Promise<any>}
   */
  #call(slot, message) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.calls.set(id, { resolve, reject });
      slot.worker.postMessage({ ...message, id });
    });
  }

  /**
   * @param {Slot} slot
   * @param {FromWorker} msg
   */
  #onMessage(slot, msg) {
    if (this.#slots[slot.index] !== slot) return; // a replaced worker's late answer
    if (msg.type === 'progress') {
      if (!this.info.modelName) this.#options.onProgress?.({ ...msg.progress, worker: slot.index });
      return;
    }
    const call = slot.calls.get(msg.id);
    if (call) {
      slot.calls.delete(msg.id);
      if (msg.ok) call.resolve(msg.value);
      else call.reject(fromWire(msg.error));
      return;
    }
    if (msg.id !== slot.requestId || !slot.job) return;
    clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = null;
    if (msg.ok) {
      job.resolve(msg.value);
    } else if (msg.fatal) {
      slot.job = job; // the replacement retries it
      this.#replace(slot, 'WorkerCrashed', msg.error.message);
      return;
    } else {
      job.reject(fromWire(msg.error));
    }
    this.#pump();
  }

  /**
   * Terminates a crashed or hung worker, starts another in its place, and gives its job one
   * more try (then fails it with `code`).
   * @param {Slot} slot
   * @param {ErrorCode} code
   * @param {string} message
   */
  #replace(slot, code, message) {
    if (this.#slots[slot.index] !== slot || this.#terminated) return;
    clearTimeout(slot.timer);
    slot.worker.terminate();
    const wasReady = slot.ready;
    slot.ready = false;
    this.restarts++;
    const error = new FaceEmbedError(code, message);
    for (const call of slot.calls.values()) call.reject(error);
    // A group goes back as its members, each retried alone: one poisoned crop cannot take the
    // others down with it twice.
    for (const job of (slot.job?.members ?? (slot.job ? [slot.job] : [])).reverse()) {
      job.attempts++;
      if (job.attempts <= 1) this.#queue.unshift(job);
      else job.reject(new FaceEmbedError(code, `${message} (after one retry on a fresh worker)`));
    }
    this.#deadOnLoad = wasReady ? 0 : this.#deadOnLoad + 1;
    if (this.#deadOnLoad > 3) {
      // Workers die while loading: more of them will not help.
      if (!this.#slots.some((s) => s.ready)) for (const queued of this.#queue.splice(0)) queued.reject(error);
      return;
    }
    this.#spawn(slot.index).catch((e) => {
      console.warn(`facenet-wasm: replacing worker ${slot.index} failed`, e);
      // With no worker left, queued work can never run: fail it rather than hang.
      if (!this.#slots.some((s) => s.ready)) for (const queued of this.#queue.splice(0)) queued.reject(e);
    });
  }

  #pump() {
    for (const slot of this.#slots) {
      if (!this.#queue.length) return;
      if (!slot || !slot.ready || slot.job) continue;
      const job = this.#take(slot.capacity);
      slot.job = job;
      slot.requestId = this.#nextId++;
      slot.timer = setTimeout(
        () => this.#replace(slot, 'Timeout', `worker ${slot.index} took longer than ${job.timeoutMs} ms`),
        job.timeoutMs);
      slot.worker.postMessage({ type: job.op, id: slot.requestId, input: job.input });
    }
  }
}
