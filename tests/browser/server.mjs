// The backend of the browser tests is the real facenet-server (built by scripts/test), on a
// throw-away SQLite file, behind a small fault-injecting proxy of the test's own:
//
//   browser ──▶ proxy (this file) ──▶ facenet-server (release build)
//                 │ serves the checkout's test-only files itself: /tests/…, /node_modules/…
//                 │ (facenet-server serves only what ships)
//                 │ injects what real deployments do: 502 pages from a gateway, dropped
//                 │ connections, slow answers, nginx-style HTML 404 pages, a CSP header
//                 └ records every request line
//
// No answer of the API comes from here: status codes, error types and validation are the
// server's own, so the client is tested against the contract it will meet.

import { spawn, execFileSync } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_VERSION_LENGTH } from '../../www/client/protocol.js';
import { ApiClient } from '../../www/client/api.js';

export const ROOT = normalize(join(fileURLToPath(import.meta.url), '../../..'));
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream',
  '.jpg': 'image/jpeg', '.png': 'image/png', '.md': 'text/markdown; charset=utf-8',
};
const HTML_404 = '<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr>nginx</body></html>';
const BAD_GATEWAY = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>';

/**
 * Starts facenet-server on a free port with `dataDir`; resolves once it listens.
 * @param {{dataDir: string, token: string, logLevel?: string, onLog?: (text: string) => void}} options
 *   the log goes to `onLog`, or to this process's standard error
 * @returns {Promise<{url: string, child: import('node:child_process').ChildProcess}>}
 */
export function startFacenetServer({ dataDir, token, args = [], logLevel = 'warn', onLog = (text) => process.stderr.write(text) }) {
  // Warnings and errors only by default: one log line per request would drown the tests' output.
  const child = spawn(join(TARGET, 'release/facenet-server'), ['--port', '0', '--data-dir', dataDir, '--token', token, '--root', ROOT, ...args],
    { env: { ...process.env, RUST_LOG: logLevel } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/(http:\/\/[\d.:]+)\/#token=/);
      if (m) resolve({ url: m[1], child });
    });
    child.stderr.on('data', (chunk) => onLog(String(chunk)));
    child.on('exit', (code) => reject(new Error(`facenet-server exited with ${code}: ${out}`)));
    // Not built (or built elsewhere: CARGO_TARGET_DIR): fail, rather than wait for a URL forever.
    child.on('error', (e) => reject(new Error(`facenet-server did not start (${join(TARGET, 'release/facenet-server')}): ${e.message}`)));
  });
}

/**
 * Rows of the server's database file, read by Python's sqlite3 (a reader independent of the
 * server); vectors (BLOBs of little-endian f32) come back as arrays of numbers.
 * @param {string} dataDir
 * @param {string} sql
 * @returns {any[][]}
 */
export function rows(dataDir, sql) {
  const script = 'import json, sqlite3, struct, sys\n'
    + 'db = sqlite3.connect(sys.argv[1])\n'
    + 'out = [[list(struct.unpack(f"<{len(v)//4}f", v)) if isinstance(v, bytes) else v for v in row] for row in db.execute(sys.argv[2])]\n'
    + 'print(json.dumps(out))';
  return JSON.parse(execFileSync('python3', ['-c', script, join(dataDir, 'facenet.sqlite3'), sql], { maxBuffer: 1 << 28 }).toString());
}

/** The crops every test backend starts with: crop id k + 1 is `CROP_FILES[k]` (under tests/faces). */
export const CROP_FILES = ['s1a.jpg', 's2a.jpg', 's3a.jpg', 's3b.jpg', 's3c.jpg', 's4a.jpg', 's5a.jpg', 's5b.jpg', 's5c.jpg', 's5d.jpg', 's6a.jpg', 's6b.jpg'];

/**
 * facenet-server with the fixture crops, behind the fault-injecting proxy.
 * @param {{token?: string, headers?: Record<string, string>}} [options] `headers` are added to
 *   the files the proxy serves itself (e.g. COOP/COEP for a cross-origin-isolated test page)
 */
export async function startServer(options = {}) {
  const token = options.token ?? 'test-token';
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-browser-'));
  let backend = await startFacenetServer({ dataDir, token });
  const manifest = JSON.parse(readFileSync(join(ROOT, 'models/facenet.json'), 'utf8'));
  const state = {
    /** `METHOD /path` of every request, in order */
    requests: /** @type {string[]} */ ([]),
    /** the next n faulted POSTs get a gateway's 502 page */
    fail5xx: 0,
    /** the next n faulted POSTs have their connection dropped */
    drop: 0,
    /** milliseconds each faulted POST waits before it is forwarded */
    delayMs: 0,
    /**
     * Answers the next faulted POSTs get in turn, as what sits between a classroom and the
     * server would give them: 'drop' (the connection cut before an answer), 'lost' (forwarded,
     * the server's answer thrown away and the connection cut), 'html404' (a proxy's page), or a
     * status (408, 429 with Retry-After, 502, 503: an HTML page)
     * @type {(number | 'drop' | 'lost' | 'html404')[]}
     */
    faults: [],
    /** which POSTs the faults hit: the single vector call by default */
    faultPath: /^\/api\/attendance\/face-crops\/\d+\/embedding\/$/,
    /** faulted POSTs seen (each attempt) */
    posts: 0,
  };
  await seed(backend.url, token);

  const proxy = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    state.requests.push(`${req.method} ${url.pathname}`);
    const csp = url.searchParams.get('csp');
    try {
      if (url.pathname.startsWith('/tests/') || url.pathname.startsWith('/node_modules/')) {
        return await serveFile(url.pathname, res, { ...options.headers, ...(csp ? { 'content-security-policy': csp } : {}) });
      }
      if (req.method === 'POST' && state.faultPath.test(url.pathname)) {
        state.posts++;
        if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
        if (state.drop > 0) { state.drop--; return req.socket.destroy(); }
        if (state.fail5xx > 0) {
          state.fail5xx--;
          req.resume();
          res.writeHead(502, { 'content-type': 'text/html' });
          return res.end(BAD_GATEWAY);
        }
        const fault = state.faults.shift();
        if (fault === 'drop') return req.socket.destroy();
        if (fault === 'lost') {
          // The server stores it; its answer never reaches the browser.
          const upstream = httpRequest(new URL(req.url ?? '/', backend.url), { method: req.method, headers: req.headers }, (answer) => {
            answer.resume();
            answer.on('end', () => req.socket.destroy());
          });
          upstream.on('error', () => req.socket.destroy());
          return req.pipe(upstream);
        }
        if (fault !== undefined) {
          req.resume();
          const status = fault === 'html404' ? 404 : fault;
          res.writeHead(status, { 'content-type': 'text/html', ...(status === 429 ? { 'retry-after': '1' } : {}) });
          return res.end(status === 404 ? '<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>' : BAD_GATEWAY);
        }
      }
      forward(req, res, backend.url, { csp });
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e}`);
    }
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = /** @type {import('node:net').AddressInfo} */ (proxy.address());
  return {
    url: `http://127.0.0.1:${address.port}`,
    token,
    state,
    version: manifest.sha256.slice(0, MODEL_VERSION_LENGTH),
    /** The server's data directory (its database file, for `rows`). */
    dataDir,
    /** The vectors the server stored, `crop:model` → values. */
    stored: () => new Map(rows(dataDir, 'SELECT crop_id, model_name, vector FROM embeddings').map(([crop, model, v]) => [`${crop}:${model}`, v])),
    /** Kills the server (SIGKILL, as a crash or a power cut would), and starts it again on its
     * file after `downMs`; the proxy answers 502 pages meanwhile. */
    restart: async (downMs = 0) => {
      backend.child.kill('SIGKILL');
      await new Promise((r) => backend.child.once('exit', r));
      await new Promise((r) => setTimeout(r, downMs));
      backend = await startFacenetServer({ dataDir, token });
    },
    close: async () => {
      await new Promise((r) => proxy.close(r));
      backend.child.kill('SIGTERM');
      await new Promise((r) => backend.child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One session and the fixture crops, through the API like any client. */
async function seed(base, token) {
  const api = new ApiClient({ baseUrl: base, token });
  const session = await api.call('SESSIONS', [], { method: 'POST', json: { name: 'fixtures' } });
  for (const [k, file] of CROP_FILES.entries()) {
    const crop = await api.call('SESSION_CROPS', [session.id], { method: 'POST', body: readFileSync(join(ROOT, 'tests/faces', file)), query: { filename: file } });
    if (crop.crop_id !== k + 1) throw new Error(`seeding: ${file} became crop ${crop.crop_id}: ${JSON.stringify(crop)}`);
  }
}

/**
 * Forwards a request to facenet-server and streams its answer back; a 404 outside the API
 * becomes an HTML page, as a reverse proxy's error_page makes it.
 */
function forward(req, res, base, { csp }) {
  const upstream = httpRequest(new URL(req.url ?? '/', base), { method: req.method, headers: req.headers }, (answer) => {
    const headers = { ...answer.headers, ...(csp ? { 'content-security-policy': csp } : {}) };
    if (answer.statusCode === 404 && !(req.url ?? '').startsWith('/api/')) {
      answer.resume();
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end(HTML_404);
    }
    res.writeHead(answer.statusCode ?? 502, headers);
    answer.pipe(res);
  });
  upstream.on('error', () => { res.writeHead(502, { 'content-type': 'text/html' }); res.end(BAD_GATEWAY); });
  req.pipe(upstream);
}

/** A file of the checkout (test pages, fixtures, peers from node_modules), or an HTML 404. */
async function serveFile(pathname, res, headers) {
  const path = normalize(join(ROOT, decodeURIComponent(pathname)));
  if (!path.startsWith(ROOT) || !(await stat(path).catch(() => null))?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/html' });
    return res.end(HTML_404);
  }
  const data = await readFile(path);
  res.writeHead(200, {
    'content-type': TYPES[/** @type {keyof typeof TYPES} */ (extname(path))] ?? 'application/octet-stream',
    'content-length': data.length,
    'cache-control': 'no-cache',
    ...headers,
  });
  res.end(data);
}
