// The page of scripts/bench-peers.mjs (which prints the table). Each
// engine runs in a dedicated worker of its own (bench-peers-worker.js) on
// OPFS, in a directory or under file names of its own.
//
// `?runs=N&only=neuraldb,sqlite`: N times the 16 tests, engine after engine
// (each time on a new database); then once per engine the point SELECTs
// inside its worker, the main-thread round trips (through the npm package's
// API for NeuralDB, as a user calls it; through the engine's worker for
// the peers) and the OPFS bytes. `?open=<engine id>`: the cold open of the
// database left behind, timed from this page's navigation start.
// Results go to window.benchResult.

const ENGINES = [
  { id: 'neuraldb-on', engine: 'neuraldb', options: { name: 'bench-peers-sync-on' }, opfs: { dir: 'neuraldb', prefix: 'bench-peers-sync-on.' } },
  { id: 'neuraldb-off', engine: 'neuraldb', options: { name: 'bench-peers-sync-off', syncCommit: false }, opfs: { dir: 'neuraldb', prefix: 'bench-peers-sync-off.' } },
  { id: 'neuraldb-memory', engine: 'neuraldb', options: { name: 'bench-peers-memory', storage: 'memory' } },
  { id: 'sqlite', engine: 'sqlite', options: { name: 'bench-peers-sqlite' }, opfs: { dir: 'bench-peers-sqlite' } },
  { id: 'pglite', engine: 'pglite', options: { name: 'bench-peers-pglite' }, opfs: { dir: 'bench-peers-pglite' } },
];

const POINT_SELECTS = 2000;
const RT_INSERTS = 300;
const RT_SELECTS = 1000;
const RT_WARMUP = 30;

/** A bench-peers-worker.js worker: call(op, ...args) resolves to its answer. */
class EngineWorker {
  constructor() {
    this.worker = new Worker(new URL('./bench-peers-worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({ data: { id, ok, value, error } }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      ok ? p.resolve(value) : p.reject(new Error(error));
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  call(op, ...args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

/** Runs fn(worker) on a new worker with the engine open; closes and ends it after. */
async function withEngine(e, fn) {
  const w = new EngineWorker();
  try {
    await w.call('open', e.engine, e.options);
    const value = await fn(w);
    await w.call('close');
    return value;
  } finally {
    w.terminate();
  }
}

// ---- OPFS -------------------------------------------------------------------

async function opfsDir({ dir }) {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(dir).catch(() => null);
}

async function bytesUnder(dir, prefix = '') {
  let n = 0;
  for await (const [name, h] of dir.entries()) {
    if (!name.startsWith(prefix)) continue;
    n += h.kind === 'file' ? (await h.getFile()).size : await bytesUnder(h);
  }
  return n;
}

async function opfsBytes(opfs) {
  const dir = await opfsDir(opfs);
  return dir ? bytesUnder(dir, opfs.prefix) : 0;
}

async function removeOpfs(opfs) {
  const dir = await opfsDir(opfs);
  if (!dir) return;
  if (!opfs.prefix) return (await navigator.storage.getDirectory()).removeEntry(opfs.dir, { recursive: true });
  for await (const name of dir.keys()) if (name.startsWith(opfs.prefix)) await dir.removeEntry(name);
}

// ---- the measurements ---------------------------------------------------------

/** The 16 tests on a new database, and the OPFS bytes they leave. */
async function suite(e) {
  if (e.opfs) await removeOpfs(e.opfs);
  const result = await withEngine(e, (w) => w.call('suite'));
  result.opfsBytes = e.opfs ? await opfsBytes(e.opfs) : null;
  return result;
}

/** Durable 1-row INSERTs, then point SELECTs by key, as round trips from this thread (µs). */
async function roundTrips(query) {
  await query('CREATE TABLE rt(id INTEGER PRIMARY KEY, v TEXT)');
  const insertUs = [];
  for (let i = 0; i < RT_WARMUP + RT_INSERTS; i++) {
    const t0 = performance.now();
    await query(`INSERT INTO rt VALUES(${i},'payload ${i}')`);
    if (i >= RT_WARMUP) insertUs.push((performance.now() - t0) * 1000);
  }
  const selectUs = [];
  for (let i = 0; i < RT_WARMUP + RT_SELECTS; i++) {
    const t0 = performance.now();
    await query(`SELECT v FROM rt WHERE id=${(i * 7919) % (RT_WARMUP + RT_INSERTS)}`);
    if (i >= RT_WARMUP) selectUs.push((performance.now() - t0) * 1000);
  }
  return { insertUs, selectUs };
}

async function extras(e) {
  const out = await withEngine(e, async (w) => {
    const pointInWorkerUs = await w.call('pointSelects', POINT_SELECTS);
    // The peers' round trips go through their worker; NeuralDB's through
    // the npm package's API (below), once this worker has closed it.
    const trips = e.engine === 'neuraldb' ? {} : await roundTrips((sql) => w.call('sql', sql));
    return { pointInWorkerUs, ...trips };
  });
  if (e.engine === 'neuraldb') {
    const { NeuralDB } = await import('/pkg/index.js');
    const db = await NeuralDB.open(e.options.name, { storage: e.options.storage });
    try {
      if (e.options.syncCommit === false) await db.query('SET synchronous_commit = off');
      Object.assign(out, await roundTrips((sql) => db.query(sql)));
    } finally {
      await db.close();
    }
  }
  return out;
}

/** Opens the database left behind and counts kv; ms since navigation start. */
async function coldOpen(e) {
  let ms;
  let count;
  if (e.engine === 'neuraldb') {
    const { NeuralDB } = await import('/pkg/index.js');
    const db = await NeuralDB.open(e.options.name);
    count = (await db.query('SELECT count(*) AS n FROM kv')).rows[0].n;
    ms = performance.now();
    await db.close();
  } else {
    count = await withEngine(e, async (w) => {
      const [[n]] = await w.call('sql', 'SELECT count(*) FROM kv');
      ms = performance.now();
      return n;
    });
  }
  return { ms, count: String(count) };
}

async function main(params) {
  const only = params.get('only')?.split(',');
  const engines = ENGINES.filter((e) => !only || only.some((o) => e.id.startsWith(o)));
  const runs = Number(params.get('runs') ?? 1);
  const result = { userAgent: navigator.userAgent, isolated: crossOriginIsolated, engines: engines.map((e) => ({ id: e.id, persistent: !!e.opfs })), runs: [], extras: {} };
  const attempt = async (what, f) => {
    try {
      return await f();
    } catch (err) {
      console.error(`${what}: ${err.message}`);
      return { error: err.message };
    }
  };
  for (let r = 0; r < runs; r++) {
    const run = {};
    for (const e of engines) {
      run[e.id] = await attempt(`${e.id} suite`, () => suite(e));
      const total = run[e.id].times?.reduce((a, b) => a + b, 0);
      console.log(`run ${r + 1}/${runs} ${e.id}: ${total === undefined ? 'failed' : `${total.toFixed(0)} ms`}`);
    }
    result.runs.push(run);
  }
  for (const e of engines) {
    result.extras[e.id] = await attempt(`${e.id} extras`, () => extras(e));
    console.log(`${e.id}: point SELECTs and round trips done`);
  }
  return result;
}

const params = new URLSearchParams(location.search);
const open = params.get('open');
(open ? coldOpen(ENGINES.find((e) => e.id === open)) : main(params)).then(
  (r) => (window.benchResult = r),
  (err) => (window.benchResult = { error: String(err?.stack ?? err) }),
);
