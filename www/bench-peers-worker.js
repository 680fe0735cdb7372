// One engine of scripts/bench-peers.mjs, hosted in this dedicated worker:
// NeuralDB (its wasm engine called directly), SQLite-WASM (opfs-sahpool,
// WAL, synchronous=FULL) or PGlite (opfs-ahp), each imported only when
// asked for, straight from its published ESM files, so that a worker loads
// one engine's files and nothing else.
//
// Messages: `{ id, op, args }` → `{ id, ok, value }` or `{ id, ok: false, error }`.

// ---- the engines: open(options) → { run(sql) → rows as arrays, close() } --

const engines = {
  async neuraldb({ name, storage = 'opfs', syncCommit = true }) {
    const { init, Database, runner } = await import('./bench-neuraldb.js');
    await init();
    let db;
    if (storage === 'memory') {
      db = Database.openMemory({});
    } else {
      // The package's own file layout (pkg/worker.js), so that
      // NeuralDB.open(name) finds this database for the round trips and
      // the cold open.
      const root = await navigator.storage.getDirectory();
      const dir = await root.getDirectoryHandle('neuraldb', { create: true });
      const handle = async (f) => (await dir.getFileHandle(f, { create: true })).createSyncAccessHandle();
      const base = encodeURIComponent(name);
      db = Database.openOpfs(await handle(`${base}.ndb`), await handle(`${base}.ndb-wal`), {});
    }
    const run = runner(db);
    if (!syncCommit) run('SET synchronous_commit = off');
    return {
      run: (sql) => run(sql).at(-1)?.rows ?? [],
      close: () => db.free(),
    };
  },

  async sqlite({ name }) {
    const { default: sqlite3InitModule } = await import('/bench-modules/@sqlite.org/sqlite-wasm/dist/index.mjs');
    const sqlite3 = await sqlite3InitModule();
    const pool = await sqlite3.installOpfsSAHPoolVfs({ directory: name });
    const db = new pool.OpfsSAHPoolDb('/bench.sqlite3');
    // opfs-sahpool has no shared memory: WAL needs exclusive locking.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    const mode = db.selectValue('PRAGMA journal_mode = WAL');
    if (mode !== 'wal') throw new Error(`SQLite refused WAL mode (journal_mode = ${mode})`);
    db.exec('PRAGMA synchronous = FULL');
    return {
      run: (sql) => db.exec({ sql, rowMode: 'array', returnValue: 'resultRows' }),
      close: () => {
        db.close();
        pool.pauseVfs(); // releases the pool's access handles
      },
    };
  },

  async pglite({ name }) {
    const { PGlite } = await import('/bench-modules/@electric-sql/pglite/dist/index.js');
    const pg = await PGlite.create(`opfs-ahp://${name}`);
    return {
      // exec: the simple query protocol, PGlite's cheapest call.
      run: async (sql) => (await pg.exec(sql)).at(-1)?.rows.map((r) => Object.values(r)) ?? [],
      close: () => pg.close(),
    };
  },
};

/** Runs one statement outside a timed loop. */
async function run(sql) {
  return engine.run(sql);
}

// ---- the data: identical for every engine ----------------------------------

/** mulberry32, seeded, so every engine gets the same rows: rand(n) is an integer in [0, n). */
function rng(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven',
  'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** 0 ≤ n < 1,000,000 in words, as the classic test spells them: 'forty one thousand six hundred two'. */
function words(n) {
  if (n === 0) return 'zero';
  const out = [];
  const below1000 = (k) => {
    if (k >= 100) out.push(ONES[Math.floor(k / 100)], 'hundred');
    k %= 100;
    if (k >= 20) {
      out.push(TENS[Math.floor(k / 10)]);
      k %= 10;
    }
    if (k > 0) out.push(ONES[k]);
  };
  if (n >= 1000) {
    below1000(Math.floor(n / 1000));
    out.push('thousand');
  }
  below1000(n % 1000);
  return out.join(' ');
}

/**
 * The 16 tests of SQLite's classic speed comparison (its old "Database
 * Speed Comparison" page), with its statements and sizes; t1's b below
 * 100,000, t2's and t3's below 500,000. Each test is [name, statements].
 */
function tests() {
  const rand = rng(20261207);
  const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
  const txn = (statements) => ['BEGIN', ...statements, 'COMMIT'];
  const insert = (t, a, max) => {
    const b = rand(max);
    return `INSERT INTO ${t} VALUES(${a},${b},'${words(b)}')`;
  };
  const table = (t) => `CREATE TABLE ${t}(a INTEGER, b INTEGER, c VARCHAR(100))`;
  return [
    ['1000 INSERTs, autocommit', [table('t1'), ...range(1000, (i) => insert('t1', i + 1, 100000))]],
    ['25000 INSERTs in a transaction', txn([table('t2'), ...range(25000, (i) => insert('t2', i + 1, 500000))])],
    ['25000 INSERTs, indexed table', txn([table('t3'), 'CREATE INDEX i3 ON t3(c)', ...range(25000, (i) => insert('t3', i + 1, 500000))])],
    ['100 SELECTs, no index', txn(range(100, (i) => `SELECT count(*), avg(b) FROM t2 WHERE b>=${i * 100} AND b<${i * 100 + 1000}`))],
    ['100 SELECTs, LIKE', txn(range(100, (i) => `SELECT count(*), avg(b) FROM t2 WHERE c LIKE '%${words(i + 1)}%'`))],
    ['CREATE INDEX x2', ['CREATE INDEX i2a ON t2(a)', 'CREATE INDEX i2b ON t2(b)']],
    ['5000 SELECTs, index', txn(range(5000, (i) => `SELECT count(*), avg(b) FROM t2 WHERE b>=${i * 100} AND b<${i * 100 + 100}`))],
    ['1000 UPDATEs, no index', txn(range(1000, (i) => `UPDATE t1 SET b=b*2 WHERE a>=${i * 10} AND a<${i * 10 + 10}`))],
    ['25000 UPDATEs, index', txn(range(25000, (i) => `UPDATE t2 SET b=${rand(500000)} WHERE a=${i + 1}`))],
    ['25000 text UPDATEs, index', txn(range(25000, (i) => `UPDATE t2 SET c='${words(rand(500000))}' WHERE a=${i + 1}`))],
    ['INSERT ... SELECT x2', txn(['INSERT INTO t1 SELECT b,a,c FROM t2', 'INSERT INTO t2 SELECT b,a,c FROM t1'])],
    ['DELETE, LIKE', ["DELETE FROM t2 WHERE c LIKE '%fifty%'"]],
    ['DELETE, index range', ['DELETE FROM t2 WHERE a>10 AND a<20000']],
    ['big INSERT after DELETE', ['INSERT INTO t2 SELECT * FROM t1']],
    ['DELETE all + 12000 INSERTs', txn(['DELETE FROM t1', ...range(12000, (i) => insert('t1', i + 1, 100000))])],
    ['DROP TABLE x3', ['DROP TABLE t1', 'DROP TABLE t2', 'DROP TABLE t3']],
  ];
}

/** Tests after which the three tables' contents are compared across engines. */
const CHECKED = new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

/** Rows of the table the point SELECTs and the cold open read. */
const KV_ROWS = 5000;

// ---- the operations ---------------------------------------------------------

let engine = null;

const ops = {
  async open(name, options) {
    engine = await engines[name](options);
  },

  /**
   * The 16 tests, one engine call per statement. Returns each test's time
   * (ms), the sum of the counts its SELECTs returned, and after the tests
   * in CHECKED each table's count and sums (taken outside the timing).
   * Timed from this worker, so the page's messages are not part of it.
   */
  async suite() {
    const list = tests();
    const times = [];
    const counted = [];
    const checks = [];
    for (const [i, [, statements]] of list.entries()) {
      let sum = 0;
      const t0 = performance.now();
      for (const sql of statements) {
        // Only PGlite's calls are asynchronous: the others are not
        // charged a microtask per statement.
        let rows = engine.run(sql);
        if (rows instanceof Promise) rows = await rows;
        if (rows.length) sum += Number(rows[0][0]);
      }
      times.push(performance.now() - t0);
      counted.push(sum);
      if (!CHECKED.has(i + 1)) continue;
      for (const t of ['t1', 't2', 't3']) {
        const [row] = await run(`SELECT count(*) AS n, sum(a) AS sa, sum(b) AS sb, sum(length(c)) AS sc FROM ${t}`);
        checks.push({ after: i + 1, table: t, values: row.map(String).join(' ') });
      }
    }
    // The timer's resolution: 5 µs only when cross-origin isolated.
    return { names: list.map(([name]) => name), times, counted, checks, isolated: crossOriginIsolated };
  },

  /**
   * Creates kv(id, v) with KV_ROWS rows (the cold open counts them), then
   * times point SELECTs by primary key: the engine call alone, in µs.
   */
  async pointSelects(n) {
    await run('CREATE TABLE kv(id INTEGER PRIMARY KEY, v TEXT)');
    await run('BEGIN');
    for (let i = 0; i < KV_ROWS; i++) await run(`INSERT INTO kv VALUES(${i},'value ${words(i)}')`);
    await run('COMMIT');
    const rand = rng(7);
    const key = () => rand(KV_ROWS);
    for (let i = 0; i < 200; i++) await run(`SELECT v FROM kv WHERE id=${key()}`); // warm-up
    const times = [];
    for (let i = 0; i < n; i++) {
      const sql = `SELECT v FROM kv WHERE id=${key()}`;
      const t0 = performance.now();
      const rows = engine.run(sql);
      if (rows instanceof Promise) await rows;
      times.push((performance.now() - t0) * 1000);
    }
    return times;
  },

  /** One statement for the page: its main-thread round trips and cold open. */
  sql(text) {
    return run(text);
  },

  async close() {
    await engine.close();
    engine = null;
  },
};

onmessage = async ({ data: { id, op, args } }) => {
  try {
    postMessage({ id, ok: true, value: await ops[op](...args) });
  } catch (e) {
    postMessage({ id, ok: false, error: String(e?.stack ?? e) });
  }
};
