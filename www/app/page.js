// What every part of the session page shares: the token (kept for this tab only), the one way it
// calls the API (www/client/api.js: errors as {code, message}, transient failures retried), the
// lesson's outbox, and the message line.

/** @typedef {import('../client/outbox.js').Outbox} Outbox */

import { ApiClient } from '../client/api.js';
import { GALLERY_SIZE } from '../client/contract.js';

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
export const tokenInput = /** @type {HTMLInputElement} */ ($('token'));

// The token comes from the URL the server printed (#token=…) or is typed in; it is kept for this
// tab (sessionStorage), never in the browser for good: a shared classroom computer keeps nothing.
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) {
  sessionStorage.setItem('facenet-token', fromHash);
  history.replaceState(null, '', location.pathname);
}
tokenInput.value = sessionStorage.getItem('facenet-token') ?? '';

/** @param {string} text */
export function say(text) { $('message').textContent = text; }

/**
 * Shows an API or embedder error as "Code: message", optionally after what it concerns.
 * @param {unknown} error
 * @param {string} [about]
 */
export function sayError(error, about) {
  const e = /** @type {{code?: string, message?: string}} */ (error);
  say(`${about ? `${about}: ` : ''}${e.code ?? 'Error'}: ${e.message ?? String(error)}`);
}

/** The page's one API client: the token of this tab, read at each call. */
export const server = new ApiClient({ token: () => tokenInput.value });

/**
 * The lesson's outbox (photo records, crops, vectors), once the page knows which database the
 * server is (signIn). Null before.
 * @type {Outbox | null}
 */
export let outbox = null;

/** @param {Outbox | null} box */
export function setOutbox(box) {
  outbox?.close();
  outbox = box;
}

/**
 * What the outbox did, for the parts of the page that show it: `sent` and `attention` events,
 * their detail an OutboxEvent; `drained` when nothing waits any more.
 * @typedef {{item: import('../client/outbox.js').OutboxItem, serverId: number | null}} OutboxEvent
 */
export const outboxEvents = new EventTarget();

/**
 * Calls the API (`server.call`): the answer's JSON, or an ApiError with the server's code.
 * An answer that erased faces (`crop_ids` of an erasure, `erased_crop_ids` of a consent
 * withdrawn) also drops their vectors from the outbox before it is handed back.
 * @param {import('../client/api.js').PathName} name
 * @param {readonly (number | string | null | undefined)[]} [ids]
 * @param {import('../client/api.js').CallOptions} [options]
 * @returns {Promise<any>}
 */
export async function api(name, ids = [], options = {}) {
  const json = await server.call(name, ids, options);
  const erased = json?.erased ? json.crop_ids : json?.erased_crop_ids;
  if (Array.isArray(erased) && erased.length) await outbox?.forgetCrops(erased);
  return json;
}

/**
 * `api` with a method and a JSON body.
 * @param {string} method
 * @param {import('../client/api.js').PathName} name
 * @param {readonly (number | string | null | undefined)[]} ids
 * @param {unknown} [json]
 */
export const send = (method, name, ids, json) => api(name, ids, { method, json: json ?? {} });

/**
 * A file the API answers (a CSV, a ZIP) fetched with the token and handed to the browser as a download.
 * @param {import('../client/api.js').PathName} name
 * @param {readonly (number | string | null | undefined)[]} ids
 * @param {string} filename
 * @param {Record<string, string | undefined>} [query]
 */
export async function download(name, ids, filename, query) {
  try {
    const blob = await server.call(name, ids, { as: 'blob', query });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (e) {
    sayError(e, filename);
  }
}

/**
 * An element with text and attributes: `el('td', 'Ana', {className: 'name'})`.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [text]
 * @param {Partial<Record<string, string>>} [attributes]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) node.setAttribute(k === 'className' ? 'class' : k, v);
  return node;
}

/** What a consent form tells a parent, recorded with each consent. */
export const PURPOSE = 'Taking the register from lesson photos: the face is compared with the enrolment faces of the class ' +
  `and with up to ${GALLERY_SIZE} faces per pupil that teachers confirmed in finalised registers (kept only as long as lesson faces are); ` +
  'kept until the pupil leaves, at most 3 years.';

/**
 * Records a consent: `state` given, refused or withdrawn, by a guardian or the pupil.
 * @param {number} personId
 * @param {string} state
 * @param {string} by
 */
export const recordConsent = (personId, state, by) => send('PUT', 'CONSENT', [personId], { state, by, purpose: PURPOSE });

/**
 * Asks the teacher to confirm a signed consent form for `name`: the party who gave it, or null.
 * @param {string} name
 * @returns {Promise<string | null>}
 */
export function askConsent(name) {
  const dialog = /** @type {HTMLDialogElement} */ ($('consent-dialog'));
  $('consent-name').textContent = name;
  $('consent-purpose').textContent = PURPOSE;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'given' ? /** @type {HTMLSelectElement} */ ($('consent-by')).value : null), { once: true });
    dialog.showModal();
  });
}

/**
 * Enrols crops as the pupil of that name in their class (`POST /people/`). A new name joins the
 * roster first, and nothing is enrolled before consent: the teacher confirms the signed form
 * (`askConsent`), the consent is recorded, and the enrolment made again.
 * @param {string} name
 * @param {number[]} cropIds
 */
export async function enrollByName(name, cropIds) {
  const body = { name, crop_ids: cropIds };
  try {
    return await send('POST', 'PEOPLE', [], body);
  } catch (e) {
    if (/** @type {{code?: string}} */ (e).code !== 'ConsentRequired') throw e;
    // The pupil the answer put on the roster: of that name, and never asked yet.
    const pupil = /** @type {{person_id: number, name: string, consent: string}[]} */ (await api('PEOPLE'))
      .find((p) => p.name === name && p.consent === 'not_asked');
    if (!pupil) throw e;
    const by = await askConsent(name);
    if (!by) throw Object.assign(new Error(`${name} is on the roster; nothing enrolled without consent`), { code: 'ConsentRequired' });
    await recordConsent(pupil.person_id, 'given', by);
    return send('POST', 'PEOPLE', [], body);
  }
}
