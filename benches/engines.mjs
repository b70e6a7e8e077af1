// The same figures on every engine of ENGINES (tests/browser/harness.mjs), in one run: one face,
// a 1280-px photo's detection, cold and cached start — facenet-wasm with the best build the
// engine runs (cross-origin isolated page: threads where it can), its single-threaded build, and
// onnxruntime-web on the same ONNX file in the same engine. Ratios are against Chromium's same
// column of the same run. Prints a table, writes JSON.
//
//   node benches/engines.mjs                  (scripts/build-wasm first; scripts/bench runs it)
//   BENCH_RUNS=2 FACENET_ENGINES=webkit node benches/engines.mjs
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startServer } from '../tests/browser/server.mjs';
import { ENGINES, enginePage } from '../tests/browser/harness.mjs';
import { FACES } from '../tests/browser/common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PHOTO_RUNS = Math.max(2, Math.round(RUNS / 5));
const isolated = await startServer({ headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } });

const median = (times) => [...times].sort((a, b) => a - b)[times.length >> 1];

/**
 * In the page: facenet-wasm with `options` — first and cached load, `runs` single faces after 5
 * warm-up, `photoRuns` detections of a 1280-px photo after one warm-up.
 */
const OURS = async ({ faces, runs, photoRuns, options }) => {
  const { FaceEmbedder } = await import('/www/client/facenet.js');
  await FaceEmbedder.clearCache();
  const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
  const source = await createImageBitmap(await (await fetch('/tests/photos/sample3.jpg')).blob());
  const canvas = new OffscreenCanvas(1280, Math.round((source.height * 1280) / source.width));
  canvas.getContext('2d')?.drawImage(source, 0, 0, canvas.width, canvas.height);
  const photo = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  let t0 = performance.now();
  let e = await FaceEmbedder.create({ workers: 1, ...options });
  const firstLoadMs = performance.now() - t0;
  e.terminate();
  await new Promise((r) => setTimeout(r, 500)); // WebKit finishes the cache write after put()
  t0 = performance.now();
  e = await FaceEmbedder.create({ workers: 1, detector: true, ...options });
  const cachedLoadMs = performance.now() - t0;
  for (let i = 0; i < 5; i++) await e.embed(blobs[i]);
  const single = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await e.embed(blobs[i % blobs.length]);
    single.push(performance.now() - t);
  }
  await e.detect(photo);
  const detect = [];
  let faceCount = 0;
  for (let i = 0; i < photoRuns; i++) {
    const t = performance.now();
    faceCount = (await e.detect(photo)).length;
    detect.push(performance.now() - t);
  }
  const { wasm, threads, fromCache } = e.loadStats;
  e.terminate();
  return { firstLoadMs, cachedLoadMs, fromCache, single, detect, faceCount, wasm, threads };
};

/** In the page: onnxruntime-web's wasm backend on the same FaceNet file, `threads` threads. */
const ORT = async ({ faces, runs, threads }) => {
  const ort = await import('/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  const canvas = new OffscreenCanvas(160, 160);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
  const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
  const tensor = async (blob) => {
    ctx.drawImage(await createImageBitmap(blob), 0, 0, 160, 160);
    const { data } = ctx.getImageData(0, 0, 160, 160);
    const x = new Float32Array(160 * 160 * 3);
    for (let i = 0, j = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) x[j++] = (data[i + c] - 127.5) / 128;
    return new ort.Tensor('float32', x, [1, 160, 160, 3]);
  };
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(new Uint8Array(await (await fetch('/models/facenet.onnx')).arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const loadMs = performance.now() - t0;
  for (let i = 0; i < 5; i++) await session.run({ input: await tensor(blobs[i]) });
  const single = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run({ input: await tensor(blobs[i % blobs.length]) });
    single.push(performance.now() - t);
  }
  return { loadMs, single, threads: ort.env.wasm.numThreads, isolated: crossOriginIsolated };
};

/** Runs `fn(arg)` in a fresh page of `engine`; an engine's failure is its row's, not the run's. */
async function inEngine(engine, fn, arg) {
  const page = await enginePage(engine, `${isolated.url}/tests/browser/page.html`);
  try {
    return { version: page.version, ...(await page.evaluate(fn, arg)) };
  } catch (e) {
    return { version: page.version, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  } finally {
    await page.close();
  }
}

/** @type {Record<string, any>} */
const results = {};
for (const engine of ENGINES) {
  const args = { faces: FACES, runs: RUNS, photoRuns: PHOTO_RUNS };
  results[engine] = {
    best: await inEngine(engine, OURS, { ...args, options: {} }),
    simd128: await inEngine(engine, OURS, { ...args, options: { threads: 1, relaxedWasmUrl: null } }),
    ort: await inEngine(engine, ORT, { ...args, threads: 2 }),
  };
}
await isolated.close();

const f = (x) => (x === undefined ? '—' : x.toFixed(1));
const base = results.chromium;
/** `value` and its ratio to Chromium's of the same column. */
const vs = (value, chromium) => (value === undefined ? '—' : `${f(value)}${chromium && base ? ` (${(value / chromium).toFixed(2)}×)` : ''}`);
console.log(`\nfacenet-wasm per engine, ${FACES.length} real crops, ${RUNS} single faces after 5 warm-up, ${PHOTO_RUNS} detections of a 1280-px photo (sample3, 3 faces); ratios: ÷ Chromium's same column\n`);
console.log('| engine | best build | one face, median ms | 1280-px photo detection, median ms | first load ms | cached load ms | SIMD128 build, one face ms | onnxruntime-web (2 threads), one face ms | ours (best) ÷ ort-web |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [engine, r] of Object.entries(results)) {
  const c = base ?? r;
  const best = r.best.error ? undefined : median(r.best.single);
  const ort = r.ort.error ? undefined : median(r.ort.single);
  console.log(`| ${r.best.version} | ${r.best.error ? `error: ${r.best.error}` : `${r.best.wasm} × ${r.best.threads}`} | ${vs(best, c.best.single && median(c.best.single))} | ${vs(r.best.detect && median(r.best.detect), c.best.detect && median(c.best.detect))} | ${f(r.best.firstLoadMs)} | ${f(r.best.cachedLoadMs)}${r.best.fromCache === false ? ' (not cached)' : ''} | ${vs(r.simd128.single && median(r.simd128.single), c.simd128.single && median(c.simd128.single))} | ${r.ort.error ? `error: ${r.ort.error}` : `${f(ort)} (${r.ort.threads} thread${r.ort.threads === 1 ? '' : 's'})`} | ${best && ort ? (best / ort).toFixed(2) : '—'} |`);
}
const out = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'bench-engines.json');
writeFileSync(out, JSON.stringify({ runs: RUNS, photoRuns: PHOTO_RUNS, results }, null, 2));
console.log(`\n(written to ${out})`);
