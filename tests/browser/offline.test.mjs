// The session page offline, on every engine of ENGINES whose driver can cut the network, against
// facenet-server: after one visit the
// service worker keeps the page and the builds (the models are in the worker's Cache API); with
// the network cut the page opens, the lesson's photo is found and embedded on the device and
// queued; when the network returns, everything reaches the server once, and the register follows.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, rows, startFacenetServer } from './server.mjs';
import { CAN, ENGINES, launchEngine } from './harness.mjs';
import { client, url } from '../contract/suite.mjs';

const TOKEN = 'offline-token';

test("the service worker keeps every file the page imports before its first photo", () => {
  const shell = readFileSync(join(ROOT, 'www/app/sw.js'), 'utf8');
  const modules = ['www/app', 'www/client'].flatMap((dir) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.js') && f !== 'sw.js').map((f) => `/${dir}/${f}`));
  const missing = modules.filter((m) => !shell.includes(`'${m}'`));
  assert.deepEqual(missing, [], 'www/app/sw.js SHELL misses these: the page would not open offline after a first visit');
});

for (const engine of ENGINES) describe(engine, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-offline-'));
  /** @type {Awaited<ReturnType<typeof startFacenetServer>>} */
  let server;
  /** @type {import('./harness.mjs').Browser} */
  let browser;
  before(async () => { server = await startFacenetServer({ dataDir, token: TOKEN }); browser = await launchEngine(engine); });
  after(async () => { server?.child.kill(); await browser?.close(); rmSync(dataDir, { recursive: true, force: true }); });
  const faces = (photo) => rows(dataDir, `SELECT COUNT(*), COUNT(e.crop_id) FROM face_crops c JOIN photos p ON p.id = c.photo_id LEFT JOIN embeddings e ON e.crop_id = c.id WHERE p.filename = '${photo}'`)[0];

  test('offline: the page opens, a lesson photo is embedded and queued on the device, sent once the network returns, and a photo dropped twice is one', { timeout: 10 * 60 * 1000, skip: !CAN[engine].cutsNetwork && 'the driver cannot cut the network (WebDriver has no command for it)' }, async () => {
    const session = (await client({ url: server.url, token: TOKEN })('POST', url('SESSIONS'), { json: { name: 'Offline lesson' } })).body.id;
    const page = await browser.newPage(`${server.url}/#token=${TOKEN}`);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    await page.locator('#session-select').selectOption(String(session));
    await page.locator('#photos-section').waitFor({ state: 'visible' });
    // One photo online: the models downloaded (and kept), the builds kept by the service worker.
    await page.locator('#photo-files').setInputFiles(join(ROOT, 'tests/photos/sample1.jpg'));
    await page.locator('#register[data-shown="1"]').waitFor({ timeout: 3 * 60 * 1000 });
    assert.deepEqual(faces('sample1.jpg'), [3, 3]);

    // No network: a cold start of the page, from the service worker.
    await browser.setOffline(true);
    const start = Date.now();
    await page.reload();
    await page.locator('#who', { hasText: 'Offline' }).waitFor({ timeout: 60_000 });
    await page.locator('#photos-section').waitFor({ state: 'visible' });
    const opened = Date.now() - start;
    await page.locator('#photo-files').setInputFiles(join(ROOT, 'tests/photos/sample2.jpg'));
    await page.locator('.photo .caption', { hasText: 'sample2.jpg: 3 faces' }).waitFor({ timeout: 3 * 60 * 1000 });
    const firstFaces = Date.now() - start;
    await page.locator('#outbox-status[data-pending="7"]').waitFor({ timeout: 60_000 });
    console.log(`${page.version}: offline cold start: page open in ${opened} ms, first faces found in ${firstFaces} ms (models from the cache); ${await page.locator('#outbox-status').textContent()}`);
    assert.deepEqual(faces('sample2.jpg'), [0, 0], 'nothing reached the server');
    assert.match(await page.locator('#model-status').textContent() ?? '', /from the cache/);

    // The network returns: the outbox sends the photo record, its 3 crops and their vectors, once.
    await browser.setOffline(false);
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await page.locator('#outbox-status[data-pending="0"]').waitFor({ state: 'attached', timeout: 2 * 60 * 1000 });
    // Signed in again, and the register of both photos' faces (nobody enrolled: 6 unknown people).
    await page.locator('#register[data-shown="1"]').waitFor({ state: 'attached', timeout: 60_000 });
    await page.locator('#register', { hasText: 'Unknown faces: 6 people' }).waitFor({ timeout: 60_000 });
    assert.match(await page.locator('#who').textContent() ?? '', /^Signed in as/);
    assert.deepEqual(faces('sample2.jpg'), [3, 3], 'its 3 faces, each with its vector, once');
    assert.deepEqual(rows(dataDir, `SELECT COUNT(*) FROM photos WHERE session_id = ${session}`), [[2]]);

    // The same photo dropped again: the same photo and faces on the server, not a second copy.
    const shown = Number(await page.locator('#register').getAttribute('data-shown'));
    await page.locator('#photo-files').setInputFiles(join(ROOT, 'tests/photos/sample2.jpg'));
    await page.locator(`#register[data-shown="${shown + 1}"]`).waitFor({ state: 'attached', timeout: 2 * 60 * 1000 });
    assert.deepEqual(faces('sample2.jpg'), [3, 3], 'still its 3 faces, once');
    assert.deepEqual(rows(dataDir, `SELECT COUNT(*) FROM photos WHERE session_id = ${session}`), [[2]]);
    assert.equal(await page.locator('#attention li').count(), 0, 'and nothing needing attention');
    assert.match(await page.locator('#register').textContent() ?? '', /Unknown faces: 6 people/);
    await page.close();
  });
});
