// facenet-server under load: 50 concurrent clients for 60 s mixing crop uploads, vector posts,
// batches, lists and registers, while one more client runs the assignment over a 2,000-crop
// session again and again. Prints requests/s and latency per call type, the errors (there must
// be none), and how reads fared while an assignment was running.
//
//   node benches/server-load.mjs            (after cargo build --release -p facenet-server)
//   FACENET_LOAD_CLIENTS=50 FACENET_LOAD_SECONDS=60 FACENET_LOAD_CROPS=2000 node benches/server-load.mjs
//
// The server is the release build on a throw-away SQLite file; the clients are fetch() loops in
// this process (Node's undici keeps one connection per client).

import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startFacenetServer, rows } from '../tests/browser/server.mjs';
import { API_BASE, MODEL_VERSION_LENGTH } from '../www/client/contract.js';

const CLIENTS = Number(process.env.FACENET_LOAD_CLIENTS ?? 50);
const SECONDS = Number(process.env.FACENET_LOAD_SECONDS ?? 60);
const BIG = Number(process.env.FACENET_LOAD_CROPS ?? 2000);
const TOKEN = 'load-test-token';
const manifest = JSON.parse(readFileSync(join(ROOT, 'models/facenet.json'), 'utf8'));
const VERSION = manifest.sha256.slice(0, MODEL_VERSION_LENGTH);
const CROP = readFileSync(join(ROOT, 'tests/faces/s1a.jpg'));

const dataDir = mkdtempSync(join(tmpdir(), 'facenet-load-'));
const server = await startFacenetServer({ dataDir, token: TOKEN });
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };

let seed = 1;
/** A deterministic unit vector: `person` ≥ 0 gives a noisy copy of that person's vector. */
function unit(person = -1) {
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
  const v = Array.from({ length: 128 }, (_, i) => (person >= 0 ? Math.sin(person * 7.3 + i) : 0) + 0.5 * rand());
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function call(method, path, body, headers = json) {
  const response = await fetch(`${server.url}${API_BASE}${path}`, { method, headers, body });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

// ---- setup: a 2,000-crop session with vectors (20 people enrolled), a working session ----
const t0 = performance.now();
const big = await call('POST', '/sessions/', JSON.stringify({ name: 'big lesson' }));
const bigCrops = [];
for (let i = 0; i < BIG; i++) bigCrops.push((await call('POST', `/sessions/${big.id}/face-crops/?filename=c${i}.jpg`, CROP, auth)).crop_id);
for (let i = 0; i < BIG; i += 1000) {
  const items = bigCrops.slice(i, i + 1000).map((crop_id, k) => ({ crop_id, embedding: unit((i + k) % 200) }));
  await call('POST', '/face-crops/embeddings-batch/', JSON.stringify({ model_name: 'facenet', model_version: VERSION, items }));
}
for (let p = 0; p < 20; p++) await call('POST', '/people/', JSON.stringify({ name: `person ${p}`, crop_ids: [bigCrops[p]] }));
const work = await call('POST', '/sessions/', JSON.stringify({ name: 'working lesson' }));
const workCrops = [];
for (let i = 0; i < 200; i++) workCrops.push((await call('POST', `/sessions/${work.id}/face-crops/?filename=w${i}.jpg`, CROP, auth)).crop_id);
console.log(`setup: ${BIG} crops with vectors in session ${big.id}, 200 in session ${work.id}, 20 people: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// ---- the load ----
/** @type {Record<string, {ms: number[], errors: string[], duringAssignment: number[]}>} */
const stats = {};
let assignmentsRunning = 0;
const record = async (kind, fn) => {
  const during = assignmentsRunning > 0;
  const start = performance.now();
  const s = (stats[kind] ??= { ms: [], errors: [], duringAssignment: [] });
  try {
    await fn();
    const ms = performance.now() - start;
    s.ms.push(ms);
    if (during || assignmentsRunning > 0) s.duringAssignment.push(ms);
  } catch (e) {
    s.errors.push(String(e));
  }
};
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const MIX = [
  ['upload crop', 2, () => call('POST', `/sessions/${work.id}/face-crops/?filename=new.jpg`, CROP, auth)],
  ['post vector', 4, () => call('POST', `/face-crops/${pick(workCrops)}/embedding/`, JSON.stringify({ model_name: 'facenet', model_version: VERSION, embedding: unit(), force_regenerate: true }))],
  ['post batch of 50', 1, () => call('POST', '/face-crops/embeddings-batch/', JSON.stringify({ model_name: 'facenet', model_version: VERSION, items: Array.from({ length: 50 }, () => ({ crop_id: pick(workCrops), embedding: unit(), force_regenerate: true })) }))],
  ['list sessions', 2, () => call('GET', '/sessions/', undefined, auth)],
  ['list crops (200)', 2, () => call('GET', `/sessions/${work.id}/face-crops/`, undefined, auth)],
  ['list people', 1, () => call('GET', '/people/', undefined, auth)],
  ['crop image', 2, () => fetch(`${server.url}${API_BASE}/face-crops/${pick(workCrops)}/image/`, { headers: auth }).then((r) => { if (!r.ok) throw new Error(`image ${r.status}`); return r.arrayBuffer(); })],
  ['register (200 crops)', 1, () => call('GET', `/sessions/${work.id}/attendance/`, undefined, auth)],
  ['static file', 1, () => fetch(`${server.url}/www/client/facenet.js`).then((r) => { if (!r.ok) throw new Error(`static ${r.status}`); return r.text(); })],
];
const weights = MIX.flatMap((m, i) => Array(m[1]).fill(i));
const end = performance.now() + SECONDS * 1000;
const clients = Array.from({ length: CLIENTS }, async () => {
  while (performance.now() < end) {
    const [kind, , fn] = MIX[pick(weights)];
    await record(kind, fn);
  }
});
const assigner = (async () => {
  while (performance.now() < end) {
    assignmentsRunning++;
    await record(`assignment (${BIG} crops)`, () => call('POST', `/sessions/${big.id}/assignments/`, '{}'));
    assignmentsRunning--;
  }
})();
const rssBefore = rss(server.child.pid);
let rssPeak = rssBefore;
const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rss(server.child.pid)); }, 200);
await Promise.all([...clients, assigner]);
clearInterval(sampler);

// ---- figures ----
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
console.log(`\n${CLIENTS} clients + 1 assigning, ${SECONDS} s, facenet-server release build, ${cpus()[0]?.model.trim()}, ${availableParallelism()} cores; server RSS ${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)} MB\n`);
console.log('| call | requests | req/s | p50 ms | p99 ms | max ms | p99 while an assignment ran | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
let errors = 0;
let total = 0;
for (const [kind, s] of Object.entries(stats)) {
  errors += s.errors.length;
  total += s.ms.length;
  console.log(`| ${kind} | ${s.ms.length} | ${(s.ms.length / SECONDS).toFixed(1)} | ${q(s.ms, 0.5).toFixed(1)} | ${q(s.ms, 0.99).toFixed(1)} | ${Math.max(...s.ms).toFixed(1)} | ${s.duringAssignment.length ? `${q(s.duringAssignment, 0.99).toFixed(1)} (${s.duringAssignment.length})` : '—'} | ${s.errors.length} |`);
}
console.log(`\ntotal ${total} requests, ${(total / SECONDS).toFixed(1)} req/s, ${errors} errors`);
for (const s of Object.values(stats)) for (const e of s.errors.slice(0, 3)) console.log(`  error: ${e}`);
const [[check]] = rows(dataDir, 'PRAGMA integrity_check');
console.log(`PRAGMA integrity_check: ${check}`);
server.child.kill('SIGTERM');
await new Promise((r) => server.child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
process.exitCode = errors || check !== 'ok' ? 1 : 0;

/** Resident memory of a process in MB (Linux). */
function rss(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
  } catch { return 0; }
}

