// Shared by the browser tests: native reference vectors, vector maths.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server.mjs';

export const FACES = readdirSync(join(ROOT, 'tests/faces')).filter((f) => f.endsWith('.jpg')).sort();

/** The native CLI's vectors for files under tests/faces (it is built by scripts/test). */
export function cliVectors(files, model = 'facenet') {
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  const binary = process.env.FACENET_EMBED ?? join(target, 'release/facenet-embed');
  const out = execFileSync(binary, ['--model', model, ...files.map((f) => join(ROOT, 'tests/faces', f))], { stdio: ['ignore', 'pipe', 'ignore'] });
  return out.toString().trim().split('\n').map((line) => JSON.parse(line).embedding);
}

export function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}
