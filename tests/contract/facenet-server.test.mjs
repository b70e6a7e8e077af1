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
