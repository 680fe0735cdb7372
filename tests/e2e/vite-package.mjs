// Packaging test: `npm pack` the package, install the tarball into a tiny
// Vite app with no special configuration, `vite build` it, serve the built
// app and check in Chromium that it opens an OPFS database and queries it.
// Prints "package: N passed, M failed"; exits 1 on failure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, startServer } from './browsers.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'neuraldb-vite-'));
let failed = false;

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

try {
  // --ignore-scripts: the wasm package is already built by npm test.
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], repo));
  const tarball = join(work, packed[0].filename);
  const shipped = packed[0].files.map((f) => f.path).sort();
  console.log(`  tarball ${packed[0].filename}: ${(packed[0].size / 1024).toFixed(0)} KiB, files: ${shipped.join(' ')}`);
  for (const need of ['pkg/index.js', 'pkg/index.d.ts', 'pkg/worker.js', 'pkg/wasm/neuraldb_bg.wasm']) {
    if (!shipped.includes(need)) throw new Error(`the tarball lacks ${need}`);
  }

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(
    join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>loading</title></head>' +
      '<body><script type="module" src="/main.js"></script></body></html>',
  );
  writeFileSync(
    join(app, 'main.js'),
    `import { NeuralDB } from 'neuraldb';
const db = await NeuralDB.open('vite-app');
await db.exec('CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES (41)');
const r = await db.query('SELECT max(n) + 1 AS answer FROM t');
document.title = 'answer:' + r.rows[0].answer;
`,
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], app);
  // The published types, resolved through package.json "exports", type-check
  // a strict TypeScript program.
  writeFileSync(
    join(app, 'check.ts'),
    `import { NeuralDB, NeuralDBError, type QueryResult, type Session } from 'neuraldb';
const db: NeuralDB = await NeuralDB.open('x', { storage: 'memory', int8: 'string' });
const r: QueryResult<{ id: number; name: string }> = await db.query<{ id: number; name: string }>('SELECT 1 AS id, $1 AS name', ['a']);
const id: number = r.rows[0].id;
const arrays = await db.query('SELECT 1', [], { rowMode: 'array' });
const first: unknown = arrays.rows[0][0];
const s: Session = await db.connect();
const n: number = await db.transaction(async (tx) => (await tx.query('SELECT 1')).rowCount, { isolation: 'repeatable read', retries: 3 });
try { await s.query('SELECT 1'); } catch (e) { if (e instanceof NeuralDBError && e.code === '40001' && e.retryable) console.log(e.detail, e.position); }
await s.release();
await db.close();
console.log(id, first, n, r.fields[0].dataTypeID);
`,
  );
  run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--target', 'es2022',
    '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom', 'check.ts'], app);
  console.log('  tsc --strict: the published types check');
  const vite = join(repo, 'node_modules', 'vite', 'bin', 'vite.js');
  run(process.execPath, [vite, 'build', '--logLevel', 'warn'], app);
  const assets = readdirSync(join(app, 'dist', 'assets'));
  console.log(`  vite build: ${assets.join(' ')}`);
  if (!assets.some((f) => f.endsWith('.wasm'))) throw new Error('the build has no .wasm asset');

  const server = await startServer('--dir', join(app, 'dist'));
  const url = server.url;
  const profile = join(work, 'profile');
  const browser = await chromium(profile);
  try {
    const page = await browser.newPage(url, { waitReady: false });
    await page.raw.waitForFunction(() => document.title.startsWith('answer:'), null, { timeout: 20_000 });
    const title = await page.raw.title();
    if (title !== 'answer:42') throw new Error(`page title ${title}`);
    console.log('ok   package: a Vite app built against the tarball opens a database and queries it');
  } finally {
    await browser.close();
    server.stop();
  }
} catch (e) {
  failed = true;
  console.log(`FAIL package: ${e.stack ?? e}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`package: ${failed ? 0 : 1} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
