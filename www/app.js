// The session page: crops in, embeddings computed here, vectors (only) to the server, then
// assignment and clusters. Plain DOM, no framework.

import { FaceEmbedder } from './facenet.js';
import { EmbeddingUploader } from './uploader.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const tokenInput = /** @type {HTMLInputElement} */ ($('token'));
const sessionSelect = /** @type {HTMLSelectElement} */ ($('session-select'));
const fileInput = /** @type {HTMLInputElement} */ ($('files'));
const progress = /** @type {HTMLProgressElement} */ ($('progress'));

/**
 * @typedef {{id: number, filename: string, person_id: number | null, person_name: string | null, embeddings: string[]}} Crop
 */

const state = {
  /** @type {number | null} */ session: null,
  /** @type {Crop[]} */ crops: [],
  /** crop id → its status line: pending, embedding, uploaded, or an error */
  /** @type {Map<number, {status: string, detail?: string}>} */ status: new Map(),
  /** crop id → object URL of its thumbnail */
  /** @type {Map<number, string>} */ thumbs: new Map(),
  /** @type {Promise<FaceEmbedder> | null} */ embedder: null,
};

// The token comes from the URL the server printed (#token=…), then stays in this browser.
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) {
  localStorage.setItem('facenet-token', fromHash);
  history.replaceState(null, '', location.pathname);
}
tokenInput.value = localStorage.getItem('facenet-token') ?? '';
tokenInput.addEventListener('change', () => { localStorage.setItem('facenet-token', tokenInput.value); loadSessions(); });

/** @param {string} text */
function say(text) { $('message').textContent = text; }

/**
 * Shows an API or embedder error as "Code: message", optionally after what it concerns.
 * @param {unknown} error
 * @param {string} [about]
 */
function sayError(error, about) {
  const e = /** @type {{code?: string, message?: string}} */ (error);
  say(`${about ? `${about}: ` : ''}${e.code ?? 'Error'}: ${e.message ?? String(error)}`);
}

/**
 * Calls the API with the token; rejects with the server's error_type and message.
 * @param {string} path
 * @param {RequestInit} [init]
 */
async function api(path, init = {}) {
  const response = await fetch(`/api/attendance${path}`, {
    ...init,
    headers: { authorization: `Bearer ${tokenInput.value}`, ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(new Error(json?.message ?? `HTTP ${response.status}`), { code: json?.error_type ?? 'InternalError' });
  return json;
}

async function loadSessions() {
  try {
    const sessions = await api('/sessions/');
    sessionSelect.replaceChildren(new Option('—', ''), ...sessions.map((/** @type {{id: number, name: string, crops: number}} */ s) => new Option(`${s.name} (${s.crops} crops)`, String(s.id))));
    if (state.session) sessionSelect.value = String(state.session);
    say('');
  } catch (e) {
    sayError(e);
  }
}

/** @param {number} id */
async function openSession(id) {
  state.session = id;
  sessionSelect.value = String(id);
  $('crops-section').hidden = false;
  $('results-section').hidden = true;
  await loadCrops();
}

async function loadCrops() {
  state.crops = await api(`/sessions/${state.session}/face-crops/`);
  for (const crop of state.crops) {
    if (!state.status.has(crop.id)) state.status.set(crop.id, { status: crop.embeddings.includes('facenet') ? 'uploaded' : 'pending' });
  }
  render();
}

/** @param {number} id */
async function thumbnail(id) {
  let url = state.thumbs.get(id);
  if (!url) {
    const response = await fetch(`/api/attendance/face-crops/${id}/image/`, { headers: { authorization: `Bearer ${tokenInput.value}` } });
    url = URL.createObjectURL(await response.blob());
    state.thumbs.set(id, url);
  }
  return url;
}

/** @param {number} id */
function image(id) {
  const img = document.createElement('img');
  img.alt = `crop ${id}`;
  thumbnail(id).then((url) => { img.src = url; }, () => {});
  return img;
}

function render() {
  $('crop-count').textContent = `(${state.crops.length})`;
  const items = state.crops.map((crop) => {
    const li = document.createElement('li');
    li.className = 'crop';
    li.dataset.cropId = String(crop.id);
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = crop.filename;
    name.title = crop.filename;
    const badge = document.createElement('div');
    badge.className = 'badge';
    const s = state.status.get(crop.id) ?? { status: 'pending' };
    badge.dataset.status = s.status;
    badge.textContent = s.detail ? `${s.status}: ${s.detail}` : s.status;
    const form = document.createElement('form');
    const input = document.createElement('input');
    input.placeholder = crop.person_name ?? 'name';
    input.setAttribute('aria-label', `person in crop ${crop.filename}`);
    const button = document.createElement('button');
    button.className = 'small';
    button.textContent = crop.person_name ? 'Re-enroll' : 'Enroll';
    form.append(input, button);
    form.addEventListener('submit', (event) => { event.preventDefault(); enroll(crop.id, input.value); });
    const person = document.createElement('div');
    person.textContent = crop.person_name ? `enrolled: ${crop.person_name}` : '';
    li.append(image(crop.id), name, badge, person, form);
    return li;
  });
  $('crops').replaceChildren(...items);
}

/** @param {number} crop @param {string} status @param {string} [detail] */
function setStatus(crop, status, detail) {
  state.status.set(crop, { status, detail });
  const badge = document.querySelector(`[data-crop-id="${crop}"] .badge`);
  if (badge instanceof HTMLElement) {
    badge.dataset.status = status;
    badge.textContent = detail ? `${status}: ${detail}` : status;
  }
}

/** @param {FileList | File[]} files */
async function upload(files) {
  if (!state.session) return;
  const list = Array.from(files);
  let done = 0;
  showProgress(0, list.length, 'uploading crops');
  // A few at a time: hundreds of crops should not open hundreds of connections.
  const queue = [...list];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      try {
        await api(`/sessions/${state.session}/face-crops/?filename=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
      } catch (e) {
        sayError(e, file.name);
      }
      showProgress(++done, list.length, 'uploading crops');
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await loadCrops();
  await loadSessions();
}

/** @param {number} done @param {number} total @param {string} what */
function showProgress(done, total, what) {
  progress.hidden = false;
  progress.max = total || 1;
  progress.value = done;
  $('progress-text').textContent = `${what}: ${done} / ${total}`;
  $('progress-text').dataset.done = String(done === total);
}

/** The embedder is made once, on first use: that is when the model downloads. */
function embedder() {
  state.embedder ??= (async () => {
    const manifest = await (await fetch('/models/facenet.json')).json();
    const status = $('model-status');
    const made = await FaceEmbedder.create({
      token: tokenInput.value,
      // The hashed name is cacheable for a year; the worker's Cache API copy is checked by hash.
      modelUrl: `/models/facenet.${manifest.sha256.slice(0, 12)}.onnx`,
      onProgress: (p) => {
        if (p.status === 'progress' && p.total) status.textContent = `Downloading the model: ${((p.loaded ?? 0) / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB`;
        else if (p.status === 'compile') status.textContent = 'Compiling the WebAssembly module…';
        else if (p.status === 'plan') status.textContent = 'Preparing the model…';
      },
    });
    status.textContent = `Model ${made.model} (${made.dimension}-d, version ${made.modelVersion}) ready, ${made.loadStats.fromCache ? 'from the cache' : 'downloaded'}.`;
    return made;
  })();
  state.embedder.catch(() => { state.embedder = null; });
  return state.embedder;
}

async function generate() {
  const button = /** @type {HTMLButtonElement} */ ($('generate'));
  button.disabled = true;
  try {
    const fe = await embedder();
    const crops = state.crops;
    let finished = 0;
    const finish = () => showProgress(++finished, crops.length, 'embedding and uploading');
    showProgress(0, crops.length, 'embedding and uploading');
    /** crops whose vector went to the uploader and has no answer yet */
    /** @type {Set<number>} */
    const waiting = new Set();
    const uploader = new EmbeddingUploader({
      token: tokenInput.value,
      onUploaded: (_response, vector) => { if (waiting.delete(vector.cropId)) { setStatus(vector.cropId, 'uploaded'); finish(); } },
      onRejected: (r) => { if (waiting.delete(r.cropId)) { setStatus(r.cropId, 'error', `${r.errorType}: ${r.message}`); finish(); } },
    });
    crops.forEach((c) => setStatus(c.id, 'embedding'));
    const inputs = crops.map((c) => `/api/attendance/face-crops/${c.id}/image/`);
    await fe.embedBatch(inputs, {
      onProgress: ({ result }) => {
        const crop = crops[result.index];
        if (!result.ok) {
          setStatus(crop.id, 'error', `${result.error.code}: ${result.error.message}`);
          finish();
          return;
        }
        waiting.add(crop.id);
        uploader.enqueue({ cropId: crop.id, model: result.model, modelVersion: result.modelVersion, embedding: result.embedding, forceRegenerate: true })
          .catch((e) => say(`upload: ${e}`));
      },
    });
    const left = await uploader.flush();
    if (left.pending) say(`${left.pending} vectors wait for the server; they are kept in this browser and sent later`);
    uploader.close();
  } catch (e) {
    sayError(e);
  } finally {
    button.disabled = false;
  }
}

/** @param {number} crop @param {string} name */
async function enroll(crop, name) {
  try {
    await api('/people/', { method: 'POST', body: JSON.stringify({ name, crop_ids: [crop] }) });
    await loadCrops();
  } catch (e) {
    sayError(e);
  }
}

async function assign() {
  try {
    const out = await api(`/sessions/${state.session}/assignments/`, { method: 'POST', body: '{}' });
    /** @type {Map<string, number[]>} */
    const people = new Map();
    for (const a of out.assigned) people.set(a.person_name, [...(people.get(a.person_name) ?? []), a.crop_id]);
    /** @param {string} title @param {number[]} ids @param {string} kind */
    const group = (title, ids, kind) => {
      const div = document.createElement('div');
      div.className = `group ${kind}`;
      const h = document.createElement('h3');
      h.textContent = title;
      const thumbs = document.createElement('div');
      thumbs.className = 'thumbs';
      thumbs.append(...ids.map(image));
      div.append(h, thumbs);
      return div;
    };
    const groups = [
      ...[...people].map(([name, ids]) => group(`${name} (${ids.length})`, ids, 'person')),
      ...out.clusters.map((/** @type {{crop_ids: number[]}} */ c, /** @type {number} */ i) =>
        group(`Unknown person ${i + 1} (${c.crop_ids.length})`, c.crop_ids, 'cluster')),
    ];
    if (out.not_embedded.length) groups.push(group(`Not embedded yet (${out.not_embedded.length})`, out.not_embedded, 'not-embedded'));
    $('results').replaceChildren(...groups);
    $('results-section').hidden = false;
  } catch (e) {
    sayError(e);
  }
}

$('new-session').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('session-name'));
  try {
    const created = await api('/sessions/', { method: 'POST', body: JSON.stringify({ name: input.value }) });
    input.value = '';
    await loadSessions();
    await openSession(created.id);
  } catch (e) {
    sayError(e);
  }
});
sessionSelect.addEventListener('change', () => { if (sessionSelect.value) openSession(Number(sessionSelect.value)); });
fileInput.addEventListener('change', () => { if (fileInput.files) upload(fileInput.files).then(() => { fileInput.value = ''; }); });
const dropzone = $('dropzone');
dropzone.addEventListener('dragover', (event) => { event.preventDefault(); dropzone.classList.add('over'); });
dropzone.addEventListener('dragleave', () => dropzone.classList.remove('over'));
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropzone.classList.remove('over');
  if (event.dataTransfer?.files.length) upload(event.dataTransfer.files);
});
$('generate').addEventListener('click', generate);
$('assign').addEventListener('click', assign);
loadSessions();
