// The main job end to end: facenet-server (a real SQLite file, one per engine) + the session page
// on every engine of ENGINES (harness.mjs). Upload real crops, click "Generate embeddings", and
// check the stored vectors against the native CLI's; enroll, assign and cluster; restart the
// server and keep every row; lesson photos to the register.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, rows as rowsOf, startFacenetServer } from './server.mjs';
import { CAN, ENGINES, launchEngine } from './harness.mjs';
import { FACES, cliVectors, cosine } from './common.mjs';

const TOKEN = 'e2e-token';
const CROPS = Number(process.env.FACENET_E2E_CROPS ?? FACES.length);
const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
/** The 30-face classroom photo as base64, made once (its test, on the first engine). @type {string | undefined} */
let classroom;

for (const engine of ENGINES) describe(engine, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-e2e-'));
  const startServer = () => startFacenetServer({ dataDir, token: TOKEN });
  /** @param {string} sql */
  const rows = (sql) => rowsOf(dataDir, sql);
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let server;
  /** @type {import('./harness.mjs').Browser} */
  let browser;
  before(async () => { server = await startServer(); browser = await launchEngine(engine); });
  after(async () => { server?.child.kill(); await browser?.close(); rmSync(dataDir, { recursive: true, force: true }); });
  /** The screenshot's path: the engine's own. @param {string} name */
  const shot = (name) => join(target, `${name}-${engine}.png`);

  test(`the session page embeds ${CROPS} real crops in the browser and the server stores the native CLI's vectors`, { timeout: 15 * 60 * 1000 }, async () => {
    const page = await browser.newPage(`${server.url}/#token=${TOKEN}`);
    await page.locator('#who', { hasText: 'Signed in as' }).waitFor(); // the page's sign-in done: the teacher's view
    // Type a session name and press Enter (a key event from the driver: the form submits).
    await page.locator('#session-name').fill('Monday 9:00');
    await page.locator('#session-name').press('Enter');
    await page.locator('#crops-section').waitFor({ state: 'visible' });
    const files = Array.from({ length: CROPS }, (_, i) => join(ROOT, 'tests/faces', FACES[i % FACES.length]));
    await page.locator('#files').setInputFiles(files);
    await page.locator('.crop').nth(CROPS - 1).waitFor();
    assert.equal(await page.locator('.crop').count(), CROPS);

    const start = Date.now();
    await page.locator('#generate').click();
    await page.waitForFunction((n) => document.querySelectorAll('.badge[data-status="uploaded"]').length === n, CROPS, { timeout: 10 * 60 * 1000 });
    const seconds = (Date.now() - start) / 1000;
    console.log(`${page.version}: "Generate embeddings" → all ${CROPS} uploaded: ${seconds.toFixed(1)} s (including the first model download); ${await page.locator('#model-status').textContent()}`);
    assert.match(await page.locator('#progress-text').textContent(), new RegExp(`${CROPS} / ${CROPS}`));
    // facenet-server's page is cross-origin isolated: the threaded build runs, a thread per core
    // (at most 8; one core has nothing to share).
    // Where the engine can run it (harness.mjs CAN).
    const threads = CAN[engine].threads ? Math.min(8, cpus().length) : 1;
    assert.match(await page.locator('#model-status').textContent() ?? '', threads > 1 ? new RegExp(`; ${threads} threads\\.$`) : /; single-threaded/);

    const stored = rows('SELECT c.filename, e.model_name, e.dimension, e.vector FROM face_crops c JOIN embeddings e ON e.crop_id = c.id ORDER BY c.id');
    assert.equal(stored.length, CROPS);
    const native = cliVectors(FACES);
    for (const [filename, model, dimension, vector] of stored) {
      assert.equal(model, 'facenet');
      assert.equal(dimension, 128);
      const c = cosine(vector, native[FACES.indexOf(filename)]);
      assert.ok(c >= 0.9999, `${filename}: cosine ${c}`);
    }

    // Enroll the first crop (s1a) as Ana, then assign and cluster.
    const first = page.locator('.crop').first();
    await first.locator('input').fill('Ana');
    await first.locator('input').press('Enter');
    // A new pupil: nothing is enrolled before the teacher confirms a signed consent form.
    await page.locator('#consent-dialog[open]').waitFor();
    assert.equal(rows("SELECT COUNT(*) FROM face_crops WHERE person_id IS NOT NULL")[0][0], 0, 'nothing enrolled before consent');
    await page.locator('#consent-given').click();
    await page.locator('.crop', { hasText: 'enrolled: Ana' }).first().waitFor();
    await page.locator('#assign').click();
    await page.locator('#results-section').waitFor({ state: 'visible' });
    const ana = await page.locator('.group.person h3').first().textContent();
    const clusters = await page.locator('.group.cluster').count();
    assert.match(ana, /^Ana \(\d+\)$/);
    // s1a and s1a-shifted (and repeats of them) are Ana; the other 13 people stay in their own clusters.
    assert.equal(clusters, 13);
    await page.screenshot({ path: shot('session-page') });
    console.log(`${page.version}: screenshot: ${shot('session-page')}; ${ana}, ${clusters} clusters of unknown people`);
    await page.close();
  });

  test('a restarted server keeps every row', async () => {
    const before = rows('SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM face_crops), (SELECT COUNT(*) FROM embeddings), (SELECT COUNT(*) FROM people)');
    server.child.kill('SIGTERM');
    const code = await new Promise((resolve) => server.child.on('exit', resolve));
    assert.equal(code, 0, 'SIGTERM is a graceful stop: exit status 0');
    server = await startServer();
    const response = await fetch(`${server.url}/api/attendance/sessions/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const sessions = await response.json();
    assert.deepEqual(sessions.map((s) => [s.name, s.crops]), [['Monday 9:00', CROPS]]);
    const crops = await (await fetch(`${server.url}/api/attendance/sessions/${sessions[0].id}/face-crops/`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    assert.equal(crops.filter((c) => c.embeddings.includes('facenet')).length, CROPS);
    assert.deepEqual(rows('SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM face_crops), (SELECT COUNT(*) FROM embeddings), (SELECT COUNT(*) FROM people)'), before);
    console.log(`rows after restart: sessions, crops, embeddings, people = ${before[0].join(', ')}`);
  });

  test('lesson photos in, the register out: Ana (enrolled from a crop) present, the unknown faces enrolled with one action', { timeout: 10 * 60 * 1000 }, async () => {
    const page = await browser.newPage(`${server.url}/#token=${TOKEN}`);
    await page.locator('#who', { hasText: 'Signed in as' }).waitFor(); // the page's sign-in done: the teacher's view
    await page.locator('#session-name').fill('Tuesday 10:00');
    await page.locator('#session-name').press('Enter');
    await page.locator('#photos-section').waitFor({ state: 'visible' });
    // Ana was enrolled above from one hand-cut crop, s<k>…: the lesson is her photo sample<k>
    // (with the other people in it) and another group photo; the third file is not a photo and
    // must fail alone.
    const [[anaCrop]] = rows("SELECT c.filename FROM face_crops c JOIN people p ON p.id = c.person_id WHERE p.name = 'Ana' LIMIT 1");
    const k = Number(anaCrop[1]);
    const other = k === 5 ? 6 : 5;
    const faces = [3, 3, 3, 4, 5, 4]; // per sample photo, tests/golden/detections.json
    const start = Date.now();
    await page.locator('#photo-files').setInputFiles([join(ROOT, `tests/photos/sample${k}.jpg`), join(ROOT, `tests/photos/sample${other}.jpg`), join(ROOT, 'README.md')]);
    await page.locator('#register-people li').first().waitFor({ timeout: 5 * 60 * 1000 });
    const seconds = (Date.now() - start) / 1000;
    const present = await page.locator('#register-people li.present').evaluateAll((items) => items.map((li) => li.dataset.person));
    const absent = await page.locator('#register-people li.absent').count();
    const unknown = await page.locator('.unknown').count();
    const total = faces[k - 1] + faces[other - 1];
    console.log(`${page.version}: 2 lesson photos (${total} faces; Ana enrolled from ${anaCrop}) + 1 non-photo → register in ${seconds.toFixed(1)} s (model cached): present ${present.join(', ')}; ${unknown} unknown people`);
    assert.deepEqual(present, ['Ana']);
    assert.equal(absent, 0);
    assert.equal(unknown, total - 1, 'every other person in a cluster of their own');
    assert.match(await page.locator('.photo .caption').allTextContents().then((c) => c.join(' | ')), /README\.md: UnsupportedFormat/);

    // Crops only: the photos' records hold no image; every crop points to its photo with its box.
    const photos = rows("SELECT p.filename, p.width, p.image IS NULL, (SELECT COUNT(*) FROM face_crops c WHERE c.photo_id = p.id AND c.box IS NOT NULL AND c.score > 0.6) FROM photos p ORDER BY p.id");
    assert.deepEqual(photos.map((p) => [p[0], p[1], p[2], p[3]]).sort(),
      [[`sample${k}.jpg`, 1920, 1, faces[k - 1]], [`sample${other}.jpg`, 1920, 1, faces[other - 1]]].sort());

    // "This is Ben" on the first unknown person: the register follows at once.
    const first = page.locator('.unknown').first();
    await first.locator('input').fill('Ben');
    await first.locator('input').press('Enter');
    await page.locator('#consent-dialog[open]').waitFor();
    await page.locator('#consent-given').click();
    await page.locator('#register-people li.present[data-person="Ben"]').waitFor();
    assert.equal(await page.locator('.unknown').count(), total - 2);
    const csv = await page.evaluate(async (token) => {
      const sessions = await (await fetch('/api/attendance/sessions/', { headers: { authorization: `Bearer ${token}` } })).json();
      const id = sessions.at(-1).id;
      return (await fetch(`/api/attendance/sessions/${id}/attendance.csv`, { headers: { authorization: `Bearer ${token}` } })).text();
    }, TOKEN);
    assert.deepEqual(csv.trim().split('\n').map((l) => l.split(',').slice(1, 3)), [['name', 'present'], ['Ana', 'yes'], ['Ben', 'yes']]);
    await page.screenshot({ path: shot('session-register') });
    console.log(`${page.version}: screenshot: ${shot('session-register')}`);
    await page.close();
  });

  test('a 30-face classroom photo from drop to register (model cached)', { timeout: 5 * 60 * 1000 }, async () => {
    const page = await browser.newPage(`${server.url}/#token=${TOKEN}`);
    await page.locator('#who', { hasText: 'Signed in as' }).waitFor(); // the page's sign-in done: the teacher's view
    // The photo: 30 of the test crops on a 1280×853 wall (faces ~60 px), made in the page.
    // The crops come from the test (facenet-server serves no test fixtures).
    const faces = FACES.map((f) => readFileSync(join(ROOT, 'tests/faces', f)).toString('base64'));
    // Composed by the first engine and kept: engines' canvases resample and encode differently,
    // and the photo is to be the same on each (Firefox's composition shows one face more).
    classroom ??= await page.evaluate(async (faces) => {
      const crops = await Promise.all(faces.map(async (b64) => createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]))));
      const room = new OffscreenCanvas(1280, 853);
      const ctx = room.getContext('2d');
      ctx.fillStyle = '#6b6258';
      ctx.fillRect(0, 0, 1280, 853);
      for (let k = 0; k < 30; k++) ctx.drawImage(crops[k % crops.length], 40 + (k % 6) * 205, 30 + Math.floor(k / 6) * 165, 84, 84);
      const bytes = new Uint8Array(await (await room.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer());
      return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
    }, faces);
    const file = join(dataDir, 'classroom.jpg');
    writeFileSync(file, Buffer.from(classroom, 'base64'));
    await page.locator('#session-name').fill('Classroom');
    await page.locator('#session-name').press('Enter');
    await page.locator('#photos-section').waitFor({ state: 'visible' });
    // The page makes its embedder (model from the cache, detector) on the first drop: a first
    // photo warms it, as the teacher's first photo would; the second drop is timed.
    const first = Date.now();
    await page.locator('#photo-files').setInputFiles(join(ROOT, 'tests/photos/sample3.jpg'));
    await page.locator('#register[data-shown="1"]').waitFor({ timeout: 2 * 60 * 1000 });
    const firstSeconds = (Date.now() - first) / 1000;
    const start = Date.now();
    await page.locator('#photo-files').setInputFiles(file);
    await page.locator('#register[data-shown="2"]').waitFor({ timeout: 2 * 60 * 1000 });
    const seconds = (Date.now() - start) / 1000;
    const caption = await page.locator('.photo .caption').last().textContent();
    const crops = rows("SELECT COUNT(*) FROM face_crops c JOIN photos p ON p.id = c.photo_id WHERE p.filename = 'classroom.jpg'")[0][0];
    console.log(`${page.version}: 30-face classroom photo (1280×853) → register on the page: ${seconds.toFixed(1)} s (the page's first photo, with the model from the cache: ${firstSeconds.toFixed(1)} s); ${caption}`);
    assert.equal(crops, 30);
    assert.match(caption, /30 faces/);
    await page.close();
  });

  test('a browser lacking what finding faces needs: the page says so in words, and nothing is sent', async () => {
    const page = await browser.newPage(`${server.url}/#token=${TOKEN}`);
    await page.locator('#who', { hasText: 'Signed in as' }).waitFor();
    assert.equal(await page.locator('#unsupported').isHidden(), true, `${page.version} has everything`);
    await page.locator('#session-name').fill('Old browser');
    await page.locator('#session-name').press('Enter');
    await page.locator('#photos-section').waitFor({ state: 'visible' });
    const photosBefore = rows('SELECT COUNT(*) FROM photos')[0][0];
    await page.evaluate(() => { Object.assign(globalThis, { OffscreenCanvas: undefined }); });
    await page.locator('#photo-files').setInputFiles(join(ROOT, 'tests/photos/sample1.jpg'));
    await page.locator('#message', { hasText: 'This browser cannot recognise faces: it lacks OffscreenCanvas' }).waitFor();
    console.log(`${page.version}: ${await page.locator('#message').textContent()}`);
    assert.equal(rows('SELECT COUNT(*) FROM photos')[0][0], photosBefore);
    await page.close();
  });
});
