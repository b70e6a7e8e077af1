// The HTTP contract suite against a running backend:
//
//   node tests/contract/check.mjs https://attendance.example.org TOKEN
//
// It creates its own sessions, crops and people (names made unique per run) and looks only at
// those; it leaves them behind (there is no delete call).
import { contractTests } from './suite.mjs';

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node tests/contract/check.mjs BASE_URL TOKEN');
  process.exit(2);
}
contractTests(() => ({ name: base, url: base.replace(/\/$/, ''), token }));
