// The session page against the Django app (integrations/django/example on a throw-away
// PostgreSQL cluster): crops in, vectors computed in the browser, stored by Django, equal to
// the native CLI's; the page cross-origin isolated by the project, so the threaded build runs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server.mjs';
import { ENGINES, launchEngine } from './harness.mjs';
import { FACES, cliVectors, cosine } from './common.mjs';
import { startDjango } from '../contract/backends.mjs';

const TOKEN = 'django-e2e-token';
const VERSION = JSON.parse(readFileSync(join(ROOT, 'models/facenet.json'), 'utf8')).sha256.slice(0, 12);
const CROPS = FACES.slice(0, 8);
// The backend is what this test is about: one engine, Chromium, when FACENET_ENGINES has it (the
// page on every engine is session.test.mjs's).
const here = ENGINES.includes('chromium');
const django = here ? await startDjango({ database: 'postgres', token: TOKEN }) : /** @type {any} */ (null);
const browser = here ? await launchEngine('chromium') : /** @type {any} */ (null);
after(async () => { await browser?.close(); await django?.close(); });

/** Rows of the Django app's PostgreSQL database, through psql. */
function rows(sql) {
  const out = execFileSync('psql', ['-At', '-F', '\t', '-c', sql], { env: { ...process.env, ...django.postgres.env } }).toString().trim();
  return out ? out.split('\n').map((line) => line.split('\t')) : [];
}

test('the session page on the Django example project: crops embedded in the browser, stored in PostgreSQL', { skip: !here && 'Chromium is not among FACENET_ENGINES', timeout: 10 * 60 * 1000 }, async () => {
  const page = await browser.newPage(`${django.url}/#token=${TOKEN}`);
  await page.locator('#session-name').fill('Django lesson');
  await page.locator('#session-name').press('Enter');
  await page.locator('#crops-section').waitFor({ state: 'visible' });
  await page.locator('#files').setInputFiles(CROPS.map((f) => join(ROOT, 'tests/faces', f)));
  await page.locator('.crop').nth(CROPS.length - 1).waitFor();
  await page.locator('#generate').click();
  await page.waitForFunction((n) => document.querySelectorAll('.badge[data-status="uploaded"]').length === n, CROPS.length, { timeout: 5 * 60 * 1000 });
  const status = await page.locator('#model-status').textContent();
  console.log(`Django: ${status}`);
  const threads = Math.min(8, cpus().length);
  assert.match(status, threads > 1 ? new RegExp(`; ${threads} threads\\.$`) : /; single-threaded/);

  const stored = rows(`SELECT c.filename, e.model_name, e.model_version, e.dimension, encode(e.vector, 'hex')
    FROM facenet_attendance_facecrop c JOIN facenet_attendance_embedding e ON e.crop_id = c.id ORDER BY c.id`);
  assert.equal(stored.length, CROPS.length);
  const native = new Map(cliVectors(CROPS).map((v, i) => [CROPS[i], v]));
  // The page uploads crops side by side: any order.
  assert.deepEqual(stored.map(([filename]) => filename).sort(), [...CROPS].sort());
  stored.forEach(([filename, model, version, dimension, hex]) => {
    assert.deepEqual([model, Number(dimension)], ['facenet', 128]);
    assert.equal(version, VERSION);
    const bytes = Buffer.from(hex, 'hex');
    const vector = Array.from({ length: bytes.length / 4 }, (_, k) => bytes.readFloatLE(4 * k));
    const expected = /** @type {number[]} */ (native.get(filename));
    assert.ok(cosine(vector, expected) >= 0.9999, `${filename}: cosine ${cosine(vector, expected)}`);
  });
  await page.close();
});
