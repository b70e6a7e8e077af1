// The school around the lessons (README "Accounts, classes and rosters", "The register as a
// record"), as black-box contract tests: accounts and their tokens, classes and rosters, every
// call reached by id against every kind of caller (its teacher, another teacher, an admin, no
// token, a revoked token), the register as a record, reports. Run by the backends' test files
// with an admin's token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertError, client, giveConsent, url, vectors, VERSION } from './suite.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const FACE = readFileSync(join(ROOT, 'tests/faces/s1a.jpg'));
const PHOTO = readFileSync(join(ROOT, 'tests/photos/sample1.jpg'));

/**
 * A school: two teachers (A, B), each with a class and a pupil enrolled from a face, a lesson of
 * A's class with a photo (its image stored), crops with vectors, a mark; and a revoked account.
 * @param {ReturnType<typeof client>} admin
 * @param {string} run
 */
async function school(admin, run) {
  const account = async (name) => (await admin('POST', url('USERS'), { json: { name: `${name} ${run}` } })).body;
  const [a, b, revoked] = [await account('Teacher A'), await account('Teacher B'), await account('Revoked')];
  assert.equal((await admin('DELETE', url('USER_TOKENS', revoked.id))).body.revoked, 1);
  const classOf = async (name, teacher) => (await admin('POST', url('CLASSES'), { json: { name: `${name} ${run}`, teacher_ids: [teacher.id] } })).body.id;
  const classes = { a: await classOf('7A', a), b: await classOf('7B', b) };
  const gen = vectors(77);
  const centres = { ana: gen.centre(), ben: gen.centre() };
  const upload = async (caller, session, query = '') => {
    const answer = await caller('POST', `${url('SESSION_CROPS', session)}?filename=face.jpg${query}`, { body: FACE, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(answer.status, 201, answer.text);
    return answer.body.crop_id;
  };
  const store = async (caller, crop, embedding) => {
    const answer = await caller('POST', url('CROP_EMBEDDING', crop), { json: { model_name: 'facenet', model_version: VERSION, embedding } });
    assert.equal(answer.status, 200, answer.text);
  };
  const as = (token) => client({ url: admin.base, token });
  const callers = { a: as(a.token), b: as(b.token) };
  // Each teacher: a pupil on their roster, enrolled from an enrolment lesson's crop.
  const pupils = {};
  const enrolments = {};
  for (const [key, who, centre] of [['a', 'ana', centres.ana], ['b', 'ben', centres.ben]]) {
    const call = callers[key];
    const pupil = await call('POST', url('CLASS_PUPILS', classes[key]), { json: { name: `${who} ${run}`, external_id: `MIS-${who}-${run}` } });
    assert.equal(pupil.status, 201, pupil.text);
    pupils[key] = pupil.body.person_id;
    await giveConsent(call, pupils[key]);
    enrolments[key] = (await call('POST', url('SESSIONS'), { json: { name: `enrolment ${run}`, class_id: classes[key], starts_at: '2026-09-01 08:00' } })).body.id;
    const crop = await upload(call, enrolments[key]);
    await store(call, crop, gen.face(centre, 0.05));
    const enrolled = await call('POST', url('PERSON_REFERENCES', pupils[key]), { json: { crop_ids: [crop] } });
    assert.equal(enrolled.status, 200, enrolled.text);
  }
  // A's lesson: a photo (image stored), Ana's face in it, a stranger's, one crop without a vector.
  const lesson = (await callers.a('POST', url('SESSIONS'), { json: { name: `maths ${run}`, class_id: classes.a, starts_at: '2026-12-07T09:00Z' } })).body;
  const photo = (await callers.a('POST', `${url('SESSION_PHOTOS', lesson.id)}?filename=lesson.jpg`, { body: PHOTO, headers: { 'content-type': 'image/jpeg' } })).body.photo_id;
  const anaFace = await upload(callers.a, lesson.id, `&photo_id=${photo}`);
  await store(callers.a, anaFace, gen.face(centres.ana, 0.15));
  const stranger = await upload(callers.a, lesson.id, `&photo_id=${photo}`);
  await store(callers.a, stranger, gen.centre());
  // Ben's face in A's lesson: Ben is not on 7A's roster, so it must stay unknown.
  const benFace = await upload(callers.a, lesson.id, `&photo_id=${photo}`);
  await store(callers.a, benFace, gen.face(centres.ben, 0.05));
  return { a, b, revoked, classes, pupils, enrolments, lesson: lesson.id, photo, crops: { ana: anaFace, stranger, ben: benFace }, callers, gen, centres, upload, store };
}

/**
 * @param {() => {name: string, url: string, token: string}} getBackend
 */
export function schoolTests(getBackend) {
  const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  /** @type {Awaited<ReturnType<typeof school>>} */
  let s;
  let admin;
  const ready = async () => {
    if (s) return s;
    admin = client(getBackend());
    admin.base = getBackend().url;
    s = await school(admin, run);
    return s;
  };

  test('school: accounts, their tokens shown once, revoked and expiring; admins only', async () => {
    const { a, b, revoked, callers } = await ready();
    for (const created of [a, b]) {
      assert.match(created.token, /^[0-9a-f]{32}$/);
      assert.equal(created.admin, false);
      assert.equal(created.expires_at, null);
    }
    const me = (await callers.a('GET', url('ME'))).body;
    assert.deepEqual(me, { id: a.id, name: a.name, admin: false, class_ids: [s.classes.a], database_id: me.database_id });
    assertError(await client({ url: getBackend().url, token: revoked.token })('GET', url('ME')), 'Unauthorized', 'a revoked token');
    const listed = (await admin('GET', url('USERS'))).body;
    const entry = listed.find((u) => u.id === revoked.id);
    assert.deepEqual(entry, { id: revoked.id, name: revoked.name, admin: false, created_at: entry.created_at, tokens: 0, class_ids: [] });
    assert.equal(listed.find((u) => u.id === a.id).tokens, 1);
    assert.ok(listed.every((u) => !('token' in u) && !('hash' in u)), 'no token, nor its hash, is ever listed');
    const fresh = await admin('POST', url('USER_TOKENS', revoked.id), { json: { expires_in_days: 30 } });
    assert.equal(fresh.status, 201, fresh.text);
    assert.match(fresh.body.expires_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal((await client({ url: getBackend().url, token: fresh.body.token })('GET', url('ME'))).status, 200, 'a new token works');
    assertError(await admin('POST', url('USERS'), { json: { name: a.name } }), 'Conflict', 'a name taken');
    assertError(await admin('POST', url('USERS'), { json: { name: 'x', expires_in_days: 0 } }), 'InvalidRequest', '0 days');
    assertError(await admin('POST', url('USERS'), { json: { name: '  ' } }), 'InvalidRequest', 'no name');
    assertError(await callers.a('POST', url('USERS'), { json: { name: `sneaky ${run}`, admin: true } }), 'Forbidden', 'a teacher making an admin');
    assertError(await callers.a('GET', url('USERS')), 'Forbidden', 'a teacher listing accounts');
    assertError(await callers.a('DELETE', url('USER_TOKENS', b.id)), 'Forbidden', "a teacher revoking another's tokens");
    assertError(await admin('DELETE', url('USER_TOKENS', 999999999)), 'NotFound', 'no such user');
    assert.equal((await callers.b('GET', url('ME'))).status, 200, "B's token still works");
  });

  test('school: classes and rosters; a teacher sees only their own', async () => {
    const { a, classes, pupils, callers } = await ready();
    assert.deepEqual((await callers.a('GET', url('CLASSES'))).body.map((c) => c.id), [classes.a]);
    const mine = (await callers.a('GET', url('CLASS', classes.a))).body;
    assert.deepEqual(mine, { id: classes.a, name: `7A ${run}`, teacher_ids: [a.id], pupils: 1, sessions: 2 });
    const all = (await admin('GET', url('CLASSES'))).body.map((c) => c.id);
    assert.ok(all.includes(classes.a) && all.includes(classes.b), 'an admin sees every class');
    assertError(await callers.a('POST', url('CLASSES'), { json: { name: 'mine' } }), 'Forbidden', 'a teacher creating a class');
    assertError(await callers.a('PATCH', url('CLASS', classes.a), { json: { teacher_ids: [] } }), 'Forbidden', 'a teacher changing their class');
    assertError(await admin('POST', url('CLASSES'), { json: { name: 'x', teacher_ids: [999999999] } }), 'InvalidRequest', 'no such teacher');
    const renamed = await admin('PATCH', url('CLASS', classes.a), { json: { name: `7A maths ${run}` } });
    assert.equal(renamed.body.name, `7A maths ${run}`);
    assert.deepEqual(renamed.body.teacher_ids, [a.id], 'teachers kept when not given');

    // Two pupils of one name are two pupils; a school number is one pupil.
    const twin = async () => (await callers.a('POST', url('CLASS_PUPILS', classes.a), { json: { name: `Sam ${run}` } })).body;
    const [sam1, sam2] = [await twin(), await twin()];
    assert.notEqual(sam1.person_id, sam2.person_id);
    assert.deepEqual(Object.keys(sam1).sort(), ['class_ids', 'consent', 'crops', 'external_id', 'id', 'name', 'person_id', 'reenrol_by', 'reenrol_due', 'status']);
    await giveConsent(callers.a, sam1.person_id);
    assertError(await callers.b('POST', url('CLASS_PUPILS', classes.b), { json: { name: 'Ana again', external_id: `MIS-ana-${run}` } }), 'Conflict',
      "another class's school number: not learnt, not reached");
    const shared = await admin('POST', url('CLASS_PUPILS', classes.b), { json: { person_id: pupils.a } });
    assert.equal(shared.status, 201, shared.text);
    assert.deepEqual(shared.body.class_ids, [classes.a, classes.b], 'on both rosters');
    assert.deepEqual((await callers.b('GET', url('PERSON', pupils.a))).body.class_ids, [classes.b], "B sees only B's roster of her");
    assert.equal((await callers.b('DELETE', url('CLASS_PUPIL', classes.b, pupils.a))).status, 200);
    assertError(await callers.b('GET', url('PERSON', pupils.a)), 'NotFound', 'off the roster: out of reach');
    assertError(await callers.b('DELETE', url('CLASS_PUPIL', classes.b, pupils.a)), 'NotFound', 'not on the roster');
    const roster = (await callers.a('GET', url('CLASS_PUPILS', classes.a))).body;
    assert.deepEqual(roster.map((p) => p.person_id).sort(), [pupils.a, sam1.person_id, sam2.person_id].sort());
    const fixed = await callers.a('PATCH', url('PERSON', sam2.person_id), { json: { name: `Samira ${run}`, external_id: `MIS-sam2-${run}` } });
    assert.deepEqual([fixed.body.name, fixed.body.external_id], [`Samira ${run}`, `MIS-sam2-${run}`]);
    assertError(await callers.a('PATCH', url('PERSON', sam1.person_id), { json: { external_id: `MIS-sam2-${run}` } }), 'Conflict', 'a number another pupil has');
    const old = await callers.a('POST', url('SESSIONS'), { json: { name: 'old client' } });
    assert.equal(old.body.class_id, classes.a, "a session without class_id: the teacher's only class");
    const oldCrop = await s.upload(callers.a, old.body.id);
    await twin(); // Sam again: Sam and Samira were two of one name; now two Sams again.
    assertError(await callers.a('POST', url('PEOPLE'), { json: { name: `Sam ${run}`, crop_ids: [oldCrop] } }), 'Conflict', 'enrolling by a name two pupils share');
    const crop = await s.upload(callers.a, s.enrolments.a);
    assert.equal((await callers.a('POST', url('PERSON_REFERENCES', sam1.person_id), { json: { crop_ids: [crop] } })).status, 200);
    assertError(await callers.a('POST', url('PERSON_REFERENCES', pupils.a), { json: { crop_ids: [crop] } }), 'Conflict', 'a crop enrolled as someone else');
    assertError(await callers.a('POST', url('PERSON_REFERENCES', pupils.a), { json: { crop_ids: [] } }), 'InvalidRequest', 'no crops');
  });

  test('school: every call reached by id answers 404 to another teacher, 401 without or with a revoked token', async () => {
    const { classes, pupils, lesson, photo, crops, callers, revoked, a } = await ready();
    const embedding = s.gen.centre();
    // [method, path name, ids, body, what the owner may not do (admin-only)]
    const calls = [
      ['GET', 'CLASS', [classes.a]],
      ['PATCH', 'CLASS', [classes.a], { name: 'taken over' }, 'admin'],
      ['DELETE', 'CLASS', [classes.a], undefined, 'admin'],
      ['GET', 'CLASS_PUPILS', [classes.a]],
      ['POST', 'CLASS_PUPILS', [classes.a], { name: 'intruder' }],
      ['DELETE', 'CLASS_PUPIL', [classes.a, pupils.a]],
      ['GET', 'CLASS_ATTENDANCE', [classes.a]],
      ['GET', 'CLASS_ATTENDANCE_CSV', [classes.a]],
      ['GET', 'SESSION', [lesson]],
      ['GET', 'SESSION_CROPS', [lesson]],
      ['POST', 'SESSION_PHOTOS', [lesson], { filename: 'x.jpg', width: 10, height: 10 }],
      ['GET', 'SESSION_PHOTOS', [lesson]],
      ['POST', 'ASSIGNMENTS', [lesson], {}],
      ['GET', 'ATTENDANCE', [lesson]],
      ['GET', 'ATTENDANCE_CSV', [lesson]],
      ['PUT', 'MARK', [lesson, pupils.a], { mark: 'absent' }],
      ['POST', 'FINALIZE', [lesson], {}],
      ['POST', 'REOPEN', [lesson], {}],
      ['GET', 'PHOTO_IMAGE', [photo]],
      ['GET', 'CROP_IMAGE', [crops.ana]],
      ['POST', 'CROP_EMBEDDING', [crops.ana], { model_name: 'facenet', model_version: VERSION, embedding, force_regenerate: true }],
      ['PUT', 'CROP_PERSON', [crops.ana], { person_id: null }],
      ['DELETE', 'CROP_PERSON', [crops.ana]],
      ['GET', 'PERSON', [pupils.a]],
      ['PATCH', 'PERSON', [pupils.a], { name: 'renamed' }],
      ['POST', 'PERSON_REFERENCES', [pupils.a], { crop_ids: [crops.ana] }],
      ['GET', 'PERSON_ATTENDANCE', [pupils.a]],
      ['GET', 'CONSENT', [pupils.a]],
      ['PUT', 'CONSENT', [pupils.a], { state: 'withdrawn', by: 'guardian', purpose: 'taken over' }],
      ['GET', 'PERSON_EXPORT', [pupils.a], undefined, 'admin'],
      ['DELETE', 'PERSON', [pupils.a], undefined, 'admin'],
      ['DELETE', 'CROP', [crops.ana]],
      ['DELETE', 'PHOTO', [photo]],
      ['DELETE', 'SESSION', [lesson]],
    ];
    const before = (await admin('GET', url('ATTENDANCE', lesson))).body;
    const revokedCall = client({ url: getBackend().url, token: revoked.token });
    const nobody = client({ url: getBackend().url, token: null });
    for (const [method, name, ids, json, only] of calls) {
      const what = `${method} ${url(name, ...ids)}`;
      const other = await callers.b(method, url(name, ...ids), { json });
      assertError(other, name.startsWith('CROP') ? 'CropNotFound' : 'NotFound', `${what} by another teacher`);
      assertError(await revokedCall(method, url(name, ...ids), { json }), 'Unauthorized', `${what} with a revoked token`);
      assertError(await nobody(method, url(name, ...ids), { json }), 'Unauthorized', `${what} without a token`);
      if (only === 'admin') assertError(await callers.a(method, url(name, ...ids), { json }), 'Forbidden', `${what} by its teacher`);
    }
    // The batch answers per item, as for a crop that does not exist.
    const batch = await callers.b('POST', url('EMBEDDINGS_BATCH'), { json: { model_name: 'facenet', model_version: VERSION, items: [{ crop_id: crops.ana, embedding, force_regenerate: true }] } });
    assert.deepEqual(batch.body.results.map((r) => r.error_type), ['CropNotFound']);
    assertError(await callers.b('POST', url('SESSION_CROPS', lesson), { body: FACE, headers: { 'content-type': 'image/jpeg' } }), 'NotFound', 'a crop into another class');
    assertError(await callers.b('POST', url('SESSIONS'), { json: { name: 'x', class_id: classes.a } }), 'NotFound', 'a lesson in another class');
    assertError(await callers.b('POST', url('CLASS_PUPILS', classes.b), { json: { person_id: pupils.a } }), 'NotFound', "another class's pupil by id");
    assertError(await callers.b('POST', url('PEOPLE'), { json: { name: 'x', crop_ids: [crops.ana] } }), 'CropNotFound', "enrolling another class's crop by name");
    // Lists: nothing of A's class.
    assert.ok(!(await callers.b('GET', url('SESSIONS'))).body.some((x) => x.class_id === classes.a));
    assert.ok(!(await callers.b('GET', url('PEOPLE'))).body.some((p) => p.person_id === pupils.a));
    // Nothing changed.
    const after = (await admin('GET', url('ATTENDANCE', lesson))).body;
    assert.deepEqual(after, before, "the other teacher's calls changed nothing");
    assert.equal((await admin('GET', url('CLASS', classes.a))).body.name, `7A maths ${run}`);
    // The owner and an admin reach it all.
    assert.equal((await admin('GET', url('CONSENT', pupils.a))).body.consent, 'given', "the other teacher's withdrawal did not happen");
    for (const caller of [callers.a, admin]) {
      for (const [method, name, ids] of calls.filter((c) => c[0] === 'GET' && (c[4] !== 'admin' || caller === admin))) {
        const answer = await caller(method, url(name, ...ids));
        assert.equal(answer.status, 200, `${method} ${name} by ${caller === admin ? 'an admin' : 'its teacher'}: ${answer.text.slice(0, 200)}`);
      }
    }
    assert.equal(a.admin, false);
  });

  test('school: the register over the roster, corrected, finalised as a record, reopened; reports', async () => {
    const { classes, pupils, lesson, crops, callers } = await ready();
    const call = callers.a;
    let register = (await call('GET', url('ATTENDANCE', lesson))).body;
    assert.equal(register.class_id, classes.a);
    assert.equal(register.finalized, null);
    assert.equal(register.model_version, VERSION);
    const ids = register.people.map((p) => p.person_id);
    assert.ok(ids.includes(pupils.a) && !ids.includes(pupils.b), 'the roster only: Ben is of another class');
    const ana = () => register.people.find((p) => p.person_id === pupils.a);
    assert.deepEqual([ana().present, ana().mark, ana().by_hand], [true, 'present', false]);
    const unknown = register.unknown.flatMap((u) => u.crop_ids);
    assert.ok(unknown.includes(crops.ben), "Ben's face is unknown in 7A: only the roster's faces are matched");

    // The teacher says Ben's face is nobody of the class; Ana is late; the verdict and mark show.
    assert.deepEqual((await call('PUT', url('CROP_PERSON', crops.ben), { json: { person_id: null } })).body,
      { status: 'success', crop_id: crops.ben, verdict: 'nobody', person_id: null });
    register = (await call('PUT', url('MARK', lesson, pupils.a), { json: { mark: 'late' } })).body;
    assert.deepEqual([ana().present, ana().mark, ana().by_hand], [true, 'late', true]);
    assert.ok(!register.unknown.flatMap((u) => u.crop_ids).includes(crops.ben), 'nobody of the class: not clustered');
    assertError(await call('PUT', url('MARK', lesson, pupils.a), { json: { mark: 'here' } }), 'InvalidRequest', 'an unknown mark');
    assertError(await call('PUT', url('MARK', lesson, pupils.b), { json: { mark: 'present' } }), 'NotFound', 'a pupil not on the roster');
    assertError(await call('PUT', url('CROP_PERSON', crops.stranger), { json: { person_id: pupils.b } }), 'NotFound', 'a verdict naming a pupil off the roster');
    assertError(await call('POST', url('REOPEN', lesson)), 'Conflict', 'reopening an open register');

    // Finalised: stored as it was.
    const finalized = await call('POST', url('FINALIZE', lesson));
    assert.equal(finalized.status, 200, finalized.text);
    assert.equal(finalized.body.finalized.by, s.a.name);
    assert.match(finalized.body.finalized.at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assertError(await call('POST', url('FINALIZE', lesson)), 'RegisterFinalized', 'finalising twice');
    assertError(await call('PUT', url('MARK', lesson, pupils.a), { json: { mark: 'absent' } }), 'RegisterFinalized', 'a mark after finalising');
    assertError(await call('PUT', url('CROP_PERSON', crops.ana), { json: { person_id: null } }), 'RegisterFinalized', 'a verdict after finalising');
    const late = await s.upload(call, lesson);
    await s.store(call, late, s.gen.face(s.centres.ana, 0.1));
    const stored = (await call('GET', url('ATTENDANCE', lesson), {})).body;
    assert.deepEqual(stored.waiting, [late], 'a crop added after finalising waits');
    assert.deepEqual({ ...stored, waiting: [] }, { ...finalized.body, waiting: [] }, 'the register is answered as stored');
    assert.deepEqual((await call('GET', `${url('ATTENDANCE', lesson)}?threshold=0.01`)).body.people, finalized.body.people, 'a threshold changes nothing');
    const csv = await call('GET', url('ATTENDANCE_CSV', lesson));
    assert.ok(csv.text.includes(`,late,yes`), csv.text);

    // Reports: from finalised registers; another lesson not finalised is listed as such.
    const open = (await call('POST', url('SESSIONS'), { json: { name: `open ${run}`, class_id: classes.a, starts_at: '2026-12-08 09:00' } })).body.id;
    const report = (await call('GET', `${url('CLASS_ATTENDANCE', classes.a)}?from=2026-12-07&to=2026-12-08`)).body;
    assert.deepEqual(report.lessons.map((l) => [l.session_id, l.finalized]), [[lesson, true], [open, false]]);
    const row = report.pupils.find((p) => p.person_id === pupils.a);
    assert.deepEqual(row.marks, ['late', null]);
    assert.deepEqual(row.counts, { present: 0, late: 1, excused: 0, absent: 0, rate: 1 });
    assert.equal(row.external_id, `MIS-ana-${run}`);
    const table = await call('GET', `${url('CLASS_ATTENDANCE_CSV', classes.a)}?from=2026-12-07&to=2026-12-08`);
    assert.match(table.type, /^text\/csv/);
    assert.ok(table.text.startsWith('\ufeffperson_id,external_id,name,2026-12-07 09:00 maths'), table.text.slice(0, 120));
    assert.ok(table.text.includes(`2026-12-08 09:00 open ${run} (not finalised)`));
    assert.ok(table.text.includes(`${pupils.a},MIS-ana-${run},ana ${run},late,,0,1,0,0,1.000`), table.text);
    const history = (await call('GET', url('PERSON_ATTENDANCE', pupils.a))).body;
    assert.deepEqual(history.lessons.filter((l) => l.mark).map((l) => [l.session_id, l.mark]), [[lesson, 'late']]);
    assert.equal(history.counts.late, 1);
    const september = (await call('GET', `${url('PERSON_ATTENDANCE', pupils.a)}?from=2026-09-01&to=2026-09-30`)).body;
    assert.deepEqual(september.lessons.map((l) => l.session_id), [s.enrolments.a]);
    assertError(await call('GET', `${url('CLASS_ATTENDANCE', classes.a)}?from=2026-12-31&to=2026-12-01`), 'InvalidRequest', 'from after to');
    assertError(await call('GET', `${url('CLASS_ATTENDANCE', classes.a)}?from=2026-02-30`), 'InvalidRequest', 'no such day');

    // Reopened: recorded, the register live again (the waiting crop counts), out of the reports.
    const reopened = (await call('POST', url('REOPEN', lesson))).body;
    assert.equal(reopened.finalized, null);
    assert.deepEqual(reopened.waiting, []);
    assert.ok(reopened.people.find((p) => p.person_id === pupils.a).crops.some((c) => c.crop_id === late));
    const after = (await call('GET', `${url('CLASS_ATTENDANCE', classes.a)}?from=2026-12-07&to=2026-12-08`)).body;
    assert.deepEqual(after.pupils.find((p) => p.person_id === pupils.a).marks, [null, null]);
    assert.equal((await call('GET', url('SESSION', lesson))).body.finalized, false);
  });
}
