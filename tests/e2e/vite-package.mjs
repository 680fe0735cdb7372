// Packaging test: `npm pack` the package, install the tarball into a tiny
// Vite app with no special configuration (with drizzle-orm and kysely, the
// optional peers of neuraldb/drizzle and neuraldb/kysely), `vite build` it,
// serve the built app and check in Chromium that it opens an OPFS database
// and queries it directly, through Drizzle and through Kysely.
// Prints "package: N passed, M failed"; exits 1 on failure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, startServer } from './browsers.mjs';

/** A strict TypeScript program against neuraldb/drizzle and neuraldb/kysely. */
const ORM_CHECK = `import { NeuralDB } from 'neuraldb';
import { drizzle, migrate } from 'neuraldb/drizzle';
import { NeuralDBDialect } from 'neuraldb/kysely';
import { eq, l2Distance, sql } from 'drizzle-orm';
import { bigint, integer, pgTable, serial, text, timestamp, vector } from 'drizzle-orm/pg-core';
import { Kysely, type ColumnType, type Generated } from 'kysely';

const authors = pgTable('authors', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
});
const posts = pgTable('posts', {
  id: serial('id').primaryKey(),
  authorId: integer('author_id').notNull().references(() => authors.id),
  views: bigint('views', { mode: 'bigint' }).notNull().default(sql\`0\`),
  embedding: vector('embedding', { dimensions: 3 }),
});
const raw = await NeuralDB.open('typed');
const db = drizzle(raw, { schema: { authors, posts } });
await migrate(db, { journal: { entries: [] }, migrations: {}, migrationsSchema: 'public' });
const [a] = await db.insert(authors).values({ name: 'Ada' }).returning();
const id: number = a.id;
const when: Date = a.joinedAt;
const rows = await db.select({ name: authors.name, views: posts.views, e: posts.embedding }).from(posts)
  .innerJoin(authors, eq(posts.authorId, authors.id)).orderBy(l2Distance(posts.embedding, [1, 0, 0]));
const views: bigint = rows[0].views;
const e: number[] | null = rows[0].e;
const n: number = await db.transaction(async (tx) => {
  await tx.transaction(async (inner) => { await inner.update(posts).set({ views: 1n }); });
  return (await tx.select().from(authors)).length;
}, { isolationLevel: 'serializable', retries: 2 });
const found = await db.query.authors.findMany({ columns: { name: true } });
const name: string = found[0].name;
const one: number = (await db.execute<{ one: number }>(sql\`SELECT 1 AS one\`)).rows[0].one;
await drizzle(await raw.connect()).select().from(authors);

interface DB {
  authors: { id: Generated<number>; name: string; joined_at: Generated<Date> };
  posts: { id: Generated<number>; author_id: number; views: ColumnType<bigint, bigint | undefined, bigint>; embedding: Float32Array | null };
}
const k = new Kysely<DB>({ dialect: new NeuralDBDialect({ database: raw }) });
const ka = await k.insertInto('authors').values({ name: 'Ada' }).returningAll().executeTakeFirstOrThrow();
const kid: number = ka.id;
const kj = await k.selectFrom('posts').innerJoin('authors', 'authors.id', 'posts.author_id').select(['authors.name', 'posts.views', 'posts.embedding']).execute();
const kv: bigint = kj[0].views;
const ke: Float32Array | null = kj[0].embedding;
await k.transaction().execute(async (trx) => trx.deleteFrom('posts').where('author_id', '=', kid).execute());
await k.destroy();
// @ts-expect-error: id is a number
const notString: string = a.id;
// @ts-expect-error: views is a bigint
const notNumber: number = rows[0].views;
// @ts-expect-error: Kysely's views is a bigint
const notNumber2: number = kj[0].views;
// @ts-expect-error: retries is a number
await db.transaction(async () => 1, { retries: 'many' });
// @ts-expect-error: drizzle() takes a NeuralDB or a Session
drizzle('postgres://localhost');
console.log(id, when, views, e, n, name, one, kid, kv, ke, notString, notNumber, notNumber2);
`;

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
  for (const need of ['pkg/index.js', 'pkg/index.d.ts', 'pkg/worker.js', 'pkg/wasm/neuraldb_bg.wasm', 'pkg/drizzle.js', 'pkg/drizzle.d.ts', 'pkg/kysely.js', 'pkg/kysely.d.ts']) {
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
import { drizzle } from 'neuraldb/drizzle';
import { NeuralDBDialect } from 'neuraldb/kysely';
import { sql } from 'drizzle-orm';
import { Kysely } from 'kysely';
const db = await NeuralDB.open('vite-app');
await db.exec('CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES (41)');
const r = await db.query('SELECT max(n) + 1 AS answer FROM t');
const viaDrizzle = await drizzle(db).execute(sql\`SELECT max(n) + 1 AS answer FROM t\`);
const kysely = new Kysely({ dialect: new NeuralDBDialect({ database: db }) });
const viaKysely = await kysely.selectFrom('t').select((eb) => eb(eb.fn.max('n'), '+', 1).as('answer')).executeTakeFirst();
await kysely.destroy();
document.title = 'answer:' + r.rows[0].answer + ' drizzle:' + viaDrizzle.rows[0].answer + ' kysely:' + viaKysely.answer;
`,
  );
  // The ORMs at the versions of our dev dependencies: from npm's cache when
  // it has them (npm ci caches their tarballs but not always the registry's
  // metadata, which a fresh machine fetches).
  const peers = ['drizzle-orm', 'kysely'].map((name) => `${name}@${JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version}`);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...peers], app);
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
  writeFileSync(join(app, 'check-orm.ts'), ORM_CHECK);
  // drizzle-orm's own declarations need skipLibCheck (they reference
  // optional drivers); the @ts-expect-error lines prove results are typed.
  run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022',
    '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom', 'check-orm.ts'], app);
  console.log('  tsc --strict: neuraldb/drizzle and neuraldb/kysely give typed results');
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
    if (title !== 'answer:42 drizzle:42 kysely:42') throw new Error(`page title ${title}`);
    console.log('ok   package: a Vite app built against the tarball opens a database and queries it, also through Drizzle and Kysely');
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
