// pkg/ as a bundler sees it: Vite resolves the package, emits the .wasm as a hashed asset, and
// the bundle loads in Chromium.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { ROOT, startServer } from './server.mjs';
import { launch, openPage } from './harness.mjs';
import { ERROR_CODES } from '../../www/client/contract.js';

const outDir = join(ROOT, 'tests/bundler/dist');
const server = await startServer();
const browser = await launch();
after(async () => { await browser.close(); await server.close(); rmSync(outDir, { recursive: true, force: true }); });

test('Vite bundles pkg/ and the bundle runs', async () => {
  await build({
    root: join(ROOT, 'tests/bundler'),
    base: './',
    logLevel: 'silent',
    resolve: { alias: { 'facenet-wasm': join(ROOT, 'pkg/facenet_wasm.js') } },
    build: { outDir, emptyOutDir: true, target: 'es2022' },
  });
  const assets = readdirSync(join(outDir, 'assets'));
  assert.ok(assets.some((f) => /^facenet_wasm_bg-.*\.wasm$/.test(f)), `a hashed .wasm among ${assets}`);
  const page = await openPage(browser.context, `${server.url}/tests/bundler/dist/index.html`);
  await page.waitForFunction(() => window.__result, null, { timeout: 60000 });
  const result = await page.evaluate(() => window.__result);
  // The core's codes lead the generated list; the API's follow.
  assert.deepEqual(result, { ok: true, codes: ERROR_CODES.slice(0, result.codes?.length) });
  assert.ok(result.codes.length >= 12);
});
