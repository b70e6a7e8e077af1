// The outbox (www/client/outbox.js) and its API client (www/client/api.js) on every engine of
// ENGINES (harness.mjs) against facenet-server behind the tests' fault-injecting proxy: a photo's record,
// its crops and their vectors arrive once each and in order, whatever the network does between
// (cut connections, answers lost after the server stored, proxies' pages, 408, 429, 5xx); a
// refusal waits in "needs attention" without holding up the rest; a newer vector is not lost to
// an older one's answer; a reload loses nothing; nothing is sent to another database.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { rows, startServer } from './server.mjs';
import { ENGINES, enginePage } from './harness.mjs';

const server = await startServer();
after(() => server.close());
const DEFAULT_FAULTS = server.state.faultPath;
/** Every create the outbox makes: photos, crops, batches of vectors. */
const CREATES = /^\/api\/attendance\/(sessions\/\d+\/(photos|face-crops)|face-crops\/embeddings-batch)\/$/;
beforeEach(() => { Object.assign(server.state, { posts: 0, fail5xx: 0, drop: 0, delayMs: 0, faults: [], faultPath: DEFAULT_FAULTS }); });

/** A unit vector of `n` values. */
const unit = (n, seed = 1) => { const v = Array.from({ length: n }, (_, i) => Math.sin(i * seed + 1)); const norm = Math.hypot(...v); return v.map((x) => x / norm); };
const near = (a, b) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6);

for (const engine of ENGINES) describe(engine, () => {
  /** @type {import('./harness.mjs').Page} */
  let page;
  before(async () => { page = await enginePage(engine, `${server.url}/tests/browser/page.html`); });
  after(() => page?.close());

  /**
   * Runs `script` in the page with `api` (an ApiClient), `open(dbName, more)` (an Outbox of the
   * server's database, fast backoff), `face(k)` (a fixture crop as a Blob) and `flushAll(box)`
   * (flushes until nothing can be sent now, waiting out the backoffs).
   * @param {string} script the body of an async function of (api, open, face, flushAll, args)
   * @param {any} [args]
   */
  const inPage = (script, args = {}) => page.evaluate(async ({ script, args, token }) => {
    const { ApiClient } = await import('/www/client/api.js');
    const { Outbox } = await import('/www/client/outbox.js');
    const api = new ApiClient({ token: args.token ?? token, backoffMs: 10, retries: 3 });
    const files = ['s1a.jpg', 's2a.jpg', 's3a.jpg', 's4a.jpg'];
    const face = async (k) => (await fetch(`/tests/faces/${files[k % files.length]}`)).blob();
    const open = async (dbName, more = {}) => {
      const databaseId = more.databaseId ?? (await new ApiClient({ token }).call('ME')).database_id;
      return Outbox.open({ api, databaseId, dbName, backoffMs: 10, maxBackoffMs: 50, ...more });
    };
    const flushAll = async (box) => {
      let outcome = await box.flush();
      for (let i = 0; i < 60 && outcome.pending > 0; i++) {
        await new Promise((r) => setTimeout(r, 60));
        outcome = await box.flush();
      }
      return outcome;
    };
    // eslint-disable-next-line no-new-func
    return new Function('api', 'open', 'face', 'flushAll', 'args', `return (async () => { ${script} })()`)(api, open, face, flushAll, args);
  }, { script, args, token: server.token });

  /** A new session of the server's default class, through the API. */
  const newSession = (name) => inPage(`return (await api.call('SESSIONS', [], { method: 'POST', json: { name: args.name } })).id;`, { name });

  /** Queues a photo with `n` faces and a vector each, in session `session`; the refs. */
  const QUEUE_PHOTO = `
    const box = await open(args.db);
    const photo = await box.addPhoto({ session: args.session, filename: 'lesson.jpg', width: 1280, height: 960, size: 123456 });
    const crops = [];
    for (let k = 0; k < args.n; k++) {
      const crop = await box.addCrop({ session: args.session, photo, blob: await face(k), query: { filename: 'lesson_' + k + '.jpg', score: '0.99' } });
      await box.addVector({ crop, model: 'facenet', modelVersion: args.version, embedding: args.vectors[k] });
      crops.push(crop);
    }`;

  /** What the server holds for a session: its photos, and each crop with its photo and vector. */
  function held(session) {
    const photos = rows(server.dataDir, `SELECT id FROM photos WHERE session_id = ${session}`).map(([id]) => id);
    const crops = rows(server.dataDir, `SELECT c.id, c.photo_id, c.filename, e.vector FROM face_crops c LEFT JOIN embeddings e ON e.crop_id = c.id WHERE c.session_id = ${session} ORDER BY c.id`);
    return { photos, crops: crops.map(([id, photo, filename, vector]) => ({ id, photo, filename, vector })) };
  }

  test('a photo, its faces and their vectors arrive once each, in order of dependency, in batches', async () => {
    const session = await newSession('outbox: order');
    const seen = server.state.requests.length;
    const vectors = [1, 2, 3].map((k) => unit(128, 100 + k));
    const outcome = await inPage(`${QUEUE_PHOTO}
      const sent = await box.flush();
      box.close();
      return sent;`, { db: 'order', session, n: 3, vectors, version: server.version });
    assert.deepEqual(outcome, { sent: 7, attention: 0, pending: 0 }, 'a photo, three crops, three vectors');
    const { photos, crops } = held(session);
    assert.equal(photos.length, 1);
    assert.deepEqual(crops.map((c) => [c.photo, c.filename]), [0, 1, 2].map((k) => [photos[0], `lesson_${k}.jpg`]), 'each crop on its photo');
    crops.forEach((c, k) => assert.ok(near(c.vector, vectors[k]), `crop ${k}'s own vector`));
    const batches = server.state.requests.slice(seen).filter((r) => r.endsWith('/face-crops/embeddings-batch/'));
    assert.equal(batches.length, 1, 'the three vectors in one batch');
  });

  test('the network at its worst: every face once, every vector on its own crop, nothing needing attention', async () => {
    // Every create of the lesson meets one of these first, in turn; a lost answer means the
    // server stored it and the browser never heard: the retry's Idempotency-Key makes it the same.
    const mix = ['drop', 'lost', 'html404', 408, 429, 502, 503, 'lost', 'drop', 'lost'];
    Object.assign(server.state, { faultPath: CREATES, faults: [...mix] });
    const session = await newSession('outbox: faults');
    const vectors = [1, 2, 3, 4].map((k) => unit(128, 200 + k));
    const outcome = await inPage(`${QUEUE_PHOTO}
      const sent = await flushAll(box);
      const attention = await box.attention();
      box.close();
      return { sent, attention: attention.map((i) => i.problem) };`, { db: 'faults', session, n: 4, vectors, version: server.version });
    assert.equal(server.state.faults.length, 0, 'every fault was met');
    assert.deepEqual(outcome.attention, [], 'nothing the server would take needs attention');
    assert.equal(outcome.sent.pending, 0);
    const { photos, crops } = held(session);
    assert.equal(photos.length, 1, 'one photo record, not two');
    assert.deepEqual(crops.map((c) => c.filename), ['lesson_0.jpg', 'lesson_1.jpg', 'lesson_2.jpg', 'lesson_3.jpg'], 'each face once');
    crops.forEach((c, k) => {
      assert.equal(c.photo, photos[0]);
      assert.ok(c.vector && near(c.vector, vectors[k]), `crop ${c.filename} has its own vector`);
    });
  });

  test('a refused item waits in "needs attention" with the reason; the rest is sent; retry and give up', async () => {
    const session = await newSession('outbox: refusals');
    const answer = await inPage(`
      const box = await open('refusals');
      const crop = await box.addCrop({ session: args.session, blob: await face(0), query: { filename: 'good.jpg' } });
      await box.addVector({ crop, model: 'facenet', modelVersion: args.version, embedding: args.short });
      const second = await box.addCrop({ session: args.session, blob: await face(1), query: { filename: 'second.jpg' } });
      await box.addVector({ crop: second, model: 'facenet', modelVersion: args.version, embedding: args.good });
      const broken = await box.addCrop({ session: args.session, blob: new Blob(['not an image'], { type: 'image/jpeg' }), query: { filename: 'broken.jpg' } });
      await box.addVector({ crop: broken, model: 'facenet', modelVersion: args.version, embedding: args.good });
      const sent = await box.flush();
      const attention = (await box.attention()).map((i) => [i.kind, i.problem.code, i.problem.message]);
      // Sent again, the broken crop takes its vector along (and both are refused again).
      const retried = await box.retry((await box.attention()).find((i) => i.kind === 'crop').id);
      // The broken crop's vector follows its crop into attention; giving up the crop and its vector empties the list.
      for (const i of await box.attention()) await box.dismiss(i.id);
      const after = { pending: await box.pending(), attention: (await box.attention()).length };
      box.close();
      return { sent, attention, after, retried };`, { session, version: server.version, short: unit(127), good: unit(128, 7) });
    assert.deepEqual(answer.sent, { sent: 3, attention: 3, pending: 0 }, 'two crops and one vector sent; a vector, a crop and its vector refused');
    assert.deepEqual(answer.attention.map(([kind, code]) => [kind, code === 'UnsupportedFormat' ? 'DecodeError' : code]).sort(),
      [['crop', 'DecodeError'], ['vector', 'InvalidEmbedding'], ['vector', 'InvalidRequest']].sort(), JSON.stringify(answer.attention));
    assert.ok(answer.attention.some(([, code, message]) => code === 'InvalidEmbedding' && /128 values, got 127/.test(message)), 'the server\'s own reason');
    assert.deepEqual(answer.retried, { sent: 0, attention: 2, pending: 0 }, 'the crop and its vector tried again');
    assert.deepEqual(answer.after, { pending: 0, attention: 0 });
    const { crops } = held(session);
    assert.deepEqual(crops.map((c) => [c.filename, c.vector !== null]), [['good.jpg', false], ['second.jpg', true]]);
  });

  test('compare-and-delete: a newer vector queued after the older one was read for sending is not lost to its answer', async () => {
    const session = await newSession('outbox: newer');
    const [older, newer] = [unit(128, 301), unit(128, 302)];
    const outcome = await inPage(`
      let crop;
      let replaced;
      // When the crop is acknowledged, the pass has read the older vector already and sends it
      // next: the teacher's newer one arrives just then.
      const box = await open('newer', {
        onSent: (item) => {
          if (item.kind === 'crop') replaced = box.addVector({ crop, model: 'facenet', modelVersion: args.version, embedding: args.newer, force: true });
        },
      });
      crop = await box.addCrop({ session: args.session, blob: await face(0), query: { filename: 'f.jpg' } });
      await box.addVector({ crop, model: 'facenet', modelVersion: args.version, embedding: args.older });
      const first = await box.flush();
      await replaced;
      const second = await box.flush();
      box.close();
      return { first, second };`, { session, version: server.version, older, newer });
    assert.deepEqual(outcome.first, { sent: 2, attention: 0, pending: 1 }, 'the crop and the older vector sent; the newer one kept');
    assert.deepEqual(outcome.second, { sent: 1, attention: 0, pending: 0 });
    assert.ok(near(held(session).crops[0].vector, newer), 'the newer vector is the one stored');
  });

  test('a reload mid-lesson loses nothing; a wrong token or another database sends nothing and keeps everything', async () => {
    server.state.faultPath = CREATES;
    server.state.fail5xx = 1000; // the server unreachable for everything the outbox sends
    const session = await newSession('outbox: reload');
    const vectors = [unit(128, 401), unit(128, 402)];
    const before = await inPage(`${QUEUE_PHOTO}
      const sent = await box.flush();
      box.close();
      return sent;`, { db: 'reload', session, n: 2, vectors, version: server.version });
    assert.equal(before.pending, 5);
    await page.reload();
    server.state.fail5xx = 0;
    const wrongToken = await inPage(`
      const problems = [];
      const wrong = await open('reload', { onBlocked: (p) => problems.push(p.code) });
      const outcome = await wrong.flush();
      wrong.close();
      return { problems, outcome };`, { token: 'wrong-token-123' });
    assert.deepEqual(wrongToken, { problems: ['Unauthorized'], outcome: { sent: 0, attention: 0, pending: 5 } }, 'a wrong token sends nothing');
    const elsewhere = await inPage(`
      const problems = [];
      const other = await open('reload', { databaseId: 'f'.repeat(32), onBlocked: (p) => problems.push(p.message) });
      await other.addCrop({ session: args.session, blob: await face(0), query: { filename: 'elsewhere.jpg' } });
      const outcome = await other.flush();
      other.close();
      return { problems, outcome };`, { session });
    assert.match(elsewhere.problems[0], /another database now/, 'items of another database are not sent here');
    assert.equal(elsewhere.outcome.pending, 1);
    assert.equal(held(session).crops.length, 0);
    const later = await inPage(`
      const box = await open('reload');
      const sent = await flushAll(box);
      box.close();
      return sent;`);
    assert.deepEqual(later, { sent: 5, attention: 0, pending: 0 }, 'the next page load sends what the last one queued');
    const { photos, crops } = held(session);
    assert.equal(photos.length, 1);
    crops.forEach((c, k) => assert.ok(near(c.vector, vectors[k])));
  });

  test('a full device: StorageFull for the item that did not fit, and what was queued before is kept', async () => {
    const session = await newSession(`outbox: storage full (${engine})`);
    const answer = await inPage(`
      const box = await open(args.db);
      await box.addPhoto({ session: args.session, filename: 'first.jpg', width: 640, height: 480, size: 1000 });
      // The quota reached: IndexedDB aborts the transaction of the next write with a
      // QuotaExceededError, as a full device's does (injected: the test cannot fill this
      // machine's disk).
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (...a) {
        const request = put.apply(this, a);
        Object.defineProperty(this.transaction, 'error', { value: new DOMException('The quota has been exceeded.', 'QuotaExceededError') });
        this.transaction.abort();
        return request;
      };
      const blob = await face(0);
      let refused;
      try { await box.addCrop({ session: args.session, blob, query: { filename: 'face.jpg' } }); } catch (e) { refused = [e.code, e.message]; }
      IDBObjectStore.prototype.put = put;
      const pending = await box.pending();
      const sent = await flushAll(box);
      box.close();
      return { refused, pending, sent };`, { db: 'full', session });
    assert.equal(answer.refused?.[0], 'StorageFull');
    assert.match(answer.refused[1], /storage is full, so the item was not kept/);
    assert.equal(answer.pending, 1, 'the photo queued before is still there');
    assert.deepEqual(answer.sent, { sent: 1, attention: 0, pending: 0 });
  });

  test('the API client: typed rejections at once, transient failures retried, a create retried is one object', async () => {
    server.state.faultPath = /^\/api\/attendance\/sessions\/$/;
    server.state.faults = ['lost', 502];
    const answer = await inPage(`
      const created = await api.call('SESSIONS', [], { method: 'POST', json: { name: args.name } });
      const all = await api.call('SESSIONS');
      let typed;
      try { await api.call('SESSION', [999999]); } catch (e) { typed = [e.name, e.code, e.status, e.transient]; }
      let gateway;
      const flaky = new (await import('/www/client/api.js')).ApiClient({ token: 'x', baseUrl: 'http://127.0.0.1:9', retries: 2, backoffMs: 5 });
      try { await flaky.call('ME'); } catch (e) { gateway = [e.code, e.transient]; }
      return { created, same: all.filter((s) => s.name === args.name).length, typed, gateway };`, { name: `api client: lost answer (${engine})` });
    assert.equal(answer.same, 1, 'the session whose answer was lost is not made twice');
    assert.equal(typeof answer.created.id, 'number');
    assert.deepEqual(answer.typed, ['ApiError', 'NotFound', 404, false]);
    assert.deepEqual(answer.gateway, ['FetchError', true]);
    assert.equal(server.state.posts, 3, 'a lost answer, a 502, then the answer');
  });
});
