// End-to-end tests of the npm package in real browsers: headless Chromium
// (playwright-core) and Firefox ESR (puppeteer-core), each on a persistent
// profile so OPFS is real and durable. Run by `npm test`; alone:
//   node tests/e2e/run.mjs [chromium|firefox|all] [scenario-substring] [--repeat N]
// --repeat runs the selected scenarios N times, each round on a fresh
// profile and browser (to prove a scenario stable). Prints one line per
// scenario and a totals line; exits 1 on any failure.
import { mkdtempSync, rmSync } from 'node:fs';
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

  ['four tabs: SERIALIZABLE transfers with retries; a closed tab frees its advisory lock; a prepared transaction is committed from another tab after a reload', async (b, base) => {
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
    // An advisory lock held by a tab goes when the tab closes.
    assert.deepEqual((await ok(B, 'SELECT pg_advisory_lock(77)')).rows.length, 1);
    assert.deepEqual((await ok(A, 'SELECT pg_try_advisory_lock(77)')).rows, [[false]]);
    await B.close();
    const freeBy = Date.now() + 10_000;
    while (!(await ok(A, 'SELECT pg_try_advisory_lock(77)')).rows[0][0]) {
      assert.ok(Date.now() < freeBy, 'the closed tab kept its advisory lock');
      await sleep(20);
    }
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
];

async function runBrowser(name, make) {
  const profile = mkdtempSync(join(tmpdir(), `neuraldb-e2e-${name}-`));
  const results = [];
  const server = await startServer();
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
