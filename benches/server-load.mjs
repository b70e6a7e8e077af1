// facenet-server under load: 50 concurrent clients for 60 s mixing crop uploads, vector posts,
// batches, lists and registers, spread over 10 teachers' classes (each client is one teacher,
// with their own token), while one more client (an admin) runs the assignment over a 2,000-crop
// session again and again. Every client also probes another teacher's crops and sessions, and
// checks that its lists hold its own class only. Prints requests/s and latency per call type, the
// errors and the cross-class leaks (there must be none of either), and how reads fared while an
// assignment was running.
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

const TEACHERS = 10;

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
// 20 pupils, each with their guardian's consent (nothing is enrolled without it), enrolled from one crop.
const imported = (await call('GET', `/sessions/${big.id}/`, undefined, auth)).class_id;
for (let p = 0; p < 20; p++) {
  const pupil = await call('POST', `/classes/${imported}/pupils/`, JSON.stringify({ name: `person ${p}` }));
  await call('PUT', `/people/${pupil.person_id}/consent/`, JSON.stringify({ state: 'given', by: 'guardian', purpose: 'the register from lesson photos' }));
  await call('POST', `/people/${pupil.person_id}/references/`, JSON.stringify({ crop_ids: [bigCrops[p]] }));
}
// Ten teachers, a class each with 20 pupils and a working lesson of 20 crops.
const teachers = [];
for (let t = 0; t < TEACHERS; t++) {
  const user = await call('POST', '/users/', JSON.stringify({ name: `teacher ${t}` }));
  const klass = await call('POST', '/classes/', JSON.stringify({ name: `class ${t}`, teacher_ids: [user.id] }));
  const tAuth = { authorization: `Bearer ${user.token}` };
  const tJson = { ...tAuth, 'content-type': 'application/json' };
  for (let p = 0; p < 20; p++) await call('POST', `/classes/${klass.id}/pupils/`, JSON.stringify({ name: `pupil ${t}-${p}` }), tJson);
  const session = await call('POST', '/sessions/', JSON.stringify({ name: `lesson ${t}`, class_id: klass.id }), tJson);
  const crops = [];
  for (let i = 0; i < 20; i++) crops.push((await call('POST', `/sessions/${session.id}/face-crops/?filename=w${i}.jpg`, CROP, tAuth)).crop_id);
  teachers.push({ classId: klass.id, session: session.id, crops, auth: tAuth, json: tJson });
}
console.log(`setup: ${BIG} crops with vectors in session ${big.id}, 20 people; ${TEACHERS} teachers with a class of 20 pupils and a lesson of 20 crops each: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

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
/** Anything of another class that answered other than 404: there must be none. */
const leaks = [];
/** Teacher `T` asks for another teacher's crop image, session and register: each must be 404. */
async function probe(T) {
  const U = pick(teachers.filter((u) => u !== T));
  for (const path of [`/face-crops/${pick(U.crops)}/image/`, `/sessions/${U.session}/`, `/sessions/${U.session}/attendance/`]) {
    const r = await fetch(`${server.url}${API_BASE}${path}`, { headers: T.auth });
    await r.arrayBuffer();
    if (r.status !== 404) leaks.push(`${path} → ${r.status} for class ${T.classId}`);
  }
}
/** A list that holds anything of another class is a leak. */
const own = (T, what, ok) => { if (!ok) leaks.push(`${what} of class ${T.classId} lists another class's`); };
const MIX = [
  ['upload crop', 2, (T) => call('POST', `/sessions/${T.session}/face-crops/?filename=new.jpg`, CROP, T.auth)],
  ['post vector', 4, (T) => call('POST', `/face-crops/${pick(T.crops)}/embedding/`, JSON.stringify({ model_name: 'facenet', model_version: VERSION, embedding: unit(), force_regenerate: true }), T.json)],
  ['post batch of 20', 1, (T) => call('POST', '/face-crops/embeddings-batch/', JSON.stringify({ model_name: 'facenet', model_version: VERSION, items: T.crops.map((crop_id) => ({ crop_id, embedding: unit(), force_regenerate: true })) }), T.json)],
  ['list sessions', 2, async (T) => { const list = await call('GET', '/sessions/', undefined, T.auth); own(T, 'sessions', list.every((x) => x.class_id === T.classId)); }],
  ['list crops', 2, (T) => call('GET', `/sessions/${T.session}/face-crops/`, undefined, T.auth)],
  ['list pupils', 1, async (T) => { const list = await call('GET', '/people/', undefined, T.auth); own(T, 'pupils', list.every((p) => p.class_ids.every((c) => c === T.classId))); }],
  ['crop image', 2, (T) => fetch(`${server.url}${API_BASE}/face-crops/${pick(T.crops)}/image/`, { headers: T.auth }).then((r) => { if (!r.ok) throw new Error(`image ${r.status}`); return r.arrayBuffer(); })],
  ['register', 1, (T) => call('GET', `/sessions/${T.session}/attendance/`, undefined, T.auth)],
  ["another class's (404 ×3)", 1, probe],
  ['static file', 1, () => fetch(`${server.url}/www/client/facenet.js`).then((r) => { if (!r.ok) throw new Error(`static ${r.status}`); return r.text(); })],
];
const weights = MIX.flatMap((m, i) => Array(m[1]).fill(i));
const end = performance.now() + SECONDS * 1000;
const clients = Array.from({ length: CLIENTS }, async (_, i) => {
  const T = teachers[i % TEACHERS];
  while (performance.now() < end) {
    const [kind, , fn] = MIX[pick(weights)];
    await record(kind, () => fn(T));
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
console.log(`\n${CLIENTS} clients over ${TEACHERS} teachers' classes + 1 admin assigning, ${SECONDS} s, facenet-server release build, ${cpus()[0]?.model.trim()}, ${availableParallelism()} cores; server RSS ${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)} MB\n`);
console.log('| call | requests | req/s | p50 ms | p99 ms | max ms | p99 while an assignment ran | errors |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
let errors = 0;
let total = 0;
for (const [kind, s] of Object.entries(stats)) {
  errors += s.errors.length;
  total += s.ms.length;
  console.log(`| ${kind} | ${s.ms.length} | ${(s.ms.length / SECONDS).toFixed(1)} | ${q(s.ms, 0.5).toFixed(1)} | ${q(s.ms, 0.99).toFixed(1)} | ${Math.max(...s.ms).toFixed(1)} | ${s.duringAssignment.length ? `${q(s.duringAssignment, 0.99).toFixed(1)} (${s.duringAssignment.length})` : '—'} | ${s.errors.length} |`);
}
console.log(`\ntotal ${total} requests, ${(total / SECONDS).toFixed(1)} req/s, ${errors} errors, ${leaks.length} cross-class leaks`);
for (const leak of leaks.slice(0, 5)) console.log(`  leak: ${leak}`);
for (const s of Object.values(stats)) for (const e of s.errors.slice(0, 3)) console.log(`  error: ${e}`);
const [[check]] = rows(dataDir, 'PRAGMA integrity_check');
console.log(`PRAGMA integrity_check: ${check}`);
server.child.kill('SIGTERM');
await new Promise((r) => server.child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
process.exitCode = errors || leaks.length || check !== 'ok' ? 1 : 0;

/** Resident memory of a process in MB (Linux). */
function rss(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
  } catch { return 0; }
}

