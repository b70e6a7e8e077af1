// A long lesson on every engine of ENGINES: photos through detect + embed, one at a time as a
// teacher's page sends them; wasm memory flat after the warm-up, JS heaps flat where the engine
// reports them, the workers gone when the embedder is terminated. Prints the curve.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { ENGINES, enginePage } from './harness.mjs';

const PHOTOS = Number(process.env.FACENET_MEMORY_PHOTOS ?? 200);
const WARM_UP = 20;
/** The photos' longer side: a phone photo as the page scales it down (detection is per pixel). */
const SIDE = 640;
const server = await startServer();
after(() => server.close());

for (const engine of ENGINES) describe(engine, () => {
  /** @type {import('./harness.mjs').Page} */
  let page;
  before(async () => { page = await enginePage(engine, `${server.url}/tests/browser/page.html`); });
  after(() => page?.close());

  test(`${PHOTOS} photos through detect + embed leave wasm memory flat; terminate releases the workers`, { timeout: 30 * 60 * 1000 }, async () => {
    const figures = await page.evaluate(async ({ photos, warmUp, side }) => {
      const { FaceEmbedder } = await import('/www/client/facenet.js');
      const embedder = await FaceEmbedder.create({ workers: 1, detector: true });
      // The six test photos at `side` px: JPEG blobs, decoded in the worker as a dropped file is.
      const blobs = await Promise.all([1, 2, 3, 4, 5, 6].map(async (k) => {
        const bitmap = await createImageBitmap(await (await fetch(`/tests/photos/sample${k}.jpg`)).blob());
        const scale = side / Math.max(bitmap.width, bitmap.height);
        const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
        canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
      }));
      const pageHeap = () => /** @type {any} */ (performance).memory?.usedJSHeapSize ?? null;
      const measure = async (done) => {
        /** @type {any} */ (globalThis).gc?.();
        const [worker] = await embedder.stats();
        return { done, wasm: worker.wasmMemoryBytes, workerHeap: worker.jsHeapBytes, pageHeap: pageHeap() };
      };
      const curve = [await measure(0)];
      let faces = 0;
      const times = [];
      for (let i = 0; i < warmUp + photos; i++) {
        const t0 = performance.now();
        faces += (await embedder.embedFaces(blobs[i % blobs.length])).length;
        times.push(performance.now() - t0);
        if (i + 1 === warmUp || (i + 1 - warmUp) % 50 === 0) curve.push(await measure(i + 1));
      }
      embedder.terminate();
      const steady = times.slice(warmUp).sort((a, b) => a - b);
      return { curve, faces, workersAfter: embedder.workers, median: steady[steady.length >> 1], p95: steady[Math.floor((steady.length - 1) * 0.95)] };
    }, { photos: PHOTOS, warmUp: WARM_UP, side: SIDE });
    const mb = (b) => (b === null || b === undefined ? 'n/a' : `${(b / 1048576).toFixed(1)} MB`);
    console.log(`${page.version}: ${PHOTOS} photos (${SIDE} px, ${figures.faces} faces with the warm-up) after ${WARM_UP} warm-up, one at a time through embedFaces (1 worker): median ${figures.median.toFixed(0)} ms, p95 ${figures.p95.toFixed(0)} ms per photo`);
    for (const f of figures.curve) console.log(`${page.version}: after ${String(f.done).padStart(3)} photos: wasm memory ${mb(f.wasm)}, worker JS heap ${mb(f.workerHeap)}, page JS heap ${mb(f.pageHeap)}`);
    const warm = figures.curve.find((f) => f.done === WARM_UP);
    const end = figures.curve.at(-1);
    // wasm memory never shrinks, so any leak in the Rust side shows as growth.
    assert.equal(end.wasm, warm.wasm, 'wasm memory grew after the warm-up');
    // JS heaps breathe with what each photo's faces leave for the collector (crops as ImageData,
    // ImageBitmap and Blob: ~0.4 MB a photo, ~80 MB over 200 if kept): the lower of the last two
    // points against the warm-up's, 4 MB allowed.
    const settled = (key) => Math.min(...figures.curve.slice(-2).map((f) => f[key]));
    if (end.pageHeap !== null) assert.ok(settled('pageHeap') - warm.pageHeap < 4 * 1048576, 'page JS heap grew by 4 MB or more');
    if (end.workerHeap !== null) assert.ok(settled('workerHeap') - warm.workerHeap < 4 * 1048576, 'worker JS heap grew by 4 MB or more');
    assert.equal(figures.workersAfter, 0, 'terminate() leaves no worker');
  });
});
