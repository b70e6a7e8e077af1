// Face detection side by side in headless Chromium, one run: facenet-wasm's worker
// (FaceEmbedder.detect: decode, RetinaFace, post-processing, alignment, crops) against the same
// RetinaFace ONNX in onnxruntime-web (1 thread: canvas → BGR tensor → run(), no
// post-processing) and face-api's own detector (ssdMobilenetv1, tfjs wasm). Then a 30-face
// classroom-like photo from drop to 30 vectors, and wasm memory over 100 photos.
//
//   node benches/detect.mjs            (scripts/build-wasm first)
//   BENCH_RUNS=1 BENCH_MEMORY_PHOTOS=2 node benches/detect.mjs   (a smoke run: scripts/test)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer } from '../tests/browser/server.mjs';
import { launchEngine } from '../tests/browser/harness.mjs';
import { FACES } from '../tests/browser/common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
/** Photos through detect + embed for the memory figure. */
const MEMORY_PHOTOS = Number(process.env.BENCH_MEMORY_PHOTOS ?? 100);
const PHOTOS = ['sample1.jpg', 'sample2.jpg', 'sample3.jpg', 'sample4.jpg', 'sample5.jpg', 'sample6.jpg'];
const WIDTHS = [640, 1280];
const MB = 1048576;

const server = await startServer();
const browser = await launchEngine('chromium');
const page = await browser.newPage(`${server.url}/tests/browser/page.html`);

const stats = (times) => {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[s.length >> 1], p95: s[Math.floor((s.length - 1) * 0.95)] };
};

/** The sample photos scaled to `width` (high-quality resize), as ImageBitmaps, in the page. */
const PREPARE = `async (photos, widths) => {
  const blobs = await Promise.all(photos.map(async (f) => (await fetch('/tests/photos/' + f)).blob()));
  const out = {};
  for (const width of widths) {
    out[width] = await Promise.all(blobs.map(async (b) => {
      const full = await createImageBitmap(b);
      return createImageBitmap(full, { resizeWidth: width, resizeHeight: Math.round(full.height * width / full.width), resizeQuality: 'high' });
    }));
  }
  return out;
}`;

const result = await page.evaluate(`(async () => {
  const prepare = ${PREPARE};
  const photos = await prepare(${JSON.stringify(PHOTOS)}, ${JSON.stringify(WIDTHS)});
  const runs = ${RUNS};
  const out = { ours: {}, ort: {}, faceApi: {} };
  const time = async (fn) => { const t = performance.now(); const r = await fn(); return [performance.now() - t, r]; };

  // facenet-wasm: one worker, detector loaded with the model. Each photo once untimed: the first
  // photo of a new shape builds its plan (timed apart, as firstMs), the next ones never do.
  const { FaceEmbedder } = await import('/www/client/facenet.js');
  let e = await FaceEmbedder.create({ workers: 1, detector: true });
  for (const width of ${JSON.stringify(WIDTHS)}) {
    const times = [], counts = [], firstMs = [];
    for (const bitmap of photos[width]) firstMs.push((await time(() => e.detect(bitmap)))[0]);
    out.ours[width + 'first'] = firstMs;
    for (let i = 0; i < runs; i++) {
      const [ms, faces] = await time(() => e.detect(photos[width][i % photos[width].length]));
      times.push(ms); counts.push(faces.length);
    }
    out.ours[width] = { times, faces: counts };
  }
  e.terminate();

  // onnxruntime-web, 1 thread, the same ONNX at the photo's own size.
  const ort = await import('/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  const model = new Uint8Array(await (await fetch('/models/retinaface.onnx')).arrayBuffer());
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const toTensor = (bitmap) => {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, width, height);
    const plane = width * height;
    const x = new Float32Array(3 * plane);
    for (let p = 0, i = 0; p < plane; p++, i += 4) {
      x[p] = data[i + 2] - 104; x[plane + p] = data[i + 1] - 117; x[2 * plane + p] = data[i] - 123;
    }
    return new ort.Tensor('float32', x, [1, 3, height, width]);
  };
  for (const width of ${JSON.stringify(WIDTHS)}) {
    const full = [], run = [];
    for (const bitmap of photos[width]) await session.run({ input: toTensor(bitmap) });
    for (let i = 0; i < runs; i++) {
      const bitmap = photos[width][i % photos[width].length];
      const t = performance.now();
      const tensor = toTensor(bitmap);
      const t1 = performance.now();
      await session.run({ input: tensor });
      full.push(performance.now() - t); run.push(performance.now() - t1);
    }
    out.ort[width] = { times: full, run };
  }

  // face-api's ssdMobilenetv1 (its own detector; it resizes every photo to 512²).
  const faceapi = await import('/node_modules/@vladmandic/face-api/dist/face-api.esm.js');
  faceapi.tf.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromUri('/node_modules/@vladmandic/face-api/model');
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  for (const width of ${JSON.stringify(WIDTHS)}) {
    const canvases = photos[width].map((b) => { const c = document.createElement('canvas'); c.width = b.width; c.height = b.height; c.getContext('2d').drawImage(b, 0, 0); return c; });
    for (const canvas of canvases) await faceapi.detectAllFaces(canvas, options);
    const times = [], counts = [];
    for (let i = 0; i < runs; i++) {
      const [ms, faces] = await time(() => faceapi.detectAllFaces(canvases[i % canvases.length], options));
      times.push(ms); counts.push(faces.length);
    }
    out.faceApi[width] = { times, faces: counts };
  }

  // A classroom-like photo: 30 faces (the test crops, ~60 px faces) on a 1280×853 canvas,
  // dropped as a JPEG → detect → embed on 2 workers → 30 vectors stored by the uploader.
  const crops = await Promise.all(${JSON.stringify(FACES)}.map(async (f) => createImageBitmap(await (await fetch('/tests/faces/' + f)).blob())));
  const room = new OffscreenCanvas(1280, 853);
  const ctx = room.getContext('2d');
  ctx.fillStyle = '#6b6258'; ctx.fillRect(0, 0, 1280, 853);
  for (let k = 0; k < 30; k++) ctx.drawImage(crops[k % crops.length], 40 + (k % 6) * 205, 30 + Math.floor(k / 6) * 165, 84, 84);
  const classroom = await room.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  e = await FaceEmbedder.create({ workers: 2, detector: true });
  while (e.workers < 2) await new Promise((r) => setTimeout(r, 50));
  await e.embedFaces(photos[1280][0]); // both workers warm, plans built for this size
  const classroomRuns = [];
  for (let r = 0; r < Math.min(5, runs); r++) {
    const t0 = performance.now();
    const faces = await e.embedFaces(classroom);
    const tDetectEmbed = performance.now() - t0;
    classroomRuns.push({ faces: faces.length, vectorsMs: tDetectEmbed });
  }
  out.classroom = classroomRuns;

  // Memory: 100 photos (full-size samples, the tiled path) through detect + embed, 1 worker.
  const memoryPhotos = ${MEMORY_PHOTOS};
  e.terminate();
  e = await FaceEmbedder.create({ workers: 1, detector: true });
  const full = await Promise.all(${JSON.stringify(PHOTOS)}.map(async (f) => (await fetch('/tests/photos/' + f)).blob()));
  out.memory = [];
  for (let i = 1; i <= memoryPhotos; i++) {
    await e.embedFaces(full[i % full.length]);
    if (i === 1 || i === 10 || i === 50 || i === memoryPhotos) out.memory.push({ photos: i, wasmMB: (await e.stats())[0].wasmMemoryBytes / ${MB} });
  }
  e.terminate();
  return out;
})()`);

await browser.close();
await server.close();

const chromium = execFileSync('/usr/bin/chromium', ['--version']).toString().trim();
const f = (x) => x.toFixed(1);
console.log(`\nFace detection, ${chromium}, ${cpus()[0].model.trim()}, ${cpus().length} cores; face-api's 6 sample photos scaled to each width, ${RUNS} timed runs after a warm-up\n`);
console.log('| photo width | facenet-wasm detect(), median ms (p95); first photo of a new shape (plan built) | onnxruntime-web 1 thread: tensor + run(), median (run alone) | face-api ssdMobilenetv1, median | ours ÷ ort-web |');
console.log('| --- | --- | --- | --- | --- |');
const table = {};
for (const w of WIDTHS) {
  const o = stats(result.ours[w].times), r = stats(result.ort[w].times), rr = stats(result.ort[w].run), fa = stats(result.faceApi[w].times);
  table[w] = { ours: o, ort: r, ortRun: rr, faceApi: fa, ratio: o.median / r.median };
  const faces = (xs) => xs.slice(0, 6).join('/');
  const first = stats(result.ours[w + 'first']);
  console.log(`| ${w} px | ${f(o.median)} (${f(o.p95)}); first of a shape ${f(first.median)}; faces ${faces(result.ours[w].faces)} | ${f(r.median)} (${f(rr.median)}) | ${f(fa.median)}; faces ${faces(result.faceApi[w].faces)} | ${(o.median / r.median).toFixed(2)} |`);
}
const c = result.classroom;
console.log(`\n30-face classroom-like photo (1280×853 JPEG), 2 workers, model and detector cached: ${c.map((x) => x.faces).join('/')} faces; ` +
  `photo → vectors median ${f(stats(c.map((x) => x.vectorsMs)).median)} ms`);
console.log(`wasm memory of a worker over ${MEMORY_PHOTOS} full-size photos (detect + embed): ${result.memory.map((m) => `${m.photos}: ${f(m.wasmMB)} MB`).join(', ')}`);
const out = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'bench-detect.json');
writeFileSync(out, JSON.stringify({ chromium, runs: RUNS, table, ...result }, null, 2));
console.log(`\n(written to ${out})`);
