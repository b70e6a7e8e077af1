// Soak of the outbox (www/client/outbox.js) between headless Chromium and facenet-server behind
// the tests' fault proxy: in each run a lesson photo with 2–6 faces is queued (its record, its
// crops, their vectors) and sent through a random mix of faults — connections cut, answers lost
// after the server stored, proxies' HTML 404s, 408, 429, 502, 503 —, and in some runs the tab is
// reloaded mid-way or the server killed (SIGKILL) and started again. Counted over all runs, read
// from the server's own file: faces lost, duplicated, or with another face's vector.
//
//   node benches/outbox-soak.mjs [--runs 20] [--seed 1]
import { parseArgs } from 'node:util';
import { rows, startServer } from '../tests/browser/server.mjs';
import { launchEngine } from '../tests/browser/harness.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
const RUNS = Number(values.runs);
let seed = Number(values.seed) >>> 0;
const random = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
const pick = (list) => list[Math.floor(random() * list.length)];
const FAULTS = ['drop', 'lost', 'html404', 408, 429, 502, 503];
const CREATES = /^\/api\/attendance\/(sessions\/\d+\/(photos|face-crops)|face-crops\/embeddings-batch)\/$/;

const server = await startServer();
const browser = await launchEngine('chromium');
let page = await browser.newPage(`${server.url}/tests/browser/page.html`);
const unit = (n, s) => { const v = Array.from({ length: n }, (_, i) => Math.sin(i * s + 1)); const norm = Math.hypot(...v); return v.map((x) => x / norm); };
const near = (a, b) => a && a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6);

/** In the page: the outbox of the server's database (fast backoff); `queue` adds the lesson, then flushes until done. */
const inPage = (args) => page.evaluate(async ({ token, args }) => {
  const { ApiClient } = await import('/www/client/api.js');
  const { Outbox } = await import('/www/client/outbox.js');
  const api = new ApiClient({ token, backoffMs: 20, retries: 3 });
  const me = await new ApiClient({ token, backoffMs: 200, retries: 20 }).call('ME');
  const box = await Outbox.open({ api, databaseId: me.database_id, dbName: 'soak', backoffMs: 20, maxBackoffMs: 200 });
  if (args.queue) {
    const files = ['s1a.jpg', 's2a.jpg', 's3a.jpg', 's4a.jpg', 's5a.jpg', 's6a.jpg'];
    const photo = await box.addPhoto({ session: args.session, filename: `run${args.run}.jpg`, width: 1280, height: 960, size: 1 });
    for (let k = 0; k < args.vectors.length; k++) {
      const blob = await (await fetch(`/tests/faces/${files[k]}`)).blob();
      const crop = await box.addCrop({ session: args.session, photo, blob, query: { filename: `run${args.run}_${k}.jpg` } });
      await box.addVector({ crop, model: 'facenet', modelVersion: args.version, embedding: args.vectors[k] });
    }
  }
  let outcome = await box.flush();
  for (let i = 0; i < (args.passes ?? 200) && outcome.pending > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    outcome = await box.flush();
  }
  const attention = (await box.attention()).map((i) => `${i.kind} ${i.problem?.code}: ${i.problem?.message}`);
  box.close();
  return { ...outcome, attention };
}, { token: server.token, args });

const totals = { faces: 0, lost: 0, duplicated: 0, misfiled: 0, attention: 0, reloads: 0, restarts: 0, faults: Object.fromEntries(FAULTS.map((f) => [f, 0])) };
const started = Date.now();
for (let run = 1; run <= RUNS; run++) {
  const session = (await (await fetch(`${server.url}/api/attendance/sessions/`, {
    method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `soak ${run}` }),
  })).json()).id;
  const n = 2 + Math.floor(random() * 5);
  const vectors = Array.from({ length: n }, (_, k) => unit(128, run * 10 + k + 1));
  const mix = Array.from({ length: 3 + Math.floor(random() * 8) }, () => pick(FAULTS));
  for (const f of mix) totals.faults[f]++;
  Object.assign(server.state, { faultPath: CREATES, faults: [...mix] });
  const event = random();
  let outcome;
  if (event < 0.25) {
    // The tab closes mid-lesson: one short try, then a new page sends the rest.
    totals.reloads++;
    await inPage({ queue: true, session, run, vectors, version: server.version, passes: 1 });
    await page.close();
    page = await browser.newPage(`${server.url}/tests/browser/page.html`);
    outcome = await inPage({});
  } else if (event < 0.45) {
    // The server is killed mid-lesson and back a second later.
    totals.restarts++;
    const sending = inPage({ queue: true, session, run, vectors, version: server.version });
    await new Promise((r) => setTimeout(r, 150 + random() * 300));
    await server.restart(1000);
    outcome = await sending;
  } else {
    outcome = await inPage({ queue: true, session, run, vectors, version: server.version });
  }
  const crops = rows(server.dataDir, `SELECT c.filename, e.vector FROM face_crops c LEFT JOIN embeddings e ON e.crop_id = c.id WHERE c.session_id = ${session} ORDER BY c.id`);
  const photos = rows(server.dataDir, `SELECT COUNT(*) FROM photos WHERE session_id = ${session}`)[0][0];
  let lost = 0, duplicated = Math.max(0, photos - 1), misfiled = 0;
  for (let k = 0; k < n; k++) {
    const mine = crops.filter(([f]) => f === `run${run}_${k}.jpg`);
    if (mine.length === 0 || !mine[0][1]) lost++;
    duplicated += Math.max(0, mine.length - 1);
    if (mine.length && mine[0][1] && !near(mine[0][1], vectors[k])) misfiled++;
  }
  Object.assign(totals, { faces: totals.faces + n, lost: totals.lost + lost, duplicated: totals.duplicated + duplicated, misfiled: totals.misfiled + misfiled, attention: totals.attention + outcome.attention.length });
  console.log(`run ${String(run).padStart(2)}: ${n} faces, faults ${mix.join(' ')}${event < 0.25 ? ', tab reloaded' : event < 0.45 ? ', server killed' : ''} → lost ${lost}, duplicated ${duplicated}, misfiled ${misfiled}, needs attention ${outcome.attention.length}${outcome.attention.length ? ` (${outcome.attention.join('; ')})` : ''}, pending ${outcome.pending}`);
}
console.log(`\n${RUNS} runs (seed ${values.seed}), ${totals.faces} faces, ${((Date.now() - started) / 1000).toFixed(1)} s; fault mix: ${Object.entries(totals.faults).map(([f, c]) => `${f} ×${c}`).join(', ')}; ${totals.reloads} tab reloads, ${totals.restarts} server kills`);
console.log(`lost ${totals.lost}, duplicated ${totals.duplicated}, misfiled ${totals.misfiled}, needs attention ${totals.attention}`);
await browser.close();
await server.close();
process.exit(totals.lost + totals.duplicated + totals.misfiled + totals.attention === 0 ? 0 : 1);
