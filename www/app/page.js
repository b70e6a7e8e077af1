// What every part of the session page shares: the token (kept for this tab only), the one way it
// calls the API (errors as {code, message}), and the message line.

import { apiPath } from '../client/protocol.js';
import { forgetCrops } from '../client/uploader.js';

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

/**
 * Calls the API with the token; rejects with the server's error_type (as `code`) and message.
 * An answer that erased faces (`crop_ids` of an erasure, `erased_crop_ids` of a consent withdrawn)
 * also drops their vectors from the upload queue, before it is handed back.
 * @param {string} path
 * @param {RequestInit} [init]
 */
export async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${tokenInput.value}`, ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(new Error(json?.message ?? `HTTP ${response.status}`), { code: json?.error_type ?? 'InternalError' });
  const erased = json?.erased ? json.crop_ids : json?.erased_crop_ids;
  if (Array.isArray(erased)) await forgetCrops(erased);
  return json;
}

/**
 * `api` with a JSON body.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
export const send = (method, path, body) => api(path, { method, body: JSON.stringify(body ?? {}) });

/**
 * A file the API answers (a CSV) fetched with the token and handed to the browser as a download.
 * @param {string} path
 * @param {string} filename
 */
export async function download(path, filename) {
  try {
    const response = await fetch(path, { headers: { authorization: `Bearer ${tokenInput.value}` } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (e) {
    sayError(e, 'CSV');
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
export const PURPOSE = 'Taking the register from lesson photos: the face is compared with the enrolment faces of the class; kept until the pupil leaves, at most 3 years.';

/**
 * Records a consent: `state` given, refused or withdrawn, by a guardian or the pupil.
 * @param {number} personId
 * @param {string} state
 * @param {string} by
 */
export const recordConsent = (personId, state, by) => send('PUT', apiPath('CONSENT', personId), { state, by, purpose: PURPOSE });

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
  const body = JSON.stringify({ name, crop_ids: cropIds });
  try {
    return await api(apiPath('PEOPLE'), { method: 'POST', body });
  } catch (e) {
    if (/** @type {{code?: string}} */ (e).code !== 'ConsentRequired') throw e;
    // The pupil the answer put on the roster: of that name, and never asked yet.
    const pupil = /** @type {{person_id: number, name: string, consent: string}[]} */ (await api(apiPath('PEOPLE')))
      .find((p) => p.name === name && p.consent === 'not_asked');
    if (!pupil) throw e;
    const by = await askConsent(name);
    if (!by) throw Object.assign(new Error(`${name} is on the roster; nothing enrolled without consent`), { code: 'ConsentRequired' });
    await recordConsent(pupil.person_id, 'given', by);
    return api(apiPath('PEOPLE'), { method: 'POST', body });
  }
}

export { apiPath };
