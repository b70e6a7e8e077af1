// The HTTP contract suite against facenet-server (release build, fresh SQLite file).
import { before, after } from 'node:test';
import { contractTests } from './suite.mjs';
import { schoolTests } from './school.mjs';
import { privacyTests } from './privacy.mjs';
import { startFacenet } from './backends.mjs';

let backend;
before(async () => { backend = await startFacenet(); });
after(async () => { await backend?.close(); });
contractTests(() => backend);
schoolTests(() => backend);
privacyTests(() => backend);
