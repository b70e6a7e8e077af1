// Side-by-side benchmark in headless Chromium: facenet-wasm (FaceEmbedder) against
// onnxruntime-web on the very same ONNX file, in one run. Prints a table, writes JSON.
//
//   node benches/browser.mjs            (scripts/build-wasm first; scripts/test does it)
//
// onnxruntime-web gets its own usual preprocessing (createImageBitmap + canvas resize, fixed
// standardization in JS); its "inference" column times session.run alone.
import { writeFileSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startServer } from '../tests/browser/server.mjs';
import { launch, openPage } from '../tests/browser/harness.mjs';
import { FACES } from '../tests/browser/common.mjs';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const BATCH = 100;
const MB = 1048576;
const fileSize = (p) => statSync(join(ROOT, p)).size;
const manifest = JSON.parse(readFileSync(join(ROOT, 'models/facenet.json'), 'utf8'));

const plain = await startServer();
const isolated = await startServer({ headers: { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } });
const browser = await launch();

const stats = (times) => {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[s.length >> 1], p95: s[Math.floor((s.length - 1) * 0.95)] };
};

async function ours() {
  const page = await openPage(browser.context, `${plain.url}/tests/browser/page.html`);
  const before = plain.state.requests.length;
  const run = (code, arg) => page.evaluate(code, arg);
  const result = await run(async ({ faces, runs, batch }) => {
    const { FaceEmbedder } = await import('/www/client/facenet.js');
    const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
    const out = {};
    /** One request at a time: 5 warm-up, then `runs` timed. */
    const singles = async (embedder) => {
      for (let i = 0; i < 5; i++) await embedder.embed(blobs[i]);
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await embedder.embed(blobs[i % blobs.length]);
        times.push(performance.now() - t);
      }
      return times;
    };
    let t0 = performance.now();
    let e = await FaceEmbedder.create({ workers: 1 });
    out.firstLoadMs = performance.now() - t0;
    out.firstLoad = e.loadStats;
    e.terminate();
    t0 = performance.now();
    e = await FaceEmbedder.create({ workers: 1 });
    out.cachedLoadMs = performance.now() - t0;
    out.cachedLoad = e.loadStats;
    // The user's first face after a load (the worker warmed its plan while loading).
    t0 = performance.now();
    await e.embed(blobs[1]);
    out.firstFaceMs = performance.now() - t0;
    out.single = await singles(e);
    const inputs = Array.from({ length: batch }, (_, i) => blobs[i % blobs.length]);
    t0 = performance.now();
    await e.embedBatch(inputs);
    out.batch1 = batch / ((performance.now() - t0) / 1000);
    out.memory1 = (await e.stats())[0];
    e.terminate();
    const workers = navigator.hardwareConcurrency;
    e = await FaceEmbedder.create({ workers });
    while (e.workers < workers) await new Promise((r) => setTimeout(r, 50));
    await e.embedBatch(inputs.slice(0, workers * 2));
    t0 = performance.now();
    await e.embedBatch(inputs);
    out.batchAll = batch / ((performance.now() - t0) / 1000);
    out.workers = workers;
    out.memoryAll = await e.stats();
    out.pageHeap = performance.memory.usedJSHeapSize;
    e.terminate();
    // The SIMD128 build, which browsers without relaxed SIMD get.
    e = await FaceEmbedder.create({ workers: 1, relaxedWasmUrl: null });
    out.plainWasm = e.loadStats.wasm;
    out.singlePlain = await singles(e);
    e.terminate();
    return out;
  }, { faces: FACES, runs: RUNS, batch: BATCH });
  const fetched = plain.state.requests.slice(before);
  result.wasm = result.cachedLoad.wasm;
  result.wasmFile = result.wasm === 'relaxed-simd' ? 'pkg/facenet_wasm_relaxed_bg.wasm' : 'pkg/facenet_wasm_bg.wasm';
  result.wasmGzip = gzipSync(readFileSync(join(ROOT, result.wasmFile)), { level: 9 }).length;
  result.bytes = fileSize(result.wasmFile) + fileSize('models/facenet.onnx');
  result.modelFetches = fetched.filter((r) => r === 'GET /models/facenet.onnx').length;
  await page.close();
  return result;
}

async function onnxruntime(server, threads) {
  const page = await openPage(browser.context, `${server.url}/tests/browser/page.html`);
  const result = await page.evaluate(async ({ faces, runs, batch, threads }) => {
    const ort = await import('/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
    const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
    const canvas = new OffscreenCanvas(160, 160);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const preprocess = async (blob) => {
      const bitmap = await createImageBitmap(blob);
      ctx.drawImage(bitmap, 0, 0, 160, 160);
      const { data } = ctx.getImageData(0, 0, 160, 160);
      const x = new Float32Array(160 * 160 * 3);
      for (let i = 0, j = 0; i < data.length; i += 4) {
        x[j++] = (data[i] - 127.5) / 128; x[j++] = (data[i + 1] - 127.5) / 128; x[j++] = (data[i + 2] - 127.5) / 128;
      }
      return new ort.Tensor('float32', x, [1, 160, 160, 3]);
    };
    const out = { crossOriginIsolated: self.crossOriginIsolated };
    let t0 = performance.now();
    const model = new Uint8Array(await (await fetch('/models/facenet.onnx')).arrayBuffer());
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    out.loadMs = performance.now() - t0;
    const tensors = await Promise.all(blobs.map(preprocess));
    for (let i = 0; i < 5; i++) await session.run({ input: tensors[i] });
    out.inference = [];
    out.full = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      await session.run({ input: tensors[i % tensors.length] });
      out.inference.push(performance.now() - t);
      t = performance.now();
      await session.run({ input: await preprocess(blobs[i % blobs.length]) });
      out.full.push(performance.now() - t);
    }
    t0 = performance.now();
    for (let i = 0; i < batch; i++) await session.run({ input: await preprocess(blobs[i % blobs.length]) });
    out.batch = batch / ((performance.now() - t0) / 1000);
    out.pageHeap = performance.memory.usedJSHeapSize;
    return out;
  }, { faces: FACES, runs: RUNS, batch: BATCH, threads });
  await page.close();
  return result;
}

/** @vladmandic/face-api's own 128-d recognition net (150×150 input), tfjs wasm backend. */
async function faceApi() {
  const page = await openPage(browser.context, `${plain.url}/tests/browser/page.html`);
  const result = await page.evaluate(async ({ faces, runs, batch }) => {
    const t0 = performance.now();
    const faceapi = await import('/node_modules/@vladmandic/face-api/dist/face-api.esm.js');
    faceapi.tf.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    await faceapi.nets.faceRecognitionNet.loadFromUri('/node_modules/@vladmandic/face-api/model');
    const out = { backend: faceapi.tf.getBackend(), loadMs: performance.now() - t0 };
    const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 150;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const embed = async (blob) => {
      ctx.drawImage(await createImageBitmap(blob), 0, 0, 150, 150);
      const input = faceapi.tf.browser.fromPixels(canvas);
      const descriptor = await faceapi.computeFaceDescriptor(input);
      input.dispose();
      return descriptor;
    };
    for (let i = 0; i < 5; i++) await embed(blobs[i]);
    out.full = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await embed(blobs[i % blobs.length]);
      out.full.push(performance.now() - t);
    }
    const tb = performance.now();
    for (let i = 0; i < batch; i++) await embed(blobs[i % blobs.length]);
    out.batch = batch / ((performance.now() - tb) / 1000);
    out.pageHeap = performance.memory.usedJSHeapSize;
    return out;
  }, { faces: FACES, runs: RUNS, batch: BATCH });
  await page.close();
  return result;
}

const chromium = execFileSync('/usr/bin/chromium', ['--version']).toString().trim().split('\n')[0].replace(/\/usr\/bin\/chromium.*/, '');
const o = await ours();
const ort1 = await onnxruntime(plain, 1);
const ortN = await onnxruntime(isolated, 2);
const fa = await faceApi();
await browser.close();
await plain.close();
await isolated.close();

const single = stats(o.single), singlePlain = stats(o.singlePlain);
const ort1inf = stats(ort1.inference), ort1full = stats(ort1.full), ortNinf = stats(ortN.inference), ortNfull = stats(ortN.full);
const faFull = stats(fa.full);
const f = (x) => x.toFixed(1);
const rows = [
  ['single request, median ms (p95)', `${f(single.median)} (${f(single.p95)}), ${o.wasm}; SIMD128 build ${f(singlePlain.median)} (${f(singlePlain.p95)})`, `${f(ort1full.median)} (${f(ort1full.p95)}); run() alone ${f(ort1inf.median)}`, `${f(ortNfull.median)} (${f(ortNfull.p95)}); run() alone ${f(ortNinf.median)}`, `${f(faFull.median)} (${f(faFull.p95)})`, (single.median / ort1full.median).toFixed(2)],
  [`batch of ${BATCH}, crops/s`, `1 worker ${f(o.batch1)}; ${o.workers} workers ${f(o.batchAll)}`, f(ort1.batch), f(ortN.batch), f(fa.batch), (o.batchAll / Math.max(ort1.batch, ortN.batch)).toFixed(2)],
  ['cold start, first load ms', f(o.firstLoadMs), f(ort1.loadMs), f(ortN.loadMs), f(fa.loadMs), (o.firstLoadMs / ort1.loadMs).toFixed(2)],
  ['cold start, cached load ms', `${f(o.cachedLoadMs)} (compile ${f(o.cachedLoad.timings.compileMs)}, cache read + sha256 ${f(o.cachedLoad.timings.modelMs)}, plan ${f(o.cachedLoad.timings.planMs)}, warm-up run ${f(o.cachedLoad.timings.warmMs)})`, '(no cache of its own)', '', '', ''],
  ['first face after the cached load, ms (÷ our median; target ≤ 1.2)', `${f(o.firstFaceMs)} (${(o.firstFaceMs / single.median).toFixed(2)})`, '', '', '', ''],
  ['bytes to fetch (wasm + model)', `${f(o.bytes / MB)} MB (wasm ${f(o.wasmGzip / MB)} MB gzipped)`, `${f((fileSize('node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm') + fileSize('models/facenet.onnx')) / MB)} MB`, '', `${f((fileSize('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm') + fileSize('node_modules/@vladmandic/face-api/model/face_recognition_model.bin')) / MB)} MB`, ''],
  ['memory', `wasm ${f(o.memory1.wasmMemoryBytes / MB)} MB per worker; page heap ${f(o.pageHeap / MB)} MB`, `page heap ${f(ort1.pageHeap / MB)} MB`, `page heap ${f(ortN.pageHeap / MB)} MB`, `page heap ${f(fa.pageHeap / MB)} MB`, ''],
];
const machine = `${cpus()[0].model.trim()}, ${cpus().length} cores`;
console.log(`\nfacenet-wasm vs onnxruntime-web 1.30.0 (wasm backend), same ONNX (${manifest.sha256.slice(0, 12)}), ${chromium}, ${machine}, ${FACES.length} real crops, ${RUNS} timed runs after 5 warm-up\n`);
console.log('| figure | facenet-wasm | onnxruntime-web, 1 thread | onnxruntime-web, 2 threads (cross-origin isolated) | face-api computeFaceDescriptor (tfjs wasm) | ours ÷ ort-web (1 thread; batch: best) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
const out = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'bench-browser.json');
writeFileSync(out, JSON.stringify({ chromium, machine, runs: RUNS, batch: BATCH, ours: { ...o, single, singlePlain }, ort1: { ...ort1, inference: ort1inf, full: ort1full }, ort2: { ...ortN, inference: ortNinf, full: ortNfull }, faceApi: { ...fa, full: faFull } }, null, 2));
console.log(`\n(written to ${out})`);
