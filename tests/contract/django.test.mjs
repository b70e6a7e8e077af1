// The HTTP contract suite against the Django app (integrations/django) on a throw-away
// PostgreSQL cluster and on SQLite; then the same lessons through facenet-server and the Django
// app, whose assignments and registers must agree (ids aside, distances to 1e-5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CONTRACT, client, contractTests, crowd, giveConsent, lesson, url, vectors, VERSION } from './suite.mjs';
import { schoolTests } from './school.mjs';
import { privacyTests } from './privacy.mjs';
import { EXAMPLE, PYTHON, ROOT as ROOT_DIR, startDjango, startFacenet } from './backends.mjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FACE = readFileSync(new URL('../faces/s1a.jpg', import.meta.url));

const backends = {};
before(async () => {
  [backends.postgres, backends.sqlite, backends.facenet] = await Promise.all([
    startDjango({ database: 'postgres' }), startDjango({ database: 'sqlite' }), startFacenet(),
  ]);
});
after(async () => { await Promise.all(Object.values(backends).map((b) => b?.close())); });

contractTests(() => backends.postgres);
contractTests(() => backends.sqlite);
schoolTests(() => backends.postgres);
schoolTests(() => backends.sqlite);
privacyTests(() => backends.postgres);
privacyTests(() => backends.sqlite);

/**
 * An answer with every id replaced by what it names (a face's label, a person's key, a photo's
 * index), so that two backends' answers compare.
 */
function normalized(answer, scene) {
  const names = new Map();
  for (const [label, face] of Object.entries(scene.faces)) names.set(`crop:${face.crop}`, label);
  for (const [key, person] of Object.entries(scene.people)) names.set(`person:${person.id}`, key);
  scene.photos.forEach((id, i) => names.set(`photo:${id}`, `photo ${i + 1}`));
  const walk = (value, key) => {
    if (Array.isArray(value)) return value.map((v) => walk(v, key));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    if (typeof value === 'number' && ['crop_id', 'crop_ids', 'not_embedded'].includes(key)) return names.get(`crop:${value}`) ?? value;
    if (typeof value === 'number' && ['person_id'].includes(key)) return names.get(`person:${value}`) ?? value;
    if (typeof value === 'number' && key === 'photo_id') return names.get(`photo:${value}`) ?? value;
    if (typeof value === 'number' && key === 'session_id') return 'session';
    // A margin is counted to the nearest other pupil of the roster, however far; the Django
    // backend's class also holds the pupils earlier tests enrolled (random vectors, ~1 away
    // from these faces), so a margin compares only up to the threshold — where it decides.
    if (typeof value === 'number' && key === 'margin') return Math.round(Math.min(value, 0.4) * 1e5) / 1e5;
    if (typeof value === 'number' && !Number.isInteger(value)) return Math.round(value * 1e5) / 1e5;
    // Names carry the run's suffix: "Ana same21" → "Ana".
    if (typeof value === 'string' && (key === 'name' || key === 'person_name')) return value.replace(/ \S+$/, '');
    return value;
  };
  return walk(answer);
}

test('facenet-server and the Django app give the same assignments and registers on the same lessons', async () => {
  // A lesson like the suite's (another seed: the suite's people are enrolled on the Django
  // backend already, and the same vectors would tie with them), then crowds: 3 photos of 10 faces each, 6 enrolled people and
  // strangers, faces spread up to past the threshold, so that matches, look-alikes and
  // clusters are decided near their edges.
  for (const [make, seed] of [[lesson, 41], [crowd, 31], [crowd, 32], [crowd, 33], [crowd, 34]]) {
    const answers = [];
    for (const backend of [backends.facenet, backends.postgres]) {
      const call = client(backend);
      const scene = await make(call, `same${seed}`, seed);
      const ours = (register) => ({ ...register, people: register.people.filter((p) => Object.values(scene.people).some((q) => q.id === p.person_id)) });
      answers.push({
        assignment: normalized((await call('POST', url('ASSIGNMENTS', scene.session), { json: {} })).body, scene),
        // Random strangers lie ~1 ± 0.1 apart: at 0.95 some groups merge and some do not.
        edge: normalized((await call('POST', url('ASSIGNMENTS', scene.session), { json: { cluster_threshold: 0.95 } })).body, scene),
        register: normalized(ours((await call('GET', url('ATTENDANCE', scene.session))).body), scene),
        csv: (await call('GET', url('ATTENDANCE_CSV', scene.session))).text.split('\n')
          .filter((line) => Object.values(scene.people).some((p) => line.startsWith(`${p.id},`))).length,
        strict: normalized(ours((await call('GET', `${url('ATTENDANCE', scene.session)}?threshold=0.2`)).body), scene),
      });
    }
    assert.deepEqual(answers[1], answers[0], `${make.name} ${seed}: the Django app's answers differ from facenet-server's`);
    const { assignment: a, edge } = answers[0];
    console.log(`${make.name} ${seed}: ${a.assigned.length} assigned, ${a.unsure.length} unsure, ${a.clusters.length} clusters (${edge.clusters.length} at 0.95), the same on both backends`);
  }
});

test("the Django app's migration 0002 puts a database of the schema before classes into one class, 'Imported'", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-django-migrate-'));
  const env = { ...process.env, FACENET_TOKEN: 'migrate-token', FACENET_DATA_DIR: dataDir, FACENET_REPO: ROOT_DIR, FACENET_DATABASE: 'sqlite' };
  const manage = (...args) => execFileSync(PYTHON, ['manage.py', ...args], { cwd: EXAMPLE, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  try {
    manage('migrate', 'facenet_attendance', '0001', '-v', '0');
    // The rows as the old schema had them (people unique by name, sessions in no class).
    manage('shell', '-c', `from django.db import connection
with connection.cursor() as c:
    c.execute("INSERT INTO facenet_attendance_session (name, created_at) VALUES ('old lesson', '2026-11-30 09:00:00')")
    c.execute("INSERT INTO facenet_attendance_person (name) VALUES ('Ana')")
    c.execute("INSERT INTO facenet_attendance_facecrop (session_id, filename, content_type, image, width, height, person_id) VALUES (1, 'a.jpg', 'image/jpeg', x'00', 1, 1, 1)")`);
    manage('migrate', '-v', '0');
    // The last line: Django's shell may say first what it imported.
    const after = JSON.parse(manage('shell', '-c', `import json
from facenet_attendance.models import SchoolClass, Session, FaceCrop
k = SchoolClass.objects.get()
s = Session.objects.get()
print(json.dumps(dict(name=k.name, imported=k.imported, roster=[p.name for p in k.pupils.all()], session_class=s.school_class_id == k.id,
    starts_at=s.starts_at, crop_person=FaceCrop.objects.get().person.name)))`).trim().split('\n').pop());
    assert.deepEqual(after, { name: 'Imported', imported: true, roster: ['Ana'], session_class: true, starts_at: '2026-11-30 09:00:00', crop_person: 'Ana' });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the session page is served with the Content-Security-Policy of contract.json', async () => {
  const page = await fetch(`${backends.postgres.url}/www/app/index.html`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-security-policy'), CONTRACT.content_security_policy);
  assert.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
});

test("an erased pupil leaves 0 rows of their faces and vectors in PostgreSQL's tables", async () => {
  const backend = backends.postgres;
  const call = client(backend);
  const session = (await call('POST', url('SESSIONS'), { json: { name: 'erasure' } })).body;
  const pupil = (await call('POST', url('CLASS_PUPILS', session.class_id), { json: { name: 'Erased Pupil' } })).body.person_id;
  await giveConsent(call, pupil);
  const crop = (await call('POST', `${url('SESSION_CROPS', session.id)}?filename=f.jpg`, { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
  await call('POST', url('CROP_EMBEDDING', crop), { json: { model_name: 'facenet', model_version: VERSION, embedding: vectors(7).centre() } });
  assert.equal((await call('POST', url('PERSON_REFERENCES', pupil), { json: { crop_ids: [crop] } })).status, 200);
  const count = () => Number(execFileSync(PYTHON, ['-c', `import psycopg
with psycopg.connect() as c:
    print(c.execute("SELECT (SELECT COUNT(*) FROM facenet_attendance_facecrop WHERE id = %s OR person_id = %s)"
                    " + (SELECT COUNT(*) FROM facenet_attendance_embedding WHERE crop_id = %s)", (${crop}, ${pupil}, ${crop})).fetchone()[0])`],
  { env: { ...process.env, ...backend.postgres.env } }).toString().trim());
  assert.equal(count(), 2, 'the crop and its vector are there (the query finds what it looks for)');
  assert.equal((await call('DELETE', url('PERSON', pupil))).status, 200);
  assert.equal(count(), 0, 'no row of the erased face or its vector');
});

test("a vector of an older model version in PostgreSQL matches nothing and is posted again without force", async () => {
  // A model upgrade changes the vector space (e9b31c60432e replaced the random 128-d
  // projection): rows of the old version stay in the table, and must not be compared with new ones.
  const backend = backends.postgres;
  const call = client(backend);
  const gen = vectors(61);
  const centre = gen.centre();
  const session = (await call('POST', url('SESSIONS'), { json: { name: 'old version' } })).body;
  const pupil = (await call('POST', url('CLASS_PUPILS', session.class_id), { json: { name: 'Aged Pupil' } })).body.person_id;
  await giveConsent(call, pupil);
  const crop = async (embedding) => {
    const id = (await call('POST', `${url('SESSION_CROPS', session.id)}?filename=f.jpg`, { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
    assert.equal((await call('POST', url('CROP_EMBEDDING', id), { json: { model_name: 'facenet', model_version: VERSION, embedding } })).status, 200);
    return id;
  };
  const reference = await crop(gen.face(centre, 0.05));
  assert.equal((await call('POST', url('PERSON_REFERENCES', pupil), { json: { crop_ids: [reference] } })).status, 200);
  const lessonFace = gen.face(centre, 0.1);
  const face = await crop(lessonFace);
  const assign = async () => (await call('POST', url('ASSIGNMENTS', session.id), { json: {} })).body;
  assert.deepEqual((await assign()).assigned.map((a) => a.crop_id), [reference, face]);

  const age = (where) => execFileSync(PYTHON, ['-c', `import psycopg
with psycopg.connect() as c:
    c.execute("UPDATE facenet_attendance_embedding SET model_version = 'f9c6e228eb51' WHERE ${where}")`],
  { env: { ...process.env, ...backend.postgres.env } });
  age(`crop_id = ${face}`);
  let out = await assign();
  assert.deepEqual([out.assigned.map((a) => a.crop_id), out.not_embedded], [[reference], [face]], 'the old vector is not matched: its crop waits');
  age(`crop_id = ${reference}`);
  out = await assign();
  assert.deepEqual([out.assigned.map((a) => a.crop_id), out.not_embedded], [[], [reference, face]], 'an old reference matches nothing either');
  const again = await call('POST', url('CROP_EMBEDDING', face), { json: { model_name: 'facenet', model_version: VERSION, embedding: lessonFace } });
  assert.equal(again.status, 200, `a new vector replaces an old-version one without force_regenerate: ${again.text}`);
  assert.deepEqual((await assign()).not_embedded, [reference]);
});
