// 1,000 embeddings in a row: wasm memory and JS heap stay flat. Prints the figures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { launch, openPage } from './harness.mjs';
import { FACES } from './common.mjs';

const RUNS = Number(process.env.FACENET_MEMORY_RUNS ?? 1000);
const server = await startServer();
const browser = await launch();
const page = await openPage(browser.context, `${server.url}/tests/browser/page.html`);
after(async () => { await browser.close(); await server.close(); });

test(`${RUNS} embeddings leave wasm memory and JS heap flat`, { timeout: 30 * 60 * 1000 }, async () => {
  const figures = await page.evaluate(async ({ faces, runs }) => {
    const { FaceEmbedder } = await import('/www/client/facenet.js');
    const embedder = await FaceEmbedder.create({ workers: 1 });
    const blobs = await Promise.all(faces.map(async (f) => (await fetch(`/tests/faces/${f}`)).blob()));
    const measure = async () => {
      globalThis.gc?.();
      const [worker] = await embedder.stats();
      return { wasm: worker.wasmMemoryBytes, workerHeap: worker.jsHeapBytes, pageHeap: performance.memory.usedJSHeapSize };
    };
    const embedMany = async (n, offset) => {
      const times = [];
      // One at a time, as a teacher's page would stream crops; the vectors are dropped.
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await embedder.embed(blobs[(offset + i) % blobs.length]);
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b);
    };
    const start = await measure();
    await embedMany(50, 0);
    const warm = await measure();
    const times = await embedMany(runs, 50);
    const end = await measure();
    embedder.terminate();
    return { start, warm, end, median: times[times.length >> 1], p95: times[Math.floor((times.length - 1) * 0.95)] };
  }, { faces: FACES, runs: RUNS });
  const mb = (b) => (b / 1048576).toFixed(1);
  for (const [label, f] of [['after load', figures.start], ['after 50 warm-up', figures.warm], [`after ${RUNS} more`, figures.end]]) {
    console.log(`${label}: wasm memory ${mb(f.wasm)} MB, worker JS heap ${f.workerHeap === null ? 'n/a' : `${mb(f.workerHeap)} MB`}, page JS heap ${mb(f.pageHeap)} MB`);
  }
  console.log(`${RUNS} embeddings after 50 warm-up, one at a time through FaceEmbedder.embed (1 worker, blobs of real crops): median ${figures.median.toFixed(1)} ms, p95 ${figures.p95.toFixed(1)} ms`);
  // wasm memory never shrinks, so any leak in the Rust side shows as growth.
  assert.equal(figures.end.wasm, figures.warm.wasm, 'wasm memory grew');
  assert.ok(figures.end.pageHeap - figures.warm.pageHeap < 2 * 1048576, 'page JS heap grew by 2 MB or more');
  if (figures.end.workerHeap !== null) assert.ok(figures.end.workerHeap - figures.warm.workerHeap < 2 * 1048576, 'worker JS heap grew by 2 MB or more');
});
