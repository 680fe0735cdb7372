// End-to-end tests of the npm package in real browsers: headless Chromium
// (playwright-core) and Firefox ESR (puppeteer-core), each on a persistent
// profile so OPFS is real and durable. Run by `npm test`; alone:
//   node tests/e2e/run.mjs [chromium|firefox|all] [scenario-substring] [--repeat N]
// --repeat runs the selected scenarios N times, each round on a fresh
// profile and browser (to prove a scenario stable). Prints one line per
// scenario and a totals line; exits 1 on any failure.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium, firefox, startServer } from './browsers.mjs';

const args = process.argv.slice(2);
const repeatAt = args.indexOf('--repeat');
const repeat = repeatAt >= 0 ? Number(args.splice(repeatAt, 2)[1]) : 1;
if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat needs a positive integer');
const only = args[0] === 'all' ? undefined : args[0];
const filter = args[1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Page-side snippets. Each runs inside a page where window.ndb is the package.
const open = (page, name, slot = 'db', options = {}) =>
  page.eval(async ({ name, slot, options }) => {
    window[slot] = await window.ndb.NeuralDB.open(name, options);
  }, { name, slot, options });

/** Runs sql on window[slot]; returns rows (arrays) or { code } on error. */
const q = (page, sql, params = [], slot = 'db') =>
  page.eval(async ({ sql, params, slot }) => {
    try {
      const r = await window[slot].query(sql, params, { rowMode: 'array' });
      return { rows: r.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v))), rowCount: r.rowCount, command: r.command };
    } catch (e) {
      return { code: e.code, message: e.message, isNeuralDBError: e instanceof window.ndb.NeuralDBError };
    }
  }, { sql, params, slot });

const ok = async (page, sql, params, slot) => {
  const r = await q(page, sql, params, slot);
  assert.ok(!r.code, `${sql}: unexpected error ${r.code} ${r.message}`);
  return r;
};

// The PWA scenarios: the notes app at /notes.html (www/), its service
// worker, and the server's --e2e-hooks endpoints.
/** Polls fn(arg) in the page until truthy; evaluation errors while the page navigates count as not yet. */
async function until(page, fn, what, arg, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await page.eval(fn, arg)) return;
    } catch {
      // the page is reloading
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
const hook = async (root, path) => assert.equal((await fetch(`${root}__e2e/${path}`)).status, 200);
const servedVersion = async (root) => /const VERSION = '([0-9a-f]+)'/.exec(await (await fetch(`${root}sw.js`)).text())?.[1];
/** The notes app on database `db`, started and controlled by its service worker. */
async function notesPage(b, root, db) {
  const p = await b.newPage(`${root}notes.html?db=${db}`, { waitReady: false });
  await until(p, () => window.notesReady === true && navigator.serviceWorker.controller !== null, 'the notes app under its service worker');
  return p;
}
async function addNote(p, title, body, tags) {
  await p.eval(({ title, body, tags }) => {
    document.getElementById('title').value = title;
    document.getElementById('body').value = body;
    document.getElementById('tags').value = tags;
    document.getElementById('save').click();
  }, { title, body, tags });
  await until(p, (title) => [...document.querySelectorAll('#notes h3')].some((h) => h.textContent === title), `the note "${title}"`, title);
}
/** Unregisters the service worker and deletes its caches, so later scenarios on this origin run without it. */
async function forgetServiceWorker(p) {
  await p.eval(async () => {
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
    for (const k of await caches.keys()) await caches.delete(k);
  }).catch(() => {});
}

/**
 * A client of a fresh database in the throwaway PostgreSQL 15 cluster
 * (started by scripts/pg-compare.sh --start), through node-postgres.
 */
async function freshPostgres(name) {
  execFileSync('bash', ['scripts/pg-compare.sh', '--start'], { stdio: 'inherit' });
  const serverDir = new URL('../server/', import.meta.url);
  if (!existsSync(new URL('node_modules/pg/package.json', serverDir))) {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent'], { cwd: serverDir, stdio: 'inherit' });
  }
  const pg = createRequire(new URL('package.json', serverDir))('pg');
  const config = { host: '127.0.0.1', port: Number(process.env.PG_COMPARE_PORT ?? 5498), user: 'postgres' };
  const admin = new pg.Client({ ...config, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ ...config, database: name });
  await client.connect();
  await client.query("SET TimeZone = 'UTC'");
  /** Disconnects and drops the database. */
  client.dispose = async () => {
    await client.end().catch(() => {});
    const admin = new pg.Client({ ...config, database: 'postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`).finally(() => admin.end());
  };
  return client;
}

/**
 * README's recipe: applies a batch of feed changes to a server PostgreSQL
 * in one transaction, together with the cursor it reached.
 */
async function applyChanges(client, changes, cursor) {
  const ident = (name) => name.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
  await client.query('BEGIN');
  try {
    for (const c of changes) {
      const rel = ident(c.relation);
      if (c.op !== 'INSERT') {
        const cols = Object.keys(c.key).map((k) => `"${k.replace(/"/g, '""')}"`).join(', ');
        await client.query(
          `DELETE FROM ${rel} WHERE (${cols}) = (SELECT ${cols} FROM jsonb_populate_record(NULL::${rel}, $1))`,
          [c.key],
        );
      }
      if (c.row) await client.query(`INSERT INTO ${rel} SELECT * FROM jsonb_populate_record(NULL::${rel}, $1)`, [c.row]);
    }
    await client.query('UPDATE sync_state SET cursor = $1', [cursor]);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

const scenarios = [
  ['data survives reload and a browser restart', async (b, base) => {
    let p = await b.newPage(base);
    await open(p, 'persist');
    await ok(p, 'CREATE TABLE kv (k text PRIMARY KEY, v jsonb, n bigint, b bytea, at timestamptz)');
    // Typed parameters are built inside the page (drivers cannot pass
    // BigInt or typed arrays as evaluate() arguments).
    const typed = await p.eval(async () => {
      await window.db.query('INSERT INTO kv VALUES ($1, $2, $3, $4, $5)', ['a', { x: [1, 2] }, 9007199254740993n, new Uint8Array([1, 2, 255]), new Date('2026-01-02T03:04:05Z')]);
      const r = await window.db.query('SELECT * FROM kv');
      const row = r.rows[0];
      return {
        v: row.v, n: typeof row.n + ':' + String(row.n), b: row.b instanceof Uint8Array ? [...row.b] : null,
        at: row.at instanceof Date ? row.at.toISOString() : null, fields: r.fields.map((f) => `${f.name}:${f.dataTypeID}`),
      };
    });
    assert.deepEqual(typed, { v: { x: [1, 2] }, n: 'bigint:9007199254740993', b: [1, 2, 255], at: '2026-01-02T03:04:05.000Z', fields: ['k:25', 'v:3802', 'n:20', 'b:17', 'at:1184'] });
    await p.raw.reload();
    await p.raw.waitForFunction(() => window.ready === true);
    await open(p, 'persist');
    assert.deepEqual((await ok(p, 'SELECT k FROM kv')).rows, [['a']]);
    await b.restart();
    p = await b.newPage(base);
    await open(p, 'persist');
    assert.deepEqual((await ok(p, 'SELECT k, n FROM kv')).rows, [['a', 9007199254740993]]);
    await p.close();
  }],

  ['the wasm module: compiled by the page for its worker, or fetched by the worker when the page cannot, or by a worker the application brings', async (b, base) => {
    const answer = (p, slot) => p.eval(async (slot) => (await window[slot].query('SELECT 40 + 2 AS n')).rows[0].n, slot);
    // The page compiles the module and posts it to the worker it starts.
    const p = await b.newPage(base);
    await open(p, 'wasm-handover', 'db', { storage: 'memory' });
    assert.equal(await answer(p, 'db'), 42);
    const fetchedByPage = await p.eval(() =>
      performance.getEntriesByType('resource').some((e) => e.name.endsWith('/pkg/wasm/neuraldb_bg.wasm') && e.initiatorType === 'fetch'));
    assert.equal(fetchedByPage, true);
    await p.close();
    // Streaming compilation fails in the page: the worker fetches the module.
    const q2 = await b.newPage(base);
    await q2.eval(() => {
      WebAssembly.compileStreaming = () => Promise.reject(new TypeError('refused by the test'));
    });
    await open(q2, 'wasm-handover', 'db', { storage: 'memory' });
    assert.equal(await answer(q2, 'db'), 42);
    // The application's own worker gets no module from the page.
    await q2.eval(async () => {
      const worker = new Worker(new URL('/pkg/worker.js', location.href), { type: 'module' });
      window.own = await window.ndb.NeuralDB.open('wasm-handover', { storage: 'memory', worker });
    });
    assert.equal(await answer(q2, 'own'), 42);
    await q2.close();
  }],

  ['two tabs: REPEATABLE READ snapshot vs READ COMMITTED', async (b, base) => {
    const A = await b.newPage(base);
    const B = await b.newPage(base);
    await open(A, 'iso');
    await open(B, 'iso');
    await ok(A, 'CREATE TABLE t (id int)');
    await ok(A, 'BEGIN ISOLATION LEVEL REPEATABLE READ');
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM t')).rows, [[0]]);
    await ok(B, 'INSERT INTO t VALUES (1)');
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM t')).rows, [[0]], 'RR must not see the commit');
    await ok(A, 'COMMIT');
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM t')).rows, [[1]]);
    await ok(A, 'BEGIN ISOLATION LEVEL READ COMMITTED');
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM t')).rows, [[1]]);
    await ok(B, 'INSERT INTO t VALUES (2)');
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM t')).rows, [[2]], 'RC sees it at the next statement');
    await ok(A, 'COMMIT');
    await A.close();
    await B.close();
  }],

  ['db.stream: 200,000 rows in batches from a tab that is not the leader, and leaving the loop early closes the cursor', async (b, base) => {
    const L = await b.newPage(base);
    const F = await b.newPage(base);
    await open(L, 'stream'); // first to open: the leader
    await open(F, 'stream');
    await ok(L, 'CREATE TABLE big (id int, v int)');
    await ok(L, 'INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 200000) g');
    const got = await F.eval(async () => {
      const db = window.db;
      let n = 0;
      let sum = 0;
      let vsum = 0;
      for await (const row of db.stream('SELECT id, v FROM big WHERE id > $1', [0], { batchSize: 5000 })) {
        n++;
        sum += row.id;
        vsum += row.v;
      }
      // Array rows, and the default batch size.
      let arrays = 0;
      for await (const row of db.stream('SELECT id FROM big WHERE id <= 2500;', undefined, { rowMode: 'array' })) {
        if (Array.isArray(row)) arrays++;
      }
      let early = 0;
      for await (const row of db.stream('SELECT id FROM big', [], { batchSize: 100 })) {
        if (row.id !== ++early) throw new Error(`row ${early} is ${row.id}`);
        if (early === 250) break;
      }
      // The stream's transaction ended with the loop: nothing holds a lock
      // on the table.
      const locks = await db.query("SELECT count(*) AS n FROM pg_locks WHERE relation = 'big'::regclass");
      let error = null;
      try {
        for await (const row of db.stream('SELECT nope FROM big')) void row;
      } catch (e) {
        error = e.code;
      }
      return { n, sum, vsum, arrays, early, locks: Number(locks.rows[0].n), error };
    });
    let vsum = 0;
    for (let g = 1; g <= 200000; g++) vsum += g % 7;
    assert.deepEqual(got, { n: 200000, sum: (200000 * 200001) / 2, vsum, arrays: 2500, early: 250, locks: 0, error: '42703' });
    // A statement that needs the table exclusively runs at once: no cursor
    // is left open on it, in any tab.
    await ok(L, "SET lock_timeout = '5s'");
    await ok(L, 'TRUNCATE big');
    await L.close();
    await F.close();
  }],

  ['row lock wait does not stall the waiting tab', async (b, base) => {
    const A = await b.newPage(base);
    const B = await b.newPage(base);
    await open(A, 'locks');
    await open(B, 'locks');
    await ok(A, 'CREATE TABLE acct (id int PRIMARY KEY, bal int)');
    await ok(A, 'INSERT INTO acct VALUES (1, 100)');
    await ok(A, 'BEGIN');
    await ok(A, 'UPDATE acct SET bal = bal + 1 WHERE id = 1');
    // Tab B: one connection blocks on the row, the other keeps answering.
    await B.eval(async () => {
      window.blocker = await window.db.connect();
      window.blocked = window.blocker.query('UPDATE acct SET bal = bal * 2 WHERE id = 1').then((r) => ({ rowCount: r.rowCount }), (e) => ({ code: e.code }));
      window.settled = false;
      window.blocked.then(() => (window.settled = true));
    });
    await sleep(300);
    const t0 = Date.now();
    assert.deepEqual((await ok(B, 'SELECT bal FROM acct WHERE id = 1')).rows, [[100]]);
    assert.ok(Date.now() - t0 < 2000, 'the other connection answers while one waits');
    assert.equal(await B.eval(() => window.settled), false, 'the update must wait for A');
    // lock_timeout ends a wait, statement_timeout a running statement.
    const timeouts = await B.eval(async () => {
      const c = await window.db.connect();
      const code = (p) => p.then(() => 'no error', (e) => e.code);
      await c.query("SET lock_timeout = '150ms'");
      const t0 = Date.now();
      const lock = await code(c.query('DELETE FROM acct WHERE id = 1'));
      const lockMs = Date.now() - t0;
      await c.query("SET statement_timeout = '150ms'");
      const t1 = Date.now();
      const running = await code(c.query('SELECT count(*) FROM generate_series(1, 30000) a, generate_series(1, 30000) b WHERE a + b < 0'));
      const runMs = Date.now() - t1;
      await c.release();
      return { lock, lockMs, running, runMs };
    });
    assert.equal(timeouts.lock, '55P03', JSON.stringify(timeouts));
    assert.ok(timeouts.lockMs >= 140 && timeouts.lockMs < 3000, JSON.stringify(timeouts));
    assert.equal(timeouts.running, '57014', JSON.stringify(timeouts));
    assert.ok(timeouts.runMs < 5000, JSON.stringify(timeouts));
    await ok(A, 'COMMIT');
    assert.deepEqual(await B.eval(() => window.blocked), { rowCount: 1 });
    assert.deepEqual((await ok(B, 'SELECT bal FROM acct WHERE id = 1')).rows, [[202]]);
    await A.close();
    await B.close();
  }],

  ['leader tab closed mid-transaction: another tab takes over', async (b, base) => {
    const L = await b.newPage(base);
    await open(L, 'failover'); // first to open: the leader
    const F = await b.newPage(base);
    await open(F, 'failover');
    await ok(F, 'CREATE TABLE f (id int PRIMARY KEY, v text)');
    await ok(F, "INSERT INTO f VALUES (1, 'committed'), (2, 'row')");
    await ok(L, 'BEGIN');
    await ok(L, "INSERT INTO f VALUES (3, 'leader uncommitted')");
    await ok(L, "UPDATE f SET v = 'locked' WHERE id = 2");
    await ok(F, 'BEGIN');
    await ok(F, "INSERT INTO f VALUES (4, 'follower uncommitted')");
    // In flight when the leader goes: waits for L's row lock.
    await F.eval(() => {
      window.inflight = window.db.query("UPDATE f SET v = 'x' WHERE id = 2").then(() => ({ ok: true }), (e) => ({ code: e.code, retryable: e.retryable }));
    });
    await sleep(200);
    const t0 = Date.now();
    await L.close();
    const failed = await F.eval(() => window.inflight);
    assert.ok(failed.code?.startsWith('08'), `in-flight call must fail with class 08, got ${JSON.stringify(failed)}`);
    assert.equal(failed.retryable, true);
    assert.ok(Date.now() - t0 < 5000, 'the in-flight call fails promptly');
    const rows = (await ok(F, 'SELECT id, v FROM f ORDER BY id')).rows;
    assert.deepEqual(rows, [[1, 'committed'], [2, 'row']]);
    await ok(F, "INSERT INTO f VALUES (5, 'after failover')");
    assert.equal((await ok(F, 'SELECT count(*) FROM f')).rows[0][0], 3);
    await F.close();
  }],

  ['browser killed during committed inserts: a prefix survives', async (b, base) => {
    let p = await b.newPage(base);
    await open(p, 'crash');
    await ok(p, 'CREATE TABLE k (i int PRIMARY KEY)');
    await p.eval(() => {
      window.acked = 0;
      (async () => {
        for (let i = 1; ; i++) {
          await window.db.query('INSERT INTO k VALUES ($1)', [i]);
          window.acked = i;
        }
      })().catch(() => {});
    });
    let acked = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      acked = await p.eval(() => window.acked);
      await sleep(20);
    }
    await b.kill();
    p = await b.newPage(base);
    await open(p, 'crash');
    const rows = (await ok(p, 'SELECT i FROM k ORDER BY i')).rows.map((r) => r[0]);
    assert.ok(acked > 10, `the loop made progress (${acked})`);
    assert.ok(rows.length >= acked, `all ${acked} acknowledged commits survive (found ${rows.length})`);
    rows.forEach((v, i) => assert.equal(v, i + 1, 'survivors are a prefix'));
    console.log(`    acknowledged before the kill: >= ${acked}; present after restart: ${rows.length}`);
    await p.close();
  }],

  ['a closed tab: its transaction rolls back and its locks go within a second', async (b, base) => {
    const L = await b.newPage(base);
    await open(L, 'tabclose'); // leader
    const F = await b.newPage(base);
    await open(F, 'tabclose');
    await ok(L, 'CREATE TABLE r (id int PRIMARY KEY, v text)');
    await ok(L, "INSERT INTO r VALUES (1, 'start')");
    await ok(F, 'BEGIN');
    await ok(F, "UPDATE r SET v = 'from the closed tab' WHERE id = 1");
    await L.eval(() => {
      window.waiter = window.db.query("UPDATE r SET v = 'leader' WHERE id = 1").then((r) => ({ rowCount: r.rowCount, at: Date.now() }), (e) => ({ code: e.code }));
    });
    await sleep(200);
    const closedAt = Date.now();
    await F.close();
    const done = await L.eval(() => window.waiter);
    assert.equal(done.rowCount, 1, JSON.stringify(done));
    const waited = Date.now() - closedAt;
    assert.ok(waited < 2000, `locks released ${waited} ms after the tab closed`);
    assert.deepEqual((await ok(L, 'SELECT v FROM r')).rows, [['leader']]);
    console.log(`    row lock of the closed tab released after ${waited} ms`);
    await L.close();
  }],

  ['a corrupt database file is refused with XX001, never a hang', async (b, base) => {
    const p = await b.newPage(base);
    const r = await p.eval(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('neuraldb', { create: true });
      for (const [file, byte] of [['corrupt.ndb', 0xab], ['corrupt.ndb-wal', 0x5a]]) {
        const w = await (await dir.getFileHandle(file, { create: true })).createWritable();
        await w.write(new Uint8Array(3 * 8192).fill(byte));
        await w.close();
      }
      const t0 = Date.now();
      try {
        await window.ndb.NeuralDB.open('corrupt');
        return { opened: true };
      } catch (e) {
        return { code: e.code, message: e.message, ms: Date.now() - t0 };
      }
    });
    assert.equal(r.code, 'XX001', JSON.stringify(r));
    assert.ok(r.ms < 5000);
    // The tab's worker still serves other databases.
    await open(p, 'healthy');
    assert.deepEqual((await ok(p, 'SELECT 1 + 1')).rows, [[2]]);
    await p.close();
  }],

  ['quota exceeded: the commit fails with 53100 and the database stays usable', async (b, base) => {
    const p = await b.newPage(base);
    if (!p.setQuota) {
      await p.close();
      return 'skip'; // only Chromium lets a test lower an origin's quota
    }
    await p.setQuota(3 * 1024 * 1024);
    const r = await p.eval(async () => {
      const db = (window.db = await window.ndb.NeuralDB.open('quota'));
      await db.query('CREATE TABLE big (id serial, v text)');
      let committed = 0;
      for (let i = 0; i < 100; i++) {
        try {
          await db.query('INSERT INTO big (v) SELECT repeat(md5(g::text), 200) FROM generate_series(1, 20) g');
          committed += 20;
        } catch (e) {
          const n = (await db.query('SELECT count(*) AS n FROM big')).rows[0].n;
          return { code: e.code, committed, n: Number(n) };
        }
      }
      return { committed };
    });
    assert.equal(r.code, '53100', JSON.stringify(r));
    assert.equal(r.n, r.committed, 'every acknowledged insert is there, the failed one is not');
    await p.setQuota(1024 * 1024 * 1024);
    // With room again, writes succeed without reopening.
    await ok(p, "INSERT INTO big (v) VALUES ('fits again')");
    assert.equal((await ok(p, 'SELECT count(*) FROM big')).rows[0][0], r.committed + 1);
    await p.close();
  }],

  ['the demo console runs SQL and shows its session', async (b, base) => {
    const p = await b.newPage(base.replace(/e2e\/$/, '') + '?db=demo-e2e', { waitReady: false });
    await p.raw.waitForFunction(() => document.querySelector('#session')?.textContent.match(/session: \d+/));
    await p.eval(() => {
      document.getElementById('sql').value = "CREATE TABLE notes (n int); INSERT INTO notes VALUES (7); BEGIN; SELECT n * 6 AS answer FROM notes";
      document.getElementById('run').click();
    });
    await p.raw.waitForFunction(() => document.querySelector('#output td')?.textContent === '42');
    assert.equal(await p.eval(() => document.getElementById('txn').textContent), 'in transaction');
    // The side panel lists this session, idle in its transaction, and its locks.
    const pid = await p.eval(() => document.getElementById('session').textContent.match(/\d+/)[0]);
    await p.waitFor((pid) => [...document.querySelectorAll('#activity tr')]
      .some((tr) => tr.cells[0]?.textContent === pid && tr.cells[1]?.textContent === 'idle in transaction'), pid);
    await p.waitFor((pid) => [...document.querySelectorAll('#locks tr')]
      .some((tr) => tr.cells[0]?.textContent === pid && tr.cells[1]?.textContent === 'relation' && tr.cells[5]?.textContent === 'true'), pid);
    await p.close();
  }],

  ['vectors: Float32Array round trip, HNSW search across tabs, after reload and a browser kill', async (b, base) => {
    let A = await b.newPage(base);
    const B = await b.newPage(base);
    await open(A, 'vectors');
    await open(B, 'vectors');
    await ok(A, 'CREATE TABLE docs (id int PRIMARY KEY, e vector(3))');
    await ok(A, 'CREATE INDEX docs_e ON docs USING hnsw (e vector_l2_ops)');
    // 200 rows on a spiral, inserted with Float32Array parameters.
    const trip = await A.eval(async () => {
      const at = (i) => new Float32Array([Math.cos(i / 10), Math.sin(i / 10), i / 200]);
      await window.db.transaction(async (tx) => {
        for (let i = 0; i < 200; i++) await tx.query('INSERT INTO docs VALUES ($1, $2)', [i, at(i)]);
      });
      const r = await window.db.query('SELECT e, e <-> $1 AS d FROM docs WHERE id = 7', [at(7)]);
      const e = r.rows[0].e;
      return { isF32: e instanceof Float32Array, same: [...e].every((x, k) => x === at(7)[k]), d: r.rows[0].d, oid: r.fields[0].dataTypeID };
    });
    assert.equal(trip.isF32, true, JSON.stringify(trip));
    assert.equal(trip.same, true);
    assert.equal(trip.d, 0);
    // halfvec comes back as Float32Array (f16-rounded), bit(n) as a packed
    // Uint8Array, and a Uint8Array parameter works as a bit string.
    const hb = await A.eval(async () => {
      await window.db.query('CREATE TABLE hb (id int PRIMARY KEY, h halfvec(2), b bit(8))');
      await window.db.query('CREATE INDEX ON hb USING hnsw (b bit_hamming_ops)');
      await window.db.query('INSERT INTO hb VALUES (1, $1, $2), (2, $3, $4)', [
        new Float32Array([0.5, 1.1]), new Uint8Array([0b10100000]), new Float32Array([1, 2]), new Uint8Array([0b01011111]),
      ]);
      const r = await window.db.query('SELECT id, h, b, b <~> $1 AS d FROM hb ORDER BY b <~> $1 LIMIT 2', [new Uint8Array([0b10000000])]);
      return r.rows.map((row) => ({ id: row.id, h: row.h instanceof Float32Array ? [...row.h] : null, b: row.b instanceof Uint8Array ? [...row.b] : null, d: row.d }));
    });
    assert.deepEqual(hb, [
      { id: 1, h: [0.5, 1.099609375], b: [0b10100000], d: 1 },
      { id: 2, h: [1, 2], b: [0b01011111], d: 7 },
    ]);
    // k-NN through the index; each tab's answer is computed from its snapshot.
    const knn = async (page, i, slot) => page.eval(async ({ i, slot }) => {
      const q = new Float32Array([Math.cos(i / 10), Math.sin(i / 10), i / 200]);
      const r = await window[slot ?? 'db'].query('SELECT id FROM docs ORDER BY e <-> $1 LIMIT 3', [q], { rowMode: 'array' });
      return r.rows.map((row) => row[0]);
    }, { i, slot });
    const plan = (await ok(B, "EXPLAIN SELECT id FROM docs ORDER BY e <-> '[1,0,0]' LIMIT 3")).rows.flat().join('\n');
    assert.match(plan, /Index Scan using docs_e/);
    // Around q = the spiral at 50.3: 50 (0.03 away), 51 (0.07), 49 (0.13).
    assert.deepEqual(await knn(B, 50.3), [50, 51, 49]);
    const put = (page, id, dz) => page.eval(async ({ id, dz }) => {
      const v = new Float32Array([Math.cos(5.03), Math.sin(5.03), 50.3 / 200 + dz]);
      await window.db.query('INSERT INTO docs VALUES ($1, $2)', [id, v]);
    }, { id, dz });
    // Tab A inserts q itself and keeps its transaction open; tab B
    // searches (not blocked) without seeing it, and inserts its own.
    await ok(A, 'BEGIN');
    await put(A, 1000, 0);
    const t0 = Date.now();
    assert.deepEqual(await knn(B, 50.3), [50, 51, 49]);
    assert.ok(Date.now() - t0 < 2000, 'a search does not wait for another tab');
    await put(B, 2000, 0.01);
    assert.deepEqual(await knn(B, 50.3), [2000, 50, 51]);
    // A's own snapshot sees its uncommitted row and B's committed one.
    assert.deepEqual(await knn(A, 50.3), [1000, 2000, 50]);
    // A REPEATABLE READ snapshot in B keeps its view while A commits.
    await B.eval(async () => {
      window.rr = await window.db.connect();
      await window.rr.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    });
    assert.deepEqual(await knn(B, 50.3, 'rr'), [2000, 50, 51]);
    await ok(A, 'COMMIT');
    assert.deepEqual(await knn(B, 50.3, 'rr'), [2000, 50, 51], 'RR does not see the later commit');
    assert.deepEqual(await knn(B, 50.3), [1000, 2000, 50], 'RC sees it');
    await B.eval(async () => { await window.rr.query('COMMIT'); await window.rr.release(); });
    // A rolled-back insert and a committed delete are never returned.
    await ok(A, 'BEGIN');
    await put(A, 3000, 0);
    await ok(A, 'ROLLBACK');
    await ok(A, 'DELETE FROM docs WHERE id = 1000');
    assert.deepEqual(await knn(B, 50.3), [2000, 50, 51]);
    await B.close();
    const before = await knn(A, 123.4);
    assert.deepEqual(before, [123, 124, 122]);
    await A.raw.reload();
    await A.raw.waitForFunction(() => window.ready === true);
    await open(A, 'vectors');
    assert.deepEqual(await knn(A, 123.4), before, 'same answer after reload');
    await b.kill();
    A = await b.newPage(base);
    await open(A, 'vectors');
    assert.deepEqual(await knn(A, 123.4), before, 'same answer after a browser kill');
    assert.deepEqual(await knn(A, 50.3), [2000, 50, 51]);
    assert.match((await ok(A, "EXPLAIN SELECT id FROM docs ORDER BY e <-> '[1,0,0]' LIMIT 3")).rows.flat().join('\n'), /Index Scan using docs_e/);
    assert.equal((await ok(A, 'SELECT count(*) FROM docs')).rows[0][0], 201);
    await A.close();
  }],

  ['CREATE INDEX reports progress to onProgress, from the leader tab and from another tab', async (b, base) => {
    const A = await b.newPage(base);
    await open(A, 'progress'); // the leader
    const B = await b.newPage(base);
    await open(B, 'progress');
    await ok(A, 'CREATE TABLE big (id int PRIMARY KEY, e vector(8))');
    await ok(A, 'INSERT INTO big SELECT g, ARRAY[sin(g), cos(g), sin(2 * g), cos(2 * g), sin(3 * g), cos(3 * g), sin(5 * g), cos(7 * g)]::vector FROM generate_series(1, 5000) g');
    const build = (page, name) => page.eval(async (name) => {
      const events = [];
      const r = await window.db.query(`CREATE INDEX ${name} ON big USING hnsw (e vector_l2_ops)`, [], { onProgress: (p) => events.push(p) });
      return { command: r.command, events };
    }, name);
    for (const [page, name] of [[B, 'big_remote'], [A, 'big_local']]) {
      const { command, events } = await build(page, name);
      assert.equal(command, 'CREATE');
      assert.ok(events.length >= 2, `${name}: ${events.length} progress events`);
      assert.deepEqual(events[0], { command: 'CREATE INDEX', index: name, phase: 'building index: loading tuples', tuplesDone: 0, tuplesTotal: 5000 });
      assert.equal(events.at(-1).tuplesDone, 5000);
      for (let i = 1; i < events.length; i++) assert.ok(events[i].tuplesDone >= events[i - 1].tuplesDone);
    }
    // No callback: nothing is routed, and a statement without progress works.
    assert.deepEqual((await ok(B, 'SELECT count(*) FROM big')).rows, [[5000]]);
    await A.close();
    await B.close();
  }],

  ['a CREATE INDEX in one tab shows in pg_stat_progress_create_index in another, and an AbortSignal cancels it', async (b, base) => {
    const A = await b.newPage(base);
    await open(A, 'slices'); // the leader
    const B = await b.newPage(base);
    await open(B, 'slices');
    await ok(A, 'CREATE TABLE big (id int PRIMARY KEY, e vector(16))');
    await ok(A, `INSERT INTO big SELECT g, ARRAY[${Array.from({ length: 16 }, (_, i) => `sin(${i + 1} * g)`).join(', ')}]::vector FROM generate_series(1, 20000) g`);
    // Tab B (not the leader) builds; the leader runs it in slices.
    await B.eval(() => {
      window.abort = new AbortController();
      window.build = window.db
        .query('CREATE INDEX big_e ON big USING hnsw (e vector_l2_ops)', [], { signal: window.abort.signal })
        .then((r) => ({ command: r.command }), (e) => ({ code: e.code, message: e.message }));
    });
    const deadline = Date.now() + 60_000;
    let row;
    while (!row) {
      row = (await ok(A, 'SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index')).rows[0];
      assert.ok(Date.now() < deadline, 'the build never showed in pg_stat_progress_create_index');
    }
    assert.equal(row[0], 'building index: loading tuples');
    assert.equal(row[2], 20000);
    assert.ok(row[1] < 20000);
    // Readers go on while it builds; a writer waits for its Share lock
    // (pg_locks shows the request not granted) and goes on once it ends.
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM big')).rows, [[20000]]);
    await A.eval(() => {
      window.writer = window.db.connect().then((c) => c.query('INSERT INTO big VALUES (-1, NULL)').then(() => 'ok', (e) => e.code));
    });
    const waitDeadline = Date.now() + 30_000;
    while ((await ok(A, "SELECT count(*) FROM pg_locks WHERE relation = 'big'::regclass AND NOT granted")).rows[0][0] !== 1) {
      assert.ok(Date.now() < waitDeadline, 'the INSERT never waited for the build');
    }
    await B.eval(() => window.abort.abort());
    const cancelled = await B.eval(() => window.build);
    assert.deepEqual(cancelled, { code: '57014', message: 'canceling statement due to user request' });
    assert.equal(await A.eval(() => window.writer), 'ok');
    assert.deepEqual((await ok(A, "SELECT count(*) FROM pg_indexes WHERE indexname = 'big_e'")).rows, [[0]]);
    assert.deepEqual((await ok(A, 'SELECT count(*) FROM pg_stat_progress_create_index')).rows, [[0]]);
    // Aborted before it starts, a statement never runs.
    const early = await B.eval(() => {
      const c = new AbortController();
      c.abort();
      return window.db.query('CREATE TABLE never (id int)', [], { signal: c.signal }).then(() => 'ran', (e) => e.code);
    });
    assert.equal(early, '57014');
    assert.deepEqual((await ok(A, "SELECT count(*) FROM pg_tables WHERE tablename = 'never'")).rows, [[0]]);
    // Left alone, the build finishes and the index is used.
    assert.equal((await ok(B, 'CREATE INDEX big_e ON big USING hnsw (e vector_l2_ops)')).command, 'CREATE');
    assert.match((await ok(A, `EXPLAIN SELECT id FROM big ORDER BY e <-> '[${Array(16).fill(0.5).join(',')}]' LIMIT 3`)).rows.flat().join('\n'), /Index Scan using big_e/);
    await ok(A, 'INSERT INTO big VALUES (0, NULL)');
    await A.close();
    await B.close();
  }],

  ['the demo vector panel: load points, click to search through the index, a second tab sees them', async (b, base) => {
    const url = base.replace(/e2e\/$/, '') + '?db=demo-vectors';
    const A = await b.newPage(url, { waitReady: false });
    await A.raw.waitForFunction(() => document.getElementById('vcount')?.textContent === '0 points');
    await A.eval(() => document.getElementById('vload').click());
    await A.waitFor(() => document.getElementById('vcount').textContent === '2000 points');
    const B = await b.newPage(url, { waitReady: false });
    await B.waitFor(() => document.getElementById('vcount')?.textContent === '2000 points');
    // A click in the middle of the canvas: 10 neighbours, through the index.
    await A.eval(() => {
      const c = document.getElementById('points');
      const r = c.getBoundingClientRect();
      c.dispatchEvent(new MouseEvent('click', { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true }));
    });
    await A.waitFor(() => document.querySelectorAll('#vhits li').length === 10);
    const shown = await A.eval(() => ({ time: document.getElementById('vtime').textContent, plan: document.getElementById('vplan').textContent }));
    assert.match(shown.time, /^10 nearest in [0-9.]+ ms$/);
    assert.match(shown.plan, /Index Scan using demo_points_e on demo_points/);
    // Tab B adds points; tab A's panel shows them at its next redraw.
    await B.eval(() => document.getElementById('vadd').click());
    await A.waitFor(() => document.getElementById('vcount').textContent === '2100 points');
    await A.close();
    await B.close();
  }],

  ['four tabs: SERIALIZABLE transfers with retries; temporary tables per tab; a closed tab frees its advisory lock and its temporary tables; a prepared transaction is committed from another tab after a reload', async (b, base) => {
    const tabs = [];
    for (let i = 0; i < 4; i++) {
      const p = await b.newPage(base);
      await open(p, 'ssi4');
      tabs.push(p);
    }
    const [A, B, C, D] = tabs; // A opened first: the leader
    await ok(A, 'CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)');
    await ok(A, 'INSERT INTO acct SELECT g, 100 FROM generate_series(1, 8) g');
    // Each tab: 30 transfers that check the balance before moving money
    // (read, then write: what SSI must keep serializable), retried by
    // db.transaction() on 40001/40P01.
    const results = await Promise.all(tabs.map((p, t) => p.eval(async ({ t }) => {
      let seed = t * 7919 + 1;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      let attempts = 0;
      let done = 0;
      for (let k = 0; k < 30; k++) {
        const from = 1 + Math.floor(rnd() * 8);
        let to = 1 + Math.floor(rnd() * 7);
        if (to >= from) to++;
        const amount = 1 + Math.floor(rnd() * 40);
        await window.db.transaction(async (tx) => {
          attempts++;
          const r = await tx.query('SELECT bal FROM acct WHERE id = $1', [from]);
          if (r.rows[0].bal < amount) return;
          await tx.query('UPDATE acct SET bal = bal - $1 WHERE id = $2', [amount, from]);
          await tx.query('UPDATE acct SET bal = bal + $1 WHERE id = $2', [amount, to]);
        }, { isolation: 'serializable', retries: 100 });
        done++;
      }
      return { attempts, done };
    }, { t })));
    for (const r of results) assert.equal(r.done, 30);
    const attempts = results.reduce((n, r) => n + r.attempts, 0);
    console.log(`    120 serializable transfers in 4 tabs: ${attempts - 120} retried`);
    assert.deepEqual((await ok(D, 'SELECT sum(bal), min(bal) >= 0 FROM acct')).rows, [[800, true]]);
    // A temporary table is the tab's own: the others do not see it (and
    // may have theirs by the same name).
    await ok(B, 'CREATE TEMP TABLE scratch (v text)');
    await ok(B, "INSERT INTO scratch VALUES ('b')");
    assert.equal((await q(A, 'SELECT * FROM scratch')).code, '42P01');
    await ok(D, 'CREATE TEMP TABLE scratch (v int)');
    assert.deepEqual((await ok(B, 'SELECT v FROM scratch')).rows, [['b']]);
    assert.deepEqual((await ok(D, 'SELECT count(*) FROM scratch')).rows, [[0]]);
    await ok(D, 'DISCARD TEMP');
    // An advisory lock held by a tab goes when the tab closes, and so do
    // its temporary tables.
    assert.deepEqual((await ok(B, 'SELECT pg_advisory_lock(77)')).rows.length, 1);
    assert.deepEqual((await ok(A, 'SELECT pg_try_advisory_lock(77)')).rows, [[false]]);
    await B.close();
    const freeBy = Date.now() + 10_000;
    while (!(await ok(A, 'SELECT pg_try_advisory_lock(77)')).rows[0][0]) {
      assert.ok(Date.now() < freeBy, 'the closed tab kept its advisory lock');
      await sleep(20);
    }
    assert.deepEqual((await ok(A, "SELECT count(*) FROM pg_class WHERE relpersistence = 't'")).rows, [[0]]);
    // A transaction prepared in tab C survives C's reload and is
    // committed from tab D; until then its row stays locked and its
    // change invisible.
    await ok(C, 'BEGIN');
    await ok(C, 'UPDATE acct SET bal = bal + 1000 WHERE id = 1');
    assert.equal((await ok(C, "PREPARE TRANSACTION 'from-tab-c'")).command, 'PREPARE'); // node-postgres' first word of the tag
    await C.raw.reload();
    await C.raw.waitForFunction(() => window.ready === true);
    await open(C, 'ssi4');
    assert.deepEqual((await ok(C, 'SELECT gid FROM pg_prepared_xacts')).rows, [['from-tab-c']]);
    assert.equal((await q(D, 'SELECT bal FROM acct WHERE id = 1 FOR UPDATE NOWAIT')).code, '55P03');
    assert.deepEqual((await ok(D, 'SELECT sum(bal) FROM acct')).rows, [[800]]);
    assert.equal((await ok(D, "COMMIT PREPARED 'from-tab-c'")).command, 'COMMIT');
    assert.deepEqual((await ok(C, 'SELECT sum(bal) FROM acct')).rows, [[1800]]);
    assert.deepEqual((await ok(C, 'SELECT count(*) FROM pg_prepared_xacts')).rows, [[0]]);
    // WARNINGs reach onNotice (pg_advisory_unlock of a lock not held).
    const notices = await D.eval(async () => {
      const seen = [];
      const r = await window.db.query('SELECT pg_advisory_unlock(12345) AS u', [], { onNotice: (n) => seen.push(`${n.severity} ${n.code} ${n.message}`) });
      return { seen, u: r.rows[0].u };
    });
    assert.deepEqual(notices, { seen: ["WARNING 01000 you don't own a lock of type ExclusiveLock"], u: false });
    for (const p of [A, C, D]) await p.close();
  }],

  ['ORM: a Drizzle app on neuraldb/drizzle: drizzle-kit migration, typed inserts, joins, updates, nearest neighbours, transactions that commit and roll back, relational queries with `with:`', async (b, base) => {
    const p = await b.newPage(`${base}orm.html`);
    // drizzle-kit's migration (tests/e2e/pages/orm/drizzle: an enum, a
    // foreign key added by ALTER TABLE, a vector column and its HNSW
    // index), applied as generated, with drizzle's journal in its default
    // schema `drizzle` (CREATE SCHEMA IF NOT EXISTS, in migrate()'s
    // transaction).
    const migrated = await p.eval(async () => {
      const { drizzle, migrate } = window.ndbDrizzle;
      const raw = (window.raw = await window.ndb.NeuralDB.open('orm-drizzle'));
      const db = (window.db = drizzle(raw, { schema: window.schema }));
      const text = async (path) => (await fetch(`/e2e/orm/${path}`)).text();
      const journal = JSON.parse(await text('drizzle/meta/_journal.json'));
      const applied = 'drizzle';
      const schema = 'drizzle';
      await migrate(db, { journal, migrations: { '0000_init': await text(`${applied}/0000_init.sql`) } });
      // Applied once: a second run (another tab, a reload) changes nothing.
      await migrate(db, { journal, migrations: { '0000_init': await text(`${applied}/0000_init.sql`) } });
      const recorded = await raw.query(`SELECT hash, created_at FROM ${schema}.__drizzle_migrations`);
      const tables = await raw.query("SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname IN ('drizzle', 'public') ORDER BY 1", [], { rowMode: 'array' });
      return window.plain({ applied, schema, recorded: recorded.rows, when: journal.entries[0].when, tables: tables.rows.flat() });
    });
    assert.deepEqual(migrated.tables, ['drizzle.__drizzle_migrations', 'public.authors', 'public.posts']);
    const file = new URL(`pages/orm/${migrated.applied}/0000_init.sql`, import.meta.url);
    assert.deepEqual(migrated.recorded, [{ hash: createHash('sha256').update(readFileSync(file)).digest('hex'), created_at: { bigint: String(migrated.when) } }],
      'recorded once, with the hash drizzle-orm\'s migrators compute');

    // Typed inserts: serial ids, defaults, enum, bigint, jsonb, date, vector.
    const inserted = await p.eval(async () => {
      const { authors, posts } = window.schema;
      const [ada, alan] = await window.db.insert(authors).values([
        { name: 'Ada', email: 'ada@example.com' },
        { name: 'Alan', email: 'alan@example.com', joinedAt: new Date('2026-01-02T03:04:05.678Z') },
      ]).returning();
      const rows = await window.db.insert(posts).values([
        { authorId: ada.id, title: 'Notes on the engine', status: 'published', tags: ['math', 'engines'], views: 9007199254740993n, publishedOn: '1843-10-01', embedding: [1, 0, 0] },
        { authorId: ada.id, title: 'Bernoulli numbers', tags: ['math'], embedding: [0.9, 0.1, 0] },
        { authorId: alan.id, title: 'Computable numbers', status: 'archived', tags: [], publishedOn: '1936-11-12', embedding: [0, 1, 0] },
        { authorId: alan.id, title: 'Morphogenesis', embedding: [0, 0.2, 0.9] },
      ]).returning();
      let badStatus;
      try {
        await window.db.insert(posts).values({ authorId: ada.id, title: 'x', status: 'deleted' });
      } catch (e) {
        badStatus = `${e.cause?.code} ${e.cause?.message}`;
      }
      return window.plain({ ada, alan, rows, badStatus });
    });
    assert.equal(inserted.badStatus, '22P02 invalid input value for enum post_status: "deleted"');
    assert.equal(inserted.ada.id, 1);
    assert.ok(inserted.ada.joinedAt.date, 'timestamptz DEFAULT now() arrives as a Date');
    assert.deepEqual(inserted.alan.joinedAt, { date: '2026-01-02T03:04:05.678Z' });
    assert.deepEqual(inserted.rows[0], {
      id: 1, authorId: 1, title: 'Notes on the engine', status: 'published', tags: ['math', 'engines'], views: { bigint: '9007199254740993' },
      publishedOn: '1843-10-01', embedding: [1, 0, 0],
    });
    assert.deepEqual(inserted.rows.map((r) => r.status), ['published', 'draft', 'archived', 'draft'], 'the enum default and labels');
    assert.deepEqual(inserted.rows.map((r) => [r.id, r.views, r.embedding]), [
      [1, { bigint: '9007199254740993' }, [1, 0, 0]], [2, { bigint: '0' }, [0.9, 0.1, 0]], [3, { bigint: '0' }, [0, 1, 0]], [4, { bigint: '0' }, [0, 0.2, 0.9]],
    ], 'vectors come back as drizzle\'s number[] with pgvector\'s shortest float4 digits');

    // Joins, filters, updates, counts, the relational query API without
    // `with`, and a nearest-neighbour query through the HNSW index.
    const queried = await p.eval(async () => {
      const { authors, posts } = window.schema;
      const { and, asc, count, desc, eq, gt, l2Distance, sql } = window.drizzleOrm;
      const db = window.db;
      const joined = await db.select({ author: authors.name, title: posts.title, views: posts.views }).from(posts)
        .innerJoin(authors, eq(posts.authorId, authors.id)).where(gt(posts.views, 0n)).orderBy(asc(posts.id));
      const perAuthor = await db.select({ name: authors.name, n: count(posts.id) }).from(authors)
        .leftJoin(posts, eq(posts.authorId, authors.id)).groupBy(authors.name).orderBy(desc(authors.name));
      const updated = await db.update(posts).set({ views: sql`${posts.views} + 10`, tags: ['math', 'analysis'] })
        .where(and(eq(posts.authorId, 1), eq(posts.title, 'Bernoulli numbers'))).returning({ id: posts.id, views: posts.views, tags: posts.tags });
      const found = await db.query.posts.findFirst({ where: eq(posts.id, 3), columns: { title: true, publishedOn: true } });
      // Enums compare and sort in declaration order (draft < published < archived).
      const byStatus = (await db.select({ id: posts.id, status: posts.status }).from(posts)
        .where(gt(posts.status, 'draft')).orderBy(desc(posts.status), asc(posts.id))).map((r) => `${r.id}:${r.status}`);
      const near = db.select({ id: posts.id, title: posts.title, distance: l2Distance(posts.embedding, [0.1, 0.95, 0]) }).from(posts)
        .orderBy(l2Distance(posts.embedding, [0.1, 0.95, 0])).limit(2);
      const { sql: text, params } = near.toSQL();
      const plan = (await window.raw.query(`EXPLAIN ${text}`, params, { rowMode: 'array' })).rows.flat().join('\n');
      return window.plain({ joined, perAuthor, updated, found, byStatus, near: await near, plan, total: await db.$count(posts) });
    });
    assert.deepEqual(queried.joined, [{ author: 'Ada', title: 'Notes on the engine', views: { bigint: '9007199254740993' } }]);
    assert.deepEqual(queried.perAuthor, [{ name: 'Alan', n: 2 }, { name: 'Ada', n: 2 }]);
    assert.deepEqual(queried.updated, [{ id: 2, views: { bigint: '10' }, tags: ['math', 'analysis'] }]);
    assert.deepEqual(queried.found, { title: 'Computable numbers', publishedOn: '1936-11-12' });
    assert.deepEqual(queried.byStatus, ['3:archived', '1:published']);
    assert.deepEqual(queried.near.map((r) => r.id), [3, 2]);
    assert.ok(Math.abs(queried.near[0].distance - Math.hypot(0.1, 0.05)) < 1e-6, JSON.stringify(queried.near));
    assert.match(queried.plan, /Index Scan using posts_embedding_idx/);
    assert.equal(queried.total, 4);

    // Relational queries with `with:` (drizzle's LEFT JOIN LATERAL
    // subqueries building json with json_agg/json_build_array): a
    // one-to-many, a many-to-one, and a one-to-many nesting a many-to-one.
    const related = await p.eval(async () => {
      const db = window.db;
      const withPosts = await db.query.authors.findMany({
        columns: { id: true, name: true },
        orderBy: (a, { asc }) => [asc(a.id)],
        with: { posts: { columns: { id: true, title: true, status: true, tags: true, publishedOn: true, embedding: true }, orderBy: (p, { desc }) => [desc(p.id)] } },
      });
      const withAuthor = await db.query.posts.findMany({
        columns: { id: true, title: true },
        where: (p, { lt }) => lt(p.id, 4),
        orderBy: (p, { asc }) => [asc(p.id)],
        with: { author: { columns: { name: true, joinedAt: true } } },
      });
      const nested = await db.query.authors.findFirst({
        columns: { name: true },
        where: (a, { eq }) => eq(a.name, 'Alan'),
        with: { posts: { columns: { title: true }, limit: 1, orderBy: (p, { asc }) => [asc(p.id)], with: { author: { columns: { email: true } } } } },
      });
      return window.plain({ withPosts, withAuthor, nested });
    });
    assert.deepEqual(related.withPosts, [
      { id: 1, name: 'Ada', posts: [
        { id: 2, title: 'Bernoulli numbers', status: 'draft', tags: ['math', 'analysis'], publishedOn: null, embedding: [0.9, 0.1, 0] },
        { id: 1, title: 'Notes on the engine', status: 'published', tags: ['math', 'engines'], publishedOn: '1843-10-01', embedding: [1, 0, 0] },
      ] },
      { id: 2, name: 'Alan', posts: [
        { id: 4, title: 'Morphogenesis', status: 'draft', tags: null, publishedOn: null, embedding: [0, 0.2, 0.9] },
        { id: 3, title: 'Computable numbers', status: 'archived', tags: [], publishedOn: '1936-11-12', embedding: [0, 1, 0] },
      ] },
    ]);
    assert.deepEqual(related.withAuthor.map((r) => [r.id, r.title, r.author.name]), [
      [1, 'Notes on the engine', 'Ada'], [2, 'Bernoulli numbers', 'Ada'], [3, 'Computable numbers', 'Alan'],
    ]);
    assert.deepEqual(related.withAuthor[2].author.joinedAt, { date: '2026-01-02T03:04:05.678Z' }, 'a timestamptz inside json comes back as a Date');
    assert.ok(related.withAuthor[0].author.joinedAt.date, 'DEFAULT now() inside json, as a Date');
    assert.deepEqual(related.nested, { name: 'Alan', posts: [{ title: 'Computable numbers', author: { email: 'alan@example.com' } }] });

    // Transactions on a dedicated session: one commits (its nested
    // savepoint rolled back), one rolls back on a thrown error, one on
    // tx.rollback(); a foreign key violation and ON DELETE CASCADE.
    const tx = await p.eval(async () => {
      const { authors, posts } = window.schema;
      const { eq, sql } = window.drizzleOrm;
      const db = window.db;
      const titles = async () => (await db.select({ t: posts.title }).from(posts).orderBy(posts.id)).map((r) => r.t);
      const committed = await db.transaction(async (tx) => {
        const [grace] = await tx.insert(authors).values({ name: 'Grace', email: 'grace@example.com' }).returning({ id: authors.id });
        await tx.insert(posts).values({ authorId: grace.id, title: 'Compilers', embedding: [0.5, 0.5, 0.5] });
        const seenOutside = await db.$count(posts); // the instance's own session: not yet committed
        const pid = (await tx.execute(sql`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
        let nested;
        try {
          await tx.transaction(async (inner) => {
            await inner.update(posts).set({ title: 'renamed' });
            throw new Error('undo the rename');
          });
        } catch (e) {
          nested = e.message;
        }
        return { seenOutside, pid, nested, seenInside: await tx.$count(posts) };
      }, { isolationLevel: 'repeatable read' });
      const afterCommit = await titles();
      let thrown;
      try {
        await db.transaction(async (tx) => {
          await tx.insert(posts).values({ authorId: 1, title: 'never published' });
          await tx.delete(posts).where(eq(posts.title, 'Morphogenesis'));
          throw new Error('the app changed its mind');
        });
      } catch (e) {
        thrown = e.message;
      }
      let rolledBack;
      try {
        await db.transaction(async (tx) => {
          await tx.update(posts).set({ views: 0n });
          tx.rollback();
        });
      } catch (e) {
        rolledBack = e.constructor.name;
      }
      const afterRollback = await titles();
      const views = (await db.select({ v: posts.views }).from(posts).where(eq(posts.id, 1)))[0].v;
      let fk;
      try {
        await db.insert(posts).values({ authorId: 999, title: 'orphan' });
      } catch (e) {
        fk = { drizzle: e.constructor.name, code: e.cause?.code, constraint: /posts_author_id_authors_id_fk/.test(e.cause?.message) };
      }
      await db.delete(authors).where(eq(authors.name, 'Alan'));
      return window.plain({ committed, outsidePid: window.raw.processID, afterCommit, thrown, rolledBack, afterRollback, views, fk, afterCascade: await titles() });
    });
    assert.equal(tx.committed.seenOutside, 4, 'another session does not see the open transaction');
    assert.equal(tx.committed.seenInside, 5);
    assert.notEqual(tx.committed.pid, tx.outsidePid, 'the transaction runs on its own session');
    assert.equal(tx.committed.nested, 'undo the rename');
    const five = ['Notes on the engine', 'Bernoulli numbers', 'Computable numbers', 'Morphogenesis', 'Compilers'];
    assert.deepEqual(tx.afterCommit, five);
    assert.equal(tx.thrown, 'the app changed its mind');
    assert.equal(tx.rolledBack, 'TransactionRollbackError');
    assert.deepEqual(tx.afterRollback, five);
    assert.deepEqual(tx.views, { bigint: '9007199254740993' });
    assert.deepEqual(tx.fk, { drizzle: 'DrizzleQueryError', code: '23503', constraint: true });
    assert.deepEqual(tx.afterCascade, ['Notes on the engine', 'Bernoulli numbers', 'Compilers']);

    // After a reload the app migrates again (nothing to do) and finds its rows.
    await p.raw.reload();
    await p.raw.waitForFunction(() => window.ready === true);
    const reopened = await p.eval(async ({ applied, schema }) => {
      const { drizzle, migrate } = window.ndbDrizzle;
      const raw = await window.ndb.NeuralDB.open('orm-drizzle');
      const db = drizzle(raw, { schema: window.schema });
      const text = async (path) => (await fetch(`/e2e/orm/${path}`)).text();
      await migrate(db, { journal: JSON.parse(await text('drizzle/meta/_journal.json')), migrations: { '0000_init': await text(`${applied}/0000_init.sql`) }, migrationsSchema: schema });
      const authors = await db.query.authors.findMany({ columns: { name: true }, orderBy: (a, { asc }) => [asc(a.id)] });
      const n = (await raw.query(`SELECT count(*) AS n FROM ${schema}.__drizzle_migrations`)).rows[0].n;
      return { authors: authors.map((a) => a.name), migrations: Number(n) };
    }, migrated);
    assert.deepEqual(reopened, { authors: ['Ada', 'Grace'], migrations: 1 });
    await p.close();
  }],

  ['ORM: the same app on Kysely with neuraldb/kysely: schema by Kysely\'s Migrator (its tables in a schema of their own, found by introspection), typed inserts, joins, updates, nearest neighbours, transactions that commit and roll back', async (b, base) => {
    const p = await b.newPage(`${base}orm.html`);
    // The schema through Kysely's Migrator: it introspects the database
    // (db.introspection.getTables()), keeps its journal and lock tables
    // in schema "kysely" (CREATE SCHEMA), takes its lock and runs the
    // migration in one transaction (the foreign key inline, as Kysely
    // writes it). A second run finds nothing to do.
    const created = await p.eval(async () => {
      const { Kysely, Migrator, sql } = window.kysely;
      const raw = (window.raw = await window.ndb.NeuralDB.open('orm-kysely'));
      const db = (window.db = new Kysely({ dialect: new window.ndbKysely.NeuralDBDialect({ database: raw }) }));
      const init = async (trx) => {
        await trx.schema.createType('post_status').asEnum(['draft', 'published', 'archived']).execute();
        await trx.schema.createTable('authors')
          .addColumn('id', 'serial', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('email', 'varchar(120)', (c) => c.notNull().unique())
          .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
          .execute();
        await trx.schema.createTable('posts')
          .addColumn('id', 'serial', (c) => c.primaryKey())
          .addColumn('author_id', 'integer', (c) => c.notNull().references('authors.id').onDelete('cascade'))
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('status', sql`post_status`, (c) => c.notNull().defaultTo('draft'))
          .addColumn('tags', 'jsonb')
          .addColumn('views', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('published_on', 'date')
          .addColumn('embedding', sql`vector(3)`)
          .execute();
        await trx.schema.createIndex('posts_author_idx').on('posts').column('author_id').execute();
        await trx.schema.createIndex('posts_embedding_idx').on('posts').using('hnsw').expression(sql`embedding vector_l2_ops`).execute();
      };
      const migrator = new Migrator({
        db,
        migrationTableSchema: 'kysely',
        provider: { getMigrations: async () => ({ '0001_init': { up: init } }) },
      });
      const first = await migrator.migrateToLatest();
      if (first.error) throw first.error;
      const second = await migrator.migrateToLatest();
      if (second.error) throw second.error;
      const journal = await raw.query('SELECT name FROM kysely.kysely_migration', [], { rowMode: 'array' });
      const tables = (await db.introspection.getTables()).map((t) => `${t.schema}.${t.name}`).sort();
      const fks = await raw.query("SELECT constraint_name FROM information_schema.table_constraints WHERE table_name = 'posts' AND constraint_type = 'FOREIGN KEY'", [], { rowMode: 'array' });
      return window.plain({
        fks: fks.rows.flat(),
        runs: [first.results.map((r) => `${r.migrationName}:${r.status}`), second.results.length],
        journal: journal.rows.flat(),
        tables,
      });
    });
    assert.equal(created.fks.length, 1, 'posts has its foreign key');
    assert.deepEqual(created.runs, [['0001_init:Success'], 0]);
    assert.deepEqual(created.journal, ['0001_init']);
    assert.deepEqual(created.tables, ['public.authors', 'public.posts']);

    // Typed inserts: a Float32Array or pgvector text for the vector, a
    // BigInt for bigint, JSON text for jsonb.
    const inserted = await p.eval(async () => {
      const db = window.db;
      const authors = await db.insertInto('authors').values([
        { name: 'Ada', email: 'ada@example.com' },
        { name: 'Alan', email: 'alan@example.com', joined_at: new Date('2026-01-02T03:04:05.678Z') },
      ]).returningAll().execute();
      const [ada, alan] = authors;
      const result = await db.insertInto('posts').values([
        { author_id: ada.id, title: 'Notes on the engine', status: 'published', tags: JSON.stringify(['math', 'engines']), views: 9007199254740993n, published_on: '1843-10-01', embedding: new Float32Array([1, 0, 0]) },
        { author_id: ada.id, title: 'Bernoulli numbers', tags: JSON.stringify(['math']), embedding: new Float32Array([0.9, 0.1, 0]) },
        { author_id: alan.id, title: 'Computable numbers', tags: JSON.stringify([]), published_on: '1936-11-12', embedding: '[0,1,0]' },
        { author_id: alan.id, title: 'Morphogenesis', embedding: '[0,0.2,0.9]' },
      ]).executeTakeFirst();
      const first = await db.selectFrom('posts').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
      // Enums compare and sort in declaration order.
      const byStatus = (await db.selectFrom('posts').select(['id', 'status']).where('status', '<', 'archived')
        .orderBy('status', 'desc').orderBy('id').execute()).map((r) => `${r.id}:${r.status}`);
      return window.plain({ authors, inserted: result.numInsertedOrUpdatedRows, first, byStatus });
    });
    assert.equal(inserted.authors[0].id, 1);
    assert.ok(inserted.authors[0].joined_at.date, 'timestamptz arrives as a Date');
    assert.deepEqual(inserted.authors[1].joined_at, { date: '2026-01-02T03:04:05.678Z' });
    assert.deepEqual(inserted.inserted, { bigint: '4' });
    assert.deepEqual(inserted.first, {
      id: 1, author_id: 1, title: 'Notes on the engine', status: 'published', tags: ['math', 'engines'], views: { bigint: '9007199254740993' },
      published_on: '1843-10-01', embedding: { f32: [1, 0, 0] },
    });
    assert.deepEqual(inserted.byStatus, ['1:published', '2:draft', '3:draft', '4:draft']);

    const queried = await p.eval(async () => {
      const { sql } = window.kysely;
      const db = window.db;
      const joined = await db.selectFrom('posts').innerJoin('authors', 'authors.id', 'posts.author_id')
        .select(['authors.name as author', 'posts.title', 'posts.views']).where('posts.views', '>', 0n).orderBy('posts.id').execute();
      const perAuthor = await db.selectFrom('authors').leftJoin('posts', 'posts.author_id', 'authors.id')
        .select((eb) => ['authors.name', eb.fn.count('posts.id').as('n')]).groupBy('authors.name').orderBy('authors.name', 'desc').execute();
      const updated = await db.updateTable('posts').set((eb) => ({ views: eb('views', '+', 10n), tags: JSON.stringify(['math', 'analysis']) }))
        .where('author_id', '=', 1).where('title', '=', 'Bernoulli numbers').returning(['id', 'views', 'tags']).execute();
      const q = new Float32Array([0.1, 0.95, 0]);
      const near = db.selectFrom('posts').select(['id', 'title', sql`embedding <-> ${q}`.as('distance')]).orderBy(sql`embedding <-> ${q}`).limit(2);
      const { sql: text, parameters } = near.compile();
      const plan = (await window.raw.query(`EXPLAIN ${text}`, [...parameters], { rowMode: 'array' })).rows.flat().join('\n');
      const total = await db.selectFrom('posts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return window.plain({ joined, perAuthor, updated, near: await near.execute(), plan, total: total.n });
    });
    assert.deepEqual(queried.joined, [{ author: 'Ada', title: 'Notes on the engine', views: { bigint: '9007199254740993' } }]);
    assert.deepEqual(queried.perAuthor, [{ name: 'Alan', n: { bigint: '2' } }, { name: 'Ada', n: { bigint: '2' } }]);
    assert.deepEqual(queried.updated, [{ id: 2, views: { bigint: '10' }, tags: ['math', 'analysis'] }]);
    assert.deepEqual(queried.near.map((r) => r.id), [3, 2]);
    assert.ok(Math.abs(queried.near[0].distance - Math.hypot(0.1, 0.05)) < 1e-6, JSON.stringify(queried.near));
    assert.match(queried.plan, /Index Scan using posts_embedding_idx/);
    assert.deepEqual(queried.total, { bigint: '4' });

    // Transactions: each on a session of its own (pooled); a savepoint
    // rolled back inside a committed one; a thrown error rolls back.
    const tx = await p.eval(async () => {
      const { sql } = window.kysely;
      const db = window.db;
      const titles = async () => (await db.selectFrom('posts').select('title').orderBy('id').execute()).map((r) => r.title);
      const count = async (q) => Number((await q.selectFrom('posts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const committed = await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
        const grace = await trx.insertInto('authors').values({ name: 'Grace', email: 'grace@example.com' }).returning('id').executeTakeFirstOrThrow();
        await trx.insertInto('posts').values({ author_id: grace.id, title: 'Compilers', embedding: '[0.5,0.5,0.5]' }).execute();
        const pid = (await sql`SELECT pg_backend_pid() AS pid`.execute(trx)).rows[0].pid;
        const outsidePid = (await sql`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0].pid;
        return { seenOutside: await count(db), seenInside: await count(trx), pid, outsidePid };
      });
      const controlled = await db.startTransaction().execute();
      await controlled.updateTable('posts').set({ views: 1n }).where('id', '=', 3).execute();
      const sp = await controlled.savepoint('rename').execute();
      await sp.updateTable('posts').set({ title: 'renamed' }).execute();
      await (await sp.rollbackToSavepoint('rename').execute()).commit().execute();
      const afterCommit = await titles();
      const views3 = (await db.selectFrom('posts').select('views').where('id', '=', 3).executeTakeFirstOrThrow()).views;
      let thrown;
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('posts').values({ author_id: 1, title: 'never published' }).execute();
          await trx.deleteFrom('posts').where('title', '=', 'Morphogenesis').execute();
          throw new Error('the app changed its mind');
        });
      } catch (e) {
        thrown = e.message;
      }
      const afterRollback = await titles();
      let fk;
      try {
        await db.insertInto('posts').values({ author_id: 999, title: 'orphan' }).execute();
      } catch (e) {
        fk = { name: e.name, code: e.code };
      }
      await db.deleteFrom('authors').where('name', '=', 'Alan').execute();
      const afterCascade = await titles();
      await db.destroy(); // releases the pooled sessions; the instance stays open
      const sessions = (await window.raw.query('SELECT count(*) AS n FROM pg_stat_activity')).rows[0].n;
      return window.plain({ committed, afterCommit, thrown, afterRollback, fk, views3, afterCascade, sessions });
    });
    assert.equal(tx.committed.seenOutside, 4, 'another session does not see the open transaction');
    assert.equal(tx.committed.seenInside, 5);
    assert.notEqual(tx.committed.pid, tx.committed.outsidePid, 'the transaction runs on its own session');
    const five = ['Notes on the engine', 'Bernoulli numbers', 'Computable numbers', 'Morphogenesis', 'Compilers'];
    assert.deepEqual(tx.afterCommit, five);
    assert.equal(tx.thrown, 'the app changed its mind');
    assert.deepEqual(tx.afterRollback, five);
    assert.deepEqual(tx.fk, { name: 'NeuralDBError', code: '23503' });
    assert.deepEqual(tx.views3, { bigint: '1' }, 'the update before the savepoint was committed');
    assert.deepEqual(tx.afterCascade, ['Notes on the engine', 'Bernoulli numbers', 'Compilers']);
    assert.deepEqual(tx.sessions, { bigint: '1' }, 'destroy() released every pooled session');
    await p.close();
  }],

  ['live queries and LISTEN/NOTIFY across tabs: a commit elsewhere refreshes, a rollback or an unrelated table does not, keyed changes, the latency figure, and leader failover', async (b, base) => {
    const L = await b.newPage(base);
    await open(L, 'live'); // first to open: the leader
    const A = await b.newPage(base);
    await open(A, 'live');
    const B = await b.newPage(base);
    await open(B, 'live');
    await ok(A, 'CREATE TABLE items (id int PRIMARY KEY, v text)');
    await ok(A, 'CREATE TABLE other (id int)');
    await ok(A, 'CREATE TABLE marker (n int)');
    await ok(A, "INSERT INTO items VALUES (1, 'one')");
    await B.eval(async () => {
      window.now = () => performance.timeOrigin + performance.now();
      window.events = [];
      window.marks = [];
      window.changes = [];
      window.notes = [];
      window.itemsLive = await window.db.live('SELECT id, v FROM items ORDER BY id', [], (r) => {
        window.events.push({ reason: r.reason, rows: r.rows.map((x) => [x.id, x.v]), at: window.now() });
      });
      window.markLive = await window.db.live('SELECT count(*)::int AS n FROM marker', [], (r) => window.marks.push(r.rows[0].n));
      window.keyed = await window.db.live.changes('SELECT id, v FROM items', [], 'id', (c) => {
        window.changes.push({ ins: c.inserts.map((r) => r.id), upd: c.updates.map((r) => r.id), del: c.deletes.map((r) => r.id), reason: c.reason });
      });
      window.unlisten = await window.db.listen('chan', (payload, info) => window.notes.push({ payload, pid: info.processId, channel: info.channel }));
    });
    assert.deepEqual(await B.eval(() => window.events.map((e) => [e.reason, e.rows])), [['initial', [[1, 'one']]]]);
    assert.deepEqual(await B.eval(() => window.changes), [{ ins: [1], upd: [], del: [], reason: 'initial' }]);
    // Waits until tab B has seen `n` marker events: every change event of
    // commits before that marker commit has arrived by then (one leader,
    // commit order, one live session per tab running re-runs in order).
    let marker = 0;
    const barrier = async () => {
      marker += 1;
      await ok(A, 'INSERT INTO marker VALUES (1)');
      await B.waitFor((n) => window.marks.at(-1) === n, marker);
    };
    // A commit in another tab refreshes.
    await ok(A, "INSERT INTO items VALUES (2, 'two')");
    await B.waitFor(() => window.events.length === 2);
    assert.deepEqual(await B.eval(() => [window.events[1].reason, window.events[1].rows]), ['change', [[1, 'one'], [2, 'two']]]);
    // A rollback, uncommitted work and an unrelated table do not.
    await ok(A, 'BEGIN');
    await ok(A, "INSERT INTO items VALUES (3, 'rolled back')");
    await ok(A, 'ROLLBACK');
    await ok(A, 'INSERT INTO other VALUES (1)');
    await ok(L, 'BEGIN');
    await ok(L, "UPDATE items SET v = 'uncommitted' WHERE id = 1");
    await barrier();
    assert.equal(await B.eval(() => window.events.length), 2, 'no refresh for a rollback, uncommitted work or another table');
    await ok(L, 'COMMIT');
    await B.waitFor(() => window.events.length === 3);
    assert.deepEqual(await B.eval(() => window.events[2].rows), [[1, 'uncommitted'], [2, 'two']]);
    // Keyed changes: an update, an insert and a delete in one transaction.
    await ok(A, "BEGIN; UPDATE items SET v = 'uno' WHERE id = 1; INSERT INTO items VALUES (4, 'four'); DELETE FROM items WHERE id = 2; COMMIT");
    await B.waitFor(() => window.changes.some((c) => c.del.length));
    assert.deepEqual(await B.eval(() => window.changes.at(-1)), { ins: [4], upd: [1], del: [2], reason: 'change' });
    // A table dropped and created again: the live query follows the new one.
    await ok(A, 'CREATE TABLE swap (x int)');
    await B.eval(async () => {
      window.swaps = [];
      window.swapLive = await window.db.live('SELECT count(*)::int AS n FROM swap', [], (r) => window.swaps.push(r.rows[0].n));
    });
    await ok(A, 'BEGIN; DROP TABLE swap; CREATE TABLE swap (x int); INSERT INTO swap VALUES (1), (2); COMMIT');
    await B.waitFor(() => window.swaps.at(-1) === 2);
    await ok(A, 'INSERT INTO swap VALUES (3)');
    await B.waitFor(() => window.swaps.at(-1) === 3);
    await B.eval(() => window.swapLive.unsubscribe());
    // LISTEN/NOTIFY: delivered at commit, in order, deduplicated, never from a rollback.
    await ok(A, "NOTIFY chan, 'one'");
    await ok(A, "BEGIN; NOTIFY chan, 'rolled back'; ROLLBACK");
    await ok(A, "BEGIN; NOTIFY chan, 'x'; SELECT pg_notify('chan', 'x'); NOTIFY chan, 'y'; NOTIFY other_channel, 'z'; COMMIT");
    await B.waitFor(() => window.notes.length >= 3);
    const pidA = await A.eval(() => window.db.processID);
    assert.deepEqual(await B.eval(() => window.notes), ['one', 'x', 'y'].map((payload) => ({ payload, pid: pidA, channel: 'chan' })));
    // The latency figure: tab A's commit to tab B's callback.
    const latencies = [];
    for (let i = 0; i < 20; i++) {
      const before = await B.eval(() => window.events.length);
      const t0 = await A.eval(async (i) => {
        const t = performance.timeOrigin + performance.now();
        await window.db.query('UPDATE items SET v = $1 WHERE id = 4', [`v${i}`]);
        return t;
      }, i);
      await B.waitFor((n) => window.events.length > n, before);
      latencies.push((await B.eval(() => window.events.at(-1).at)) - t0);
    }
    latencies.sort((x, y) => x - y);
    console.log(`     live query latency, commit in tab A -> callback in tab B (20 commits): median ${latencies[10].toFixed(1)} ms, 90th percentile ${latencies[18].toFixed(1)} ms, max ${latencies[19].toFixed(1)} ms`);
    // Leader failover: the live query and the listener move to the new
    // leader and report it with one fresh result.
    const seen = await B.eval(() => window.events.length);
    await L.close();
    await B.waitFor((n) => window.events.slice(n).some((e) => e.reason === 'failover'), seen);
    await ok(A, "INSERT INTO items VALUES (5, 'after failover')");
    await B.waitFor(() => window.events.at(-1).rows.some((r) => r[0] === 5));
    await ok(A, "NOTIFY chan, 'after failover'");
    await B.waitFor(() => window.notes.length === 4);
    // Unsubscribed: nothing more arrives.
    await B.eval(async () => {
      await window.itemsLive.unsubscribe();
      await window.keyed.unsubscribe();
      await window.unlisten();
    });
    const frozen = await B.eval(() => [window.events.length, window.notes.length]);
    await ok(A, "INSERT INTO items VALUES (6, 'unseen')");
    await ok(A, "NOTIFY chan, 'unheard'");
    await barrier();
    assert.deepEqual(await B.eval(() => [window.events.length, window.notes.length]), frozen);
    await A.close();
    await B.close();
  }],

  ['change feed: 1,000 random transactions (some rolled back) applied to PostgreSQL 15 with node-postgres, resumed from the durable cursor after a browser kill, both sides equal row by row', async (b, base) => {
    // A database of its own: other runs may share the cluster.
    const server = await freshPostgres(`neuraldb_feed_${process.pid}_${Date.now()}`);
    try {
      const ddl = `CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL, tags text[], meta jsonb, at timestamptz);
        CREATE TABLE entry (id bigint PRIMARY KEY, acct int, amount numeric(12,2), note text)`;
      await server.query(ddl);
      await server.query('CREATE TABLE sync_state (cursor bigint NOT NULL); INSERT INTO sync_state VALUES (0)');
      let p = await b.newPage(base);
      await open(p, 'feed');
      await p.eval(async (ddl) => {
        await window.db.exec(ddl);
        await window.db.changes(); // turns the feed on
      }, ddl);
      // Random transactions in the page: inserts, updates (also of the key),
      // deletes, savepoints; a fifth roll back.
      const work = (page, seed, n) => page.eval(async ({ seed, n }) => {
        let x = seed >>> 0;
        const rnd = () => ((x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 2 ** 32);
        const pick = (k) => Math.floor(rnd() * k);
        const s = await window.db.connect();
        const max = async (t) => Number((await s.query(`SELECT coalesce(max(id), 0) AS m FROM ${t}`)).rows[0].m);
        let nextAcct = (await max('acct')) + 1;
        let nextEntry = (await max('entry')) + 1;
        let committed = 0;
        for (let i = 0; i < n; i++) {
          await s.query('BEGIN');
          try {
            for (let k = 1 + pick(4); k > 0; k--) {
              const id = 1 + pick(nextAcct);
              switch (pick(7)) {
                case 0: case 1:
                  await s.query('INSERT INTO acct VALUES ($1, $2, $3, $4, $5, $6)', [nextAcct++, `owner ${pick(100)} 'q' \t é`, pick(1000), ['a', `t${pick(5)}`], { n: pick(10), s: 'x"y' }, new Date(Date.UTC(2026, 0, 1) + pick(1e9))]);
                  break;
                case 2:
                  await s.query('UPDATE acct SET balance = balance + $1, tags = array_append(tags, $2) WHERE id = $3', [pick(100) - 50, `u${pick(9)}`, id]);
                  break;
                case 3:
                  await s.query('UPDATE acct SET id = $1 WHERE id = $2', [nextAcct++, id]);
                  break;
                case 4:
                  await s.query('DELETE FROM acct WHERE id = $1', [id]);
                  break;
                case 5:
                  await s.query('INSERT INTO entry VALUES ($1, $2, $3, $4)', [nextEntry++, id, (pick(100000) / 100).toFixed(2), pick(2) ? null : 'n\\te']);
                  break;
                default:
                  await s.query('SAVEPOINT sp');
                  await s.query('DELETE FROM entry WHERE acct = $1', [id]);
                  if (pick(2)) await s.query('ROLLBACK TO sp');
              }
            }
            if (pick(5) === 0) await s.query('ROLLBACK');
            else {
              await s.query('COMMIT');
              committed++;
            }
          } catch (e) {
            if (s.transactionStatus !== 'I') await s.query('ROLLBACK');
          }
        }
        await s.release();
        return committed;
      }, { seed, n });
      // Reads batches from the cursor the server holds, applies each with
      // the new cursor in one server transaction, then acknowledges it.
      const sync = async (page, { ackLast = true } = {}) => {
        let batches = 0;
        for (;;) {
          const since = (await server.query('SELECT cursor::text AS c FROM sync_state')).rows[0].c;
          const batch = await page.eval(async (since) => {
            await window.db.changes.ack(since);
            const { changes, cursor } = await window.db.changes({ since, limit: 150 });
            return { cursor: String(cursor), changes: changes.map((c) => ({ relation: c.relation, op: c.op, key: c.key, row: c.row })) };
          }, since);
          if (!batch.changes.length) return batches;
          await applyChanges(server, batch.changes, batch.cursor);
          batches++;
          const more = await page.eval((c) => window.db.changes({ since: c, limit: 1 }).then((r) => r.changes.length > 0), batch.cursor);
          if (!more && !ackLast) return batches;
          await page.eval((c) => window.db.changes.ack(c), batch.cursor);
        }
      };
      const committed1 = await work(p, 1, 500);
      assert.ok((await sync(p, { ackLast: false })) > 1, 'several batches');
      const committed2 = await work(p, 2, 100); // committed, not yet synced
      await b.kill();
      p = await b.newPage(base);
      await open(p, 'feed');
      const committed3 = await work(p, 3, 400);
      await sync(p);
      assert.ok(committed1 + committed2 + committed3 > 700, 'most transactions commit');
      // Both sides row by row, as text.
      const tables = {
        acct: 'SELECT id::text, owner, balance::text, tags::text, meta::text, at::text FROM acct ORDER BY id',
        entry: 'SELECT id::text, acct::text, amount::text, note FROM entry ORDER BY id',
      };
      for (const [t, sql] of Object.entries(tables)) {
        const ours = (await ok(p, sql)).rows;
        const theirs = (await server.query({ text: sql, rowMode: 'array' })).rows;
        assert.ok(ours.length > 50, `${t} has rows`);
        assert.deepEqual(theirs, ours, `${t} differs between NeuralDB and PostgreSQL`);
      }
      assert.equal((await ok(p, 'SELECT count(*) FROM neuraldb.changes')).rows[0][0], 0, 'all acknowledged');
      await p.close();
    } finally {
      await server.dispose();
    }
  }],

  ['dump and restore: db.dump() of a database with schemas, enums, arrays, jsonb, vectors, an HNSW index, a view, serials and foreign keys loads into another with db.restore(); the same results; a bad script changes nothing', async (b, base) => {
    const p = await b.newPage(base);
    await open(p, 'dump-source');
    await open(p, 'dump-target', 'target');
    await ok(p, `CREATE SCHEMA app;
      CREATE TYPE app.mood AS ENUM ('ok', 'meh');
      CREATE TABLE app.person (id serial PRIMARY KEY, name text NOT NULL UNIQUE CHECK (length(name) > 0), mood app.mood, tags text[], born date, meta jsonb, e vector(3));
      CREATE TABLE pet (id int PRIMARY KEY, owner int REFERENCES app.person ON DELETE CASCADE, name text DEFAULT 'unnamed');
      CREATE INDEX person_e ON app.person USING hnsw (e vector_l2_ops);
      CREATE VIEW pets AS SELECT p.name AS owner, pet.name FROM pet JOIN app.person p ON p.id = pet.owner`);
    await ok(p, `INSERT INTO app.person (name, mood, tags, born, meta, e) VALUES
      ('Ann', 'ok', '{a,"b c"}', '2001-02-03', '{"k": [1, "x\\ty"]}', '[1,2,3]'),
      ('Bob ''the'' \\ builder', 'meh', NULL, NULL, NULL, '[0,0,1]'),
      (E'new\nline', NULL, '{}', '1999-12-31', '[]', NULL)`);
    await ok(p, "INSERT INTO pet VALUES (1, 1, 'Rex'), (2, 2, DEFAULT), (3, NULL, 'stray')");
    const script = await p.eval(() => window.db.dump());
    assert.match(script, /CREATE EXTENSION IF NOT EXISTS vector/);
    assert.match(script, /COPY app\.person/);
    const summary = await p.eval((s) => window.target.restore(s), script);
    assert.ok(summary.statements > 5 && summary.rows === 6, JSON.stringify(summary));
    for (const sql of [
      'SELECT id, name, mood::text, tags, born, meta::text, e::text FROM app.person ORDER BY id',
      'SELECT * FROM pets ORDER BY 1, 2',
      "SELECT id, name FROM app.person ORDER BY e <-> '[1,2,2.9]' LIMIT 1",
      "INSERT INTO app.person (name) VALUES ('next') RETURNING id",
    ]) {
      assert.deepEqual(await ok(p, sql, [], 'target'), await ok(p, sql), sql);
    }
    assert.equal((await q(p, "INSERT INTO pet VALUES (9, 42, 'x')", [], 'target')).code, '23503', 'the foreign key came back');
    // All or nothing, and the error names the statement.
    const bad = await p.eval(async () => {
      try {
        await window.target.restore('CREATE TABLE partial (a int);\nCREATE FOO BAR;\n');
        return null;
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.ok(bad && bad.code && /CREATE FOO BAR/.test(bad.message) && /line 2/.test(bad.message), JSON.stringify(bad));
    assert.deepEqual((await ok(p, "SELECT to_regclass('partial') IS NULL", [], 'target')).rows, [[true]]);
    await p.close();
  }],

  ['errors carry SQLSTATE codes and the session stays usable', async (b, base) => {
    const p = await b.newPage(base);
    await open(p, 'errors');
    await ok(p, 'CREATE TABLE u (id int PRIMARY KEY, n int)');
    const bad = await q(p, 'SELEC 1');
    assert.equal(bad.code, '42601');
    assert.equal(bad.isNeuralDBError, true);
    assert.deepEqual((await ok(p, 'SELECT 1')).rows, [[1]]);
    assert.equal((await q(p, 'INSERT INTO u VALUES ($1, 1)', ['not a number'])).code, '22P02');
    await ok(p, 'INSERT INTO u VALUES (1, 1)');
    assert.equal((await q(p, 'INSERT INTO u VALUES (1, 2)')).code, '23505');
    assert.equal((await q(p, 'SELECT * FROM missing')).code, '42P01');
    assert.deepEqual((await ok(p, 'SELECT count(*) FROM u')).rows, [[1]]);
    const fields = await p.eval(async () => {
      try {
        await window.db.query('INSERT INTO u VALUES (1, 3)');
      } catch (e) {
        return { code: e.code, detail: e.detail, name: e.name };
      }
    });
    assert.equal(fields.code, '23505');
    assert.equal(fields.name, 'NeuralDBError');
    // transaction(): a real serialization failure on the first attempt
    // (another session commits an update of the row read), retried once.
    const tx = await p.eval(async () => {
      let attempts = 0;
      const n = await window.db.transaction(async (tx) => {
        attempts++;
        await tx.query('SELECT n FROM u WHERE id = 1');
        if (attempts === 1) await window.db.query('UPDATE u SET n = n + 10 WHERE id = 1');
        await tx.query('UPDATE u SET n = n + 1 WHERE id = 1');
        return (await tx.query('SELECT n FROM u WHERE id = 1')).rows[0].n;
      }, { isolation: 'repeatable read' });
      return { n, attempts };
    });
    assert.deepEqual(tx, { n: 12, attempts: 2 });
    // Memory storage works beside OPFS and is private.
    await open(p, 'errors', 'mem', { storage: 'memory' });
    assert.equal((await q(p, 'SELECT * FROM u', [], 'mem')).code, '42P01');
    await p.close();
  }],

  ['PWA: works offline: the notes app loads from the service worker cache, opens its database and adds notes with the server unreachable', async (b, base) => {
    const root = base.replace(/e2e\/$/, '');
    const p = await notesPage(b, root, 'pwa-offline');
    try {
      await addNote(p, 'Before going offline', 'written online', 'pwa, online');
      // Offline: the browser's emulation where the driver has it, and the
      // server drops every connection either way.
      const emulated = await b.setOffline(true);
      await hook(root, 'offline?on=1');
      assert.equal(await p.eval(() => fetch(`/not-precached?${Math.random()}`).then(() => 'reached', () => 'failed')), 'failed');
      await p.raw.reload();
      await until(p, () => window.notesReady === true && navigator.serviceWorker.controller !== null, 'the notes app to start offline');
      await until(p, () => [...document.querySelectorAll('#notes h3')].some((h) => h.textContent === 'Before going offline'), 'the note written online');
      // The engine (worker script and wasm, from the cache) writes offline.
      await addNote(p, 'Written offline', 'no network', 'pwa, offline');
      await p.eval(() => document.querySelector('#tagfilter button[data-tag="offline"]').click());
      await until(p, () => [...document.querySelectorAll('#notes h3')].map((h) => h.textContent).join('|') === 'Written offline', 'the tag filter');
      assert.equal(await p.eval(() => fetch(`/not-precached?${Math.random()}`).then(() => 'reached', () => 'failed')), 'failed', 'still offline');
      // The control: the dedicated worker's own fetch of the wasm goes
      // through the service worker too, and nothing else serves it offline
      // (no HTTP cache): without it in the cache the database cannot open.
      // (The worker's failed fetch may be logged as a page error.)
      assert.equal(await p.eval(async () => (await caches.open((await caches.keys())[0])).delete('/pkg/wasm/neuraldb_bg.wasm')), true);
      await p.raw.reload();
      await until(p, () => /^Cannot open the database/.test(document.getElementById('status')?.textContent), 'the open to fail without the cached wasm');
      if (!emulated) console.log(`  [${b.name}: no offline emulation in the driver; offline by the server dropping connections]`);
    } finally {
      await hook(root, 'offline?on=0');
      await b.setOffline(false);
      await forgetServiceWorker(p);
      await p.close();
    }
  }],

  ['PWA: update flow: a new service worker version waits, the banner reloads the page into it and the old cache is deleted; another open tab is told', async (b, base) => {
    const root = base.replace(/e2e\/$/, '');
    const p = await notesPage(b, root, 'pwa-update');
    const other = await notesPage(b, root, 'pwa-update');
    try {
      await addNote(p, 'Kept across the update', '', '');
      const v1 = await p.eval(() => window.pwa.version());
      assert.match(v1, /^[0-9a-f]{16}$/);
      assert.equal(await servedVersion(root), v1);
      await hook(root, `sw-salt?salt=${Date.now()}-${Math.random()}`);
      const v2 = await servedVersion(root);
      assert.notEqual(v2, v1);
      await p.eval(() => window.pwa.registration.update());
      await until(p, () => {
        const banner = document.getElementById('update-banner');
        return banner && !banner.hidden && banner.textContent.includes('New version available');
      }, 'the update banner');
      await until(other, () => document.getElementById('update-banner')?.textContent.includes('New version available'), 'the update banner in the other tab');
      // The new version waits: the old one still controls the page.
      assert.equal(await p.eval(() => window.pwa.version()), v1);
      assert.equal(await p.eval(() => window.pwa.registration.waiting !== null), true);
      await p.eval(() => {
        window.beforeTheUpdate = true;
        document.getElementById('update-reload').click();
      });
      await until(p, () => window.beforeTheUpdate === undefined && window.notesReady === true && navigator.serviceWorker.controller !== null, 'the reload into the new version');
      await until(p, async (v2) => (await window.pwa.version()) === v2, 'the new version in control', v2);
      assert.deepEqual(await p.eval(() => caches.keys()), [`neuraldb-shell-${v2}`], 'only the new version\'s cache is left');
      assert.equal(await p.eval(() => document.getElementById('update-banner')), null, 'no banner after the update');
      assert.equal(await p.eval(() => document.getElementById('sw-version').dataset.version), v2);
      await until(p, () => [...document.querySelectorAll('#notes h3')].some((h) => h.textContent === 'Kept across the update'), 'the note after the update');
      // The other tab, still running the old page, is now controlled by
      // the new version: its banner says so, and its button reloads it.
      await until(other, () => document.getElementById('update-banner')?.textContent.includes('A new version is active'), 'the other tab\'s banner');
      await other.eval(() => {
        window.beforeTheUpdate = true;
        document.getElementById('update-reload').click();
      });
      await until(other, async (v2) => window.beforeTheUpdate === undefined && window.notesReady === true && (await window.pwa.version()) === v2, 'the other tab reloaded into the new version', v2);
    } finally {
      await hook(root, 'sw-salt?salt=');
      await forgetServiceWorker(p);
      await p.close();
      await other.close();
    }
  }],

  ['PWA: the notes app in two tabs: changes show in the other tab, tag filter, semantic search through the HNSW index, an edit holds its row lock (shown in the sessions panel, refused in the other tab), delete, Export and Import', async (b, base) => {
    const root = base.replace(/e2e\/$/, '');
    const A = await notesPage(b, root, 'pwa-notes');
    const B = await notesPage(b, root, 'pwa-notes');
    const titles = (p) => p.eval(() => [...document.querySelectorAll('#notes h3')].map((h) => h.textContent));
    try {
      console.log(`  [${await A.eval(() => document.getElementById('live').textContent)}]`);
      // Export/Import: enabled when the package has dump()/restore(), else disabled with a tooltip.
      const io = await A.eval(async () => {
        const db = await (await import('/pkg/index.js')).NeuralDB.open(new URLSearchParams(location.search).get('db'));
        const state = (id) => ({ disabled: document.getElementById(id).disabled, tooltip: document.getElementById(id).title !== '' });
        const has = { dump: typeof db.dump === 'function', restore: typeof db.restore === 'function', live: typeof db.live === 'function' };
        await db.close();
        return { ...has, exp: state('export'), imp: state('import'), label: document.getElementById('live').textContent };
      });
      // db.live where the package has it (cross-tab changes pushed), else polling.
      assert.equal(io.label.startsWith('live: db.live'), io.live);
      assert.deepEqual(io.exp, { disabled: !io.dump, tooltip: !io.dump });
      assert.deepEqual(io.imp, { disabled: !io.restore, tooltip: !io.restore });
      await addNote(A, 'Rust and WebAssembly', 'compiling a database engine to wasm', 'rust, wasm');
      await addNote(A, 'Banana bread', 'flour, bananas, butter and sugar', 'baking');
      await addNote(A, 'WebAssembly threads', 'shared memory and atomics in wasm', 'wasm');
      // Tab B sees tab A's notes (db.live, or its polling fallback).
      await until(B, () => document.querySelectorAll('#notes h3').length === 3, 'tab B to show three notes');
      assert.deepEqual(await titles(B), ['WebAssembly threads', 'Banana bread', 'Rust and WebAssembly']);
      await B.eval(() => document.querySelector('#tagfilter button[data-tag="wasm"]').click());
      await until(B, () => document.querySelectorAll('#notes h3').length === 2, 'the wasm tag filter');
      assert.deepEqual(await titles(B), ['WebAssembly threads', 'Rust and WebAssembly']);
      // Semantic search: the plan uses the index; the nearest note first.
      const plan = await A.eval(async () => {
        const { embed } = await import('/embed.js');
        const db = await (await import('/pkg/index.js')).NeuralDB.open(new URLSearchParams(location.search).get('db'));
        const r = await db.query('EXPLAIN SELECT id FROM notes ORDER BY embedding <=> $1 LIMIT 10', [embed('baking bananas')]);
        await db.close();
        return r.rows.map((row) => Object.values(row)[0]).join('\n');
      });
      assert.match(plan, /Index Scan using notes_embedding_idx on notes/);
      await A.eval(() => {
        document.getElementById('query').value = 'baking bananas';
        document.getElementById('search').click();
      });
      await until(A, () => /nearest to/.test(document.getElementById('mode').textContent), 'the search results');
      assert.equal((await titles(A))[0], 'Banana bread');
      assert.equal((await titles(A)).length, 3);
      await A.eval(() => document.getElementById('clear').click());
      await until(A, () => document.querySelectorAll('#notes h3').length === 3 && !/nearest/.test(document.getElementById('mode').textContent), 'the full list again');
      // Tab A edits "Banana bread": its edit session holds the row lock.
      await A.eval(() => [...document.querySelectorAll('#notes li')].find((li) => li.querySelector('h3').textContent === 'Banana bread').querySelector('button.edit').click());
      await until(A, () => /^Editing note/.test(document.getElementById('status').textContent), 'the edit to start');
      // Both panels show an idle-in-transaction session of tab A holding a lock.
      for (const p of [A, B]) {
        await until(p, () => [...document.querySelectorAll('#sessions .session')]
          .some((s) => s.dataset.state === 'idle in transaction' && s.querySelectorAll('li').length > 0), 'the edit session and its locks in the panel');
      }
      assert.ok(await B.eval(() => document.querySelectorAll('#sessions .session').length) >= 4, 'every tab\'s sessions are listed');
      await B.eval(() => document.getElementById('clear').click());
      await until(B, () => document.querySelectorAll('#notes h3').length === 3, 'tab B to show all notes');
      await B.eval(() => [...document.querySelectorAll('#notes li')].find((li) => li.querySelector('h3').textContent === 'Banana bread').querySelector('button.delete').click());
      await until(B, () => /being edited in another tab/.test(document.getElementById('status').textContent), 'tab B refused the delete');
      await A.eval(() => {
        document.getElementById('title').value = 'Banana bread, revised';
        document.getElementById('save').click();
      });
      await until(B, () => [...document.querySelectorAll('#notes h3')].some((h) => h.textContent === 'Banana bread, revised'), 'tab B to show the edit');
      await A.eval(() => document.querySelector('#tagfilter button[data-tag="baking"]').click());
      await until(A, () => [...document.querySelectorAll('#notes h3')].map((h) => h.textContent).join('|') === 'Banana bread, revised', 'tab A to show the edit');
      await until(A, () => ![...document.querySelectorAll('#sessions .session')].some((s) => s.dataset.state === 'idle in transaction'), 'the edit transaction to end');
      await A.eval(() => document.querySelector('#notes li button.delete').click());
      await until(A, () => document.getElementById('status').textContent === 'Deleted.', 'the delete');
      await until(B, () => document.querySelectorAll('#notes h3').length === 2, 'tab B to see the delete');
      if (io.dump && io.restore) {
        // Export (what the button downloads), one more note, then Import
        // of the export: the notes are as exported, in both tabs.
        const exported = await A.eval(async () => {
          const db = await (await import('/pkg/index.js')).NeuralDB.open(new URLSearchParams(location.search).get('db'));
          try {
            return await db.dump();
          } finally {
            await db.close();
          }
        });
        assert.match(exported, /COPY public\.notes/);
        await A.eval(() => document.getElementById('clear').click());
        await until(A, () => document.querySelectorAll('#notes h3').length === 2, 'tab A to show both notes');
        await addNote(A, 'Not in the export', 'added after it', 'later');
        await until(B, () => document.querySelectorAll('#notes h3').length === 3, 'tab B to see the new note');
        await A.eval((sql) => {
          const input = document.getElementById('import-file');
          const files = new DataTransfer();
          files.items.add(new File([sql], 'notes.sql', { type: 'application/sql' }));
          input.files = files.files;
          input.dispatchEvent(new Event('change'));
        }, exported);
        await until(A, () => /^Imported notes\.sql/.test(document.getElementById('status').textContent), 'the import');
        await until(B, () => document.querySelectorAll('#notes h3').length === 2, 'tab B to see the imported notes');
      }
    } finally {
      await forgetServiceWorker(A);
      await A.close();
      await B.close();
    }
  }],

  ['PWA: installable (Chromium): the manifest and its icons, a controlling service worker with a fetch handler, no installability errors', async (b, base) => {
    if (b.name !== 'chromium') return 'skip'; // Page.getInstallabilityErrors is Chromium's
    const root = base.replace(/e2e\/$/, '');
    const manifest = await (await fetch(`${root}manifest.webmanifest`)).json();
    assert.equal((await fetch(`${root}manifest.webmanifest`)).headers.get('content-type'), 'application/manifest+json');
    for (const key of ['name', 'short_name', 'start_url', 'scope', 'theme_color', 'background_color']) assert.ok(manifest[key], key);
    assert.equal(manifest.display, 'standalone');
    const icons = manifest.icons.map((i) => `${i.sizes} ${i.type} ${i.purpose}`);
    for (const want of ['192x192 image/png any', '512x512 image/png any', '512x512 image/png maskable', 'any image/svg+xml any']) assert.ok(icons.includes(want), want);
    for (const icon of manifest.icons.filter((i) => i.type === 'image/png')) {
      const png = Buffer.from(await (await fetch(new URL(icon.src, root))).arrayBuffer());
      assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${icon.src} is a PNG`);
      assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
      assert.equal(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, icon.sizes, `${icon.src} IHDR size`);
    }
    const p = await notesPage(b, root, 'pwa-install');
    try {
      // Controlled from the first load (clients.claim); after a reload the
      // navigation itself goes through the fetch handler.
      await p.raw.reload();
      await until(p, () => window.notesReady === true && navigator.serviceWorker.controller !== null, 'the reloaded page');
      const page = await p.eval(() => ({
        manifest: document.querySelector('link[rel=manifest]').href,
        theme: document.querySelector('meta[name=theme-color]').content,
        apple: document.querySelector('link[rel=apple-touch-icon]').href,
        script: navigator.serviceWorker.controller.scriptURL,
        navigationViaWorker: performance.getEntriesByType('navigation')[0].workerStart > 0,
      }));
      assert.equal(page.manifest, `${root}manifest.webmanifest`);
      assert.equal(page.theme, manifest.theme_color);
      assert.equal(page.apple, `${root}icons/apple-touch-icon.png`);
      assert.equal(page.script, `${root}sw.js`);
      assert.equal(page.navigationViaWorker, true, 'the navigation went through the service worker');
      const cdp = await p.cdp();
      const { errors, url } = await cdp.send('Page.getAppManifest');
      assert.equal(url, `${root}manifest.webmanifest`);
      assert.deepEqual(errors, []);
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
      assert.deepEqual(installabilityErrors, []);
    } finally {
      await forgetServiceWorker(p);
      await p.close();
    }
  }],
];

async function runBrowser(name, make) {
  const profile = mkdtempSync(join(tmpdir(), `neuraldb-e2e-${name}-`));
  const results = [];
  const server = await startServer('--e2e-hooks');
  const base = `${server.url}e2e/`;
  let browser;
  try {
    browser = await make(profile);
    for (const [title, fn] of scenarios) {
      if (filter && !title.includes(filter)) continue;
      const t0 = Date.now();
      try {
        if ((await fn(browser, base)) === 'skip') {
          console.log(`skip ${name}: ${title}`);
          continue;
        }
        results.push(true);
        console.log(`ok   ${name}: ${title} (${Date.now() - t0} ms)`);
      } catch (e) {
        results.push(false);
        console.log(`FAIL ${name}: ${title}\n     ${e.stack ?? e}`);
        // Start the next scenario from a clean browser.
        await browser.restart().catch(() => {});
      }
    }
  } finally {
    await browser?.close().catch(() => {});
    server.stop();
    rmSync(profile, { recursive: true, force: true });
  }
  return results;
}

const all = [];
for (let round = 1; round <= repeat; round++) {
  if (repeat > 1) console.log(`-- round ${round} of ${repeat}`);
  if (!only || only === 'chromium') all.push(...(await runBrowser('chromium', chromium)));
  if (!only || only === 'firefox') all.push(...(await runBrowser('firefox', firefox)));
}
const passed = all.filter(Boolean).length;
console.log(`e2e: ${passed} passed, ${all.length - passed} failed`);
process.exit(passed === all.length ? 0 : 1);
