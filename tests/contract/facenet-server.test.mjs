// The HTTP contract suite against facenet-server (release build, fresh SQLite file).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CONTRACT, contractTests } from './suite.mjs';
import { schoolTests } from './school.mjs';
import { privacyTests } from './privacy.mjs';
import { startFacenet } from './backends.mjs';

let backend;
before(async () => { backend = await startFacenet(); });
after(async () => { await backend?.close(); });
contractTests(() => backend);
schoolTests(() => backend);
privacyTests(() => backend);

test('the session page is served with the Content-Security-Policy of contract.json', async () => {
  const page = await fetch(`${backend.url}/www/app/index.html`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-security-policy'), CONTRACT.content_security_policy);
  assert.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
});

test('idle sockets cannot lock teachers out: half-sent headers are closed, a stalled body is 408', { timeout: 90_000 }, async () => {
  const { connect } = await import('node:net');
  const { port, hostname } = new URL(backend.url);
  /** A socket sending `text`, then nothing; resolves with when it was closed, and what it got. */
  const idle = (text) => new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    const started = Date.now();
    let got = '';
    socket.on('data', (d) => { got += d; });
    socket.on('error', reject);
    socket.on('close', () => resolve({ seconds: (Date.now() - started) / 1000, got }));
  });
  // 300 sockets that sent half their headers (the measured attack: they stayed open for good).
  const halves = Array.from({ length: 300 }, () => idle(`GET /api/attendance/me/ HTTP/1.1\r\nHost: ${hostname}\r\n`));
  const stalled = idle(`POST /api/attendance/sessions/ HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${backend.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`);
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  const me = await fetch(`${backend.url}/api/attendance/me/`, { headers: { authorization: `Bearer ${backend.token}` } });
  assert.equal(me.status, 200, 'a teacher is answered beside them');
  assert.ok(Date.now() - t0 < 5000, `answered in ${Date.now() - t0} ms`);
  const closed = await Promise.all(halves);
  const slowest = Math.max(...closed.map((c) => c.seconds));
  assert.ok(slowest < 25, `every half-sent request closed by the server within the header timeout (the slowest after ${slowest} s)`);
  const body = await stalled;
  assert.match(body.got, /^HTTP\/1\.1 408/, 'a body that stops is answered 408');
  assert.match(body.got, /"error_type":"Timeout"/);
  assert.ok(body.seconds >= 25 && body.seconds < 45, `after the body's idle timeout (${body.seconds} s)`);
});
