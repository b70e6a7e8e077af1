// A real HTTP server on 127.0.0.1 for the browser tests: serves the repository's files and a
// small in-memory stand-in for the backend's embedding endpoints (DESIGN.md's HTTP contract),
// with switches to inject 5xx answers and dropped connections. The real backend is
// facenet-server (its own tests); this one exists so the client is tested over real HTTP.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = normalize(join(fileURLToPath(import.meta.url), '../../..'));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream',
  '.jpg': 'image/jpeg', '.png': 'image/png', '.ts': 'text/plain',
};
const MANIFEST = JSON.parse(await readFile(join(ROOT, 'models/facenet.json'), 'utf8'));
const VERSION = MANIFEST.sha256.slice(0, 12);
const DIMENSIONS = Object.fromEntries(MANIFEST.outputs.map((o) => [o.model, o.dimension]));

/**
 * @param {{token?: string, headers?: Record<string, string>}} [options]
 */
export async function startServer(options = {}) {
  const token = options.token ?? 'test-token';
  const state = {
    requests: /** @type {string[]} */ ([]),
    stored: new Map(),
    fail5xx: 0,
    drop: 0,
    /** milliseconds each embedding POST waits before it is answered */
    delayMs: 0,
    posts: 0,
    /** crop id → file under tests/faces */
    crops: new Map([[1, 's1a.jpg'], [2, 's2a.jpg'], [3, 's3a.jpg']]),
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    state.requests.push(`${req.method} ${url.pathname}`);
    const json = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const error = (status, type, message) => json(status, { status: 'error', error_type: type, message });
    const authorized = () => req.headers.authorization === `Bearer ${token}`;
    try {
      if (url.pathname === '/__test/faults' && req.method === 'POST') {
        Object.assign(state, JSON.parse(await body(req)));
        return json(200, { ok: true });
      }
      if (url.pathname === '/__test/stored') return json(200, Object.fromEntries(state.stored));
      let m = url.pathname.match(/^\/api\/attendance\/face-crops\/(\d+)\/image\/$/);
      if (m) {
        if (!authorized()) return error(401, 'Unauthorized', 'missing or wrong bearer token');
        const file = state.crops.get(Number(m[1]));
        if (!file) return error(404, 'CropNotFound', `no face crop ${m[1]}`);
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        return res.end(await readFile(join(ROOT, 'tests/faces', file)));
      }
      m = url.pathname.match(/^\/api\/attendance\/face-crops\/(\d+)\/embedding\/$/);
      if (m && req.method === 'POST') {
        state.posts++;
        if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
        if (state.drop > 0) { state.drop--; return req.socket.destroy(); }
        if (state.fail5xx > 0) { state.fail5xx--; return error(503, 'Unavailable', 'try again later'); }
        if (!authorized()) return error(401, 'Unauthorized', 'missing or wrong bearer token');
        const post = JSON.parse(await body(req));
        const id = Number(m[1]);
        const expected = DIMENSIONS[post.model_name];
        if (!expected) return error(400, 'InvalidEmbedding', `unknown model ${post.model_name}`);
        if (post.model_version !== VERSION) return error(409, 'InvalidEmbedding', `model version ${post.model_version} is not the served ${VERSION}`);
        const v = post.embedding;
        if (!Array.isArray(v) || v.length !== expected) return error(400, 'InvalidEmbedding', `expected ${expected} values, got ${v?.length}`);
        if (!v.every(Number.isFinite)) return error(400, 'InvalidEmbedding', 'non-finite value');
        const norm = Math.hypot(...v);
        if (Math.abs(norm - 1) > 1e-3) return error(400, 'InvalidEmbedding', `norm ${norm}, expected 1 ± 1e-3`);
        state.stored.set(`${id}:${post.model_name}`, v);
        return json(200, { status: 'success', crop_id: id, embedding_model: post.model_name, embedding_dimension: v.length, message: 'stored' });
      }
      // Static files, with an HTML 404 page as many servers give (the client must not take it
      // for a model or a wasm module).
      const path = normalize(join(ROOT, decodeURIComponent(url.pathname)));
      if (!path.startsWith(ROOT) || !(await stat(path).catch(() => null))?.isFile()) {
        res.writeHead(404, { 'content-type': 'text/html' });
        return res.end('<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>');
      }
      const data = await readFile(path);
      res.writeHead(200, {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'content-length': data.length,
        'cache-control': 'no-cache',
        ...(url.searchParams.has('csp') ? { 'content-security-policy': url.searchParams.get('csp') } : {}),
        ...options.headers,
      });
      res.end(data);
    } catch (e) {
      error(500, 'InternalError', String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { url: `http://127.0.0.1:${address.port}`, token, state, version: VERSION, close: () => new Promise((r) => server.close(r)) };
}

/** @param {import('node:http').IncomingMessage} req */
function body(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}
