// EmbeddingUploader against facenet-server (behind the tests' fault-injecting proxy): retries,
// refusals with the server's own statuses and error types, and nothing lost offline.
import { test, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { launch, openPage } from './harness.mjs';

const server = await startServer();
const browser = await launch();
const page = await openPage(browser.context, `${server.url}/tests/browser/page.html`);
after(async () => { await browser.close(); await server.close(); });
beforeEach(() => { Object.assign(server.state, { posts: 0, fail5xx: 0, drop: 0, delayMs: 0 }); });

/** Each test posts for crops of its own (the server's fixture crops 1–12), so none sees another's. */
const near = (a, b) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6);

/** A unit vector of `n` values. */
const unit = (n, seed = 1) => { const v = Array.from({ length: n }, (_, i) => Math.sin(i * seed + 1)); const norm = Math.hypot(...v); return v.map((x) => x / norm); };

/** Runs in the page: makes an uploader (fast backoff), enqueues, reports what happened. */
const upload = (vectors, options = {}) => page.evaluate(async ({ vectors, options }) => {
  const { EmbeddingUploader } = await import('/www/client/uploader.js');
  const rejected = [];
  const uploader = new EmbeddingUploader({ backoffMs: 20, retries: 4, onRejected: (r) => rejected.push(r), ...options });
  let outcome = { uploaded: 0, rejected: 0, pending: await uploader.pending() };
  for (const v of vectors) outcome = await uploader.enqueue(v);
  if (!vectors.length) outcome = await uploader.flush();
  uploader.close();
  return { outcome, rejected };
}, { vectors, options });

const vector = (cropId, extra = {}) => ({ cropId, model: 'facenet', modelVersion: server.version, embedding: unit(128, cropId), ...extra });

test('posts vectors with the bearer token; the server stores exactly them', async () => {
  const { outcome, rejected } = await upload([vector(1), vector(2)], { token: server.token });
  assert.deepEqual(outcome, { uploaded: 1, rejected: 0, pending: 0 }); // the second enqueue's flush sends #2
  assert.deepEqual(rejected, []);
  const stored = server.stored();
  assert.ok(near(stored.get('1:facenet'), unit(128, 1)) && near(stored.get('2:facenet'), unit(128, 2)), 'stored as sent (f32)');
});

test('a vector enqueued while a flush is under way is sent too', async () => {
  server.state.delayMs = 300; // the first POST is still out when the second vector arrives
  const outcome = await page.evaluate(async ({ first, second, token }) => {
    const { EmbeddingUploader } = await import('/www/client/uploader.js');
    const uploader = new EmbeddingUploader({ token, dbName: 'concurrent-test' });
    const one = uploader.enqueue(first);
    await new Promise((r) => setTimeout(r, 100));
    const two = uploader.enqueue(second);
    await Promise.all([one, two]);
    const pending = await uploader.pending();
    uploader.close();
    return pending;
  }, { first: vector(10), second: vector(11), token: server.token });
  server.state.delayMs = 0;
  assert.equal(outcome, 0);
  assert.ok(server.stored().has('10:facenet') && server.stored().has('11:facenet'));
});

test('5xx answers and dropped connections are retried with backoff', async () => {
  server.state.fail5xx = 2;
  server.state.drop = 1;
  const { outcome } = await upload([vector(3)], { token: server.token });
  assert.deepEqual(outcome, { uploaded: 1, rejected: 0, pending: 0 });
  assert.equal(server.state.posts, 4);
  assert.ok(server.stored().has('3:facenet'));
});

test('a 4xx validation error is not retried and is reported with the server error_type and message', async () => {
  const { outcome, rejected } = await upload([vector(4, { modelVersion: '000000000000' }), vector(5, { embedding: unit(127) })], { token: server.token });
  assert.equal(server.state.posts, 2, 'one attempt each');
  assert.deepEqual(outcome, { uploaded: 0, rejected: 1, pending: 0 });
  assert.deepEqual(rejected.map((r) => [r.cropId, r.status, r.errorType]), [[4, 422, 'InvalidEmbedding'], [5, 422, 'InvalidEmbedding']]);
  assert.match(rejected[0].message, /model_version "000000000000" is not the served model's/);
  assert.match(rejected[1].message, /facenet vectors have 128 values, got 127/);
  assert.ok(!server.stored().has('4:facenet') && !server.stored().has('5:facenet'));
});

test('a wrong token keeps the vectors and reports Unauthorized', async () => {
  const { outcome, rejected } = await upload([vector(6)], { token: 'wrong', dbName: 'unauthorized-test' });
  assert.deepEqual(outcome, { uploaded: 0, rejected: 0, pending: 1 });
  assert.equal(rejected[0].errorType, 'Unauthorized');
  const retried = await upload([], { token: server.token, dbName: 'unauthorized-test' });
  assert.deepEqual(retried.outcome, { uploaded: 1, rejected: 0, pending: 0 });
});

test('an offline spell and a closed tab lose nothing: IndexedDB keeps the vectors until the server takes them', async () => {
  server.state.fail5xx = 1000;
  const first = await upload([vector(7), vector(8), vector(9)], { token: server.token, dbName: 'offline-test' });
  assert.deepEqual(first.outcome, { uploaded: 0, rejected: 0, pending: 3 });
  await page.reload(); // the tab is gone; a new page, a new uploader
  server.state.fail5xx = 0;
  const later = await upload([], { token: server.token, dbName: 'offline-test' });
  assert.deepEqual(later.outcome, { uploaded: 3, rejected: 0, pending: 0 });
  const stored = server.stored();
  assert.ok(['7:facenet', '8:facenet', '9:facenet'].every((k) => stored.has(k)));
});
