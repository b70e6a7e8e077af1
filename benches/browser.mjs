// Side-by-side benchmark in headless Chromium: facenet-wasm's threaded and single-threaded
// builds (FaceEmbedder) against onnxruntime-web (1 and 2 threads) on the very same ONNX file and
// face-api's own net, in one run. Prints a table with each target met or missed, writes JSON.
//
//   node benches/browser.mjs            (scripts/build-wasm first; scripts/test does it)
//
// onnxruntime-web gets its own usual preprocessing (createImageBitmap + canvas resize, fixed
// standardization in JS); its "inference" column times session.run alone.
import { writeFileSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startServer } from '../tests/browser/server.mjs';
import { launchEngine } from '../tests/browser/harness.mjs';
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
const browser = await launchEngine('chromium');

const stats = (times) => {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[s.length >> 1], p95: s[Math.floor((s.length - 1) * 0.95)] };
};

/**
 * facenet-wasm on `server`'s test page: a first load (empty cache: each server is an origin of
 * its own) and a cached one with `options`, the first face after it, single requests, then a
 * batch through the pool `poolOptions` makes and the wasm memory of that whole pool.
 */
async function ours(server, options, poolOptions) {
  const page = await browser.newPage(`${server.url}/tests/browser/page.html`);
  const before = server.state.requests.length;
  const result = await page.evaluate(async ({ faces, runs, batch, options, poolOptions }) => {
    const { FaceEmbedder } = await import('/www/client/facenet.js');
    const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
    const out = { cores: navigator.hardwareConcurrency };
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
    let e = await FaceEmbedder.create(options);
    out.firstLoadMs = performance.now() - t0;
    out.firstLoad = e.loadStats;
    e.terminate();
    t0 = performance.now();
    e = await FaceEmbedder.create(options);
    out.cachedLoadMs = performance.now() - t0;
    out.cachedLoad = e.loadStats;
    out.single = await singles(e);
    e.terminate();
    // The user's first face after a (cached) load, which warmed the plan: the median of 5 loads,
    // one sample each being at the mercy of a noisy 2-core machine.
    const firsts = [];
    for (let i = 0; i < 5; i++) {
      e = await FaceEmbedder.create(options);
      t0 = performance.now();
      await e.embed(blobs[i + 1]);
      firsts.push(performance.now() - t0);
      e.terminate();
    }
    out.firstFaces = firsts;
    out.firstFaceMs = [...firsts].sort((a, b) => a - b)[2];
    const inputs = Array.from({ length: batch }, (_, i) => blobs[i % blobs.length]);
    e = await FaceEmbedder.create(poolOptions);
    const size = poolOptions.workers ?? 1;
    while (e.workers < size) await new Promise((r) => setTimeout(r, 50));
    await e.embedBatch(inputs.slice(0, size * 2));
    t0 = performance.now();
    await e.embedBatch(inputs);
    out.batch = batch / ((performance.now() - t0) / 1000);
    out.pool = { workers: e.workers, wasm: e.loadStats.wasm, threads: e.loadStats.threads };
    out.poolMemory = (await e.stats()).reduce((sum, s) => sum + s.wasmMemoryBytes, 0);
    out.pageHeap = performance.memory.usedJSHeapSize;
    e.terminate();
    return out;
  }, { faces: FACES, runs: RUNS, batch: BATCH, options, poolOptions });
  const fetched = server.state.requests.slice(before);
  result.wasm = result.cachedLoad.wasm;
  result.wasmFile = { threads: 'pkg/threads/facenet_wasm_bg.wasm', 'relaxed-simd': 'pkg/facenet_wasm_relaxed_bg.wasm', simd128: 'pkg/facenet_wasm_bg.wasm' }[result.wasm];
  result.wasmGzip = gzipSync(readFileSync(join(ROOT, result.wasmFile)), { level: 9 }).length;
  // What a first visit fetches: wasm (gzipped, as facenet-server serves it), the model, the
  // detector (the session page loads it too) and the JS.
  result.firstVisitBytes = result.wasmGzip + fileSize('models/facenet.onnx') + fileSize('models/retinaface.onnx');
  result.modelFetches = fetched.filter((r) => r === 'GET /models/facenet.onnx').length;
  await page.close();
  return result;
}

async function onnxruntime(server, threads) {
  const page = await browser.newPage(`${server.url}/tests/browser/page.html`);
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
  const page = await browser.newPage(`${plain.url}/tests/browser/page.html`);
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
const cores = cpus().length;
// The threaded build: its defaults on an isolated page (one worker, a thread per core).
const threaded = await ours(isolated, {}, {});
// The single-threaded build: one worker for single requests, a worker per core for the batch.
const single = await ours(plain, { workers: 1 }, { workers: cores });
const ort1 = await onnxruntime(plain, 1);
const ortN = await onnxruntime(isolated, 2);
const fa = await faceApi();
await browser.close();
await plain.close();
await isolated.close();

const th = stats(threaded.single), st = stats(single.single);
const ort1inf = stats(ort1.inference), ort1full = stats(ort1.full), ortNinf = stats(ortN.inference), ortNfull = stats(ortN.full);
const faFull = stats(fa.full);
const f = (x) => x.toFixed(1);
const met = (ok) => (ok ? 'met' : 'missed');
const bestPeerBatch = Math.max(ort1.batch, ortN.batch, fa.batch);
const load = (o) => `${f(o.cachedLoadMs)} (wasm + threads ${f(o.cachedLoad.timings.compileMs)}, cache read + sha256 ${f(o.cachedLoad.timings.modelMs)}, plan ${f(o.cachedLoad.timings.planMs)}, warm-up ${f(o.cachedLoad.timings.warmMs)})`;
const rows = [
  ['single face, median ms (p95)', `${f(th.median)} (${f(th.p95)}), ${threaded.wasm} × ${threaded.cachedLoad.threads}`, `${f(st.median)} (${f(st.p95)}), ${single.wasm}`, `${f(ort1full.median)} (${f(ort1full.p95)}); run() alone ${f(ort1inf.median)}`, `${f(ortNfull.median)} (${f(ortNfull.p95)}); run() alone ${f(ortNinf.median)}`, `${f(faFull.median)} (${f(faFull.p95)})`,
    `${(th.median / ortNfull.median).toFixed(2)} (target ≤ 0.8: ${met(th.median <= 0.8 * ortNfull.median)})`],
  [`batch of ${BATCH}, crops/s`, `${f(threaded.batch)} (${threaded.pool.workers} worker × ${threaded.pool.threads} threads)`, `${f(single.batch)} (${single.pool.workers} workers)`, f(ort1.batch), f(ortN.batch), f(fa.batch),
    `${(threaded.batch / bestPeerBatch).toFixed(2)} (target ≥ the single-threaded pool's ${f(single.batch)}: ${met(threaded.batch >= single.batch)})`],
  ['cold start, first load ms', f(threaded.firstLoadMs), f(single.firstLoadMs), f(ort1.loadMs), f(ortN.loadMs), f(fa.loadMs), (threaded.firstLoadMs / ortN.loadMs).toFixed(2)],
  ['cold start, cached load ms', load(threaded), load(single), '(no cache of its own)', '', '', ''],
  ['first face after a cached load, median of 5 loads, ms (÷ the single-face median; target ≤ 1.2)', `${f(threaded.firstFaceMs)} (${(threaded.firstFaceMs / th.median).toFixed(2)}: ${met(threaded.firstFaceMs <= 1.2 * th.median)})`, `${f(single.firstFaceMs)} (${(single.firstFaceMs / st.median).toFixed(2)}: ${met(single.firstFaceMs <= 1.2 * st.median)})`, '', '', '', ''],
  ['bytes of a first visit (wasm gzipped + model + detector; target ≤ 30 MB)', `${f(threaded.firstVisitBytes / MB)} MB (${met(threaded.firstVisitBytes <= 30 * MB)})`, `${f(single.firstVisitBytes / MB)} MB (${met(single.firstVisitBytes <= 30 * MB)})`, `${f((fileSize('node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm') + fileSize('models/facenet.onnx')) / MB)} MB (wasm + model)`, '', `${f((fileSize('node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm') + fileSize('node_modules/@vladmandic/face-api/model/face_recognition_model.bin')) / MB)} MB`, ''],
  ['wasm memory of the whole pool (target ≤ 250 MB)', `${f(threaded.poolMemory / MB)} MB, ${threaded.pool.workers} worker (${met(threaded.poolMemory <= 250 * MB)})`, `${f(single.poolMemory / MB)} MB, ${single.pool.workers} workers (${met(single.poolMemory <= 250 * MB)})`, `page heap ${f(ort1.pageHeap / MB)} MB`, `page heap ${f(ortN.pageHeap / MB)} MB`, `page heap ${f(fa.pageHeap / MB)} MB`, ''],
];
const machine = `${cpus()[0].model.trim()}, ${cores} cores`;
console.log(`\nfacenet-wasm vs onnxruntime-web 1.30.0 (wasm backend, same ONNX ${manifest.sha256.slice(0, 12)}) and face-api, ${chromium}, ${machine}, ${FACES.length} real crops, ${RUNS} timed runs after 5 warm-up\n`);
console.log('| figure | facenet-wasm, threaded build | facenet-wasm, single-threaded build | onnxruntime-web, 1 thread | onnxruntime-web, 2 threads (cross-origin isolated) | face-api computeFaceDescriptor (tfjs wasm) | threaded ÷ ort-web 2 threads (batch: ÷ best peer) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
const out = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'bench-browser.json');
writeFileSync(out, JSON.stringify({ chromium, machine, runs: RUNS, batch: BATCH, threaded: { ...threaded, single: th }, single: { ...single, single: st }, ort1: { ...ort1, inference: ort1inf, full: ort1full }, ort2: { ...ortN, inference: ortNinf, full: ortNfull }, faceApi: { ...fa, full: faFull } }, null, 2));
console.log(`\n(written to ${out})`);
