// ApiClient: the one way the browser side speaks to the backend's HTTP API — URLs from the
// generated contract (contract.js), the bearer token, errors parsed into the typed codes, an
// Idempotency-Key on every create, and retries for transient failures only.
//
//   const api = new ApiClient({ token: () => tokenInput.value });
//   const me = await api.call('ME');                                   // GET /api/attendance/me/
//   const crop = await api.call('SESSION_CROPS', [812], { method: 'POST', body: blob, query: { filename: 'f.jpg' } });
//   try { await api.call('PERSON', [4], { method: 'DELETE' }); } catch (e) { if (e instanceof ApiError) e.code; }
//
// Transient, retried with exponential backoff and jitter: a network error, 408, 425, 429 (after
// its Retry-After), 5xx, and an answer that is not the API's JSON (a proxy's or gateway's HTML
// page, whatever its status). Never retried: a typed rejection (the API's JSON error with its
// error_type), which the caller gets as an ApiError at once. A POST or PATCH carries an
// Idempotency-Key (the same on each retry, or the caller's own), so a retry after a lost answer
// never makes a second object.

import { API_BASE, API_PATHS, ERROR_CODES } from './contract.js';

/** @typedef {import('./contract.js').ErrorCode} ErrorCode */
/** @typedef {keyof typeof API_PATHS} PathName */

/**
 * @typedef {object} ApiClientOptions
 * @property {string} [baseUrl] origin (and prefix) of the backend, '' for this origin
 * @property {string | (() => string)} token the bearer token, or where to read it each call
 * @property {number} [retries] attempts per call for transient failures (default 5)
 * @property {number} [backoffMs] first retry delay, doubled each time, ±25 % jitter (default 500)
 * @property {number} [maxWaitMs] the longest one wait (a longer Retry-After gives up; default 30 s)
 * @property {typeof fetch} [fetch] the fetch to use (default globalThis.fetch)
 */

/**
 * @typedef {object} CallOptions
 * @property {string} [method] default GET
 * @property {unknown} [json] a JSON body
 * @property {BodyInit} [body] any other body (an image)
 * @property {Record<string, string | number | undefined>} [query] query parameters
 * @property {Record<string, string>} [headers]
 * @property {string} [idempotencyKey] for a POST or PATCH; default a new random key per call
 * @property {number} [retries] this call's own attempts (1: no retry)
 * @property {'json' | 'blob'} [as] the answer as parsed JSON (default) or as a Blob (images, CSV, ZIP)
 * @property {AbortSignal} [signal]
 */

/** An error answer or a failed call: `code` is one of the contract's codes. */
export class ApiError extends Error {
  /**
   * @param {ErrorCode} code
   * @param {string} message
   * @param {{status?: number, transient?: boolean, retryAfterMs?: number}} [more]
   */
  constructor(code, message, more = {}) {
    super(message);
    this.name = 'ApiError';
    /** @type {ErrorCode} */
    this.code = code;
    /** HTTP status, 0 when no answer came */
    this.status = more.status ?? 0;
    /** whether trying again later may succeed (a network error, 5xx, 429 …) */
    this.transient = more.transient ?? false;
    /** how long the server asked to wait, if it did */
    this.retryAfterMs = more.retryAfterMs;
  }
}

/** Statuses worth trying again, whatever the body says. */
const TRANSIENT = new Set([408, 425, 429]);

/** @param {number} status */
export const isTransientStatus = (status) => TRANSIENT.has(status) || status >= 500;

/**
 * A new Idempotency-Key: 128 random bits as hex (crypto.getRandomValues works on plain-HTTP
 * school servers too, where crypto.randomUUID is missing).
 */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} token */
export const authorization = (token) => ({ authorization: `Bearer ${token}` });

/** @param {string | null} header @returns {number | undefined} milliseconds */
function retryAfter(header) {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** @param {number} ms @param {AbortSignal} [signal] */
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new ApiError('Cancelled', 'the call was cancelled')); }, { once: true });
});

export class ApiClient {
  /** @type {Required<Omit<ApiClientOptions, 'token'>> & {token: () => string}} */
  #options;

  /** @param {ApiClientOptions} options */
  constructor(options) {
    const { token, ...rest } = options;
    this.#options = {
      baseUrl: '', retries: 5, backoffMs: 500, maxWaitMs: 30_000, fetch: globalThis.fetch.bind(globalThis), ...rest,
      token: typeof token === 'function' ? token : () => token,
    };
  }

  /** The bearer token now. */
  get token() { return this.#options.token(); }

  /** The `Authorization` header (for a URL another component fetches, e.g. a crop image). */
  authHeaders() { return authorization(this.token); }

  /**
   * The URL of a call: `url('CROP_IMAGE', [7])` → `/api/attendance/face-crops/7/image/`.
   * @param {PathName} name
   * @param {readonly (number | string | null | undefined)[]} [ids] `{id}`, then `{person_id}`
   * @param {Record<string, string | number | undefined>} [query]
   */
  url(name, ids = [], query = {}) {
    let i = 0;
    const path = API_PATHS[name].replace(/\{\w+\}/g, () => encodeURIComponent(String(ids[i++] ?? null)));
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const q = params.toString();
    return `${this.#options.baseUrl}${API_BASE}${path}${q ? `?${q}` : ''}`;
  }

  /**
   * Makes a call, retrying transient failures; the answer's JSON (or Blob), or an ApiError.
   * @param {PathName} name
   * @param {readonly (number | string | null | undefined)[]} [ids]
   * @param {CallOptions} [options]
   * @returns {Promise<any>}
   */
  async call(name, ids = [], options = {}) {
    const method = options.method ?? 'GET';
    /** @type {Record<string, string>} */
    const headers = { ...this.authHeaders(), ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    if (method === 'POST' || method === 'PATCH') headers['idempotency-key'] = options.idempotencyKey ?? newKey();
    const url = this.url(name, ids, options.query);
    const attempts = Math.max(1, options.retries ?? this.#options.retries);
    /** @type {ApiError | undefined} */
    let last;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const backoff = this.#options.backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
        const wait = Math.max(backoff, last?.retryAfterMs ?? 0);
        if (wait > this.#options.maxWaitMs) break;
        await sleep(wait, options.signal);
      }
      try {
        return await this.#once(url, { method, headers, body, signal: options.signal }, options.as ?? 'json');
      } catch (e) {
        if (!(e instanceof ApiError) || !e.transient) throw e;
        last = e;
      }
    }
    throw /** @type {ApiError} */ (last);
  }

  /**
   * One attempt.
   * @param {string} url
   * @param {RequestInit} init
   * @param {'json' | 'blob'} as
   */
  async #once(url, init, as) {
    let response;
    try {
      response = await this.#options.fetch(url, init);
    } catch (e) {
      if (init.signal?.aborted) throw new ApiError('Cancelled', 'the call was cancelled');
      throw new ApiError('FetchError', `no answer from ${url} (${e instanceof Error ? e.message : e})`, { transient: true });
    }
    const type = response.headers.get('content-type') ?? '';
    const isJson = type.startsWith('application/json');
    if (response.ok) {
      if (as === 'blob') return response.blob();
      if (response.status === 204) return null;
      if (!isJson) {
        // A 2xx that is not the API's: a captive portal's or proxy's page.
        throw new ApiError('FetchError', `${url} answered ${response.status} ${type || 'without a type'}, not the API's JSON`, { status: response.status, transient: true });
      }
      return response.json();
    }
    /** @type {any} */
    const json = isJson ? await response.json().catch(() => null) : null;
    const typed = json && typeof json.error_type === 'string' && ERROR_CODES.includes(json.error_type);
    const retryAfterMs = retryAfter(response.headers.get('retry-after'));
    if (typed) {
      const code = /** @type {ErrorCode} */ (json.error_type);
      const message = typeof json.message === 'string' ? json.message : `HTTP ${response.status}`;
      throw new ApiError(code, message, { status: response.status, transient: isTransientStatus(response.status), retryAfterMs });
    }
    // Not the API's answer: a gateway's 502 page, a proxy's HTML 404, a load balancer's 503.
    const code = response.status === 401 || response.status === 403 ? 'Unauthorized' : 'FetchError';
    throw new ApiError(code, `${url} answered ${response.status} ${type || 'without a type'} (not the API's JSON: a proxy or gateway?)`,
      { status: response.status, transient: code === 'FetchError', retryAfterMs });
  }
}
