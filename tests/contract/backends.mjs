// The two backends of the HTTP contract, started for a test run: facenet-server (release build,
// throw-away SQLite file) and the Django app of integrations/django on a throw-away PostgreSQL
// cluster (or SQLite). Each returns {name, url, token, close()}.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startFacenetServer } from '../browser/server.mjs';

export { ROOT };

/** The Python with the Django app installed (scripts/setup makes it). */
export const PYTHON = process.env.FACENET_DJANGO_PYTHON ?? join(ROOT, '.venv-django/bin/python');
/** The example project that serves the Django app. */
export const EXAMPLE = join(ROOT, 'integrations/django/example');

/** facenet-server on a fresh SQLite file. */
export async function startFacenet(token = 'contract-token') {
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-contract-'));
  const server = await startFacenetServer({ dataDir, token });
  return {
    name: 'facenet-server', url: server.url, token,
    close: async () => {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function freePort() {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address());
  await new Promise((r) => probe.close(r));
  return port;
}

/** The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/<major>/bin). */
function postgresBin() {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((d) => existsSync(join(base, d, 'bin/initdb'))) : [];
  if (!majors.length) throw new Error('PostgreSQL is not installed (scripts/setup installs Debian\'s postgresql)');
  return join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/**
 * A throw-away PostgreSQL cluster in a temp dir, listening on a Unix socket there. PostgreSQL
 * refuses to run as root: as root, the cluster belongs to and runs as the `postgres` user the
 * Debian package created. Returns the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE).
 */
export async function startPostgres() {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'facenet-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (tool, args) => {
    const command = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    return execFileSync(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'facenet', '-E', 'UTF8', '--no-sync']);
  // Unix socket only, in the temp dir; fsync stays on (the load test checks nothing is lost).
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-k ${dir} -p ${port} -c listen_addresses='' -c max_connections=200`, 'start']);
  run('createdb', ['-h', dir, '-p', String(port), '-U', 'facenet', 'facenet']);
  return {
    env: { PGHOST: dir, PGPORT: String(port), PGUSER: 'facenet', PGDATABASE: 'facenet' },
    log: join(dir, 'log'),
    stop: () => {
      try { run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']); } finally { rmSync(dir, { recursive: true, force: true }); }
    },
  };
}

/**
 * The example Django project (integrations/django/example) on PostgreSQL (`database:
 * 'postgres'`, a throw-away cluster) or SQLite: migrated, then served by `runserver` (threaded).
 */
export async function startDjango({ database = 'postgres', token = 'contract-token' } = {}) {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run scripts/setup (it installs integrations/django)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'facenet-django-'));
  const postgres = database === 'postgres' ? await startPostgres() : null;
  const env = {
    ...process.env, ...(postgres?.env ?? {}),
    FACENET_TOKEN: token, FACENET_DATA_DIR: dataDir, FACENET_REPO: ROOT,
    FACENET_DATABASE: database, PYTHONUNBUFFERED: '1',
  };
  execFileSync(PYTHON, ['manage.py', 'migrate', '--no-input', '-v', '0'], { cwd: EXAMPLE, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await freePort();
  const child = spawn(PYTHON, ['manage.py', 'runserver', '--noreload', '--skip-checks', `127.0.0.1:${port}`], { cwd: EXAMPLE, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`Django exited: ${log.join('')}`);
    try {
      await fetch(`${url}/api/attendance/`);
      break;
    } catch {
      if (i > 300) throw new Error(`Django did not start: ${log.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    name: `Django on ${database === 'postgres' ? 'PostgreSQL' : 'SQLite'}`, url, token, log, postgres,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      postgres?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
