// The school on the session page, end to end on every engine of ENGINES against facenet-server: two
// teachers and an admin, each in a tab of their own with their own token. A teacher sees only
// their class, adds a pupil, opens a lesson, corrects the register by hand, finalises it and
// reads the class's history, confirms a face the register was unsure of; the other teacher sees none of it; the admin makes an account
// (its token shown once). The lesson's faces are seeded through the API (the photo flow with
// real models is session.test.mjs's). Reference faces are kept 45 days here, so that Ana's is
// due for re-enrolment at once; erasing her leaves none of her vectors in the upload queue.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, rows, startFacenetServer } from './server.mjs';
import { ENGINES, launchEngine } from './harness.mjs';
import { client, giveConsent, url, vectors, VERSION } from '../contract/suite.mjs';
import { DOUBTS } from '../../www/client/contract.js';

const ADMIN = 'school-admin-token';
const FACE = readFileSync(join(ROOT, 'tests/faces/s1a.jpg'));
const KEEP_DAYS = 45;

for (const engine of ENGINES) describe(engine, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-school-page-'));
  /** @type {Awaited<ReturnType<typeof startFacenetServer>>} */
  let server;
  /** @type {import('./harness.mjs').Browser} */
  let browser;
  before(async () => {
    server = await startFacenetServer({ dataDir, token: ADMIN, args: ['--template-max-days', String(KEEP_DAYS)] });
    browser = await launchEngine(engine);
  });
  after(async () => { server?.child.kill(); await browser?.close(); rmSync(dataDir, { recursive: true, force: true }); });

  /** Two teachers with a class each; in 7A Ana (enrolled) and Ben, and a lesson where Ana's face is. */
  async function seed() {
    const admin = client({ url: server.url, token: ADMIN });
    const a = (await admin('POST', url('USERS'), { json: { name: 'Teacher A' } })).body;
    const b = (await admin('POST', url('USERS'), { json: { name: 'Teacher B' } })).body;
    const classA = (await admin('POST', url('CLASSES'), { json: { name: '7A', teacher_ids: [a.id] } })).body.id;
    await admin('POST', url('CLASSES'), { json: { name: '7B', teacher_ids: [b.id] } });
    const asA = client({ url: server.url, token: a.token });
    const gen = vectors(5);
    const centre = gen.centre();
    const pupil = async (name) => (await asA('POST', url('CLASS_PUPILS', classA), { json: { name } })).body.person_id;
    const [ana, ben] = [await pupil('Ana'), await pupil('Ben')];
    await giveConsent(asA, ana);
    const crop = async (session, vector) => {
      const id = (await asA('POST', `${url('SESSION_CROPS', session)}?filename=face.jpg`, { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
      await asA('POST', url('CROP_EMBEDDING', id), { json: { model_name: 'facenet', model_version: VERSION, embedding: vector } });
      return id;
    };
    const enrolment = (await asA('POST', url('SESSIONS'), { json: { name: 'Enrolment', class_id: classA, starts_at: '2026-12-01 08:00' } })).body.id;
    const anaRef = await crop(enrolment, gen.face(centre, 0.05));
    await asA('POST', url('PERSON_REFERENCES', ana), { json: { crop_ids: [anaRef] } });
    const lesson = (await asA('POST', url('SESSIONS'), { json: { name: 'Maths', class_id: classA, starts_at: '2026-12-07 09:00' } })).body.id;
    const lessonFace = await crop(lesson, gen.face(centre, 0.15));
    /** A later lesson whose one photo holds a face of Ana's look 20 px across: poor, so unsure. */
    const smallFaceLesson = async () => {
      const science = (await asA('POST', url('SESSIONS'), { json: { name: 'Science', class_id: classA, starts_at: '2026-12-08 09:00' } })).body.id;
      const photo = (await asA('POST', url('SESSION_PHOTOS', science), { json: { filename: 'class.jpg', width: 1920, height: 1280 } })).body.photo_id;
      const id = (await asA('POST', `${url('SESSION_CROPS', science)}?filename=face.jpg&photo_id=${photo}&box=100,100,20,24&score=0.99`,
        { body: FACE, headers: { 'content-type': 'image/jpeg' } })).body.crop_id;
      await asA('POST', url('CROP_EMBEDDING', id), { json: { model_name: 'facenet', model_version: VERSION, embedding: gen.face(centre, 0.1) } });
      return { science, small: id };
    };
    return { a, b, classA, ana, ben, lesson, anaRef, lessonFace, smallFaceLesson };
  }

  test('two teachers and an admin on the session page: classes, roster, a register corrected and finalised, history', { timeout: 5 * 60 * 1000 }, async () => {
    const s = await seed();
    const pageA = await browser.newPage(`${server.url}/#token=${s.a.token}`);
    await pageA.locator('#who', { hasText: 'Signed in as Teacher A (teacher)' }).waitFor();
    assert.equal(await pageA.evaluate(() => localStorage.getItem('facenet-token')), null, 'the token is not kept in the browser for good');
    assert.equal(await pageA.evaluate(() => sessionStorage.getItem('facenet-token')), s.a.token, 'it is kept for the tab');
    // One class: picked; its roster shows.
    await pageA.locator('#roster li').nth(1).waitFor();
    assert.deepEqual(await pageA.locator('#class-select option').allTextContents(), ['—', '7A (2 pupils)']);
    assert.deepEqual(await pageA.locator('#roster .pupil-name').evaluateAll((inputs) => inputs.map((i) => /** @type {HTMLInputElement} */ (i).value)), ['Ana', 'Ben']);
    await pageA.locator('#pupil-name').fill('Cleo');
    await pageA.locator('#pupil-ext').fill('MIS-0003');
    await pageA.locator('#pupil-name').press('Enter');
    await pageA.locator('#roster li').nth(2).waitFor();
    assert.deepEqual(rows(dataDir, "SELECT name, external_id, consent FROM people WHERE name = 'Cleo'"), [['Cleo', 'MIS-0003', 'not_asked']]);
    // Cleo's guardian's consent, from the roster.
    await pageA.locator('#roster li', { hasText: '' }).nth(2).locator('select.consent-change').selectOption('given:guardian');
    await pageA.locator('#roster li .consent[data-consent="given"]').nth(1).waitFor();
    assert.deepEqual(rows(dataDir, "SELECT c.state, c.by_whom, c.recorded_by FROM consents c JOIN people p ON p.id = c.person_id WHERE p.name = 'Cleo'"),
      [['given', 'guardian', 'Teacher A']]);
    assert.equal(await pageA.locator('#roster button.danger').count(), 0, 'a teacher cannot erase a pupil');

    // The lesson: Ana present from her face; Ben late by hand; finalised.
    await pageA.locator('#session-select').selectOption(String(s.lesson));
    await pageA.locator('#take-register').click();
    await pageA.locator('#register-people li.present[data-person="Ana"]').waitFor();
    assert.equal(await pageA.locator('#register-people li.absent').count(), 2, 'Ben and Cleo absent');
    assert.match(await pageA.locator('#register-people li[data-person="Ana"] .verdict').inputValue(), new RegExp(`^${s.ana}$`), 'her face shows as hers');
    await pageA.locator('#register-people li[data-person="Ben"] select.mark').selectOption('late');
    await pageA.locator('#register-people li.present[data-person="Ben"][data-mark="late"]').waitFor();
    await pageA.locator('#finalize').click();
    await pageA.locator('#register-state', { hasText: 'Finalised by Teacher A' }).waitFor();
    assert.ok(await pageA.locator('#register-people li[data-person="Ben"] select.mark').isDisabled(), 'a finalised register is not changed by hand');
    assert.deepEqual(rows(dataDir, `SELECT finalized_by FROM registers WHERE session_id = ${s.lesson}`), [['Teacher A']]);

    // The class's history: the finalised lesson's marks, the enrolment lesson not finalised.
    await pageA.locator('#show-history').click();
    await pageA.locator('#history-table').waitFor();
    const history = await pageA.locator('#history-table tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.deepEqual(history[0], ['Pupil', '2026-12-01 08:00 Enrolment (not finalised)', '2026-12-07 09:00 Maths', 'Rate']);
    assert.deepEqual(history.slice(1).map((r) => [r[0], r[2], r[3]]), [['Ana', 'present', '100 %'], ['Ben', 'late', '100 %'], ['Cleo', 'absent', '0 %']]);

    // A later lesson: Ana's only face there is small, so the register is unsure of it — shown
    // under her with why and its margin, not counted — until the teacher confirms it.
    const { science, small } = await s.smallFaceLesson();
    await pageA.reload(); // the lesson list as it is now (the tab keeps its token)
    await pageA.locator(`#session-select option[value="${science}"]`).waitFor({ state: 'attached' });
    await pageA.locator('#session-select').selectOption(String(science));
    await pageA.locator('#take-register').click();
    const doubt = pageA.locator('#register-people li.absent[data-person="Ana"] .unsure .doubt');
    await doubt.waitFor();
    assert.match(await doubt.textContent() ?? '', new RegExp(`^unsure: ${DOUBTS.small_face}, margin \\d\\.\\d\\d$`));
    await pageA.locator('#register-people li[data-person="Ana"] .unsure button.confirm').click();
    await pageA.locator('#register-people li.present[data-person="Ana"]').waitFor();
    assert.equal(await pageA.locator('#register-people li[data-person="Ana"] .unsure').count(), 0, 'confirmed, no longer in doubt');
    assert.deepEqual(rows(dataDir, `SELECT verdict, verdict_person_id FROM face_crops WHERE id = ${small}`), [['person', s.ana]]);

    // The other teacher, in a tab of their own: nothing of 7A.
    const pageB = await browser.newPage(`${server.url}/#token=${s.b.token}`);
    await pageB.locator('#who', { hasText: 'Signed in as Teacher B (teacher)' }).waitFor();
    await pageB.locator('#roster-section').waitFor();
    assert.deepEqual(await pageB.locator('#class-select option').allTextContents(), ['—', '7B (0 pupils)']);
    assert.ok(!(await pageB.locator('#session-select option').allTextContents()).some((t) => t.includes('Maths')));
    assert.equal(await pageB.locator('#admin-section').isHidden(), true);
    assert.equal(await pageA.evaluate(() => sessionStorage.getItem('facenet-token')), s.a.token, "A's tab keeps A's token");

    // The admin: accounts and classes; a new account's token shown once.
    const pageAdmin = await browser.newPage(`${server.url}/#token=${ADMIN}`);
    await pageAdmin.locator('#who', { hasText: '(admin)' }).waitFor();
    await pageAdmin.locator('#users li').nth(1).waitFor();
    await pageAdmin.locator('#user-name').fill('Teacher C');
    await pageAdmin.locator('#user-name').press('Enter');
    await pageAdmin.locator('#new-token', { hasText: 'Teacher C' }).waitFor();
    assert.match(await pageAdmin.locator('#new-token').textContent() ?? '', /: [0-9a-f]{32}$/);
    assert.deepEqual(rows(dataDir, "SELECT COUNT(*) FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'Teacher C'"), [[1]]);

    // The admin picks 7A: exports Ana's data (a ZIP download), then erases Ben (confirmed).
    await pageAdmin.locator('#class-select').selectOption(String(s.classA));
    await pageAdmin.locator('#roster li').nth(2).waitFor();
    await pageAdmin.catchDownloads();
    await pageAdmin.locator(`#roster li[data-person="${s.ana}"] button.secondary`, { hasText: 'Export' }).click();
    await pageAdmin.waitForFunction(() => /** @type {any} */ (window).__downloads?.length === 1);
    const [exported] = await pageAdmin.downloads();
    assert.match(exported.filename, /^pupil-\d+\.zip$/);
    assert.deepEqual(exported.head, [0x50, 0x4b, 0x03, 0x04], 'a ZIP file');
    await pageAdmin.answerConfirms(true);
    await pageAdmin.locator(`#roster li[data-person="${s.ben}"] button.danger`).click();
    await pageAdmin.locator('#message', { hasText: 'Ben erased' }).waitFor();
    assert.equal(await pageAdmin.locator(`#roster li[data-person="${s.ben}"]`).count(), 0);
    assert.deepEqual(rows(dataDir, `SELECT erased_at IS NOT NULL FROM people WHERE id = ${s.ben}`), [[1]], 'kept as erased: his finalised mark is the school\'s record');

    // Ana's reference face reaches the schedule's 45 days soon: the roster asks for a new one.
    const today = new Date();
    const by = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + KEEP_DAYS)).toISOString().slice(0, 10);
    assert.equal(await pageAdmin.locator(`#roster li[data-person="${s.ana}"] .reenrol`).textContent(), `enrol again by ${by}: take a new reference face`);
    // Vectors still queued in this browser's outbox (the server unreachable when they were taken):
    // one of Ana's reference face, one of a lesson face. Erasing Ana drops hers, not the other.
    const databaseId = await pageAdmin.evaluate(async () => {
      const { ApiClient } = await import('/www/client/api.js');
      return (await new ApiClient({ token: sessionStorage.getItem('facenet-token') ?? '' }).call('ME')).database_id;
    });
    const queued = () => pageAdmin.evaluate((name) => new Promise((resolve, reject) => {
      const open = indexedDB.open(name, 1);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const all = open.result.transaction('items').objectStore('items').getAll();
        all.onsuccess = () => { resolve(all.result.map((v) => [v.cropId, v.payload.embedding.length])); open.result.close(); };
      };
    }), `facenet-wasm-outbox-${databaseId}`);
    await pageAdmin.evaluate(async ([anaRef, lessonFace, databaseId]) => {
      const { ApiClient } = await import('/www/client/api.js');
      const { Outbox } = await import('/www/client/outbox.js');
      // connect-src 'self' refuses this origin: every send fails as a network error would.
      const offline = await Outbox.open({ api: new ApiClient({ baseUrl: 'http://127.0.0.1:9', token: 'unused-token', retries: 1 }), databaseId });
      for (const crop of [anaRef, lessonFace]) {
        await offline.addVector({ crop, model: 'facenet', modelVersion: 'any', embedding: new Array(128).fill(0.088) });
      }
      await offline.flush();
      offline.close();
    }, [s.anaRef, s.lessonFace, databaseId]);
    assert.deepEqual((await queued()).sort(), [[s.anaRef, 128], [s.lessonFace, 128]].sort());
    await pageAdmin.locator(`#roster li[data-person="${s.ana}"] button.danger`).click();
    await pageAdmin.locator('#message', { hasText: 'Ana erased (1 face)' }).waitFor();
    assert.deepEqual((await pageAdmin.confirms()).map((m) => m.split(':')[0]), ['Erase Ben', 'Erase Ana'], 'each erasure asked first');
    assert.deepEqual(await queued(), [[s.lessonFace, 128]], "none of Ana's vectors is left on the device");
    assert.deepEqual(rows(dataDir, `SELECT COUNT(*) FROM face_crops WHERE id = ${s.anaRef}`), [[0]]);
    await pageA.close();
    await pageB.close();
    await pageAdmin.close();
  });
});
