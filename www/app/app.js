// The session page: a teacher signs in with their token, picks a class (school.js: its roster,
// its history; an admin's accounts and classes), opens or starts a lesson, drops its photos —
// faces found and embedded here, face crops and their vectors (never the photos, unless asked)
// to the server —, then reviews the register: each pupil's mark (the faces', or set by hand),
// each face with the pupil it was given and the distance (changed in one action), the unknown
// faces grouped for one-click enrolment; and finalises it. Crops cut elsewhere can be dropped
// too. Plain DOM, no framework.

import { FaceEmbedder, missingFeatures, unsupported } from '../client/facenet.js';
import { DOUBTS } from '../client/contract.js';
import { MODEL_VERSION_LENGTH } from '../client/protocol.js';
import { $, api, download, el, enrollByName, outbox, outboxEvents, say, sayError, send, server, tokenInput } from './page.js';
import { registerServiceWorker } from './offline.js';
import { render as renderOutbox } from './outbox-view.js';
import { loadRoster, school, signIn } from './school.js';

const sessionSelect = /** @type {HTMLSelectElement} */ ($('session-select'));
const fileInput = /** @type {HTMLInputElement} */ ($('files'));
const progress = /** @type {HTMLProgressElement} */ ($('progress'));

/**
 * @typedef {{id: number, filename: string, person_id: number | null, person_name: string | null, embeddings: string[]}} Crop
 */

/**
 * A lesson photo as shown on the page: its faces in its own pixels, with the crop ids the
 * server gave them (names come from the last register).
 * @typedef {{name: string, bitmap: ImageBitmap, faces: {cropId: number | null, box: {x: number, y: number, width: number, height: number}}[], canvas: HTMLCanvasElement, caption: HTMLElement}} PhotoView
 */

const state = {
  /** @type {number | null} */ session: null,
  /** @type {PhotoView[]} */ photos: [],
  /** crop id → person name, from the last register */
  /** @type {Map<number, string>} */ names: new Map(),
  /** crop id → "Name?" of a face in doubt (the register's `unsure`), drawn as unknown */
  /** @type {Map<number, string>} */ doubts: new Map(),
  /** @type {Crop[]} */ crops: [],
  /** crop id → its status line: pending, embedding, uploaded, or an error */
  /** @type {Map<number, {status: string, detail?: string}>} */ status: new Map(),
  /** crop id → object URL of its thumbnail */
  /** @type {Map<number, string>} */ thumbs: new Map(),
  /** an outbox crop (its ref) → the face on its photo, until the server names the crop */
  /** @type {Map<string, PhotoView['faces'][number]>} */ faceOfCrop: new Map(),
  /** whether a lesson's photos wait in the outbox for the server (the register follows them) */
  waiting: false,
  /** an outbox crop (its ref) → its server id, once sent */
  /** @type {Map<string, number>} */ cropOfRef: new Map(),
  /** @type {Promise<FaceEmbedder> | null} */ embedder: null,
};

tokenInput.addEventListener('change', async () => {
  sessionStorage.setItem('facenet-token', tokenInput.value);
  await signIn();
  await loadSessions();
});

/** The selected class's lessons (all the caller's when no class is picked), newest start last. */
async function loadSessions() {
  try {
    /** @type {{id: number, name: string, crops: number, class_id: number, starts_at: string, finalized: boolean}[]} */
    const all = await api('SESSIONS');
    const sessions = all.filter((s) => school.classId === null || s.class_id === school.classId);
    sessionSelect.replaceChildren(new Option('—', ''), ...sessions.map((s) =>
      new Option(`${s.name}, ${s.starts_at.slice(0, 16)} (${s.crops} crops${s.finalized ? ', finalised' : ''})`, String(s.id))));
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
  $('photos-section').hidden = false;
  $('register-section').hidden = false;
  $('results-section').hidden = true;
  state.photos = [];
  state.names.clear();
  $('photos').replaceChildren();
  $('register').replaceChildren();
  // Kept for this tab: a reload without a network opens the same lesson (offline.js).
  sessionStorage.setItem('facenet-session', String(id));
  if (school.offline) return;
  await loadCrops();
}

async function loadCrops() {
  state.crops = await api('SESSION_CROPS', [state.session]);
  for (const crop of state.crops) {
    if (!state.status.has(crop.id)) state.status.set(crop.id, { status: crop.embeddings.includes('facenet') ? 'uploaded' : 'pending' });
  }
  render();
}

/** @param {number} id */
async function thumbnail(id) {
  let url = state.thumbs.get(id);
  if (!url) {
    url = URL.createObjectURL(await server.call('CROP_IMAGE', [id], { as: 'blob' }));
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

/** The outbox, or an error saying the page is not signed in yet. */
function theOutbox() {
  if (!outbox) throw Object.assign(new Error('sign in first: the page keeps what it sends per server database'), { code: 'Unauthorized' });
  return outbox;
}

/**
 * Sends what the outbox holds and says what still waits (kept in this browser, sent when the
 * server answers again: on 'online', every minute, at the next page load).
 */
async function sendAll() {
  const left = await theOutbox().flush();
  await renderOutbox();
  if (left.pending) say(`${left.pending} items wait for the server; they are kept in this browser and sent when it answers`);
  return left;
}

/** Crops cut elsewhere, dropped into the lesson: each through the outbox. @param {FileList | File[]} files */
async function upload(files) {
  if (!state.session) return;
  const session = state.session;
  const list = Array.from(files);
  try {
    for (const file of list) await theOutbox().addCrop({ session, blob: file, query: { filename: file.name } });
    showProgress(0, list.length, 'uploading crops');
    const left = await sendAll();
    showProgress(list.length - left.pending, list.length, 'uploading crops');
  } catch (e) {
    sayError(e);
  }
  await loadCrops();
  await loadSessions();
}

/** @param {number} done @param {number} total @param {string} what @param {string} [bar] */
function showProgress(done, total, what, bar = 'progress') {
  const element = /** @type {HTMLProgressElement} */ ($(bar));
  element.hidden = false;
  element.max = total || 1;
  element.value = done;
  $(`${bar}-text`).textContent = `${what}: ${done} / ${total}`;
  $(`${bar}-text`).dataset.done = String(done === total);
}

/**
 * The lesson's photos: faces found and embedded in the workers; per photo, into the outbox (in
 * IndexedDB before anything is sent): its record (metadata, or the whole photo when the page
 * is told to), each face's aligned crop with its box, landmarks and score, and its vector.
 * Then everything is sent, in that order, and the register taken.
 * @param {FileList | File[]} files
 */
async function addPhotos(files) {
  if (!state.session) return;
  const session = state.session;
  const list = Array.from(files);
  const whole = /** @type {HTMLInputElement} */ ($('upload-photos')).checked;
  let step = 0;
  const steps = list.length * 2;
  const tick = () => showProgress(++step, steps, 'finding faces and uploading', 'photo-progress');
  showProgress(0, steps, 'finding faces and uploading', 'photo-progress');
  try {
    const fe = await embedder();
    /** @type {Promise<void>[]} */
    const queued = [];
    await fe.embedFacesBatch(list, {
      onProgress: ({ result }) => {
        tick();
        const file = list[result.index];
        queued.push(result.ok
          ? queuePhoto(session, file, result.faces, whole).catch((e) => sayError(e, file.name)).finally(tick)
          : showPhoto(file, [], `${result.error.code}: ${result.error.message}`).then(() => {}).finally(tick));
      },
    });
    await Promise.all(queued);
    // Offline, or the server out of reach: the outbox keeps it all; the register follows when
    // everything is sent (the 'drained' listener below).
    if ((await sendAll()).pending) {
      state.waiting = true;
      return;
    }
    await loadCrops();
    await loadSessions();
    await takeRegister();
  } catch (e) {
    sayError(e);
  }
}

/**
 * A key for a photo of a lesson: SHA-256 of its bytes and the session, or none where the page
 * has no crypto.subtle (plain HTTP): then each drop is a photo of its own.
 * @param {Blob} file
 * @param {number} session
 */
async function contentKey(file, session) {
  if (!crypto.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await new Blob([`${session}:`, file]).arrayBuffer());
  return Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One photo into the outbox: its record, then each face's crop and vector (each waits for the
 * server id of the one before). The face's crop id reaches its view when the crop is sent.
 * @param {number} session
 * @param {File} file
 * @param {import('../client/facenet.js').EmbeddedFace[]} faces
 * @param {boolean} whole upload the photo itself, not only its metadata
 */
async function queuePhoto(session, file, faces, whole) {
  const view = await showPhoto(file, faces, `${faces.length} face${faces.length === 1 ? '' : 's'}`);
  const box = theOutbox();
  // The photo named by its bytes and the lesson: dropped twice, it is one photo with its faces
  // once (the server answers the same keys with the first answers, for a day).
  const key = await contentKey(file, session);
  const photo = await box.addPhoto({
    session, key, filename: file.name, ...(whole ? { file } : { width: view.bitmap.width, height: view.bitmap.height, size: file.size }),
  });
  const stem = file.name.replace(/\.[^.]*$/, '');
  for (const [k, face] of faces.entries()) {
    const b = face.box;
    const crop = await box.addCrop({
      session,
      photo,
      key: key && `${key}-${k}`,
      blob: face.crop.blob,
      query: {
        filename: `${stem}_${k}.jpg`,
        box: [b.x, b.y, b.width, b.height].map((v) => v.toFixed(1)).join(','),
        landmarks: face.landmarks.flat().map((v) => v.toFixed(1)).join(','),
        score: face.score.toFixed(4),
      },
    });
    state.faceOfCrop.set(crop, view.faces[k]);
    await box.addVector({ crop, model: face.model, modelVersion: face.modelVersion, embedding: face.embedding });
  }
}

// What the outbox sent or refused, shown where it belongs: a face's crop id on its photo, a
// crop's badge.
// A crop's badge says "uploaded" once its vector is stored.
outboxEvents.addEventListener('sent', (event) => {
  const { item, serverId } = /** @type {CustomEvent<import('./page.js').OutboxEvent>} */ (event).detail;
  if (item.kind === 'crop' && serverId !== null) {
    const face = state.faceOfCrop.get(item.ref);
    if (face) face.cropId = serverId;
    state.faceOfCrop.delete(item.ref);
    state.cropOfRef.set(item.ref, serverId);
  }
  const crop = item.cropId ?? (item.parent === null ? undefined : state.cropOfRef.get(item.parent));
  if (item.kind === 'vector' && crop !== undefined) setStatus(crop, 'uploaded');
});
outboxEvents.addEventListener('attention', (event) => {
  const { item } = /** @type {CustomEvent<import('./page.js').OutboxEvent>} */ (event).detail;
  const crop = item.cropId ?? (item.parent === null ? undefined : state.cropOfRef.get(item.parent));
  if (crop !== undefined) setStatus(crop, 'error', `${item.problem?.code}: ${item.problem?.message}`);
});

/**
 * Draws a photo with its face boxes (names once the register knows them).
 * @param {File} file
 * @param {{box: {x: number, y: number, width: number, height: number}}[]} faces
 * @param {string} caption
 * @returns {Promise<PhotoView>}
 */
async function showPhoto(file, faces, caption) {
  const figure = document.createElement('figure');
  figure.className = 'photo';
  const canvas = document.createElement('canvas');
  const text = document.createElement('figcaption');
  text.className = 'caption';
  text.textContent = `${file.name}: ${caption}`;
  figure.append(canvas, text);
  $('photos').append(figure);
  const bitmap = await createImageBitmap(file).catch(() => createImageBitmap(new ImageData(1, 1)));
  /** @type {PhotoView} */
  const view = { name: file.name, bitmap, faces: faces.map((f) => ({ cropId: null, box: f.box })), canvas, caption: text };
  state.photos.push(view);
  drawPhoto(view);
  return view;
}

/** @param {PhotoView} view */
function drawPhoto(view) {
  const scale = Math.min(1, 960 / view.bitmap.width);
  view.canvas.width = Math.round(view.bitmap.width * scale);
  view.canvas.height = Math.round(view.bitmap.height * scale);
  const ctx = /** @type {CanvasRenderingContext2D} */ (view.canvas.getContext('2d'));
  ctx.drawImage(view.bitmap, 0, 0, view.canvas.width, view.canvas.height);
  ctx.lineWidth = 3;
  ctx.font = 'bold 16px system-ui, sans-serif';
  for (const face of view.faces) {
    const name = face.cropId === null ? undefined : state.names.get(face.cropId);
    const [x, y, w, h] = [face.box.x, face.box.y, face.box.width, face.box.height].map((v) => v * scale);
    ctx.strokeStyle = name ? '#1fa34a' : '#f5a623';
    ctx.strokeRect(x, y, w, h);
    const label = name ?? (face.cropId === null ? undefined : state.doubts.get(face.cropId)) ?? '?';
    const width = ctx.measureText(label).width + 8;
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillRect(x - 1.5, Math.max(0, y - 20), width, 20);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, x + 2.5, Math.max(15, y - 5));
  }
}

/**
 * @typedef {{crop_id: number, photo_id: number | null, distance: number | null, margin: number | null, enrolled: boolean, by_teacher: boolean, doubt?: string | null}} RegisterCrop
 * @typedef {{person_id: number, name: string, present: boolean, mark: string, by_hand: boolean, crops: RegisterCrop[], unsure?: RegisterCrop[]}} RegisterLine
 * @typedef {{people: RegisterLine[], unknown: {crop_ids: number[]}[], finalized: {at: string, by: string} | null, waiting: number[]}} Register
 */

const MARKS = ['present', 'absent', 'late', 'excused'];

/**
 * A pupil's mark: "from the faces" or one set by hand; disabled once finalised.
 * @param {RegisterLine} p
 * @param {boolean} finalized
 */
function markSelect(p, finalized) {
  const select = el('select', undefined, { 'aria-label': `mark of ${p.name}`, className: 'mark' });
  select.append(new Option(`${p.by_hand ? 'faces say' : p.present ? 'present (faces)' : 'absent (faces)'}`, ''), ...MARKS.map((m) => new Option(m, m)));
  select.value = p.by_hand ? p.mark : '';
  select.disabled = finalized;
  select.addEventListener('change', async () => {
    try {
      showRegister(await send('PUT', 'MARK', [state.session, p.person_id], { mark: select.value || null }));
    } catch (e) {
      sayError(e, p.name);
    }
  });
  return select;
}

/**
 * One face of the register with who it was given to and the distance; the teacher changes it
 * in one action (a pupil of the roster, or "not in this class").
 * @param {RegisterCrop} c
 * @param {RegisterLine} owner
 * @param {boolean} finalized
 */
function faceChoice(c, owner, finalized) {
  const box = el('span', undefined, { className: 'face' });
  const img = image(c.crop_id);
  img.title = c.distance === null ? '' : `distance ${c.distance.toFixed(3)}${c.by_teacher ? ' (given by hand)' : c.enrolled ? ' (a reference face)' : ''}`;
  const select = el('select', undefined, { 'aria-label': `whose face is crop ${c.crop_id}`, className: 'verdict' });
  select.append(...school.roster.map((p) => new Option(p.name, String(p.person_id))), new Option('not in this class', 'nobody'));
  select.value = String(owner.person_id);
  select.disabled = finalized;
  select.addEventListener('change', async () => {
    try {
      await send('PUT', 'CROP_PERSON', [c.crop_id], { person_id: select.value === 'nobody' ? null : Number(select.value) });
      await takeRegister();
    } catch (e) {
      sayError(e, `crop ${c.crop_id}`);
    }
  });
  box.append(img, el('span', c.distance === null ? '' : c.distance.toFixed(2), { className: 'muted' }), select);
  return box;
}

/**
 * A face that looks like the pupil but does not count yet: why, its distance and margin, and
 * "Confirm" (it is them) beside the usual choice of whose face it is.
 * @param {RegisterCrop} c
 * @param {RegisterLine} like
 * @param {boolean} finalized
 */
function unsureChoice(c, like, finalized) {
  const box = faceChoice(c, like, finalized);
  box.classList.add('unsure');
  const why = DOUBTS[/** @type {keyof typeof DOUBTS} */ (c.doubt ?? '')] ?? c.doubt ?? '';
  const margin = c.margin === null ? '' : `, margin ${c.margin.toFixed(2)}`;
  box.title = `Unsure: ${why}${margin}. Confirm if this is ${like.name}.`;
  const confirm = /** @type {HTMLButtonElement} */ (el('button', 'Confirm', { type: 'button', className: 'confirm' }));
  confirm.disabled = finalized;
  confirm.setAttribute('aria-label', `crop ${c.crop_id} is ${like.name}`);
  confirm.addEventListener('click', async () => {
    try {
      await send('PUT', 'CROP_PERSON', [c.crop_id], { person_id: like.person_id });
      await takeRegister();
    } catch (e) {
      sayError(e, `crop ${c.crop_id}`);
    }
  });
  box.append(el('span', `unsure: ${why}${margin}`, { className: 'doubt' }), confirm);
  return box;
}

/** The register: each pupil's mark and faces, unknown faces in clusters to enroll at once. */
async function takeRegister() {
  if (!state.session) return;
  try {
    showRegister(await api('ATTENDANCE', [state.session]));
  } catch (e) {
    sayError(e);
  }
}

/** @param {Register} register */
function showRegister(register) {
  try {
    const finalized = register.finalized !== null;
    $('register-state').textContent = finalized
      ? `Finalised by ${register.finalized?.by} at ${register.finalized?.at} UTC${register.waiting.length ? `; ${register.waiting.length} faces added since wait until it is reopened` : ''}.`
      : 'Open: correct it, then finalise it.';
    $('finalize').hidden = finalized;
    $('reopen').hidden = !finalized;
    state.names.clear();
    state.doubts.clear();
    for (const p of register.people) for (const c of p.crops) state.names.set(c.crop_id, p.name);
    // A face in doubt is drawn as unknown, with whom it may be.
    for (const p of register.people) for (const c of p.unsure ?? []) state.doubts.set(c.crop_id, `${p.name}?`);
    state.photos.forEach(drawPhoto);
    const present = register.people.filter((/** @type {any} */ p) => p.present).length;
    const list = document.createElement('div');
    const heading = document.createElement('h3');
    heading.textContent = `${present} of ${register.people.length} present`;
    const ul = document.createElement('ul');
    ul.id = 'register-people';
    for (const p of register.people) {
      const li = document.createElement('li');
      li.className = p.present ? 'present' : 'absent';
      li.dataset.person = p.name;
      li.dataset.mark = p.mark;
      const mark = document.createElement('span');
      mark.className = 'present-mark';
      mark.textContent = p.present ? `✓ ${p.mark}` : `✗ ${p.mark}`;
      const name = document.createElement('span');
      name.textContent = p.name;
      li.append(mark, name, markSelect(p, finalized), ...(p.by_hand ? [el('span', 'by hand', { className: 'by-hand' })] : []),
        ...p.crops.slice(0, 3).map((c) => faceChoice(c, p, finalized)),
        ...(p.unsure ?? []).slice(0, 3).map((c) => unsureChoice(c, p, finalized)));
      ul.append(li);
    }
    list.append(heading, ul);
    const unknown = document.createElement('div');
    const uh = document.createElement('h3');
    uh.textContent = `Unknown faces: ${register.unknown.length} ${register.unknown.length === 1 ? 'person' : 'people'}`;
    unknown.append(uh, ...register.unknown.map((/** @type {{crop_ids: number[]}} */ u, /** @type {number} */ i) => {
      const div = document.createElement('div');
      div.className = 'unknown';
      const thumbs = document.createElement('div');
      thumbs.className = 'thumbs';
      thumbs.append(...u.crop_ids.map(image));
      const form = document.createElement('form');
      const input = document.createElement('input');
      input.placeholder = 'This is …';
      input.setAttribute('list', 'pupil-names');
      input.required = true;
      input.setAttribute('aria-label', `name of unknown person ${i + 1}`);
      const button = document.createElement('button');
      button.className = 'small';
      button.textContent = 'Enroll';
      form.append(input, button);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        try {
          await enrollByName(input.value, u.crop_ids);
          await loadCrops();
          await loadRosterQuietly();
          await takeRegister();
        } catch (e) {
          sayError(e);
        }
      });
      div.append(thumbs, form);
      return div;
    }));
    $('register').replaceChildren(list, unknown);
    $('register-csv').hidden = false;
    // How many registers this page has shown: lets automation wait for the next one.
    $('register').dataset.shown = String(Number($('register').dataset.shown ?? 0) + 1);
  } catch (e) {
    sayError(e);
  }
}

/** The CSV needs the token, so it is fetched here and handed over as a file. */
function downloadCsv() {
  return download('ATTENDANCE_CSV', [state.session], `session-${state.session}-attendance.csv`);
}

/** A new pupil made by enrolling a cluster joins the roster shown. */
async function loadRosterQuietly() {
  try {
    await loadRoster();
  } catch (e) {
    sayError(e);
  }
}

/** @param {'FINALIZE' | 'REOPEN'} what */
async function record(what) {
  try {
    showRegister(await send('POST', what, [state.session]));
    await loadSessions();
  } catch (e) {
    sayError(e);
  }
}

/** The embedder is made once, on first use: that is when the model downloads. */
function embedder() {
  state.embedder ??= (async () => {
    const manifest = await (await fetch('/models/facenet.json')).json();
    const status = $('model-status');
    const made = await FaceEmbedder.create({
      // The hashed name is cacheable for a year; the worker's Cache API copy is checked by hash.
      modelUrl: `/models/facenet.${manifest.sha256.slice(0, MODEL_VERSION_LENGTH)}.onnx`,
      onProgress: (p) => {
        if (p.status === 'progress' && p.total) status.textContent = `Downloading the model: ${((p.loaded ?? 0) / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB`;
        else if (p.status === 'compile') status.textContent = 'Compiling the WebAssembly module…';
        else if (p.status === 'plan') status.textContent = 'Preparing the model…';
      },
    });
    const { wasm, threads, threadsError, fromCache } = made.loadStats;
    const build = wasm === 'threads' ? `${threads} threads` : `single-threaded${threadsError ? ` (${threadsError})` : ''}`;
    status.textContent = `Model ${made.model} (${made.dimension}-d, version ${made.modelVersion}) ready, ${fromCache ? 'from the cache' : 'downloaded'}; ${build}.`;
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
    const box = theOutbox();
    const crops = state.crops;
    let finished = 0;
    const finish = () => showProgress(++finished, crops.length, 'embedding');
    showProgress(0, crops.length, 'embedding');
    crops.forEach((c) => setStatus(c.id, 'embedding'));
    const inputs = crops.map((c) => ({ url: server.url('CROP_IMAGE', [c.id]), headers: server.authHeaders() }));
    /** @type {Promise<string>[]} */
    const queued = [];
    await fe.embedBatch(inputs, {
      onProgress: ({ result }) => {
        const crop = crops[result.index];
        finish();
        if (!result.ok) {
          setStatus(crop.id, 'error', `${result.error.code}: ${result.error.message}`);
          return;
        }
        setStatus(crop.id, 'queued');
        // The teacher asked to embed again: the new vector replaces the stored one.
        queued.push(box.addVector({ crop: crop.id, model: result.model, modelVersion: result.modelVersion, embedding: result.embedding, force: true }));
      },
    });
    await Promise.all(queued);
    await sendAll();
  } catch (e) {
    sayError(e);
  } finally {
    button.disabled = false;
  }
}

/** @param {number} crop @param {string} name */
async function enroll(crop, name) {
  try {
    await enrollByName(name, [crop]);
    await loadCrops();
    await loadRosterQuietly();
  } catch (e) {
    sayError(e);
  }
}

async function assign() {
  try {
    const out = await send('POST', 'ASSIGNMENTS', [state.session], {});
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
    const created = await send('POST', 'SESSIONS', [], { name: input.value, ...(school.classId === null ? {} : { class_id: school.classId }) });
    input.value = '';
    await loadSessions();
    await openSession(created.id);
  } catch (e) {
    sayError(e);
  }
});
sessionSelect.addEventListener('change', () => { if (sessionSelect.value) openSession(Number(sessionSelect.value)); });
/**
 * A drop zone and its file input, both handing their files to `take`.
 * @param {HTMLElement} zone
 * @param {HTMLInputElement} input
 * @param {(files: FileList) => Promise<void>} take
 */
function dropFiles(zone, input, take) {
  input.addEventListener('change', () => { if (input.files) take(input.files).then(() => { input.value = ''; }); });
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    if (event.dataTransfer?.files.length) take(event.dataTransfer.files);
  });
}
dropFiles($('dropzone'), fileInput, upload);
dropFiles($('photo-dropzone'), /** @type {HTMLInputElement} */ ($('photo-files')), addPhotos);
$('generate').addEventListener('click', generate);
$('assign').addEventListener('click', assign);
$('take-register').addEventListener('click', takeRegister);
$('register-csv').addEventListener('click', (event) => { event.preventDefault(); downloadCsv(); });
$('finalize').addEventListener('click', () => record('FINALIZE'));
$('reopen').addEventListener('click', () => record('REOPEN'));
school.onClass = () => { loadSessions(); };
// A browser lacking what finding faces needs says so first, in words a teacher can pass on; the
// register can still be taken and corrected by hand.
const missing = missingFeatures();
if (missing.length > 0) {
  const notice = $('unsupported');
  notice.textContent = unsupported(missing).message;
  notice.hidden = false;
  for (const id of ['files', 'photo-files', 'generate']) /** @type {HTMLInputElement} */ ($(id)).disabled = true;
}
registerServiceWorker();
signIn().then(async () => {
  if (!school.offline) return loadSessions();
  // No server: the lesson this tab had open, to take its photos on this device.
  const last = Number(sessionStorage.getItem('facenet-session'));
  if (last) await openSession(last);
});

// Everything queued was sent (the network is back): the lesson's crops and register, fresh.
outboxEvents.addEventListener('drained', async () => {
  if (!school.offline && !state.waiting) return;
  state.waiting = false;
  if (school.offline) {
    await signIn();
    await loadSessions();
  }
  if (!state.session) return;
  try {
    await loadCrops();
    await takeRegister();
  } catch (e) {
    sayError(e);
  }
});
