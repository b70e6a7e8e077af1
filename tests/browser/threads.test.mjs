// The threaded build (pkg/threads/) on every engine of ENGINES: where the page is cross-origin
// isolated and the engine can run it (harness.mjs CAN) it runs with a thread per core and gives
// the single-threaded build's vectors; where it is not, where the engine cannot, or where its
// threads cannot start, the worker falls back to the single-threaded build and says why.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { CAN, ENGINES, launchEngine } from './harness.mjs';
import { FACES, cliVectors, cosine } from './common.mjs';

const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const server = await startServer({ headers: ISOLATION });
after(() => server.close());
const native = cliVectors(FACES);
const lowest = (vectors) => Math.min(...vectors.map((v, i) => (Array.isArray(v) ? cosine(v, native[i]) : -1)));

for (const engine of ENGINES) describe(engine, () => {
  /** @type {import('./harness.mjs').Browser} */
  let browser;
  before(async () => { browser = await launchEngine(engine); });
  after(() => browser?.close());

  /**
   * Opens `path` on `base`, creates a FaceEmbedder with `options`, embeds `faces` and returns
   * whether the page was isolated, its loadStats, pool size, wasm memory and vectors.
   */
  async function embedIn(base, path, options, faces) {
    const page = await browser.newPage(`${base}${path}`);
    try {
      return await page.evaluate(async ({ options, faces }) => {
        const { FaceEmbedder } = await import('/www/client/facenet.js');
        const embedder = await FaceEmbedder.create(options);
        // 'not-an-image' stands for a bad crop among the good ones.
        const blobs = await Promise.all(faces.map(async (f) => (f === 'not-an-image' ? new Blob(['text']) : (await fetch(`/tests/faces/${f}`)).blob())));
        const results = await embedder.embedBatch(blobs);
        // Past the first worker the pool grows in the background: wait for it, up to 60 s (a
        // worker's load took over 20 s in WebKit with both browser lanes and the native tests on
        // two cores).
        for (let i = 0; i < 600 && embedder.workers < (options.expectWorkers ?? 1); i++) await new Promise((r) => setTimeout(r, 100));
        const stats = await embedder.stats();
        embedder.terminate();
        return {
          isolated: crossOriginIsolated, loadStats: embedder.loadStats, workers: stats.length,
          wasmBytes: stats.map((s) => s.wasmMemoryBytes),
          vectors: results.map((r) => (r.ok ? Array.from(r.embedding) : r.error.code)),
        };
      }, { options, faces });
    } finally {
      await page.close();
    }
  }

  test('cross-origin isolated: one worker, a thread per core, the native vectors (cosine ≥ 0.9999); a bad crop fails alone', { skip: !CAN[engine].threads && 'no threaded build on this engine: the next test' }, async () => {
    // A batch goes to the threaded worker in groups run a crop per thread: the bad crop shares a group.
    // The memory maximum a 2 GB tablet gets (threadLimits): the model, its plan and a batch fit.
    const result = await embedIn(server.url, '/tests/browser/page.html', { threads: 2, maxMemoryMB: 512 }, [...FACES.slice(0, 5), 'not-an-image', ...FACES.slice(5)]);
    assert.equal(result.vectors.splice(5, 1)[0], 'UnsupportedFormat');
    assert.equal(result.loadStats.maxMemoryMB, 512);
    assert.ok(result.wasmBytes[0] <= 512 * 2 ** 20);
    assert.equal(result.isolated, true);
    assert.equal(result.loadStats.wasm, 'threads', `threadsError: ${result.loadStats.threadsError}`);
    assert.equal(result.loadStats.threads, 2);
    assert.equal(result.loadStats.threadsError, null);
    assert.equal(result.workers, 1, 'workers × threads ≤ cores: one worker of 2 threads on 2 cores');
    const worst = lowest(result.vectors);
    console.log(`${browser.version}: threaded build vs native CLI over ${FACES.length} crops: lowest cosine ${worst.toFixed(7)}; ` +
      `wasm memory ${(result.wasmBytes[0] / 2 ** 20).toFixed(1)} MiB; load`, result.loadStats.timings);
    assert.ok(worst >= 0.9999, `lowest cosine ${worst}`);
  });

  test('cross-origin isolated on an engine without the threaded build: the single-threaded build, a worker per core, saying why', { skip: CAN[engine].threads && 'the engine runs the threaded build: the test before' }, async () => {
    const result = await embedIn(server.url, '/tests/browser/page.html', { threads: 2, expectWorkers: 2 }, FACES.slice(0, 6));
    assert.equal(result.isolated, true);
    assert.equal(result.loadStats.wasm, CAN[engine].relaxedSimd ? 'relaxed-simd' : 'simd128');
    assert.equal(result.loadStats.threads, 1);
    assert.match(result.loadStats.threadsError, /no relaxed SIMD|no SharedArrayBuffer/);
    assert.equal(result.workers, 2, 'the pool is sized for the single-threaded build: a worker per core');
    console.log(`${browser.version}, isolated: ${result.loadStats.wasm} build; threadsError: ${result.loadStats.threadsError}`);
    assert.ok(lowest(result.vectors) >= 0.9999);
  });

  test('the threaded build sized for the device: a quarter of its memory (512–1024 MB), 2 threads at 2 GB or less', async () => {
    const page = await browser.newPage(`${server.url}/tests/browser/page.html`);
    try {
      const limits = await page.evaluate(async () => {
        const { threadLimits } = await import('/www/client/facenet.js');
        return {
          here: threadLimits(), tablet: threadLimits({}, { deviceMemory: 2 }), phone: threadLimits({}, { deviceMemory: 0.5 }),
          laptop: threadLimits({}, { deviceMemory: 8 }), untold: threadLimits({}, {}),
          asked: threadLimits({ maxMemoryMB: 768 }, { deviceMemory: 2 }), tooSmall: threadLimits({ maxMemoryMB: 64 }), tooLarge: threadLimits({ maxMemoryMB: 4096 }),
        };
      });
      console.log(`${browser.version}: threadLimits() here: ${JSON.stringify(limits.here)}`);
      assert.deepEqual(limits.tablet, { maxMemoryMB: 512, threads: 2 });
      assert.deepEqual(limits.phone, { maxMemoryMB: 512, threads: 2 });
      assert.deepEqual(limits.laptop, { maxMemoryMB: 1024, threads: 8 });
      assert.deepEqual(limits.untold, { maxMemoryMB: 1024, threads: 8 });
      assert.deepEqual(limits.asked, { maxMemoryMB: 768, threads: 2 });
      assert.equal(limits.tooSmall.maxMemoryMB, 512);
      assert.equal(limits.tooLarge.maxMemoryMB, 1024);
    } finally {
      await page.close();
    }
  });

  test('not cross-origin isolated: the single-threaded build, saying why', async () => {
    const plain = await startServer();
    try {
      const result = await embedIn(plain.url, '/tests/browser/page.html', { threads: 2, workers: 1 }, FACES.slice(0, 4));
      assert.equal(result.isolated, false);
      assert.notEqual(result.loadStats.wasm, 'threads');
      assert.equal(result.loadStats.threads, 1);
      assert.match(result.loadStats.threadsError, /cross-origin isolated/);
      assert.ok(lowest(result.vectors) >= 0.9999);
    } finally {
      await plain.close();
    }
  });

  test('isolated, but a CSP refusing blob: workers keeps the threads from starting: the single-threaded build runs, the pool grows', { skip: !CAN[engine].threads && 'no threaded build on this engine' }, async () => {
    // wasm-bindgen-rayon starts its threads from blob: URLs. The worker gets the policy too (a
    // worker's CSP comes from its own response).
    const csp = encodeURIComponent("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'");
    const t0 = Date.now();
    const result = await embedIn(server.url, `/tests/browser/page.html?csp=${csp}`,
      { threads: 2, expectWorkers: 2, workerUrl: `/www/client/worker.js?csp=${csp}` }, FACES.slice(0, 4));
    assert.equal(result.isolated, true);
    assert.notEqual(result.loadStats.wasm, 'threads');
    assert.equal(result.loadStats.threads, 1);
    assert.match(result.loadStats.threadsError, /Content-Security-Policy/);
    console.log(`${browser.version}: threadsError under the CSP: ${result.loadStats.threadsError}; seen in ${Date.now() - t0} ms`);
    assert.ok(Date.now() - t0 < 10000 + 60000, 'the refusal is seen at once, not after the timeout');
    assert.equal(result.workers, 2, 'the pool is sized for the single-threaded build: a worker per core');
    assert.ok(lowest(result.vectors) >= 0.9999);
  });
});
