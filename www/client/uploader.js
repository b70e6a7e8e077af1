// EmbeddingUploader: posts vectors (never pixels) to the backend, and loses none of them.
//
//   const uploader = new EmbeddingUploader({ baseUrl: '', token, onRejected: console.warn });
//   await uploader.enqueue({ cropId: 253, model, modelVersion, embedding });
//
// Every vector is first written to IndexedDB, then sent; it leaves IndexedDB only when the
// server took it (2xx) or refused it for good (4xx other than 401/403, reported with the
// server's error_type). Network errors and 5xx are retried with exponential backoff; what is
// still unsent waits for the next flush(), the browser's 'online' event, or the next page load.
// When the page learns that crops were erased (an erasure's answer names them), forgetCrops()
// drops whatever vectors of them are still queued: nothing of an erased pupil stays on the device.

import { ERROR_CODES, FaceEmbedError, apiPath } from './protocol.js';

/** @typedef {import('./protocol.js').ErrorCode} ErrorCode */

/**
 * @typedef {object} PendingVector
 * @property {number} cropId
 * @property {string} model
 * @property {string} modelVersion
 * @property {number[]} embedding
 * @property {boolean} [forceRegenerate]
 */

/**
 * @typedef {object} Rejection
 * @property {number} cropId
 * @property {number} status HTTP status
 * @property {ErrorCode} errorType the server's `error_type`
 * @property {string} message the server's message
 */

/**
 * @typedef {object} UploaderOptions
 * @property {string} [baseUrl] origin and prefix of the backend, '' for this origin
 * @property {string} token bearer token
 * @property {string} [dbName] IndexedDB database (default 'facenet-wasm-uploads')
 * @property {number} [retries] attempts per vector per flush on network errors and 5xx (default 5)
 * @property {number} [backoffMs] first retry delay, doubled each time (default 500)
 * @property {(rejection: Rejection) => void} [onRejected] a vector the server refused
 * @property {(response: any, vector: PendingVector) => void} [onUploaded] a vector the server stored
 */

const STORE = 'pending';
const DEFAULT_DB = 'facenet-wasm-uploads';

/**
 * The queue's database (created on first use).
 * @param {string} dbName
 * @returns {Promise<IDBDatabase>}
 */
function openQueue(dbName) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'key' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @param {IDBRequest | IDBTransaction} request */
function done(request) {
  return new Promise((resolve, reject) => {
    if ('oncomplete' in request) {
      request.oncomplete = () => resolve(undefined);
      request.onerror = () => reject(request.error);
      request.onabort = () => reject(request.error);
    } else {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class EmbeddingUploader {
  /** @type {Required<Omit<UploaderOptions, 'onRejected' | 'onUploaded'>> & UploaderOptions} */
  #options;
  /** @type {Promise<IDBDatabase> | null} */
  #db = null;
  /** @type {Promise<{uploaded: number, rejected: number, pending: number}> | null} */
  #flushing = null;
  /** Set by every flush() call; cleared when a pass starts. */
  #again = false;
  #onOnline = () => { this.flush().catch(() => {}); };

  /** @param {UploaderOptions} options */
  constructor(options) {
    this.#options = { baseUrl: '', dbName: DEFAULT_DB, retries: 5, backoffMs: 500, ...options };
    if (typeof addEventListener === 'function') addEventListener('online', this.#onOnline);
  }

  /** @returns {Promise<IDBDatabase>} */
  #open() {
    this.#db ??= openQueue(this.#options.dbName);
    return this.#db;
  }

  /**
   * Stores a vector durably, then tries to send everything pending.
   * @param {{cropId: number, model: string, modelVersion: string, embedding: ArrayLike<number>, forceRegenerate?: boolean}} vector
   */
  async enqueue(vector) {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readwrite');
    // One pending vector per crop and model: a newer one replaces an unsent older one.
    tx.objectStore(STORE).put({ key: `${vector.cropId}:${vector.model}`, ...vector, embedding: Array.from(vector.embedding) });
    await done(tx);
    return this.flush();
  }

  /** @returns {Promise<number>} vectors not yet accepted by the server */
  async pending() {
    const db = await this.#open();
    return /** @type {Promise<number>} */ (done(db.transaction(STORE).objectStore(STORE).count()));
  }

  /**
   * Sends every pending vector (with retries). Concurrent calls share one run; a call made
   * while a pass is under way makes the run take one more pass, so a vector enqueued after the
   * pass read the queue is not left behind.
   * @returns {Promise<{uploaded: number, rejected: number, pending: number}>}
   */
  flush() {
    this.#again = true;
    this.#flushing ??= (async () => {
      let total = { uploaded: 0, rejected: 0, pending: 0 };
      while (this.#again) {
        this.#again = false;
        const pass = await this.#flushOnce();
        total = { uploaded: total.uploaded + pass.uploaded, rejected: total.rejected + pass.rejected, pending: pass.pending };
      }
      return total;
    })().finally(() => { this.#flushing = null; });
    return this.#flushing;
  }

  async #flushOnce() {
    const db = await this.#open();
    const all = /** @type {(PendingVector & {key: string})[]} */ (await done(db.transaction(STORE).objectStore(STORE).getAll()));
    let uploaded = 0;
    let rejected = 0;
    for (const vector of all) {
      const outcome = await this.#send(vector);
      if (outcome === 'uploaded' || outcome === 'rejected') {
        const tx = db.transaction(STORE, 'readwrite');
        tx.objectStore(STORE).delete(vector.key);
        await done(tx);
        if (outcome === 'uploaded') uploaded++;
        else rejected++;
      } else if (outcome === 'unauthorized' || outcome === 'offline') {
        break; // the rest would fail the same way; keep them for later
      }
    }
    return { uploaded, rejected, pending: await this.pending() };
  }

  /**
   * @param {PendingVector} vector
   * @returns {Promise<'uploaded' | 'rejected' | 'unauthorized' | 'offline'>}
   */
  async #send(vector) {
    const { baseUrl, token, retries, backoffMs } = this.#options;
    const url = `${baseUrl}${apiPath('CROP_EMBEDDING', vector.cropId)}`;
    const body = JSON.stringify({
      model_name: vector.model,
      model_version: vector.modelVersion,
      embedding: vector.embedding,
      force_regenerate: vector.forceRegenerate ?? false,
    });
    for (let attempt = 0; attempt < retries; attempt++) {
      if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
      let response;
      try {
        response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      } catch {
        continue; // network error: retry
      }
      if (response.status >= 500) continue;
      /** @type {any} */
      let json = null;
      try { json = await response.json(); } catch { /* a non-JSON error page */ }
      if (response.ok) {
        this.#options.onUploaded?.(json, vector);
        return 'uploaded';
      }
      const errorType = ERROR_CODES.includes(json?.error_type) ? json.error_type
        : response.status === 401 || response.status === 403 ? 'Unauthorized' : 'InvalidEmbedding';
      const message = typeof json?.message === 'string' ? json.message : `HTTP ${response.status}`;
      this.#options.onRejected?.({ cropId: vector.cropId, status: response.status, errorType, message });
      return response.status === 401 || response.status === 403 ? 'unauthorized' : 'rejected';
    }
    return 'offline';
  }

  /** Stops listening for 'online' and closes the database. */
  close() {
    if (typeof removeEventListener === 'function') removeEventListener('online', this.#onOnline);
    this.#db?.then((db) => db.close());
    this.#db = null;
  }
}

/**
 * Drops every queued vector (any model) of these crops: the page calls it with the crop ids an
 * erasure answered (`crop_ids` of `DELETE /people|face-crops|photos|sessions/{id}/`,
 * `erased_crop_ids` of a consent withdrawn), so that no vector of an erased face stays here.
 * @param {readonly number[]} cropIds
 * @param {string} [dbName] the uploader's `dbName`
 * @returns {Promise<number>} how many were dropped
 */
export async function forgetCrops(cropIds, dbName = DEFAULT_DB) {
  if (cropIds.length === 0) return 0;
  const erased = new Set(cropIds);
  const db = await openQueue(dbName);
  try {
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const all = /** @type {(PendingVector & {key: string})[]} */ (await done(store.getAll()));
    const gone = all.filter((v) => erased.has(v.cropId));
    for (const v of gone) store.delete(v.key);
    await done(tx);
    return gone.length;
  } finally {
    db.close();
  }
}

export { FaceEmbedError };
