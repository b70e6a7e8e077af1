// Pupils' data rights (README "Pupils' data rights") as black-box contract tests: consent before
// any use of a face, erasure, export, the audit log, the retention schedule. Run by the
// backends' test files with an admin's token. (That erased bytes are gone from the database
// file itself is checked where the file can be read: crates/server/tests/api.rs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertError, client, CONTRACT, giveConsent, PURPOSE, url, vectors, VERSION } from './suite.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const FACE = readFileSync(join(ROOT, 'tests/faces/s1a.jpg'));

/**
 * @param {() => {name: string, url: string, token: string}} getBackend
 */
export function privacyTests(getBackend) {
  const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  let admin;
  let s;
  /** A teacher with a class: Ana (consent given, enrolled), Zoe (never asked), five lessons with both their faces. */
  const ready = async () => {
    if (s) return s;
    admin = client(getBackend());
    const teacher = (await admin('POST', url('USERS'), { json: { name: `Privacy teacher ${run}` } })).body;
    const call = client({ url: getBackend().url, token: teacher.token });
    const classId = (await admin('POST', url('CLASSES'), { json: { name: `privacy ${run}`, teacher_ids: [teacher.id] } })).body.id;
    const pupil = async (name) => (await call('POST', url('CLASS_PUPILS', classId), { json: { name: `${name} ${run}` } })).body.person_id;
    const [ana, zoe] = [await pupil('Ana'), await pupil('Zoe')];
    const gen = vectors(93);
    const centres = { ana: gen.centre(), zoe: gen.centre() };
    const crop = async (session, vector) => {
      const id = (await call('POST', `${url('SESSION_CROPS', session)}?filename=f.jpg`, { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
      assert.equal((await call('POST', url('CROP_EMBEDDING', id), { json: { model_name: 'facenet', model_version: VERSION, embedding: vector } })).status, 200);
      return id;
    };
    const enrolment = (await call('POST', url('SESSIONS'), { json: { name: 'enrolment', class_id: classId, starts_at: '2026-11-02 08:00' } })).body.id;
    const anaRef = await crop(enrolment, gen.face(centres.ana, 0.05));
    const zoeRef = await crop(enrolment, gen.face(centres.zoe, 0.05));
    const lessons = [];
    for (let k = 0; k < 5; k++) {
      const id = (await call('POST', url('SESSIONS'), { json: { name: `lesson ${k}`, class_id: classId, starts_at: `2026-11-0${3 + k} 09:00` } })).body.id;
      const photo = (await call('POST', url('SESSION_PHOTOS', id), { json: { filename: 'p.jpg', width: 100, height: 100 } })).body.photo_id;
      const face = async (centre) => {
        const c = (await call('POST', `${url('SESSION_CROPS', id)}?filename=f.jpg&photo_id=${photo}`, { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
        await call('POST', url('CROP_EMBEDDING', c), { json: { model_name: 'facenet', model_version: VERSION, embedding: gen.face(centre, 0.15) } });
        return c;
      };
      lessons.push({ id, photo, ana: await face(centres.ana), zoe: await face(centres.zoe) });
    }
    s = { teacher, call, classId, ana, zoe, anaRef, zoeRef, lessons, enrolment };
    return s;
  };

  test('consent: nothing of a pupil without it is enrolled, matched or given; refusing erases the face at once', async () => {
    const { call, ana, zoe, anaRef, zoeRef, lessons } = await ready();
    const none = (await call('GET', url('CONSENT', zoe))).body;
    assert.deepEqual(none, { status: 'success', person_id: zoe, consent: 'not_asked', history: [] });
    assertError(await call('POST', url('PERSON_REFERENCES', zoe), { json: { crop_ids: [zoeRef] } }), 'ConsentRequired', 'enrolling without consent');
    assertError(await call('POST', url('PERSON_REFERENCES', ana), { json: { crop_ids: [anaRef] } }), 'ConsentRequired', 'Ana, not yet asked');
    const given = await giveConsent(call, ana);
    assert.equal(given.status, 200, given.text);
    assert.equal(given.body.consent, 'given');
    assert.deepEqual(Object.keys(given.body.history[0]).sort(), ['at', 'by', 'purpose', 'recorded_by', 'state']);
    assert.deepEqual([given.body.history[0].state, given.body.history[0].by, given.body.history[0].purpose, given.body.history[0].recorded_by],
      ['given', 'guardian', PURPOSE, s.teacher.name]);
    assert.equal(given.body.erased_crop_ids.length, 0, 'consent given erases nothing');
    assert.equal((await call('POST', url('PERSON_REFERENCES', ana), { json: { crop_ids: [anaRef] } })).status, 200);
    // The roster says when Ana enrols again: her oldest reference face's day + template_max_days.
    const { template_max_days: maxDays } = (await call('GET', url('RETENTION'))).body;
    const roster = (await call('GET', url('CLASS_PUPILS', s.classId))).body;
    const anaLine = roster.find((p) => p.person_id === ana);
    const today = new Date();
    const by = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + maxDays)).toISOString().slice(0, 10);
    assert.deepEqual([anaLine.reenrol_by, anaLine.reenrol_due], [by, maxDays <= 60], 'enrolled today');
    assert.deepEqual([roster.find((p) => p.person_id === zoe).reenrol_by, roster.find((p) => p.person_id === zoe).reenrol_due], [null, false], 'no reference face');
    // Five lessons with both faces: Ana matched in each, Zoe in none; Zoe present only by hand.
    for (const lesson of lessons) {
      const register = (await call('GET', url('ATTENDANCE', lesson.id))).body;
      const line = (id) => register.people.find((p) => p.person_id === id);
      assert.deepEqual(line(ana).crops.map((c) => c.crop_id), [lesson.ana], 'Ana matched');
      assert.deepEqual([line(zoe).present, line(zoe).crops], [false, []], 'Zoe never matched');
      assert.ok(register.unknown.some((u) => u.crop_ids.includes(lesson.zoe)), "Zoe's face stays an unknown face");
      assertError(await call('PUT', url('CROP_PERSON', lesson.zoe), { json: { person_id: zoe } }), 'ConsentRequired', 'a face given to Zoe');
    }
    const marked = (await call('PUT', url('MARK', lessons[0].id, zoe), { json: { mark: 'present' } })).body;
    assert.deepEqual([marked.people.find((p) => p.person_id === zoe).mark, marked.people.find((p) => p.person_id === zoe).by_hand], ['present', true]);

    // The pupil refuses: their own word wins; their faces are erased at once, their mark stays.
    const refused = await call('PUT', url('CONSENT', ana), { json: { state: 'refused', by: 'pupil', purpose: PURPOSE } });
    assert.equal(refused.body.consent, 'refused');
    assert.equal(refused.body.history.length, 2);
    assert.deepEqual(refused.body.erased_crop_ids, [anaRef], 'the answer names the crops erased, for the page to drop');
    assert.equal((await call('GET', url('PERSON', ana))).body.crops, 0, 'the reference face is erased');
    assertError(await call('GET', url('CROP_IMAGE', anaRef)), 'CropNotFound', 'its image is gone');
    const after = (await call('GET', url('ATTENDANCE', lessons[1].id))).body;
    assert.equal(after.people.find((p) => p.person_id === ana).present, false, 'no longer matched');
    assert.equal((await call('GET', url('ATTENDANCE', lessons[0].id))).body.people.find((p) => p.person_id === zoe).mark, 'present', 'marks by hand stay');
    assertError(await call('PUT', url('CONSENT', ana), { json: { state: 'maybe', by: 'pupil', purpose: PURPOSE } }), 'InvalidRequest', 'no such state');
    assertError(await call('PUT', url('CONSENT', ana), { json: { state: 'given', by: 'teacher', purpose: PURPOSE } }), 'InvalidRequest', 'no such party');
    assertError(await call('PUT', url('CONSENT', ana), { json: { state: 'given', by: 'guardian', purpose: ' ' } }), 'InvalidRequest', 'no purpose');
    // The pupil changes their mind; enrolment is possible again (the old face is gone for good).
    assert.equal((await call('PUT', url('CONSENT', ana), { json: { state: 'given', by: 'pupil', purpose: PURPOSE } })).body.consent, 'given');
  });

  test('erasure: a pupil (admins; marks kept), a crop, a photo, a lesson; teachers erase only open lessons', async () => {
    const { call, classId, ana, zoe, lessons } = await ready();
    // A finalised lesson with Zoe's by-hand mark, then Zoe erased: gone, her mark kept in the report.
    assert.equal((await call('POST', url('FINALIZE', lessons[0].id))).status, 200);
    assertError(await call('DELETE', url('PERSON', zoe)), 'Forbidden', 'a teacher erasing a pupil');
    const erased = await admin('DELETE', url('PERSON', zoe));
    assert.equal(erased.status, 200, erased.text);
    assert.deepEqual(erased.body, { status: 'success', erased: 'pupil', id: zoe, crops: 0, crop_ids: [], attendance_kept: true });
    assertError(await call('GET', url('PERSON', zoe)), 'NotFound', 'an erased pupil');
    assert.ok(!(await call('GET', url('CLASS_PUPILS', classId))).body.some((p) => p.person_id === zoe), 'off the roster');
    const report = (await call('GET', `${url('CLASS_ATTENDANCE', classId)}?from=2026-11-03&to=2026-11-03`)).body;
    assert.deepEqual(report.pupils.find((p) => p.person_id === zoe)?.marks, ['present'], 'the finalised mark kept as the attendance record');
    assertError(await call('DELETE', url('CROP', lessons[0].ana)), 'RegisterFinalized', 'a face of a finalised lesson, by a teacher');
    // A crop, a photo, a lesson.
    const crop = await call('DELETE', url('CROP', lessons[1].ana));
    assert.deepEqual(crop.body, { status: 'success', erased: 'crop', id: lessons[1].ana, crops: 1, crop_ids: [lessons[1].ana] });
    assertError(await call('GET', url('CROP_IMAGE', lessons[1].ana)), 'CropNotFound');
    const photo = (await call('DELETE', url('PHOTO', lessons[2].photo))).body;
    // Zoe's faces in lessons were never linked to her (unknown faces): they go with their photo,
    // or under the retention schedule.
    assert.deepEqual([photo.erased, photo.crops, photo.crop_ids], ['photo', 2, [lessons[2].ana, lessons[2].zoe].sort((a, b) => a - b)], 'the photo and the two faces cut from it');
    assertError(await call('GET', url('CROP_IMAGE', lessons[2].ana)), 'CropNotFound');
    const lesson = (await call('DELETE', url('SESSION', lessons[3].id))).body;
    assert.deepEqual([lesson.erased, lesson.crops, lesson.crop_ids], ['session', 2, [lessons[3].ana, lessons[3].zoe].sort((a, b) => a - b)]);
    assertError(await call('GET', url('SESSION', lessons[3].id)), 'NotFound');
    assertError(await call('DELETE', url('SESSION', lessons[3].id)), 'NotFound', 'twice');
    const other = client({ url: getBackend().url, token: (await admin('POST', url('USERS'), { json: { name: `Other ${run}` } })).body.token });
    assertError(await other('DELETE', url('CROP', lessons[4].ana)), 'CropNotFound', "another teacher's");
    assertError(await other('DELETE', url('SESSION', lessons[4].id)), 'NotFound', "another teacher's");
    assert.ok((await call('GET', url('PERSON', ana))).status === 200, 'Ana untouched');
  });

  test('export: everything held about a pupil as a ZIP, for admins; the audit log, for admins', async () => {
    const { call, ana, lessons } = await ready();
    assertError(await call('GET', url('PERSON_EXPORT', ana)), 'Forbidden', 'a teacher exporting');
    const zip = await admin('GET', url('PERSON_EXPORT', ana));
    assert.equal(zip.status, 200, zip.text.slice(0, 200));
    assert.equal(zip.type, 'application/zip');
    assert.equal(zip.bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
    const text = zip.bytes.toString('latin1');
    assert.ok(text.includes('pupil.json') && text.includes(`Ana ${run}`) && text.includes('"consent_history"'), 'the record, by name');
    assert.match(zip.headers.get('content-disposition') ?? '', /attachment; filename="pupil-\d+-/);

    assertError(await call('GET', url('AUDIT')), 'Forbidden', 'a teacher reading the audit log');
    assertError(await client({ url: getBackend().url, token: `wrong-${run}-token` })('GET', url('ME')), 'Unauthorized');
    const all = (await admin('GET', url('AUDIT'))).body;
    assert.ok(all.some((e) => e.action === 'sign_in_failed'), 'a failed sign-in is audited');
    assert.ok(all.some((e) => e.action === 'account' && e.detail.created === s.teacher.name), 'an account made is audited');
    const entries = (await admin('GET', `${url('AUDIT')}?person_id=${ana}`)).body;
    const actions = entries.map((e) => e.action);
    for (const action of ['roster', 'consent', 'enrol', 'export']) assert.ok(actions.includes(action), `${action} in ${actions}`);
    assert.ok(entries.every((e) => e.person_id === ana));
    assert.deepEqual(Object.keys(entries[0]).sort(), ['action', 'actor', 'at', 'class_id', 'detail', 'id', 'person_id', 'session_id']);
    assert.ok(!JSON.stringify(entries).includes('embedding'), 'no vector in the log');
    const finalize = (await admin('GET', url('AUDIT'))).body.find((e) => e.action === 'finalize' && e.session_id === lessons[0].id);
    assert.equal(finalize.detail.model_version, VERSION, 'a finalised register names its model version');
    assert.equal(typeof finalize.detail.threshold, 'number');
    const csv = await admin('GET', `${url('AUDIT_CSV')}?person_id=${ana}`);
    assert.ok(csv.text.startsWith('\ufeffid,at,actor,action,person_id,session_id,class_id,detail'), csv.text.slice(0, 80));
    const rows = csv.text.trim().split('\n').slice(1);
    assert.equal(rows.length, entries.length, 'one row per entry');
    assert.ok(rows.every((row, i) => row.startsWith(`${entries[i].id},${entries[i].at},`)), rows[0]);
    assertError(await admin('GET', `${url('AUDIT')}?from=yesterday`), 'InvalidRequest');
  });

  test('retention: the schedule in force and a dry run of the purge', async () => {
    const { call } = await ready();
    const schedule = (await call('GET', url('RETENTION'))).body;
    assert.deepEqual(Object.keys(schedule).sort(), ['keep_attendance_of_erased', 'leavers_days', 'lesson_faces_days', 'notice', 'photos_days', 'template_max_days']);
    assert.ok(schedule.notice.length >= 4 && schedule.notice.every((line) => typeof line === 'string'));
    assertError(await call('POST', url('PURGE')), 'Forbidden', 'a teacher purging');
    const dry = (await admin('POST', url('PURGE'))).body;
    assert.equal(dry.dry_run, true, 'a dry run unless asked otherwise');
    assert.deepEqual(dry.erased.map((e) => e.kind), ['lesson_faces', 'photos', 'leavers', 'templates']);
    assert.ok(dry.erased.every((e) => Number.isInteger(e.count) && e.count >= 0));
  });

  test('settings: the deployment as it runs, for an impact assessment (admins)', async () => {
    const { call } = await ready();
    assertError(await call('GET', url('SETTINGS')), 'Forbidden', 'a teacher');
    assertError(await client({ url: getBackend().url, token: `wrong-${run}-token` })('GET', url('SETTINGS')), 'Unauthorized');
    const answer = await admin('GET', url('SETTINGS'));
    assert.equal(answer.status, 200, answer.text);
    const settings = answer.body;
    assert.deepEqual(Object.keys(settings).sort(), ['accounts', 'backend', 'content_security_policy', 'held', 'limits', 'models', 'retention', 'storage']);
    assert.deepEqual(settings.retention, (await call('GET', url('RETENTION'))).body, 'the schedule in force');
    assert.deepEqual(Object.keys(settings.storage).sort(), ['engine', 'erasure', 'location']);
    assert.ok(['sqlite', 'postgresql'].includes(settings.storage.engine), settings.storage.engine);
    const facenet = settings.models.find((m) => m.model_name === 'facenet');
    assert.deepEqual([facenet.model_version, facenet.dimensions, typeof facenet.threshold, facenet.gallery_size], [VERSION, 128, 'number', CONTRACT.gallery_size]);
    assert.deepEqual(Object.keys(settings.accounts).sort(), ['admins', 'live_tokens', 'server_token', 'teachers', 'token_storage']);
    assert.ok(settings.accounts.teachers >= 1 && settings.accounts.live_tokens >= 1, JSON.stringify(settings.accounts));
    assert.equal(settings.limits.failed_sign_ins_per_minute, CONTRACT.limits.failed_sign_ins_per_minute);
    assert.equal(settings.content_security_policy, CONTRACT.content_security_policy, 'the policy the page is sent with');
    const { held } = settings;
    assert.deepEqual(Object.keys(held).sort(), ['audit_entries', 'consent_given', 'gallery_faces', 'lesson_faces', 'lessons', 'photo_images', 'pupils', 'reference_faces']);
    assert.ok(Object.values(held).every((n) => Number.isInteger(n) && n >= 0));
    assert.ok(held.pupils >= held.consent_given && held.consent_given >= 1 && held.audit_entries >= 1, JSON.stringify(held));
    assert.ok(!JSON.stringify(settings).includes(`Ana ${run}`), 'counts only, no names');
  });
}
