// FaceEmbedder and its worker over real HTTP, on every engine of ENGINES (harness.mjs), each in a
// browser of its own: progress, the build the engine can run, the cache, errors, inputs, faults.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer } from './server.mjs';
import { CAN, ENGINES, launchEngine } from './harness.mjs';
import { FACES, cliVectors, cosine } from './common.mjs';

const server = await startServer();
after(() => server.close());

const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'models/facenet.json'), 'utf8'));
const modelRequests = () => server.state.requests.filter((r) => r === 'GET /models/facenet.onnx').length;

for (const engine of ENGINES) describe(engine, () => {
  const profile = mkdtempSync(join(tmpdir(), 'facenet-profile-'));
  /** @type {import('./harness.mjs').Browser} */
  let browser;
  /** @type {import('./harness.mjs').Page} */
  let page;
  before(async () => {
    browser = await launchEngine(engine, { profile });
    page = await browser.newPage(`${server.url}/tests/browser/page.html`);
  });
  after(async () => { await browser?.close(); rmSync(profile, { recursive: true, force: true }); });

  /** Runs `fn` in the page with FaceEmbedder imported as `fe`. */
  const inPage = (fn, arg) => page.evaluate(`(async () => { const fe = await import('/www/client/facenet.js'); return (${fn})(fe, ${JSON.stringify(arg)}); })()`);

  test('first load reports download, compile and plan progress, then vectors equal the native CLI (cosine ≥ 0.9999)', async () => {
    const requestsBefore = modelRequests();
    const result = await inPage(async (fe, faces) => {
      const progress = [];
      const t0 = performance.now();
      const embedder = await fe.FaceEmbedder.create({ workers: 2, onProgress: (p) => progress.push(p) });
      const coldMs = performance.now() - t0;
      const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
      const results = await embedder.embedBatch(blobs);
      window.embedder = embedder;
      return {
        coldMs, progress, loadStats: embedder.loadStats, info: embedder.info,
        results: results.map((r) => (r.ok ? { ok: true, v: Array.from(r.embedding), model: r.model, version: r.modelVersion } : { ok: false, code: r.error.code })),
      };
    }, FACES);
    const statuses = new Set(result.progress.map((p) => p.status));
    for (const s of ['initiate', 'download', 'progress', 'done', 'compile', 'plan', 'ready']) assert.ok(statuses.has(s), `progress ${s}`);
    const downloads = result.progress.filter((p) => p.status === 'progress');
    assert.ok(downloads.every((p, i) => i === 0 || p.loaded >= downloads[i - 1].loaded), 'loaded never decreases');
    assert.ok(downloads.every((p) => p.total === MANIFEST.size), 'total known up front, from the manifest');
    assert.equal(downloads.at(-1).loaded, downloads.at(-1).total, 'download ends at 100 %');
    assert.equal(result.loadStats.fromCache, false);
    assert.equal(modelRequests(), requestsBefore + 1, 'two workers, one download');

    const native = cliVectors(FACES);
    const cosines = result.results.map((r, i) => { assert.ok(r.ok, FACES[i]); return cosine(r.v, native[i]); });
    const worst = Math.min(...cosines);
    console.log(`${page.version} (${result.loadStats.wasm} build) vs native CLI over ${FACES.length} crops: lowest cosine ${worst.toFixed(7)}; cold start ${result.coldMs.toFixed(0)} ms`, result.loadStats.timings);
    assert.ok(worst >= 0.9999, `lowest cosine ${worst}`);
    assert.ok(result.results.every((r) => r.model === 'facenet' && r.version === server.version && r.v.length === 128));
  });

  test('the relaxed-SIMD build runs where the browser has it; the SIMD128 build gives the same vectors', async () => {
    const requestsBefore = server.state.requests.length;
    const faces = FACES.slice(0, 6);
    const result = await inPage(async (fe, faces) => {
      const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
      const run = async (options) => {
        const embedder = await fe.FaceEmbedder.create({ workers: 1, ...options });
        const vectors = (await embedder.embedBatch(blobs)).map((r) => Array.from(r.embedding));
        embedder.terminate();
        return { wasm: embedder.loadStats.wasm, vectors };
      };
      return { relaxed: await run({}), plain: await run({ relaxedWasmUrl: null }) };
    }, faces);
    assert.equal(result.relaxed.wasm, CAN[engine].relaxedSimd ? 'relaxed-simd' : 'simd128', `${engine} ${CAN[engine].relaxedSimd ? 'has' : 'has no'} relaxed SIMD`);
    assert.equal(result.plain.wasm, 'simd128');
    const wasmRequests = server.state.requests.slice(requestsBefore).filter((r) => r.startsWith('GET /pkg/') && r.endsWith('.wasm'));
    assert.ok(wasmRequests.includes('GET /pkg/facenet_wasm_bg.wasm'), wasmRequests.join(', '));
    assert.equal(wasmRequests.includes('GET /pkg/facenet_wasm_relaxed_bg.wasm'), CAN[engine].relaxedSimd, `the relaxed build fetched only where it validates: ${wasmRequests.join(', ')}`);
    const native = cliVectors(faces);
    const worst = Math.min(...faces.map((_, i) => Math.min(cosine(result.relaxed.vectors[i], result.plain.vectors[i]), cosine(result.plain.vectors[i], native[i]))));
    console.log(`${page.version}: ${result.relaxed.wasm} vs SIMD128 build and SIMD128 vs native over ${faces.length} crops: lowest cosine ${worst.toFixed(7)}`);
    assert.ok(worst >= 0.9999, `lowest cosine ${worst}`);
  });

  test('a second page load takes the model from the cache: no model request on the wire', async () => {
    const requestsBefore = modelRequests();
    await page.reload();
    const loaded = await inPage(async (fe) => {
      const t0 = performance.now();
      const embedder = await fe.FaceEmbedder.create({ workers: 1 });
      const ms = performance.now() - t0;
      const { dimension } = await embedder.embed(await (await fetch('/tests/faces/s2a.jpg')).blob());
      embedder.terminate();
      return { ms, dimension, loadStats: embedder.loadStats };
    });
    assert.equal(loaded.dimension, 128);
    if (!CAN[engine].storageSurvivesReload) {
      // WebKitGTK under WebDriver keeps its storage in memory only (as Safari's private windows
      // do) and drops the Cache API's at a reload: the model is fetched again, and it still works.
      console.log(`${page.version}: storage is ephemeral under automation: the model fetched again after a reload (${loaded.ms.toFixed(0)} ms)`);
      assert.equal(loaded.loadStats.fromCache, false);
      return;
    }
    console.log(`${page.version}: cached load: ${loaded.ms.toFixed(0)} ms`, loaded.loadStats.timings);
    assert.equal(modelRequests(), requestsBefore);
    assert.equal(loaded.loadStats.fromCache, true);
  });

  test('a corrupted cache entry is dropped and the model fetched again', { skip: !CAN[engine].storageSurvivesReload && 'no cache entry survives the reload before (storage is ephemeral under automation)' }, async () => {
    const requestsBefore = modelRequests();
    const fromCache = await inPage(async (fe, sha) => {
      const cache = await caches.open(fe.CACHE_NAME);
      const key = new URL(`/models/facenet.onnx?sha256=${sha}`, location.href).href;
      const good = new Uint8Array(await (await cache.match(key)).arrayBuffer());
      await cache.put(key, new Response(good.subarray(0, 1000000)));  // truncated
      const embedder = await fe.FaceEmbedder.create({ workers: 1 });
      embedder.terminate();
      const again = await cache.match(key);
      return { fromCache: embedder.loadStats.fromCache, restored: again ? (await again.arrayBuffer()).byteLength : 0 };
    }, MANIFEST.sha256);
    assert.equal(modelRequests(), requestsBefore + 1);
    assert.deepEqual(fromCache, { fromCache: false, restored: MANIFEST.size });
  });

  test('an HTML error page is never taken for a model or a wasm module, and the error says what arrived', async () => {
    const errors = await inPage(async (fe) => {
      const attempt = async (options) => {
        try { (await fe.FaceEmbedder.create({ workers: 1, ...options })).terminate(); return null; } catch (e) { return { code: e.code, message: e.message }; }
      };
      const keys = async () => (await (await caches.open(fe.CACHE_NAME)).keys()).map((r) => r.url);
      return {
        model: await attempt({ modelUrl: '/models/missing.onnx' }),
        wasm: await attempt({ wasmUrl: '/pkg/missing.wasm' }),
        manifest: await attempt({ manifestUrl: '/models/missing.json' }),
        cached: await keys(),
      };
    });
    assert.equal(errors.model.code, 'ModelLoadError');
    assert.match(errors.model.message, /\/models\/missing\.onnx/);
    assert.match(errors.model.message, /HTTP 404, content-type text\/html, .*3c 21 44 4f/);
    assert.equal(errors.wasm.code, 'ModelLoadError');
    assert.match(errors.wasm.message, /missing\.wasm did not return a WebAssembly module \(expected magic 00 61 73 6d\): HTTP 404/);
    assert.equal(errors.manifest.code, 'ModelLoadError');
    assert.ok(errors.cached.every((url) => !url.includes('missing')), 'nothing of it cached');
  });

  test('every error type reaches the page with its code', async () => {
    const codes = await inPage(async (fe, token) => {
      const code = async (promise) => { try { await promise; return 'no error'; } catch (e) { return e instanceof Error && e.name === e.code ? e.code : `not a coded Error: ${e}`; } };
      const bytes = async (path) => new Uint8Array(await (await fetch(path)).arrayBuffer());
      const jpeg = await bytes('/tests/faces/s1a.jpg');
      // The test worker: the real one plus injected faults (tests/browser/fault-worker.js).
      const embedder = await fe.FaceEmbedder.create({ workers: 1, timeoutMs: 4000, token, workerUrl: '/tests/browser/fault-worker.js' });
      const pngHeader = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAdTAAAHUwCAIAAADpRW/tAAAACElEQVR4nAMAAAAAAUgGidIAAAAASUVORK5CYII='), (c) => c.charCodeAt(0));
      const tiny = new ImageData(1, 1);
      const out = {
        DecodeError: await code(embedder.embed(jpeg.subarray(0, 5000))),
        UnsupportedFormat: await code(embedder.embed(new Blob(['name,embedding\n']))),
        ImageTooLarge: await code(embedder.embed(pngHeader)),
        ImageTooSmall: await code(embedder.embed(tiny)),
        InvalidInput: await code(embedder.embed(42)),
        CropNotFound: await code(embedder.embed('/api/attendance/face-crops/999/image/')),
        Unauthorized: await code(embedder.embed({ url: '/api/attendance/face-crops/1/image/', headers: { Authorization: 'Bearer wrong' } })),
        FetchError: await code(embedder.embed('http://127.0.0.1:9/unreachable.jpg')),
        UnknownModel: await code(fe.FaceEmbedder.create({ workers: 1, model: 'arcface' })),
        ModelLoadError: await code(fe.FaceEmbedder.create({ workers: 1, modelUrl: '/README.md', cache: false })),
        Timeout: await code(embedder.embed('/__fault/hang', { timeoutMs: 1500 })),
        WorkerCrashed: await code(embedder.embed('/__fault/crash')),
      };
      out.stillWorks = (await embedder.embed(jpeg)).dimension;
      out.restarts = embedder.restarts;
      const pending = embedder.embed(jpeg);
      embedder.terminate();
      out.Cancelled = await code(pending);
      // InferenceError: a model whose output is NaN for dark input (tests/models/log-mean.*).
      const nan = await fe.FaceEmbedder.create({ workers: 1, modelUrl: '/tests/models/log-mean.onnx', manifestUrl: '/tests/models/log-mean.json', model: 'log-mean' });
      out.InferenceError = await code(nan.embed(new ImageData(new Uint8ClampedArray(32 * 32 * 4).fill(10), 32, 32)));
      nan.terminate();
      return out;
    }, server.token);
    for (const [expected, got] of Object.entries(codes)) {
      if (expected === 'stillWorks') assert.equal(got, 128, 'the embedder works after all of it');
      else if (expected === 'restarts') assert.equal(got, 4, 'hang and crash: each worker replaced, retried once, replaced again');
      else assert.equal(got, expected);
    }
  });

  test('ImageBitmap, ImageData and URL inputs (fetched with the bearer token)', async () => {
    const native = cliVectors(['s1a.jpg']);
    const v = await inPage(async (fe, token) => {
      const embedder = await fe.FaceEmbedder.create({ workers: 1, token });
      const blob = await (await fetch('/tests/faces/s1a.jpg')).blob();
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const imageData = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      const out = {
        bitmap: Array.from((await embedder.embed(bitmap)).embedding),
        imageData: Array.from((await embedder.embed(imageData)).embedding),
        url: Array.from((await embedder.embed('/api/attendance/face-crops/1/image/')).embedding),
        arrayBuffer: Array.from((await embedder.embed(await blob.arrayBuffer())).embedding),
      };
      embedder.terminate();
      return out;
    }, server.token);
    // The browser's JPEG decoder differs a little from the Rust one; the same bytes decode alike.
    assert.ok(cosine(v.bitmap, native[0]) >= 0.995, `bitmap ${cosine(v.bitmap, native[0])}`);
    assert.ok(cosine(v.imageData, v.bitmap) >= 0.99999);
    assert.ok(cosine(v.url, native[0]) >= 0.9999);
    assert.ok(cosine(v.arrayBuffer, native[0]) >= 0.9999);
  });

  test('a worker killed or hung mid-batch is replaced and the batch completes', async () => {
    const native = cliVectors(FACES);
    const outcome = await inPage(async (fe, faces) => {
      const embedder = await fe.FaceEmbedder.create({ workers: 2, timeoutMs: 5000, workerUrl: '/tests/browser/fault-worker.js' });
      while (embedder.workers < 2) await new Promise((r) => setTimeout(r, 50));
      const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
      // Faults reach the test workers by name, whatever they are doing (tests/browser/fault-worker.js).
      const faults = new BroadcastChannel('facenet-faults');
      let sabotaged = 0;
      const results = await embedder.embedBatch(blobs, {
        onProgress: ({ done }) => {
          if (done === 4 && !sabotaged++) faults.postMessage({ worker: 'facenet-0', how: 'crash' });
          if (done === 12 && sabotaged++ === 1) faults.postMessage({ worker: 'facenet-1', how: 'hang', ms: 20000 });
        },
      });
      embedder.terminate();
      return { restarts: embedder.restarts, results: results.map((r) => (r.ok ? Array.from(r.embedding) : r.error.code)) };
    }, FACES);
    assert.equal(outcome.restarts, 2);
    outcome.results.forEach((v, i) => assert.ok(Array.isArray(v) && cosine(v, native[i]) >= 0.9999, `${FACES[i]}: ${v}`));
  });

  test('works without cross-origin isolation under a CSP allowing only self and wasm-unsafe-eval', async () => {
    const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";
    const q = `csp=${encodeURIComponent(csp)}`;
    const cspPage = await browser.newPage(`${server.url}/tests/browser/csp.html?${q}`);
    const result = await cspPage.waitForFunction(() => window.__result, undefined, { timeout: 120000 });
    await cspPage.close();
    const { violations, ...outcome } = result;
    assert.deepEqual(outcome, { ok: true, dimension: 128, model: 'facenet', crossOriginIsolated: false });
    assert.deepEqual(violations, [], 'no securitypolicyviolation event');
  });

  test('a browser lacking what the models need: BrowserUnsupported naming each lack in words, before anything is fetched', async () => {
    const requestsBefore = server.state.requests.length;
    const result = await inPage(async (fe) => {
      const code = async (promise) => { try { await promise; return null; } catch (e) { return { code: e.code, message: e.message, missing: e.missing }; } };
      const here = fe.missingFeatures();
      // This engine without two of them (an older Safari, say): the page's globals hidden.
      const saved = { OffscreenCanvas: globalThis.OffscreenCanvas, createImageBitmap: globalThis.createImageBitmap };
      Object.assign(globalThis, { OffscreenCanvas: undefined, createImageBitmap: undefined });
      const embedder = await code(fe.FaceEmbedder.create({ workers: 1 }));
      Object.assign(globalThis, saved);
      const idb = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
      Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
      const { Outbox } = await import('/www/client/outbox.js');
      const outbox = await code(Outbox.open({ api: /** @type {any} */ (null), databaseId: 'a'.repeat(32) }));
      if (idb) Object.defineProperty(globalThis, 'indexedDB', idb); else delete globalThis.indexedDB;
      return { here, embedder, outbox, restored: fe.missingFeatures() };
    });
    assert.deepEqual(result.here, [], `${page.version} has everything`);
    assert.deepEqual(result.restored, []);
    assert.equal(result.embedder.code, 'BrowserUnsupported');
    assert.deepEqual(result.embedder.missing, ['offscreen-canvas', 'image-bitmap']);
    assert.match(result.embedder.message, /^This browser cannot recognise faces: it lacks OffscreenCanvas \(.*\); createImageBitmap \(.*\)\. Use a current/);
    assert.deepEqual([result.outbox.code, result.outbox.missing], ['BrowserUnsupported', ['indexeddb']]);
    const fetched = server.state.requests.slice(requestsBefore).filter((r) => r.includes('/pkg/') || r.includes('/models/'));
    assert.deepEqual(fetched, [], 'nothing downloaded for a browser that cannot run it');
  });

  test("the client's error codes begin with the Rust core's, in order", async () => {
    const lists = await inPage(async (fe) => {
      const wasm = await import('/pkg/facenet_wasm.js');
      await wasm.default({ module_or_path: '/pkg/facenet_wasm_bg.wasm' });
      return { js: [...fe.ERROR_CODES], rust: wasm.errorCodes() };
    });
    assert.deepEqual(lists.js.slice(0, lists.rust.length), lists.rust);
    assert.ok(lists.js.includes('InvalidEmbedding') && lists.rust.length >= 12);
  });
});
