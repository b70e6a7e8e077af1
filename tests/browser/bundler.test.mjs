// pkg/ as a bundler sees it: Vite resolves the package, emits the .wasm as a hashed asset, and
// the bundle loads on every engine of ENGINES.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { ROOT, startServer } from './server.mjs';
import { ENGINES, enginePage } from './harness.mjs';
import { ERROR_CODES } from '../../www/client/contract.js';

// A folder of this run's own: two runs (engines in parallel lanes) never share it.
const dist = `dist-${process.pid}`;
const outDir = join(ROOT, 'tests/bundler', dist);
const server = await startServer();
after(async () => { await server.close(); rmSync(outDir, { recursive: true, force: true }); });

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
  for (const engine of ENGINES) {
    const page = await enginePage(engine, `${server.url}/tests/bundler/${dist}/index.html`);
    try {
      const result = await page.waitForFunction(() => window.__result, undefined, { timeout: 60000 });
      // The core's codes lead the generated list; the API's follow.
      assert.deepEqual(result, { ok: true, codes: ERROR_CODES.slice(0, result.codes?.length) }, page.version);
      assert.ok(result.codes.length >= 12);
    } finally {
      await page.close();
    }
  }
});
