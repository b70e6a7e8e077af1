// Outbox: everything a lesson sends up — photo records, face crops, vectors — written to
// IndexedDB before the first try and removed only when the server has acknowledged that very
// item, so a network blip, a closed tab, a crash or a day offline loses nothing.
//
//   const outbox = await Outbox.open({ api, databaseId: me.database_id, onSent, onAttention });
//   const photo = await outbox.addPhoto({ session: 812, filename: 'IMG_1.jpg', width: 4032, height: 3024, size: 2.1e6 });
//   const crop = await outbox.addCrop({ session: 812, photo, blob, query: { filename: 'IMG_1_0.jpg', box: '…' } });
//   await outbox.addVector({ crop, model: 'facenet', modelVersion, embedding });
//   await outbox.flush();        // also on 'online', every minute while anything waits, and at the next page load
//
// ```text
// items (IndexedDB, in the order added = the order of dependency)
//   photo  ──▶ POST /sessions/{id}/photos/                 → photo_id  ┐ kept in `sent` while a
//   crop   ──▶ POST /sessions/{id}/crops/?photo_id=…       → crop_id   ┘ child still needs the id
//   vector ──▶ POST /face-crops/embeddings-batch/ (up to 200 at a time, by model)
// ```
//
// - An item waits for its parent's server id (a crop for its photo's, a vector for its crop's).
// - Each create carries the item's own Idempotency-Key, kept with it: a retry after a lost
//   answer — in this pass, after a reload, on another day — is the same request, stored once.
// - Acknowledged means compare-and-delete: the item goes only if it is still the version that
//   was sent (a newer vector queued for the same crop meanwhile stays, and is sent next).
// - A typed rejection (the API's error_type) moves the item to "needs attention" with the
//   reason, shown to the teacher (retry or dismiss); it is never silently dropped. Transient
//   failures (network, 408, 425, 429, 5xx, a gateway's page) back off per item, so one item
//   that keeps failing never holds up the rest.
// - One outbox per backend database (`GET /me/`'s `database_id`): every pass first checks the
//   server is still that database, so nothing queued for one is sent to another (a restored
//   backup, a reset, another school's server).

import { ApiError, newKey } from './api.js';
import { missingFeatures, unsupported } from './support.js';

/** @typedef {import('./api.js').ApiClient} ApiClient */
/** @typedef {import('./contract.js').ErrorCode} ErrorCode */

/**
 * Bytes as the outbox keeps them: WebKit refuses a Blob in IndexedDB wherever its storage is
 * ephemeral (Safari's private windows, WebKitGTK under automation: "Error preparing Blob/File
 * data to be stored in object store"), so a Blob is stored as its bytes and type. Items queued
 * as Blobs by an older page are read as they are.
 * @typedef {{ bytes: ArrayBuffer, type: string }} StoredBlob
 *
 * @typedef {object} PhotoPayload
 * @property {string} filename
 * @property {Blob | StoredBlob} [file] the whole photo, when the teacher stores it
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [size]
 *
 * @typedef {object} CropPayload
 * @property {Blob | StoredBlob} blob the aligned crop (JPEG)
 * @property {Record<string, string>} query filename, box, landmarks, score (photo_id is filled in)
 *
 * @typedef {object} VectorPayload
 * @property {string} model
 * @property {string} modelVersion
 * @property {number[]} embedding
 * @property {boolean} force replace a vector the server has (the teacher asked to re-embed)
 */

/**
 * @typedef {object} Problem
 * @property {ErrorCode} code
 * @property {string} message
 * @property {number} status
 */

/**
 * @typedef {object} OutboxItem
 * @property {number} id order of adding
 * @property {'photo' | 'crop' | 'vector'} kind
 * @property {string} ref this item's name: `photo:<key>`, `crop:<key>`, `vector:<crop>:<model>`
 * @property {string | null} parent the ref whose server id it needs
 * @property {number | null} session
 * @property {number | null} cropId a vector's crop when the server has it already
 * @property {string} key its Idempotency-Key (a new one when its content changes)
 * @property {number} version
 * @property {'pending' | 'attention'} state
 * @property {number} attempts transient failures so far
 * @property {number} notBefore epoch ms: not tried again before
 * @property {Problem} [problem] why it needs attention, or the last transient failure
 * @property {PhotoPayload | CropPayload | VectorPayload} payload
 * @property {number} createdAt
 */

/**
 * @typedef {object} OutboxOptions
 * @property {ApiClient} api
 * @property {string} databaseId `GET /me/`'s `database_id`
 * @property {string} [dbName] IndexedDB database prefix (default 'facenet-wasm-outbox')
 * @property {(item: OutboxItem, serverId: number | null, answer: any) => void} [onSent] an item the server took
 * @property {(item: OutboxItem) => void} [onAttention] an item refused for good (or blocked by its parent)
 * @property {(problem: Problem) => void} [onBlocked] a pass that could not send: the token, another database
 * @property {number} [maxBackoffMs] the longest wait before an item is tried again (default 5 min)
 * @property {number} [backoffMs] the first wait (default 2 s)
 */

/** @typedef {{sent: number, attention: number, pending: number}} FlushOutcome */

const ITEMS = 'items';
const SENT = 'sent';
const BATCH = 200;

/**
 * What IndexedDB failed with, as the outbox's caller sees it: a full device is 'StorageFull'
 * (nothing of the item was kept; what waited before is still there); an abort without an error
 * says so rather than rejecting with null.
 * @param {DOMException | null} error
 */
function failure(error) {
  if (error?.name === 'QuotaExceededError') {
    return new ApiError('StorageFull', `this device's storage is full, so the item was not kept: free some space (or let what waits be sent first) and try again (${error.message})`);
  }
  return error ?? new Error('IndexedDB aborted the transaction without saying why');
}

/** @param {IDBRequest | IDBTransaction} request @returns {Promise<any>} */
function done(request) {
  return new Promise((resolve, reject) => {
    if ('oncomplete' in request) {
      request.oncomplete = () => resolve(undefined);
      request.onerror = () => reject(failure(request.error));
      request.onabort = () => reject(failure(request.error));
    } else {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(failure(request.error));
    }
  });
}

/** @param {Blob} blob @returns {Promise<StoredBlob>} */
const stored = async (blob) => ({ bytes: await blob.arrayBuffer(), type: blob.type });

/** @param {Blob | StoredBlob} kept @returns {Blob} */
const asBlob = (kept) => (kept instanceof Blob ? kept : new Blob([kept.bytes], { type: kept.type }));

/** @param {string} name @returns {Promise<IDBDatabase>} */
function openDb(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const items = request.result.createObjectStore(ITEMS, { keyPath: 'id', autoIncrement: true });
      items.createIndex('ref', 'ref', { unique: true });
      request.result.createObjectStore(SENT, { keyPath: 'ref' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The outbox databases this page may hold, one per backend database. */
const DEFAULT_DB = 'facenet-wasm-outbox';

export class Outbox {
  /** @type {Required<Omit<OutboxOptions, 'onSent' | 'onAttention' | 'onBlocked'>> & OutboxOptions} */
  #options;
  /** @type {IDBDatabase} */
  #db;
  /** @type {Promise<FlushOutcome> | null} */
  #flushing = null;
  #again = false;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  #onOnline = () => { this.flush().catch(() => {}); };

  /** @param {OutboxOptions} options @param {IDBDatabase} db */
  constructor(options, db) {
    this.#options = { dbName: DEFAULT_DB, maxBackoffMs: 5 * 60_000, backoffMs: 2000, ...options };
    this.#db = db;
    if (typeof addEventListener === 'function') addEventListener('online', this.#onOnline);
    // What waits is tried again every minute, besides 'online' (which a flaky Wi-Fi never fires).
    this.#timer = setInterval(() => { this.pending().then((n) => { if (n) this.#onOnline(); }, () => {}); }, 60_000);
  }

  /**
   * The outbox of backend database `databaseId` (its own IndexedDB database).
   * @param {OutboxOptions} options
   */
  static async open(options) {
    if (!/^[0-9a-f]{8,64}$/.test(options.databaseId)) throw new ApiError('InvalidInput', `not a database_id: ${options.databaseId}`);
    if (missingFeatures(['indexeddb']).length > 0) throw unsupported(['indexeddb']);
    return new Outbox(options, await openDb(`${options.dbName ?? DEFAULT_DB}-${options.databaseId}`));
  }

  /**
   * Adds an item in one transaction; one with the ref of a pending item replaces it (a vector
   * for the same crop and model; the same photo or face dropped again).
   * @param {Omit<OutboxItem, 'id' | 'key' | 'version' | 'state' | 'attempts' | 'notBefore' | 'createdAt'>} item
   * @param {string} [key] its Idempotency-Key when the caller derives one from the content (the
   *   same photo dropped twice is then one photo on the server); a new random one by default
   * @returns {Promise<string>} its ref
   */
  async #add(item, key) {
    const tx = this.#db.transaction(ITEMS, 'readwrite');
    const store = tx.objectStore(ITEMS);
    const before = /** @type {OutboxItem | undefined} */ (await done(store.index('ref').get(item.ref)));
    const fresh = { ...item, key: key ?? newKey(), state: /** @type {'pending'} */ ('pending'), attempts: 0, notBefore: 0, createdAt: Date.now() };
    store.put(before ? { ...before, ...fresh, version: before.version + 1, problem: undefined } : { ...fresh, version: 1 });
    await done(tx);
    return item.ref;
  }

  /**
   * A photo's record (its metadata, or the whole photo with `file`). `key`, when given, names
   * the photo (e.g. a hash of its bytes and the lesson): added again, it is the same photo.
   * @param {{session: number, key?: string, file?: Blob} & Omit<PhotoPayload, 'file'>} photo
   */
  async addPhoto({ session, key, file, ...rest }) {
    const k = key ?? newKey();
    const payload = file ? { ...rest, file: await stored(file) } : rest;
    return this.#add({ kind: 'photo', ref: `photo:${k}`, parent: null, session, cropId: null, payload }, k);
  }

  /**
   * A face crop, of a photo added before (`photo`, its ref) or of none; `key` as for a photo.
   * @param {{session: number, photo?: string, blob: Blob, query: Record<string, string>, key?: string}} crop
   */
  async addCrop({ session, photo, blob, query, key }) {
    const k = key ?? newKey();
    return this.#add({ kind: 'crop', ref: `crop:${k}`, parent: photo ?? null, session, cropId: null, payload: { blob: await stored(blob), query } }, k);
  }

  /**
   * A vector for a crop added before (`crop`, its ref) or one the server has (its id).
   * @param {{crop: string | number, model: string, modelVersion: string, embedding: ArrayLike<number>, force?: boolean}} vector
   */
  addVector({ crop, model, modelVersion, embedding, force = false }) {
    const payload = { model, modelVersion, embedding: Array.from(embedding), force };
    return typeof crop === 'number'
      ? this.#add({ kind: 'vector', ref: `vector:${crop}:${model}`, parent: null, session: null, cropId: crop, payload })
      : this.#add({ kind: 'vector', ref: `vector:${crop}:${model}`, parent: crop, session: null, cropId: null, payload });
  }

  /** @returns {Promise<OutboxItem[]>} */
  async #all() {
    return done(this.#db.transaction(ITEMS).objectStore(ITEMS).getAll());
  }

  /** Items waiting to be sent. */
  async pending() {
    return (await this.#all()).filter((i) => i.state === 'pending').length;
  }

  /** Items refused for good, with their reasons: the teacher's "needs attention" list. */
  async attention() {
    return (await this.#all()).filter((i) => i.state === 'attention');
  }

  /**
   * Sends an item needing attention again (after the cause was fixed), with what waited on it
   * (a photo's crops, a crop's vector).
   * @param {number} id
   */
  async retry(id) {
    const all = await this.#all();
    /** @type {Set<string>} */
    const refs = new Set();
    const again = (/** @type {OutboxItem | undefined} */ item) => {
      if (!item || item.state !== 'attention' || refs.has(item.ref)) return;
      refs.add(item.ref);
      for (const child of all.filter((i) => i.parent === item.ref)) again(child);
    };
    again(all.find((i) => i.id === id));
    for (const item of all.filter((i) => refs.has(i.ref))) {
      await this.#update(item.id, (i) => ({ ...i, state: 'pending', problem: undefined, attempts: 0, notBefore: 0 }));
    }
    return this.flush();
  }

  /** Gives up an item needing attention (the teacher decided). @param {number} id */
  async dismiss(id) {
    const tx = this.#db.transaction(ITEMS, 'readwrite');
    tx.objectStore(ITEMS).delete(id);
    await done(tx);
  }

  /**
   * Drops every queued vector of these crops (an erasure's `crop_ids`): nothing of an erased
   * face stays on the device.
   * @param {readonly number[]} cropIds
   */
  async forgetCrops(cropIds) {
    const erased = new Set(cropIds);
    const tx = this.#db.transaction([ITEMS, SENT], 'readwrite');
    const sent = /** @type {{ref: string, id: number}[]} */ (await done(tx.objectStore(SENT).getAll()));
    const refs = new Set(sent.filter((s) => erased.has(s.id)).map((s) => s.ref));
    const all = /** @type {OutboxItem[]} */ (await done(tx.objectStore(ITEMS).getAll()));
    const gone = all.filter((i) => (i.cropId !== null && erased.has(i.cropId)) || (i.parent !== null && refs.has(i.parent)));
    for (const i of gone) tx.objectStore(ITEMS).delete(i.id);
    await done(tx);
    return gone.length;
  }

  /**
   * @param {number} id
   * @param {(item: OutboxItem) => OutboxItem} change
   * @param {number} [version] only if the item is still this version
   */
  async #update(id, change, version) {
    const tx = this.#db.transaction(ITEMS, 'readwrite');
    const store = tx.objectStore(ITEMS);
    const item = /** @type {OutboxItem | undefined} */ (await done(store.get(id)));
    if (item && (version === undefined || item.version === version)) store.put(change(item));
    await done(tx);
  }

  /**
   * The server took `item` (as of `version`): it goes, unless a newer version replaced it; its
   * server id is kept for the items that need it.
   * @param {OutboxItem} item
   * @param {number | null} serverId
   * @param {any} answer
   */
  async #acknowledge(item, serverId, answer) {
    const tx = this.#db.transaction([ITEMS, SENT], 'readwrite');
    const store = tx.objectStore(ITEMS);
    const now = /** @type {OutboxItem | undefined} */ (await done(store.get(item.id)));
    if (now && now.version === item.version) store.delete(item.id);
    if (serverId !== null) tx.objectStore(SENT).put({ ref: item.ref, id: serverId, at: Date.now() });
    await done(tx);
    this.#options.onSent?.(item, serverId, answer);
  }

  /** @param {OutboxItem} item @param {Problem} problem */
  async #needsAttention(item, problem) {
    await this.#update(item.id, (i) => ({ ...i, state: 'attention', problem }), item.version);
    this.#options.onAttention?.({ ...item, state: 'attention', problem });
  }

  /** @param {OutboxItem} item @param {ApiError} error */
  async #later(item, error) {
    const wait = Math.min(this.#options.maxBackoffMs, this.#options.backoffMs * 2 ** item.attempts) * (0.75 + Math.random() / 2);
    const problem = { code: error.code, message: error.message, status: error.status };
    await this.#update(item.id, (i) => ({ ...i, attempts: i.attempts + 1, notBefore: Date.now() + Math.max(wait, error.retryAfterMs ?? 0), problem }), item.version);
  }

  /**
   * Sends what can be sent now. Concurrent calls share one run; a call made during a pass makes
   * the run take one more, so an item added after the pass read the queue is not left behind.
   * @returns {Promise<FlushOutcome>}
   */
  flush() {
    this.#again = true;
    this.#flushing ??= (async () => {
      let total = { sent: 0, attention: 0, pending: 0 };
      while (this.#again) {
        this.#again = false;
        const pass = await this.#pass();
        total = { sent: total.sent + pass.sent, attention: total.attention + pass.attention, pending: pass.pending };
      }
      return total;
    })().finally(() => { this.#flushing = null; });
    return this.#flushing;
  }

  /** @returns {Promise<FlushOutcome>} */
  async #pass() {
    const counts = { sent: 0, attention: 0 };
    const outcome = async () => ({ ...counts, pending: await this.pending() });
    const all = await this.#all();
    const items = all.filter((i) => i.state === 'pending');
    if (items.length === 0) return outcome();
    // Still the database these items were queued for?
    try {
      const me = await this.#options.api.call('ME', [], { retries: 2 });
      if (me.database_id !== this.#options.databaseId) {
        this.#options.onBlocked?.({ code: 'Conflict', status: 0, message: `the server is another database now (${me.database_id}, not ${this.#options.databaseId}): ${items.length} items queued for the old one are kept, not sent` });
        return outcome();
      }
    } catch (e) {
      const error = e instanceof ApiError ? e : new ApiError('FetchError', String(e), { transient: true });
      if (!error.transient) this.#options.onBlocked?.({ code: error.code, status: error.status, message: error.message });
      return outcome();
    }
    const sent = new Map(/** @type {{ref: string, id: number}[]} */ (await done(this.#db.transaction(SENT).objectStore(SENT).getAll())).map((s) => [s.ref, s.id]));
    const byRef = new Map(items.map((i) => [i.ref, i]));
    const attention = new Set(all.filter((i) => i.state === 'attention').map((i) => i.ref));
    /** @type {Map<string, {item: OutboxItem, cropId: number}[]>} vectors ready, by model */
    const vectors = new Map();
    for (const item of items) {
      if (item.notBefore > Date.now()) continue;
      let parentId = null;
      if (item.parent !== null) {
        parentId = sent.get(item.parent) ?? null;
        if (parentId === null) {
          if (byRef.has(item.parent)) continue; // its parent is still on its way
          const why = attention.has(item.parent) ? 'needs attention' : 'was dropped';
          await this.#needsAttention(item, { code: 'InvalidRequest', status: 0, message: `its ${item.parent.split(':')[0]} ${why}: it cannot be sent without it` });
          attention.add(item.ref);
          counts.attention++;
          continue;
        }
      }
      if (item.kind === 'vector') {
        const payload = /** @type {VectorPayload} */ (item.payload);
        const list = vectors.get(payload.model) ?? [];
        list.push({ item, cropId: /** @type {number} */ (item.cropId ?? parentId) });
        vectors.set(payload.model, list);
        continue;
      }
      const result = await this.#sendOne(item, parentId);
      if (result === 'blocked') return outcome();
      if (typeof result === 'number') {
        counts.sent++;
        sent.set(item.ref, result);
        byRef.delete(item.ref);
      } else if (result === 'attention') {
        counts.attention++;
        attention.add(item.ref);
        byRef.delete(item.ref); // its children follow it into attention
      }
    }
    for (const [model, list] of vectors) {
      for (let i = 0; i < list.length; i += BATCH) {
        const result = await this.#sendVectors(model, list.slice(i, i + BATCH));
        if (result === 'blocked') return outcome();
        counts.sent += result.sent;
        counts.attention += result.attention;
      }
    }
    await this.#clearSent();
    return outcome();
  }

  /**
   * A photo or a crop.
   * @param {OutboxItem} item
   * @param {number | null} parentId
   * @returns {Promise<number | 'attention' | 'later' | 'blocked'>} its server id when sent
   */
  async #sendOne(item, parentId) {
    const api = this.#options.api;
    const session = /** @type {number} */ (item.session);
    try {
      if (item.kind === 'photo') {
        const p = /** @type {PhotoPayload} */ (item.payload);
        const answer = p.file
          ? await api.call('SESSION_PHOTOS', [session], { method: 'POST', body: asBlob(p.file), query: { filename: p.filename }, idempotencyKey: item.key })
          : await api.call('SESSION_PHOTOS', [session], { method: 'POST', json: { filename: p.filename, width: p.width, height: p.height, size: p.size }, idempotencyKey: item.key });
        await this.#acknowledge(item, answer.photo_id, answer);
        return answer.photo_id;
      }
      const c = /** @type {CropPayload} */ (item.payload);
      const query = parentId === null ? c.query : { ...c.query, photo_id: String(parentId) };
      const blob = asBlob(c.blob);
      const answer = await api.call('SESSION_CROPS', [session], { method: 'POST', body: blob, query, headers: { 'content-type': blob.type || 'image/jpeg' }, idempotencyKey: item.key });
      await this.#acknowledge(item, answer.crop_id, answer);
      return answer.crop_id;
    } catch (e) {
      return this.#failed(item, e);
    }
  }

  /**
   * @param {OutboxItem} item
   * @param {unknown} e
   * @returns {Promise<'attention' | 'later' | 'blocked'>}
   */
  async #failed(item, e) {
    const error = e instanceof ApiError ? e : new ApiError('FetchError', String(e), { transient: true });
    if (error.code === 'Unauthorized' || error.code === 'Forbidden') {
      // The token, not the item: everything stays for when the teacher signs in again.
      this.#options.onBlocked?.({ code: error.code, status: error.status, message: error.message });
      return 'blocked';
    }
    if (error.transient) {
      await this.#later(item, error);
      return 'later';
    }
    await this.#needsAttention(item, { code: error.code, message: error.message, status: error.status });
    return 'attention';
  }

  /**
   * Vectors of one model in one batch; each item answered on its own.
   * @param {string} model
   * @param {{item: OutboxItem, cropId: number}[]} list
   * @returns {Promise<{sent: number, attention: number} | 'blocked'>}
   */
  async #sendVectors(model, list) {
    const counts = { sent: 0, attention: 0 };
    let answer;
    try {
      answer = await this.#options.api.call('EMBEDDINGS_BATCH', [], {
        method: 'POST',
        // The batch's key is its items' keys: the same batch retried is the same request.
        idempotencyKey: list.map((v) => v.item.key.slice(0, 8)).join('').slice(0, 240) + list.length,
        json: {
          model_name: model,
          items: list.map(({ item, cropId }) => {
            const p = /** @type {VectorPayload} */ (item.payload);
            return { crop_id: cropId, embedding: p.embedding, model_version: p.modelVersion, force_regenerate: p.force };
          }),
        },
      });
    } catch (e) {
      for (const { item } of list) {
        const result = await this.#failed(item, e);
        if (result === 'blocked') return 'blocked';
        if (result === 'attention') counts.attention++;
      }
      return counts;
    }
    for (const [k, { item }] of list.entries()) {
      const r = answer.results[k];
      // The crop has its vector already (the same face dropped again): the server keeps the
      // first, which is this face's; nothing for the teacher to do.
      const stored = r?.error_type === 'EmbeddingExists' && !(/** @type {VectorPayload} */ (item.payload).force);
      if (r?.status === 'success' || stored) {
        await this.#acknowledge(item, null, r);
        counts.sent++;
      } else {
        await this.#needsAttention(item, { code: r?.error_type ?? 'InternalError', message: r?.message ?? 'no answer for this item', status: 200 });
        counts.attention++;
      }
    }
    return counts;
  }

  /**
   * Server ids no queued item needs, after a day (a vector may still be added for a crop sent
   * a moment ago: its ref must still name the crop).
   */
  async #clearSent() {
    const tx = this.#db.transaction([ITEMS, SENT], 'readwrite');
    const parents = new Set((/** @type {OutboxItem[]} */ (await done(tx.objectStore(ITEMS).getAll()))).map((i) => i.parent));
    const sent = /** @type {{ref: string, at: number}[]} */ (await done(tx.objectStore(SENT).getAll()));
    const dayAgo = Date.now() - 24 * 3600_000;
    for (const s of sent) if (!parents.has(s.ref) && s.at < dayAgo) tx.objectStore(SENT).delete(s.ref);
    await done(tx);
  }

  /** Stops listening and closes the database. */
  close() {
    if (typeof removeEventListener === 'function') removeEventListener('online', this.#onOnline);
    clearInterval(this.#timer);
    this.#db.close();
  }
}
