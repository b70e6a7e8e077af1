// The HTTP contract of the README ("The backend") as one black-box suite: every
// /api/attendance/ call, its answers, error shapes and codes, limits and auth, against any
// backend given as a base URL and a token. The test files run it against facenet-server and
// against the Django app (PostgreSQL and SQLite); `node tests/contract/check.mjs URL TOKEN` runs
// it against a deployment.
//
// It works on a backend that already holds data: it creates its own sessions, crops and people
// (names made unique per run) and looks only at those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_BASE, API_PATHS, ERROR_CODES, HTTP_STATUS, MODEL_VERSION_LENGTH } from '../../www/client/contract.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const CONTRACT = JSON.parse(readFileSync(join(ROOT, 'integrations/django/facenet_attendance/contract.json'), 'utf8'));
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'models/facenet.json'), 'utf8'));
export const VERSION = MANIFEST.sha256.slice(0, MODEL_VERSION_LENGTH);
const THRESHOLD = MANIFEST.outputs.find((o) => o.model === 'facenet').same_person_threshold;
const FACE = readFileSync(join(ROOT, 'tests/faces/s1a.jpg'));

/** A JPEG's [width, height], from its first start-of-frame marker. */
function jpegSize(bytes) {
  for (let i = 2; i + 9 < bytes.length;) {
    const marker = bytes[i + 1];
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) return [bytes.readUInt16BE(i + 7), bytes.readUInt16BE(i + 5)];
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  throw new Error('no start-of-frame marker');
}
const [FACE_W, FACE_H] = jpegSize(FACE);

/** The JPEG markers before the image data: 0xe1 is EXIF (or XMP), 0xe2 ICC, 0xfe a comment. */
function jpegMarkers(bytes) {
  const markers = [];
  for (let i = 2; i + 4 <= bytes.length && bytes[i] === 0xff && bytes[i + 1] !== 0xda;) {
    markers.push(bytes[i + 1]);
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  return markers;
}
/** A crop whose EXIF says "rotate 90°" (orientation 6), and that carries the EXIF block. */
const EXIF6 = readFileSync(join(ROOT, 'tests/formats/s3b-exif6.jpg'));
const PHOTO = readFileSync(join(ROOT, 'tests/photos/sample1.jpg'));
/** A 160 × 160 JPEG of one flat colour: a crop without any detail, as blurred as a crop can be. */
const FLAT = readFileSync(join(ROOT, 'tests/formats/flat-crop.jpg'));
/** A valid 8 × 8 grey PNG: under the 16-pixel minimum side. */
const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAAAAADhZOFXAAAAEElEQVR4nGNsYIAAJgaKGAAmCACQXTClHgAAAABJRU5ErkJggg==', 'base64');

/** `API_PATHS[name]` with its ids (`{id}`, then `{person_id}`) filled in, under API_BASE. */
export const url = (name, ...ids) => API_BASE + ids.reduce((p, id) => p.replace(/\{\w+\}/, String(id)), API_PATHS[name]);

/** A client of one backend: `call(method, path, {json, body, headers, token})` → {status, type, body, text, bytes}. */
export function client(backend) {
  return async function call(method, path, { json, body, headers = {}, token = backend.token } = {}) {
    const h = { ...headers };
    if (token !== null) h.authorization = `Bearer ${token}`;
    if (json !== undefined) { h['content-type'] = 'application/json'; body = JSON.stringify(json); }
    const response = await fetch(`${backend.url}${path}`, { method, headers: h, body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const type = response.headers.get('content-type') ?? '';
    const text = bytes.toString('utf8');
    return { status: response.status, type, headers: response.headers, bytes, text, body: type.startsWith('application/json') ? JSON.parse(text) : null };
  };
}

/** The answer is the contract's error shape with `code` and its status. */
export function assertError(answer, code, what = '') {
  assert.equal(answer.body?.error_type, code, `${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
  assert.equal(answer.status, HTTP_STATUS[code], `${what}: status of ${code}`);
  assert.equal(answer.body.status, 'error');
  assert.equal(typeof answer.body.message, 'string');
  assert.ok(answer.body.message.length > 0);
  assert.ok(ERROR_CODES.includes(code));
}

/** A deterministic generator of unit vectors: a person's centre, and noisy faces of it. */
export function vectors(seed = 1) {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  const gauss = () => { let t = 0; for (let i = 0; i < 6; i++) t += rand(); return t / Math.sqrt(0.5); };
  const unit = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
  return {
    centre: () => unit(Array.from({ length: 128 }, gauss)),
    /** A face of `centre` at roughly cosine distance `spread` (128-d noise of that share). */
    face: (centre, spread = 0.2) => {
      const noise = unit(Array.from({ length: 128 }, gauss));
      const w = Math.sqrt(spread / (1 - spread));
      return unit(centre.map((c, i) => c + w * noise[i]));
    },
  };
}

/** What a consent form tells a parent, as recorded with each consent. */
export const PURPOSE = 'Taking the register from lesson photos: the face is compared with the enrolment faces of the class; kept until the pupil leaves, at most 3 years.';

/** A guardian's consent given for pupil `id`. */
export const giveConsent = (call, id) => call('PUT', url('CONSENT', id), { json: { state: 'given', by: 'guardian', purpose: PURPOSE } });

/**
 * Enrols crops by name as old clients do (`POST /people/`). A name not on the class's roster
 * answers `ConsentRequired` with the new pupil on the roster: here their guardian's consent is
 * recorded, and the same call made again.
 */
export async function enrollByName(call, name, crop_ids) {
  const answer = await call('POST', url('PEOPLE'), { json: { name, crop_ids } });
  if (answer.body?.error_type !== 'ConsentRequired') return answer;
  const pupil = (await call('GET', url('PEOPLE'))).body.find((p) => p.name === name && p.consent === 'not_asked');
  assert.ok(pupil, `${name}: ConsentRequired leaves the new pupil on the roster`);
  assert.equal((await giveConsent(call, pupil.person_id)).status, 200);
  return call('POST', url('PEOPLE'), { json: { name, crop_ids } });
}

export const cosineDistance = (a, b) => 1 - a.reduce((s, x, i) => s + x * b[i], 0) / (Math.hypot(...a) * Math.hypot(...b));

/**
 * Registers the contract tests against the backend `getBackend()` returns (called when the
 * tests run, after the caller's setup).
 * @param {() => {name: string, url: string, token: string}} getBackend
 */
export function contractTests(getBackend) {
  const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  let call;
  const setup = () => { call = client(getBackend()); };
  const newSession = async (name = `contract ${run}`) => (await call('POST', url('SESSIONS'), { json: { name } })).body.id;
  const upload = async (session, query = '', bytes = FACE) =>
    call('POST', `${url('SESSION_CROPS', session)}?filename=face.jpg${query}`, { body: bytes, headers: { 'content-type': 'image/jpeg' } });
  const post = (crop, embedding, extra = {}) =>
    call('POST', url('CROP_EMBEDDING', crop), { json: { model_name: 'facenet', model_version: VERSION, embedding, ...extra } });

  test('auth: every call needs the bearer token; the scheme is case-insensitive', async () => {
    setup();
    for (const [method, path] of CONTRACT.routes) {
      const target = API_BASE + path.replace(/\{\w+\}/g, '1');
      assertError(await call(method, target, { token: null }), 'Unauthorized', `${method} ${target} without a token`);
      assertError(await call(method, target, { token: 'wrong-token-123' }), 'Unauthorized', `${method} ${target} with a wrong token`);
    }
    const lower = await call('GET', url('SESSIONS'), { token: null, headers: { authorization: `bearer ${getBackend().token}` } });
    assert.equal(lower.status, 200);
    assertError(await call('GET', url('SESSIONS'), { token: null, headers: { authorization: `Basic ${getBackend().token}` } }), 'Unauthorized');
  });

  test('idempotency: a create sent again with its Idempotency-Key is answered once; the key with another request is refused', async () => {
    setup();
    const me = (await call('GET', url('ME'))).body;
    assert.match(me.database_id, /^[0-9a-f]{32}$/, 'the database names itself');
    assert.equal((await call('GET', url('ME'))).body.database_id, me.database_id, 'and keeps its name');
    const key = (what) => ({ 'idempotency-key': `${what}-${run}` });
    const twice = async (method, path, options) => [await call(method, path, options), await call(method, path, options)];

    const [s1, s2] = await twice('POST', url('SESSIONS'), { json: { name: `idem ${run}` }, headers: key('session') });
    assert.equal(s1.status, 201, s1.text);
    assert.deepEqual([s2.status, s2.body], [201, s1.body], 'the first answer again');
    assert.equal(s2.headers.get('idempotent-replayed'), 'true');
    assert.equal((await call('GET', url('SESSIONS'))).body.filter((s) => s.name === `idem ${run}`).length, 1, 'one session, not two');
    const session = s1.body.id;

    const crop = { body: FACE, headers: { 'content-type': 'image/jpeg', ...key('crop') } };
    const [c1, c2] = await twice('POST', `${url('SESSION_CROPS', session)}?filename=face.jpg`, crop);
    assert.deepEqual([c1.status, c2.body.crop_id], [201, c1.body.crop_id]);
    assert.equal((await call('GET', url('SESSION_CROPS', session))).body.length, 1, 'one crop');
    assertError(await call('POST', `${url('SESSION_CROPS', session)}?filename=other.jpg`, crop), 'IdempotencyKeyReused', 'the key with another query');
    assertError(await call('POST', url('SESSIONS'), { json: { name: `another ${run}` }, headers: key('session') }), 'IdempotencyKeyReused', 'the key with another body');

    const vector = { json: { model_name: 'facenet', model_version: VERSION, embedding: vectors(4).centre() }, headers: key('vector') };
    const [v1, v2] = await twice('POST', url('CROP_EMBEDDING', c1.body.crop_id), vector);
    assert.deepEqual([v1.status, v2.status, v2.body, v2.headers.get('idempotent-replayed')], [200, 200, v1.body, 'true'], 'a vector retried: the first answer');
    assertError(await call('POST', url('CROP_EMBEDDING', c1.body.crop_id), { json: { ...vector.json, embedding: vectors(6).centre() } }), 'EmbeddingExists', 'the first vector is the one stored');
    // A typed rejection is final too: the same request again is refused the same way.
    const bad = { json: { model_name: 'facenet', model_version: VERSION, embedding: [1, 2] }, headers: key('bad') };
    const [b1, b2] = await twice('POST', url('CROP_EMBEDDING', c1.body.crop_id), bad);
    assertError(b1, 'InvalidEmbedding');
    assert.deepEqual([b2.status, b2.body, b2.headers.get('idempotent-replayed')], [b1.status, b1.body, 'true']);
    const batch = { json: { model_name: 'facenet', model_version: VERSION, items: [{ crop_id: c1.body.crop_id, embedding: vectors(5).centre(), force_regenerate: true }] }, headers: key('batch') };
    const [t1, t2] = await twice('POST', url('EMBEDDINGS_BATCH'), batch);
    assert.deepEqual([t1.status, t2.body], [200, t1.body]);
    assertError(await call('POST', url('SESSIONS'), { json: { name: 'x' }, headers: { 'idempotency-key': ' ' } }), 'InvalidRequest', 'an empty key');
    // Erasing a crop erases its stored answer: the same upload again makes a new crop, it does
    // not answer with the erased one (whose file name the answer held).
    const spare = await call('POST', `${url('SESSION_CROPS', session)}?filename=spare.jpg`, { body: FACE, headers: { 'content-type': 'image/jpeg', ...key('spare') } });
    assert.equal((await call('DELETE', url('CROP', spare.body.crop_id))).status, 200);
    const again = await call('POST', `${url('SESSION_CROPS', session)}?filename=spare.jpg`, { body: FACE, headers: { 'content-type': 'image/jpeg', ...key('spare') } });
    assert.ok(again.status === 201 && !again.headers.get('idempotent-replayed'), again.text);
    assert.equal((await call('GET', url('CROP_IMAGE', again.body.crop_id))).status, 200, 'a crop that exists');
    // Only the creates a client retries keep answers: elsewhere the header changes nothing.
    const [r1, r2] = await twice('POST', url('ASSIGNMENTS', session), { json: {}, headers: key('register') });
    assert.deepEqual([r1.status, r2.status, r2.headers.get('idempotent-replayed')], [200, 200, null], 'a register is computed again, not replayed');
    // Keys are the caller's own: another account's same key is another request.
    const other = client({ url: getBackend().url, token: (await call('POST', url('USERS'), { json: { name: `Idem ${run}`, admin: true } })).body.token });
    const mine = await other('POST', url('SESSIONS'), { json: { name: `idem ${run}` }, headers: key('session') });
    assert.ok(mine.status === 201 && mine.body.id !== session && !mine.headers.get('idempotent-replayed'), mine.text);
  });

  test('answers are never cached: the API and its images say no-store', async () => {
    setup();
    const session = await newSession();
    const crop = (await upload(session)).body.crop_id;
    for (const answer of [await call('GET', url('SESSIONS')), await call('GET', url('CROP_IMAGE', crop)), await call('GET', url('ATTENDANCE', session))]) {
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('cache-control'), 'no-store', answer.type);
    }
  });

  test('unknown calls, wrong methods, ids that are not numbers, the old embedding service', async () => {
    setup();
    assertError(await call('GET', `${API_BASE}/no-such-call/`), 'NotFound', 'unknown path');
    assertError(await call('GET', `${API_BASE}/no-such-call/`, { token: null }), 'NotFound', 'unknown path, no token');
    assertError(await call('DELETE', url('SESSIONS')), 'MethodNotAllowed', 'DELETE /sessions/');
    assertError(await call('PUT', url('PEOPLE'), { json: {} }), 'MethodNotAllowed', 'PUT /people/');
    assertError(await call('GET', url('SESSION_CROPS', 'abc')), 'InvalidRequest', 'a path id that is not a number');
    for (const name of ['OLD_GENERATE_EMBEDDING', 'OLD_GENERATE_EMBEDDINGS_BATCH']) {
      for (const token of [null, getBackend().token]) {
        const answer = await call('POST', url(name, 7), { token, json: {} });
        assertError(answer, 'EndpointMoved', name);
        assert.match(answer.body.message, /browser/);
        assert.ok(answer.body.message.includes(API_BASE + API_PATHS.CROP_EMBEDDING), answer.body.message);
      }
    }
  });

  test('sessions: create, list, and names checked', async () => {
    setup();
    const created = await call('POST', url('SESSIONS'), { json: { name: `  Monday 9:00 ${run}  ` } });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body).sort(), ['class_id', 'id', 'name', 'starts_at', 'status']);
    assert.equal(created.body.status, 'success');
    assert.equal(created.body.name, `Monday 9:00 ${run}`, 'trimmed');
    const listed = (await call('GET', url('SESSIONS'))).body.find((s) => s.id === created.body.id);
    assert.deepEqual(Object.keys(listed).sort(), ['class_id', 'created_at', 'crops', 'finalized', 'id', 'name', 'starts_at']);
    assert.equal(listed.starts_at.length, 19, 'YYYY-MM-DD HH:MM:SS');
    assert.equal(listed.crops, 0);
    assert.match(listed.created_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assertError(await call('POST', url('SESSIONS'), { json: { name: '   ' } }), 'InvalidRequest', 'empty name');
    assertError(await call('POST', url('SESSIONS'), { json: { name: 'x'.repeat(CONTRACT.limits.max_name_len + 1) } }), 'InvalidRequest', 'long name');
    assert.equal((await call('POST', url('SESSIONS'), { json: { name: 'é'.repeat(CONTRACT.limits.max_name_len) } })).status, 201, 'characters, not bytes');
    assertError(await call('POST', url('SESSIONS'), { json: {} }), 'InvalidRequest', 'no name');
    assertError(await call('POST', url('SESSIONS'), { json: { name: 7 } }), 'InvalidRequest', 'a number for a name');
    assertError(await call('POST', url('SESSIONS'), { body: '{"name": ', headers: { 'content-type': 'application/json' } }), 'InvalidRequest', 'malformed JSON');
  });

  test('crops: upload with where the face was found, list, image; bad images fail with their code', async () => {
    setup();
    const session = await newSession();
    const photo = (await call('POST', url('SESSION_PHOTOS', session), { json: { filename: 'class.jpg', width: 1920, height: 1280, size: 123456 } })).body;
    assert.equal(photo.image_stored, false);
    const query = `&photo_id=${photo.photo_id}&box=10.5,20,64,80&landmarks=1,2,3,4,5,6,7,8,9,10&score=0.93`;
    const created = await upload(session, query);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body, { status: 'success', crop_id: created.body.crop_id, filename: 'face.jpg', width: FACE_W, height: FACE_H, photo_id: photo.photo_id });
    const plain = (await upload(session)).body;
    assert.equal(plain.photo_id, null);
    const list = (await call('GET', url('SESSION_CROPS', session))).body;
    assert.deepEqual(list.map((c) => c.id), [created.body.crop_id, plain.crop_id], 'in id order');
    assert.deepEqual(list[0], {
      id: created.body.crop_id, filename: 'face.jpg', width: FACE_W, height: FACE_H, person_id: null, person_name: null, embeddings: [],
      photo_id: photo.photo_id, box: { x: 10.5, y: 20, width: 64, height: 80 }, landmarks: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]], score: 0.93,
    });
    assert.deepEqual([list[1].box, list[1].landmarks, list[1].score], [null, null, null]);
    const image = await call('GET', url('CROP_IMAGE', created.body.crop_id));
    assert.equal(image.status, 200);
    assert.equal(image.type, 'image/jpeg');
    assert.ok(image.bytes.equals(FACE), 'the crop comes back byte for byte');
    const photos = (await call('GET', url('SESSION_PHOTOS', session))).body;
    assert.deepEqual(photos, [{ id: photo.photo_id, filename: 'class.jpg', width: 1920, height: 1280, size: 123456, image_stored: false, crops: 1 }]);
    assert.equal((await call('GET', url('SESSIONS'))).body.find((s) => s.id === session).crops, 2);

    // A crop with EXIF: stored upright (orientation applied), without its metadata.
    const rotated = await upload(session, '', EXIF6);
    assert.equal(rotated.status, 201, rotated.text);
    const [rawW, rawH] = jpegSize(EXIF6);
    assert.deepEqual([rotated.body.width, rotated.body.height], [rawH, rawW], 'orientation 6: the sides swap');
    const upright = (await call('GET', url('CROP_IMAGE', rotated.body.crop_id))).bytes;
    assert.deepEqual(jpegSize(upright), [rawH, rawW]);
    assert.ok(!jpegMarkers(upright).includes(0xe1), 'no EXIF stored');
    assertError(await upload(session, '', Buffer.from('just some text, not an image')), 'UnsupportedFormat', 'text');
    assertError(await upload(session, '', FACE.subarray(0, 600)), 'DecodeError', 'a truncated JPEG');
    assertError(await upload(session, '', Buffer.alloc(0)), 'DecodeError', 'an empty body');
    assertError(await upload(session, '', TINY_PNG), 'ImageTooSmall', 'an 8×8 PNG');
    assertError(await upload(session, '', Buffer.alloc(CONTRACT.limits.max_image_body + 1, 0xff)), 'PayloadTooLarge', 'over the image body limit');
    assertError(await upload(999999999), 'NotFound', 'no such session');
    const other = await newSession();
    assertError(await upload(other, `&photo_id=${photo.photo_id}`), 'NotFound', "another session's photo");
    for (const bad of ['&box=1,2,3', '&box=1,2,-3,4', '&landmarks=1,2', '&score=1.5', '&score=abc', '&photo_id=x', `&filename=${'x'.repeat(CONTRACT.limits.max_name_len + 1)}`]) {
      assertError(await upload(session, bad), 'InvalidRequest', bad);
    }
    assertError(await call('GET', url('CROP_IMAGE', 999999999)), 'CropNotFound', 'no such crop');
    assertError(await call('GET', url('SESSION_CROPS', 999999999)), 'NotFound', 'crops of no session');
  });

  test('photos: a record (the default) or the image itself, served back', async () => {
    setup();
    const session = await newSession();
    const stored = await call('POST', `${url('SESSION_PHOTOS', session)}?filename=lesson.jpg`, { body: PHOTO, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(stored.status, 201, stored.text);
    const [width, height] = jpegSize(PHOTO);
    assert.deepEqual(stored.body, { status: 'success', photo_id: stored.body.photo_id, filename: 'lesson.jpg', width, height, image_stored: true });
    const image = await call('GET', url('PHOTO_IMAGE', stored.body.photo_id));
    assert.equal(image.type, 'image/jpeg');
    // The phone's EXIF (camera, time, GPS) and ICC are not kept: only the pixels, re-encoded.
    assert.ok(jpegMarkers(PHOTO).includes(0xe1), 'the test photo carries EXIF');
    assert.deepEqual(jpegMarkers(image.bytes).filter((m) => m >= 0xe1 && m <= 0xef || m === 0xfe), [], 'no metadata segment stored');
    assert.deepEqual(jpegSize(image.bytes), [width, height]);
    const record = (await call('POST', url('SESSION_PHOTOS', session), { json: { filename: 'b.jpg', width: 10, height: 20 } })).body;
    assert.equal(record.image_stored, false);
    assertError(await call('GET', url('PHOTO_IMAGE', record.photo_id)), 'NotFound', 'a record without its image');
    assertError(await call('GET', url('PHOTO_IMAGE', 999999999)), 'NotFound', 'no such photo');
    const listed = (await call('GET', url('SESSION_PHOTOS', session))).body;
    assert.deepEqual(listed.map((p) => [p.filename, p.size, p.image_stored]), [['lesson.jpg', PHOTO.length, true], ['b.jpg', null, false]]);
    assertError(await call('POST', url('SESSION_PHOTOS', session), { json: { filename: 'c.jpg', width: 0, height: 20 } }), 'InvalidRequest', 'width 0');
    assertError(await call('POST', url('SESSION_PHOTOS', session), { json: { filename: 'c.jpg', width: -1, height: 20 } }), 'InvalidRequest', 'width −1');
    assertError(await call('POST', `${url('SESSION_PHOTOS', session)}?filename=x.jpg`, { body: Buffer.from('GIF89a broken') }), 'DecodeError', 'a broken GIF');
    assertError(await call('POST', url('SESSION_PHOTOS', 999999999), { json: { filename: 'c.jpg', width: 5, height: 5 } }), 'NotFound');
  });

  test("vectors: validated against the served model; stored once; replaced only when forced", async () => {
    setup();
    const session = await newSession();
    const crop = (await upload(session)).body.crop_id;
    const gen = vectors(11);
    const v = gen.centre();
    const first = await post(crop, v);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body, { status: 'success', crop_id: crop, embedding_model: 'facenet', embedding_dimension: 128, message: 'embedding stored' });
    assert.equal((await post(crop, v)).body.message, 'embedding already stored (unchanged)');
    const w = gen.centre();
    assertError(await post(crop, w), 'EmbeddingExists', 'a different vector');
    assert.equal((await post(crop, w, { force_regenerate: true })).body.message, 'embedding replaced');
    assert.equal((await post(crop, w)).body.message, 'embedding already stored (unchanged)', 'the replacement is what is stored');
    assert.deepEqual((await call('GET', url('SESSION_CROPS', session))).body[0].embeddings, ['facenet']);

    assertError(await post(crop, v, { model_name: 'arcface' }), 'InvalidEmbedding', 'unknown model');
    assertError(await post(crop, v, { model_version: '000000000000' }), 'InvalidEmbedding', 'another version');
    assertError(await post(crop, v, { model_version: undefined }), 'InvalidEmbedding', 'no version');
    assertError(await post(crop, v.slice(1)), 'InvalidEmbedding', '127 values');
    assertError(await post(crop, v.map((x) => 2 * x)), 'InvalidEmbedding', 'norm 2');
    assertError(await call('POST', url('CROP_EMBEDDING', crop), { body: `{"model_name":"facenet","model_version":"${VERSION}","embedding":[NaN${',0'.repeat(127)}]}`, headers: { 'content-type': 'application/json' } }), 'InvalidRequest', 'NaN is not JSON');
    assertError(await post(crop, [...v.slice(0, 127), null]), 'InvalidRequest', 'null in the vector');
    assertError(await post(crop, 'not a list'), 'InvalidRequest', 'a string for the vector');
    assertError(await post(999999999, v), 'CropNotFound', 'no such crop');
    const facenet512 = MANIFEST.outputs.find((o) => o.model === 'facenet512');
    if (facenet512) {
      const long = vectors(3).centre().concat(Array(facenet512.dimension - 128).fill(0));
      const stored = await post(crop, long, { model_name: 'facenet512' });
      assert.equal(stored.body.embedding_dimension, facenet512.dimension, stored.text);
    }
  });

  test('batches: each item succeeds or fails alone; at most max_batch_items', async () => {
    setup();
    const session = await newSession();
    const crops = [];
    for (let i = 0; i < 3; i++) crops.push((await upload(session)).body.crop_id);
    const gen = vectors(5);
    const items = [
      { crop_id: crops[0], embedding: gen.centre() },
      { crop_id: crops[1], embedding: gen.centre().slice(3) },
      { crop_id: 999999999, embedding: gen.centre() },
      { crop_id: crops[2], embedding: gen.centre(), model_version: '000000000000' },
    ];
    const answer = await call('POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', model_version: VERSION, items } });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.status, 'partial');
    assert.deepEqual([answer.body.stored, answer.body.failed], [1, 3]);
    assert.deepEqual(answer.body.results.map((r) => r.error_type ?? r.message), ['embedding stored', 'InvalidEmbedding', 'CropNotFound', 'InvalidEmbedding']);
    assert.deepEqual(answer.body.results.map((r) => r.crop_id), items.map((i) => i.crop_id));
    assert.ok(answer.body.results.slice(1).every((r) => r.status === 'error' && typeof r.message === 'string'));
    const failing = await call('POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', model_version: VERSION, items: items.slice(2) } });
    assert.equal(failing.body.status, 'error');
    const tooMany = Array.from({ length: CONTRACT.limits.max_batch_items + 1 }, () => ({ crop_id: crops[0], embedding: items[0].embedding }));
    assertError(await call('POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', model_version: VERSION, items: tooMany } }), 'InvalidRequest', 'too many items');
    assertError(await call('POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', items: [{ crop_id: 'x', embedding: [] }] } }), 'InvalidRequest', 'a crop_id that is not a number');
    assertError(await call('POST', url('EMBEDDINGS_BATCH'), { body: 'x'.repeat(CONTRACT.limits.max_json_body + 1), headers: { 'content-type': 'application/json' } }), 'PayloadTooLarge', 'over the JSON body limit');
  });

  test('people: enroll crops (all or none), list', async () => {
    setup();
    const session = await newSession();
    const crop = (await upload(session)).body.crop_id;
    const name = `Ana ${run}`;
    const first = await call('POST', url('PEOPLE'), { json: { name, crop_ids: [crop] } });
    assertError(first, 'ConsentRequired', 'a new pupil, no consent yet');
    const pupil = (await call('GET', url('PEOPLE'))).body.find((p) => p.name === name);
    assert.deepEqual([pupil.consent, pupil.crops], ['not_asked', 0], 'on the roster, nothing enrolled');
    assert.ok(first.body.message.includes(`/people/${pupil.person_id}/consent/`), first.body.message);
    assert.equal((await giveConsent(call, pupil.person_id)).status, 200);
    const enrolled = await call('POST', url('PEOPLE'), { json: { name, crop_ids: [crop] } });
    assert.equal(enrolled.status, 200, enrolled.text);
    assert.deepEqual(enrolled.body, { status: 'success', person_id: enrolled.body.person_id, name, crop_ids: [crop] });
    const again = (await call('POST', url('PEOPLE'), { json: { name, crop_ids: [crop] } })).body;
    assert.equal(again.person_id, enrolled.body.person_id, 'a name is one person');
    const listedPerson = (await call('GET', url('PEOPLE'))).body.find((p) => p.name === name);
    assert.deepEqual(listedPerson, { id: enrolled.body.person_id, person_id: enrolled.body.person_id, name, external_id: null, crops: 1, class_ids: listedPerson.class_ids, consent: 'given', reenrol_by: listedPerson.reenrol_by, reenrol_due: false });
    assert.equal(listedPerson.class_ids.length, 1, 'on the roster of the class of its crops');
    const listed = (await call('GET', url('SESSION_CROPS', session))).body[0];
    assert.deepEqual([listed.person_id, listed.person_name], [enrolled.body.person_id, name]);
    const ghost = `Nobody ${run}`;
    assertError(await call('POST', url('PEOPLE'), { json: { name: ghost, crop_ids: [crop, 999999999] } }), 'CropNotFound', 'one missing crop');
    assert.equal((await call('GET', url('PEOPLE'))).body.find((p) => p.name === ghost), undefined, 'nothing of a failed enrollment stays');
    assertError(await call('POST', url('PEOPLE'), { json: { name, crop_ids: [(await upload(session)).body.crop_id, 999999999] } }), 'CropNotFound', 'one missing crop of a known pupil');
    assert.equal((await call('GET', url('PEOPLE'))).body.find((p) => p.name === name).crops, 1, 'all or none');
    assertError(await call('POST', url('PEOPLE'), { json: { name: ghost, crop_ids: [] } }), 'InvalidRequest', 'no crops');
    assertError(await call('POST', url('PEOPLE'), { json: { name: '', crop_ids: [crop] } }), 'InvalidRequest', 'no name');
    const names = (await call('GET', url('PEOPLE'))).body.map((p) => p.name);
    assert.deepEqual(names, [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'people in code-point order of their names');
  });

  test('assignment and register: one-to-one per photo, strangers clustered, thresholds, CSV', async () => {
    setup();
    const scene = await lesson(call, run, 21);
    const { session, people, faces, photos } = scene;
    const assignment = await call('POST', url('ASSIGNMENTS', session), { json: {} });
    assert.equal(assignment.status, 200, assignment.text);
    assert.equal(assignment.body.threshold, THRESHOLD);
    assert.equal(assignment.body.cluster_threshold, THRESHOLD);
    const byCrop = new Map(assignment.body.assigned.map((a) => [a.crop_id, a]));
    // Ana and Ben are found in photo 1; Ana again in photo 2; the look-alike of Ana in photo 2
    // (nearer to Ana than the threshold, but Ana's real face is nearer still) stays unknown.
    for (const [label, person] of [['ana1', 'Ana'], ['ben1', 'Ben'], ['ana2', 'Ana']]) {
      const a = byCrop.get(faces[label].crop);
      assert.ok(a, `${label} assigned`);
      assert.equal(a.person_id, people[person].id);
      assert.equal(a.person_name, people[person].name);
      assert.equal(a.enrolled, false);
      assert.ok(Math.abs(a.distance - faces[label].distances[person]) < 1e-4, `${label}: ${a.distance} vs ${faces[label].distances[person]}`);
      assert.ok(a.margin > 0);
    }
    assert.ok(faces.lookalike.distances.Ana < THRESHOLD, 'the look-alike is within the threshold of Ana');
    assert.equal(byCrop.get(faces.lookalike.crop), undefined, 'a person appears once per photo');
    assert.equal(byCrop.get(faces.enrolledAna.crop).enrolled, true);
    assert.equal(byCrop.get(faces.enrolledAna.crop).distance, 0);
    const clusters = assignment.body.clusters.map((c) => c.crop_ids);
    // Largest first, then by the first member in photo order (photo 1: x1; photo 2: look-alike, x2, y).
    assert.deepEqual(clusters, [[faces.x1.crop, faces.x2.crop], [faces.lookalike.crop], [faces.y.crop]],
      'the stranger seen twice is one cluster; the others one each');
    assert.deepEqual(assignment.body.not_embedded, [faces.noVector.crop]);

    const register = (await call('GET', url('ATTENDANCE', session))).body;
    const entry = (name) => register.people.find((p) => p.person_id === people[name].id);
    assert.deepEqual([entry('Ana').present, entry('Ben').present, entry('Cleo').present], [true, true, false]);
    assert.deepEqual(entry('Ana').crops.map((c) => c.crop_id), [faces.ana1.crop, faces.ana2.crop, faces.enrolledAna.crop].sort((a, b) => a - b));
    assert.deepEqual(entry('Ana').crops.map((c) => c.photo_id), [null, photos[0], photos[1]]);
    assert.deepEqual(entry('Cleo').crops, []);
    assert.deepEqual(register.unknown.map((c) => c.crop_ids), clusters);
    assert.deepEqual(register.not_embedded, [faces.noVector.crop]);

    const strict = (await call('GET', `${url('ATTENDANCE', session)}?threshold=0.01`)).body;
    assert.equal(strict.threshold, 0.01);
    assert.deepEqual(strict.people.filter((p) => Object.values(people).some((q) => q.id === p.person_id) && p.present).map((p) => p.person_id), [people.Ana.id],
      'at 0.01 only the enrolled crop keeps Ana present');
    const loose = (await call('POST', url('ASSIGNMENTS', session), { json: { cluster_threshold: 1.5 } })).body;
    assert.equal(loose.clusters.length, 1, 'a cluster threshold of 1.5 puts every stranger together');

    const csv = await call('GET', url('ATTENDANCE_CSV', session));
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="session-${session}-attendance.csv"`));
    assert.ok(csv.text.startsWith('\ufeff'), 'UTF-8 with a BOM, so that spreadsheet programs read names right');
    const lines = csv.text.slice(1).trimEnd().split('\n');
    assert.equal(lines[0], 'person_id,name,present,crop_ids,best_distance,mark,by_hand,unsure_crop_ids');
    const ana = lines.find((l) => l.startsWith(`${people.Ana.id},`));
    assert.equal(ana, `${people.Ana.id},${people.Ana.name},yes,${entry('Ana').crops.map((c) => c.crop_id).join(' ')},0.000,present,no,`);
    assert.ok(lines.includes(`${people.Cleo.id},'=Cleo ${run},no,,,absent,no,`), 'a name starting with = is not a formula');

    assertError(await call('POST', url('ASSIGNMENTS', session), { json: { threshold: 3 } }), 'InvalidRequest', 'threshold 3');
    assertError(await call('POST', url('ASSIGNMENTS', session), { json: { model_name: 'arcface' } }), 'InvalidRequest', 'unknown model');
    assertError(await call('GET', `${url('ATTENDANCE', session)}?threshold=abc`), 'InvalidRequest', 'threshold abc');
    assertError(await call('POST', url('ASSIGNMENTS', 999999999), { json: {} }), 'NotFound', 'no such session');
    assertError(await call('GET', url('ATTENDANCE', 999999999)), 'NotFound', 'register of no session');
    const empty = await call('POST', url('ASSIGNMENTS', session), { body: '' });
    assert.equal(empty.status, 200, 'an empty body takes the defaults');
  });

  test('quality and margins: a poor face or a close call is unsure, not counted; a poor reference is refused', async () => {
    setup();
    // A seed of its own: its pupils stay on a backend's class, and another test's faces of the
    // same centres would be close calls with them.
    const gen = vectors(51);
    const centres = { Ana: gen.centre(), Ben: gen.centre() };
    const crop = async (session, body, query = '') =>
      (await call('POST', `${url('SESSION_CROPS', session)}?filename=f.jpg${query}`, { body, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
    const enrollment = await newSession();
    const references = {};
    const people = {};
    for (const key of ['Ana', 'Ben']) {
      const c = await crop(enrollment, FACE);
      references[key] = gen.face(centres[key], 0.1);
      await storeVector(call, c, references[key]);
      people[key] = (await enrollByName(call, `${key} q${run}`, [c])).body.person_id;
    }
    // Poor references: a face 20 px across in its photo; a crop without any detail (its
    // sharpness is read at upload, from its pixels). All or none: a good crop with a poor one.
    const enrolPhoto = (await call('POST', url('SESSION_PHOTOS', enrollment), { json: { filename: 'e.jpg', width: 640, height: 480 } })).body.photo_id;
    const small = await crop(enrollment, FACE, `&photo_id=${enrolPhoto}&box=5,5,20,24&score=0.99`);
    const flat = await crop(enrollment, FLAT);
    for (const [poor, concern] of [[small, 'small_face'], [flat, 'blurred_face']]) {
      const refused = await call('POST', url('PERSON_REFERENCES', people.Ana), { json: { crop_ids: [await crop(enrollment, FACE), poor] } });
      assertError(refused, 'PoorReference', concern);
      assert.ok(refused.body.message.includes(`face crop ${poor}`) && refused.body.message.includes(concern), refused.body.message);
    }
    assert.equal((await call('GET', url('PERSON', people.Ana))).body.crops, 1, 'nothing of a refused enrolment stays');

    // The lesson: photo 1 holds a small face of Ana's look; photo 2 a face between Ana's and
    // Ben's references, a little nearer Ben (within the threshold of both, a margin near 0).
    const session = await newSession();
    const photo = async () => (await call('POST', url('SESSION_PHOTOS', session), { json: { filename: 'l.jpg', width: 1920, height: 1280 } })).body.photo_id;
    const [one, two] = [await photo(), await photo()];
    const poorAna = await crop(session, FACE, `&photo_id=${one}&box=100,100,20,24&landmarks=104,106,114,106,109,110,105,115,113,115&score=0.99`);
    await storeVector(call, poorAna, gen.face(centres.Ana, 0.1));
    const midway = references.Ana.map((x, i) => 0.49 * x + 0.51 * references.Ben[i]);
    const between = await crop(session, FACE, `&photo_id=${two}`);
    await storeVector(call, between, midway.map((x) => x / Math.hypot(...midway)));
    assert.ok(cosineDistance(midway, references.Ana) < THRESHOLD && cosineDistance(midway, references.Ben) < THRESHOLD);

    const assignment = (await call('POST', url('ASSIGNMENTS', session), { json: {} })).body;
    assert.deepEqual(assignment.assigned, [], 'neither face is counted');
    const unsure = new Map(assignment.unsure.map((u) => [u.crop_id, u]));
    assert.deepEqual([unsure.get(poorAna).person_id, unsure.get(poorAna).doubt], [people.Ana, 'small_face']);
    assert.ok(unsure.get(poorAna).margin >= 0.05 && unsure.get(poorAna).distance < THRESHOLD, JSON.stringify(unsure.get(poorAna)));
    const close = unsure.get(between);
    assert.deepEqual([close.person_id, close.doubt], [people.Ben, 'close_call']);
    assert.ok(Math.abs(close.distance - cosineDistance(midway, references.Ben)) < 1e-4, JSON.stringify(close));
    assert.ok(Math.abs(close.margin - (cosineDistance(midway, references.Ana) - close.distance)) < 1e-4 && close.margin < 0.05);
    assert.deepEqual(assignment.clusters, [], 'a face in doubt is not an unknown person to enrol');

    const register = (await call('GET', url('ATTENDANCE', session))).body;
    const entry = (id) => register.people.find((p) => p.person_id === id);
    assert.deepEqual([entry(people.Ana).present, entry(people.Ben).present], [false, false]);
    assert.deepEqual(entry(people.Ana).unsure.map((c) => [c.crop_id, c.doubt, c.photo_id]), [[poorAna, 'small_face', one]]);
    assert.deepEqual(entry(people.Ben).unsure.map((c) => [c.crop_id, c.doubt]), [[between, 'close_call']]);
    const csv = (await call('GET', url('ATTENDANCE_CSV', session))).text.slice(1).trimEnd().split('\n');
    assert.equal(csv[0], 'person_id,name,present,crop_ids,best_distance,mark,by_hand,unsure_crop_ids');
    assert.ok(csv.find((l) => l.startsWith(`${people.Ana},`)).split(',')[7].split(' ').includes(`${poorAna}:small_face`), csv.join('\n'));

    // The teacher confirms the small face: Ana is present, by the teacher's word.
    assert.equal((await call('PUT', url('CROP_PERSON', poorAna), { json: { person_id: people.Ana } })).status, 200);
    const confirmed = (await call('GET', url('ATTENDANCE', session))).body.people.find((p) => p.person_id === people.Ana);
    assert.equal(confirmed.present, true);
    assert.deepEqual(confirmed.crops.map((c) => [c.crop_id, c.by_teacher]), [[poorAna, true]]);
    assert.ok(!confirmed.unsure.some((c) => c.crop_id === poorAna));
  });

  test('galleries: a face a finalised register confirms names its pupil in later lessons, until reopened or erased', async () => {
    setup();
    const gen = vectors(52);
    // Ana's enrolment photo, and her look of this term: nothing like it (a random direction).
    const [enrolledLook, newLook, benLook] = [gen.centre(), gen.centre(), gen.centre()];
    const crop = async (session, query = '') =>
      (await call('POST', `${url('SESSION_CROPS', session)}?filename=f.jpg${query}`, { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
    const enrollment = await newSession();
    const people = {};
    for (const [key, look] of [['Ana', enrolledLook], ['Ben', benLook]]) {
      const c = await crop(enrollment);
      await storeVector(call, c, gen.face(look, 0.1));
      people[key] = (await enrollByName(call, `${key} g${run}`, [c])).body.person_id;
    }
    const lessonWith = async (look) => {
      const session = await newSession();
      const face = await crop(session);
      const vector = gen.face(look, 0.1);
      await storeVector(call, face, vector);
      return { session, face, vector };
    };
    const named = async (lesson) =>
      (await call('POST', url('ASSIGNMENTS', lesson.session), { json: {} })).body.assigned.find((a) => a.crop_id === lesson.face) ?? null;

    // Lesson 1: the references miss Ana's new look; the teacher gives the face to her, and a small
    // face (poor: never a reference) of Ben's new look to Ben, then finalises.
    const first = await lessonWith(newLook);
    assert.equal(await named(first), null, 'the enrolment photo does not name the new look');
    const photo = (await call('POST', url('SESSION_PHOTOS', first.session), { json: { filename: 'p.jpg', width: 1920, height: 1280 } })).body.photo_id;
    const benNewLook = gen.centre();
    const smallBen = await crop(first.session, `&photo_id=${photo}&box=100,100,20,24&score=0.99`);
    await storeVector(call, smallBen, gen.face(benNewLook, 0.1));
    for (const [face, person] of [[first.face, people.Ana], [smallBen, people.Ben]]) {
      assert.equal((await call('PUT', url('CROP_PERSON', face), { json: { person_id: person } })).status, 200);
    }
    const finalised = await call('POST', url('FINALIZE', first.session), { json: {} });
    assert.equal(finalised.status, 200, JSON.stringify(finalised.body));

    // Lesson 2: the face of her new look is Ana's, at its distance from the confirmed face.
    const second = await lessonWith(newLook);
    const match = await named(second);
    assert.equal(match?.person_id, people.Ana, JSON.stringify(match));
    assert.ok(Math.abs(match.distance - cosineDistance(second.vector, first.vector)) < 1e-4, JSON.stringify(match));
    const benLater = await lessonWith(benNewLook);
    assert.equal(await named(benLater), null, 'a poor face the teacher confirmed is no reference');
    const settings = (await call('GET', url('SETTINGS'))).body;
    assert.ok(settings.held.gallery_faces >= 1 && settings.models.every((m) => m.gallery_size === CONTRACT.gallery_size), JSON.stringify(settings.held));

    // Reopened, lesson 1 confirms nothing; finalised again, it does; its face erased, it is gone.
    assert.equal((await call('POST', url('REOPEN', first.session))).status, 200);
    assert.equal(await named(second), null, 'a reopened register grows no gallery');
    assert.equal((await call('POST', url('FINALIZE', first.session), { json: {} })).status, 200);
    assert.equal((await named(second))?.person_id, people.Ana);
    assert.equal((await call('DELETE', url('CROP', first.face))).status, 200);
    assert.equal(await named(second), null, 'an erased face leaves the gallery');

    // A face the matching named, once finalised, is confirmed too; a withdrawn consent takes the
    // pupil's gallery with it (the faces stay, nobody's).
    const third = await lessonWith(enrolledLook);
    assert.equal((await named(third))?.person_id, people.Ana);
    assert.equal((await call('POST', url('FINALIZE', third.session), { json: {} })).status, 200);
    const fourth = await lessonWith(enrolledLook);
    // Her export lists the face, with its image (the ZIP is stored, not compressed).
    const exported = (await call('GET', url('PERSON_EXPORT', people.Ana))).bytes.toString('latin1');
    const listed = exported.match(/"gallery_faces": \[([^\]]*)\]/)?.[1].split(',').map(Number);
    assert.deepEqual(listed, [third.face], 'the export lists the gallery');
    assert.ok(exported.includes(`crops/${third.face}.`), 'with the face itself');
    const before = (await call('GET', url('SETTINGS'))).body.held.gallery_faces;
    const withdrawn = await call('PUT', url('CONSENT', people.Ana), { json: { state: 'withdrawn', by: 'guardian', purpose: PURPOSE } });
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal((await call('GET', url('SETTINGS'))).body.held.gallery_faces, before - 1, 'her gallery face is erased');
    assert.equal(await named(fourth), null);
  });
}

/** A crop of `session` (and of `photo`, if given) → its id. */
const uploadCrop = async (call, session, photo) =>
  (await call('POST', `${url('SESSION_CROPS', session)}?filename=f.jpg${photo ? `&photo_id=${photo}` : ''}`, { body: FACE })).body.crop_id;
/** A facenet vector for `crop`, of the served version. */
const storeVector = (call, crop, embedding) =>
  call('POST', url('CROP_EMBEDDING', crop), { json: { model_name: 'facenet', model_version: VERSION, embedding } });

/**
 * A lesson with known people, built through the API: Ana, Ben and Cleo ('=Cleo …', enrolled
 * from an enrollment session); photo 1 holds Ana, Ben and stranger X; photo 2 holds Ana, a
 * look-alike of Ana, X again and stranger Y; one crop has no vector; one more of Ana's crops,
 * without a photo, is enrolled as her. Returns ids and each face's cosine distances to the people's vectors.
 */
export async function lesson(call, run, seed) {
  const gen = vectors(seed);
  const centres = { Ana: gen.centre(), Ben: gen.centre(), Cleo: gen.centre(), X: gen.centre(), Y: gen.centre() };
  const upload = (session, photo) => uploadCrop(call, session, photo);
  const store = (crop, embedding) => storeVector(call, crop, embedding);

  const enrollment = (await call('POST', url('SESSIONS'), { json: { name: `enrollment ${run}` } })).body.id;
  const people = {};
  const references = {};
  for (const [key, name] of [['Ana', `Ana ${run}`], ['Ben', `Ben ${run}`], ['Cleo', `=Cleo ${run}`]]) {
    const crop = await upload(enrollment);
    references[key] = gen.face(centres[key], 0.1);
    await store(crop, references[key]);
    people[key] = { id: (await enrollByName(call, name, [crop])).body.person_id, name };
  }
  const session = (await call('POST', url('SESSIONS'), { json: { name: `lesson ${run}` } })).body.id;
  const photos = [];
  for (const f of ['one.jpg', 'two.jpg']) photos.push((await call('POST', url('SESSION_PHOTOS', session), { json: { filename: f, width: 1920, height: 1280 } })).body.photo_id);
  const faces = {};
  const add = async (label, photo, vector) => {
    const crop = await upload(session, photo);
    if (vector) await store(crop, vector);
    const distances = {};
    for (const key of Object.keys(references)) distances[key] = vector ? cosineDistance(vector, references[key]) : null;
    faces[label] = { crop, vector, distances };
  };
  // A crop without a photo stands alone: enrolled, it makes Ana present without taking her out
  // of either photo's matching.
  await add('enrolledAna', null, gen.face(centres.Ana, 0.15));
  await add('ana1', photos[0], gen.face(centres.Ana, 0.2));
  await add('ben1', photos[0], gen.face(centres.Ben, 0.2));
  await add('x1', photos[0], gen.face(centres.X, 0.1));
  await add('ana2', photos[1], gen.face(centres.Ana, 0.15));
  // Nearer to Ana than the threshold, farther than Ana's real face in the same photo.
  await add('lookalike', photos[1], gen.face(centres.Ana, 0.3));
  await add('x2', photos[1], gen.face(centres.X, 0.1));
  await add('y', photos[1], gen.face(centres.Y, 0.1));
  await add('noVector', photos[1], null);
  await enrollByName(call, people.Ana.name, [faces.enrolledAna.crop]);
  return { session, people, faces, photos, enrollment };
}

/**
 * A crowd: 6 people enrolled (two crops each), 3 photos of 10 faces drawn from them and from 5
 * strangers, each at a spread between 0.05 and 0.5 (the threshold is 0.40), a person at most
 * twice in a photo. Faces are labelled `p<photo>f<k>`.
 */
export async function crowd(call, run, seed) {
  const gen = vectors(seed);
  let s = seed;
  const pick = (n) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s % n; };
  const who = Array.from({ length: 11 }, () => gen.centre());
  const upload = (session, photo) => uploadCrop(call, session, photo);
  const store = (crop, embedding) => storeVector(call, crop, embedding);
  const enrollment = (await call('POST', url('SESSIONS'), { json: { name: `crowd enrollment ${run}` } })).body.id;
  const people = {};
  for (let p = 0; p < 6; p++) {
    const crops = [];
    for (let k = 0; k < 2; k++) {
      crops.push(await upload(enrollment));
      await store(crops[k], gen.face(who[p], 0.1 + 0.1 * k));
    }
    people[`P${p}`] = { id: (await enrollByName(call, `P${p} ${run}`, crops)).body.person_id, name: `P${p} ${run}` };
  }
  const session = (await call('POST', url('SESSIONS'), { json: { name: `crowd ${run}` } })).body.id;
  const photos = [];
  const faces = {};
  for (let f = 0; f < 3; f++) {
    photos.push((await call('POST', url('SESSION_PHOTOS', session), { json: { filename: `p${f}.jpg`, width: 4000, height: 3000 } })).body.photo_id);
    const seen = new Map();
    for (let k = 0; k < 10; k++) {
      let person = pick(11);
      while ((seen.get(person) ?? 0) >= 2) person = pick(11);
      seen.set(person, (seen.get(person) ?? 0) + 1);
      const crop = await upload(session, photos[f]);
      await store(crop, gen.face(who[person], 0.05 + 0.45 * (pick(1000) / 1000)));
      faces[`p${f}f${k}`] = { crop };
    }
  }
  return { session, people, faces, photos, enrollment };
}
