// Photos → faces → vectors in the worker, against the native CLI on the same photos:
// boxes within 1 px, vectors at cosine ≥ 0.9999; errors typed, one bad photo failing alone.
// On every engine of ENGINES (harness.mjs), each in a browser of its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, startServer } from './server.mjs';
import { ENGINES, enginePage } from './harness.mjs';
import { cosine } from './common.mjs';

const PHOTOS = ['sample1.jpg', 'sample2.jpg', 'sample3.jpg', 'sample4.jpg', 'sample5.jpg', 'sample6.jpg'];

const server = await startServer();
/** @type {Map<string, Promise<import('./harness.mjs').EnginePage>>} */
const pages = new Map();
after(async () => { for (const page of pages.values()) await (await page).close(); await server.close(); });

/** The test page in `engine`, opened by the first test that needs it. */
function pageOf(engine) {
  if (!pages.has(engine)) pages.set(engine, enginePage(engine, `${server.url}/tests/browser/page.html`));
  return /** @type {Promise<import('./harness.mjs').EnginePage>} */ (pages.get(engine));
}

/** `facenet-embed --detect` on the photos: one parsed JSON line each. */
function cliFaces(photos) {
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  const binary = process.env.FACENET_EMBED ?? join(target, 'release/facenet-embed');
  const out = execFileSync(binary, ['--detect', ...photos.map((f) => join(ROOT, 'tests/photos', f))], { stdio: ['ignore', 'pipe', 'ignore'] });
  return out.toString().trim().split('\n').map((line) => JSON.parse(line));
}

for (const engine of ENGINES) {
  /** Runs `fn` in `engine`'s page with FaceEmbedder imported as `fe`. */
  const inPage = async (fn, arg) => (await pageOf(engine)).evaluate(`(async () => { const fe = await import('/www/client/facenet.js'); return (${fn})(fe, ${JSON.stringify(arg)}); })()`);

  test(`${engine}: the worker finds the faces the native CLI finds (≤ 1 px) with the same vectors (cosine ≥ 0.9999)`, async () => {
    const result = await inPage(async (fe, photos) => {
      const embedder = await fe.FaceEmbedder.create({ workers: 2, detector: true });
      const blobs = await Promise.all(photos.map(async (f) => (await fetch(`/tests/photos/${f}`)).blob()));
      const progress = [];
      const t0 = performance.now();
      const results = await embedder.embedFacesBatch(blobs, { onProgress: (p) => progress.push(p.done) });
      const ms = performance.now() - t0;
      const photo = results[0].ok ? results[0].faces[0] : null;
      const crop = photo && {
        bitmap: photo.crop.bitmap instanceof ImageBitmap && [photo.crop.bitmap.width, photo.crop.bitmap.height],
        blobType: photo.crop.blob.type,
        jpegMagic: Array.from(new Uint8Array(await photo.crop.blob.slice(0, 3).arrayBuffer())),
      };
      const { wasm, threads } = embedder.loadStats;
      embedder.terminate();
      return {
        ms, progress, crop, wasm, threads,
        photos: results.map((r) => (r.ok
          ? r.faces.map((f) => ({ box: f.box, score: f.score, landmarks: f.landmarks, v: Array.from(f.embedding), model: f.model, dimension: f.dimension }))
          : { code: r.error.code })),
      };
    }, PHOTOS);
    assert.deepEqual(result.progress, [1, 2, 3, 4, 5, 6].slice(0, PHOTOS.length).sort((a, b) => a - b));
    assert.deepEqual(result.crop, { bitmap: [160, 160], blobType: 'image/jpeg', jpegMagic: [0xff, 0xd8, 0xff] });
    const native = cliFaces(PHOTOS);
    let worstBox = 0;
    let worstCosine = 1;
    let faces = 0;
    native.forEach((line, i) => {
      const browserFaces = result.photos[i];
      assert.ok(Array.isArray(browserFaces), `${PHOTOS[i]}: ${JSON.stringify(browserFaces)}`);
      assert.equal(browserFaces.length, line.faces.length, PHOTOS[i]);
      line.faces.forEach((nf, k) => {
        const bf = browserFaces[k];
        for (const key of ['x', 'y', 'width', 'height']) worstBox = Math.max(worstBox, Math.abs(bf.box[key] - nf.box[key]));
        worstCosine = Math.min(worstCosine, cosine(bf.v, nf.embedding));
        assert.equal(bf.model, 'facenet');
        assert.equal(bf.dimension, 128);
        faces++;
      });
    });
    console.log(`${(await pageOf(engine)).version} (${result.wasm} build, ${result.threads} thread${result.threads === 1 ? '' : 's'} per worker): worker vs native CLI, ${faces} faces in ${PHOTOS.length} photos: largest box difference ${worstBox.toFixed(3)} px, lowest cosine ${worstCosine.toFixed(7)}; ${result.ms.toFixed(0)} ms with 2 workers`);
    assert.equal(faces, 22);
    assert.ok(worstBox <= 1, `box difference ${worstBox}`);
    assert.ok(worstCosine >= 0.9999, `lowest cosine ${worstCosine}`);
  });

  test(`${engine}: a photo without faces gives [], a corrupt one a DecodeError, and the batch goes on`, async () => {
    const result = await inPage(async (fe) => {
      const embedder = await fe.FaceEmbedder.create({ workers: 1 });
      const photo = await (await fetch('/tests/photos/sample3.jpg')).arrayBuffer();
      const canvas = new OffscreenCanvas(640, 480);
      const context = canvas.getContext('2d');
      context.fillStyle = '#808080';
      context.fillRect(0, 0, 640, 480);
      const blank = context.getImageData(0, 0, 640, 480);
      const bitmap = await createImageBitmap(await (await fetch('/tests/photos/sample1.jpg')).blob());
      const results = await embedder.detectBatch([photo.slice(0, photo.byteLength / 2), blank, new TextEncoder().encode('<!DOCTYPE html>'), bitmap, photo]);
      embedder.terminate();
      return results.map((r) => (r.ok ? r.faces.length : r.error.code));
    });
    assert.deepEqual(result, ['DecodeError', 0, 'UnsupportedFormat', 3, 3]);
  });
}
