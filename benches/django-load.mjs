// The Django app (integrations/django) on a throw-away PostgreSQL cluster under 50 concurrent
// clients posting vectors for 60 s: each client uploads crops and posts their vectors (one by
// one, and in batches of 20). Prints requests/s, latency per call, the errors (there must be
// none), then checks that no acknowledged vector was lost: each is posted again and must come
// back "embedding already stored (unchanged)".
//
//   node benches/django-load.mjs                 (after scripts/setup: .venv-django, PostgreSQL)
//   FACENET_LOAD_CLIENTS=50 FACENET_LOAD_SECONDS=60 FACENET_LOAD_BACKEND=facenet node benches/django-load.mjs
//
// FACENET_LOAD_BACKEND=facenet runs the same load against facenet-server, for comparison.
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startDjango, startFacenet } from '../tests/contract/backends.mjs';
import { VERSION, client, url, vectors } from '../tests/contract/suite.mjs';

const CLIENTS = Number(process.env.FACENET_LOAD_CLIENTS ?? 50);
const SECONDS = Number(process.env.FACENET_LOAD_SECONDS ?? 60);
const CROP = readFileSync(join(ROOT, 'tests/faces/s1a.jpg'));
const backend = process.env.FACENET_LOAD_BACKEND === 'facenet' ? await startFacenet('load-token-123') : await startDjango({ database: 'postgres', token: 'load-token-123' });
const call = client(backend);
const session = (await call('POST', url('SESSIONS'), { json: { name: 'load' } })).body.id;

const latencies = {};
const errors = [];
/** Every vector the server acknowledged: crop id → vector. */
const acknowledged = new Map();
let requests = 0;
async function timed(kind, method, path, options, ok = (a) => a.status < 300) {
  const t = performance.now();
  let answer;
  try {
    answer = await call(method, path, options);
  } catch (e) {
    errors.push(`${kind}: ${e}`);
    return null;
  }
  (latencies[kind] ??= []).push(performance.now() - t);
  requests++;
  if (!ok(answer)) { errors.push(`${kind}: ${answer.status} ${answer.text.slice(0, 200)}`); return null; }
  return answer;
}

async function worker(index) {
  const gen = vectors(1000 + index);
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    // Five crops, two vectors posted one by one, three in a batch (with a re-post of the first).
    const crops = [];
    for (let k = 0; k < 5; k++) {
      const a = await timed('upload crop', 'POST', `${url('SESSION_CROPS', session)}?filename=c.jpg`, { body: CROP });
      if (a) crops.push(a.body.crop_id);
    }
    const v = crops.map(() => gen.centre());
    for (let k = 0; k < Math.min(2, crops.length); k++) {
      const a = await timed('post vector', 'POST', url('CROP_EMBEDDING', crops[k]), { json: { model_name: 'facenet', model_version: VERSION, embedding: v[k] } });
      if (a?.body.message === 'embedding stored') acknowledged.set(crops[k], v[k]);
    }
    const items = crops.slice(2).map((crop_id, k) => ({ crop_id, embedding: v[k + 2] }));
    if (crops.length) items.push({ crop_id: crops[0], embedding: v[0] });
    const a = await timed('batch', 'POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', model_version: VERSION, items } },
      (b) => b.status === 200 && b.body.failed === 0);
    a?.body.results.forEach((r, k) => { if (r.message === 'embedding stored') acknowledged.set(items[k].crop_id, items[k].embedding); });
    if (index % 10 === 0) await timed('list crops', 'GET', url('SESSION_CROPS', session));
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, (_, i) => worker(i)));
const elapsed = (performance.now() - t0) / 1000;

// No vector lost: every acknowledged one is still stored, identical.
let lost = 0;
const ids = [...acknowledged.keys()];
for (let i = 0; i < ids.length; i += 500) {
  const items = ids.slice(i, i + 500).map((crop_id) => ({ crop_id, embedding: acknowledged.get(crop_id) }));
  const answer = await call('POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', model_version: VERSION, items } });
  lost += answer.body.results.filter((r) => r.message !== 'embedding already stored (unchanged)').length;
}
const listed = (await call('GET', url('SESSION_CROPS', session))).body;
const withVector = listed.filter((c) => c.embeddings.includes('facenet')).length;
await backend.close();

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
console.log(`\n${backend.name}, ${CLIENTS} clients, ${SECONDS} s, ${cpus()[0].model.trim()} × ${cpus().length} (clients on the same cores)\n`);
console.log('| call | requests | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |');
for (const [kind, xs] of Object.entries(latencies)) console.log(`| ${kind} | ${xs.length} | ${q(xs, 0.5).toFixed(1)} | ${q(xs, 0.99).toFixed(1)} |`);
console.log(`\n${requests} requests in ${elapsed.toFixed(1)} s: ${(requests / elapsed).toFixed(0)} req/s; errors: ${errors.length}`);
errors.slice(0, 10).forEach((e) => console.log(`  ${e}`));
console.log(`vectors acknowledged: ${acknowledged.size}; still stored and identical: ${acknowledged.size - lost}; lost: ${lost}; crops listed with a vector: ${withVector}`);
process.exitCode = errors.length || lost ? 1 : 0;
