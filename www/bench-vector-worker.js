// The vector benchmark's worker: NeuralDB (its engine called directly, as
// its own worker does), hnswlib-wasm and PGlite + pgvector (OPFS), one
// after the other in this dedicated worker, on the same seeded data.
// For each dataset: build time (HNSW m = 16, ef_construction = 64),
// then per ef_search 40/100/200 the mean and median latency of a top-10
// query and recall@10 against an exact scan computed here; database size
// of the two databases (our data file + WAL; PGlite's pg_database_size).
import { init, Database, runner } from './bench-neuraldb.js';
import { loadHnswlib } from '/bench-modules/hnswlib-wasm/dist/hnswlib.js';
import { PGlite } from '/bench-modules/@electric-sql/pglite/dist/index.js';
import { OpfsAhpFS } from '/bench-modules/@electric-sql/pglite/dist/fs/opfs-ahp.js';
import { vector } from '/bench-modules/@electric-sql/pglite-pgvector/dist/index.js';

const EFS = [40, 100, 200];
let poolBytes = 0;
// maintenance_work_mem for both databases' index builds (`mem=MiB`).
let memMiB = 0;
const K = 10;
/** Queries run once, unmeasured, before the timed rounds. */
const WARMUP = 20;
const log = (s) => postMessage({ log: s });

// ---- data --------------------------------------------------------------

function rng(seed) {
  let s = BigInt(seed) | 1n;
  return () => {
    // xorshift64*
    s ^= s >> 12n; s ^= (s << 25n) & 0xffffffffffffffffn; s ^= s >> 27n;
    return Number(((s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
  };
}

function gaussian(r) {
  const u1 = r() || 1e-12;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r());
}

function normalise(v) {
  let norm = 0;
  for (let d = 0; d < v.length; d++) norm += v[d] * v[d];
  norm = Math.sqrt(norm);
  for (let d = 0; d < v.length; d++) v[d] /= norm;
  return v;
}

/**
 * Shaped like sentence embeddings: 64 topics in a 32-dimensional latent
 * space, mapped to `dims` dimensions, a little isotropic noise,
 * normalised (clusters on a low-dimensional manifold).
 */
function clustered(n, dims, seed) {
  const r = rng(seed);
  const basis = Array.from({ length: 32 }, () => Float32Array.from({ length: dims }, () => gaussian(r)));
  const centres = Array.from({ length: 64 }, () => Float32Array.from({ length: 32 }, () => gaussian(r)));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r() * 64)];
    const v = new Float32Array(dims);
    for (let k = 0; k < 32; k++) {
      const a = c[k] + 0.6 * gaussian(r);
      const b = basis[k];
      for (let d = 0; d < dims; d++) v[d] += a * b[d];
    }
    for (let d = 0; d < dims; d++) v[d] += 0.5 * gaussian(r);
    return normalise(v);
  });
}

/** A 32-dimensional signal plus strong noise, normalised (harder). */
function lowrank(n, dims, seed) {
  const r = rng(seed);
  const basis = Array.from({ length: 32 }, () => Float32Array.from({ length: dims }, () => gaussian(r)));
  return Array.from({ length: n }, () => {
    const v = new Float32Array(dims);
    for (const b of basis) {
      const c = gaussian(r);
      for (let d = 0; d < dims; d++) v[d] += c * b[d];
    }
    for (let d = 0; d < dims; d++) v[d] += 3 * gaussian(r);
    return normalise(v);
  });
}

function uniform(n, dims, seed) {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dims }, () => r() * 2 - 1));
}

function l2(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; s += d * d; }
  return s;
}

function exactTopK(data, q) {
  const best = []; // [dist, id], ascending, at most K
  for (let i = 0; i < data.length; i++) {
    const d = l2(data[i], q);
    if (best.length < K || d < best[best.length - 1][0]) {
      best.push([d, i]);
      best.sort((x, y) => x[0] - y[0]);
      if (best.length > K) best.pop();
    }
  }
  return best.map((b) => b[1]);
}

const literal = (v) => '[' + Array.from(v, (x) => x.toPrecision(8)).join(',') + ']';

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { meanMs: +(times.reduce((a, b) => a + b, 0) / times.length).toFixed(4), medianMs: +s[s.length >> 1].toFixed(4) };
}

function recall(results, truth) {
  let hits = 0;
  results.forEach((got, i) => { hits += got.filter((id) => truth[i].includes(id)).length; });
  return +(hits / (results.length * K)).toFixed(4);
}

// ---- engines -----------------------------------------------------------

async function neuraldb(data, queries, name) {
  await init();
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle('bench-' + name, { create: true });
  const handle = async (f) => (await dir.getFileHandle(f, { create: true })).createSyncAccessHandle();
  const db = Database.openOpfs(await handle('v.ndb'), await handle('v.ndb-wal'), poolBytes ? { poolBytes } : {});
  const run = runner(db);
  if (memMiB) run(`SET maintenance_work_mem = '${memMiB}MB'`);
  run(`CREATE TABLE items (id int PRIMARY KEY, e vector(${data[0].length}))`);
  const t0 = performance.now();
  run('BEGIN');
  data.forEach((v, i) => run('INSERT INTO items VALUES ($1, $2)', [i, v]));
  run('COMMIT');
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  run('CREATE INDEX ON items USING hnsw (e vector_l2_ops) WITH (m = 16, ef_construction = 64)');
  const buildMs = performance.now() - t1;
  const perEf = {};
  // Warm-up (JIT, caches), as for every engine: the first queries at ef 40.
  for (const q of queries.slice(0, WARMUP)) run('SELECT id FROM items ORDER BY e <-> $1 LIMIT 10', [q]);
  for (const ef of EFS) {
    run(`SET hnsw.ef_search = ${ef}`);
    const times = [];
    const results = [];
    for (const q of queries) {
      const t = performance.now();
      const r = run('SELECT id FROM items ORDER BY e <-> $1 LIMIT 10', [q]);
      times.push(performance.now() - t);
      results.push(r[0].rows.map((row) => row[0]));
    }
    perEf[ef] = { ...stats(times), results };
  }
  db.free();
  // Data file and WAL (which holds recent pages until a checkpoint).
  const walBytes = (await (await dir.getFileHandle('v.ndb-wal')).getFile()).size;
  const bytes = (await (await dir.getFileHandle('v.ndb')).getFile()).size + walBytes;
  await root.removeEntry('bench-' + name, { recursive: true });
  return { loadMs, buildMs, perEf, bytes, walBytes };
}

async function hnswlib(data, queries) {
  const lib = await loadHnswlib();
  const index = new lib.HierarchicalNSW('l2', data[0].length, '');
  const t0 = performance.now();
  index.initIndex(data.length, 16, 64, 100);
  data.forEach((v, i) => index.addPoint(v, i, false));
  const buildMs = performance.now() - t0;
  const perEf = {};
  index.setEfSearch(40);
  for (const q of queries.slice(0, WARMUP)) index.searchKnn(q, K, undefined);
  for (const ef of EFS) {
    index.setEfSearch(ef);
    const times = [];
    const results = [];
    for (const q of queries) {
      const t = performance.now();
      const r = index.searchKnn(q, K, undefined);
      times.push(performance.now() - t);
      results.push(Array.from(r.neighbors));
    }
    perEf[ef] = { ...stats(times), results };
  }
  return { loadMs: 0, buildMs, perEf, bytes: null };
}

async function pglite(data, queries, name) {
  const pg = await PGlite.create({ fs: new OpfsAhpFS('bench-pg-' + name), extensions: { vector } });
  await pg.exec('CREATE EXTENSION IF NOT EXISTS vector');
  if (memMiB) await pg.exec(`SET maintenance_work_mem = '${memMiB}MB'`);
  await pg.exec(`CREATE TABLE items (id int PRIMARY KEY, e vector(${data[0].length}))`);
  const t0 = performance.now();
  await pg.exec('BEGIN');
  for (let i = 0; i < data.length; i += 100) {
    const rows = data.slice(i, i + 100).map((v, k) => `(${i + k}, '${literal(v)}')`);
    await pg.exec(`INSERT INTO items VALUES ${rows.join(',')}`);
  }
  await pg.exec('COMMIT');
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  await pg.exec('CREATE INDEX ON items USING hnsw (e vector_l2_ops) WITH (m = 16, ef_construction = 64)');
  const buildMs = performance.now() - t1;
  const perEf = {};
  for (const q of queries.slice(0, WARMUP)) {
    await pg.query('SELECT id FROM items ORDER BY e <-> $1 LIMIT 10', [literal(q)], { rowMode: 'array' });
  }
  for (const ef of EFS) {
    await pg.exec(`SET hnsw.ef_search = ${ef}`);
    const times = [];
    const results = [];
    for (const q of queries) {
      const t = performance.now();
      const r = await pg.query('SELECT id FROM items ORDER BY e <-> $1 LIMIT 10', [literal(q)], { rowMode: 'array' });
      times.push(performance.now() - t);
      results.push(r.rows.map((row) => row[0]));
    }
    perEf[ef] = { ...stats(times), results };
  }
  const size = (await pg.query("SELECT pg_database_size(current_database())::int8 AS n")).rows[0].n;
  await pg.close();
  const root = await navigator.storage.getDirectory();
  await root.removeEntry('bench-pg-' + name, { recursive: true }).catch(() => {});
  return { loadMs, buildMs, perEf, bytes: Number(size) };
}

// ---- the run -----------------------------------------------------------

onmessage = async (e) => {
  try {
    const n = Number(e.data.n ?? 20000);
    const dims = Number(e.data.dims ?? 384);
    const nq = Number(e.data.q ?? 100);
    const engines = (e.data.engines ?? 'neuraldb,hnswlib,pglite').split(',');
    // Our buffer pool (default 64 MiB): `pool=MiB`.
    poolBytes = e.data.pool ? Number(e.data.pool) * 2 ** 20 : 0;
    memMiB = e.data.mem ? Number(e.data.mem) : 0;
    log(`crossOriginIsolated: ${e.data.isolated}; ${n} x ${dims}, ${nq} queries, top-${K}, L2, m=16 ef_construction=64`);
    const result = { n, dims, queries: nq, isolated: e.data.isolated, datasets: {} };
    const sets = { clustered, lowrank, uniform };
    const names = (e.data.datasets ?? 'clustered,lowrank,uniform').split(',');
    for (const [i, name] of names.entries()) {
      const make = sets[name];
      if (!make) throw new Error(`unknown dataset ${name}`);
      const all = make(n + nq, dims, 7 + i);
      const data = all.slice(0, n);
      const queries = all.slice(n);
      const t = performance.now();
      const truth = queries.map((q) => exactTopK(data, q));
      log(`${name}: exact top-${K} in ${(performance.now() - t).toFixed(0)} ms`);
      const row = (result.datasets[name] = {});
      for (const engine of engines) {
        const f = { neuraldb, hnswlib, pglite }[engine];
        const r = await f(data, queries, name);
        const out = { loadMs: Math.round(r.loadMs), buildMs: Math.round(r.buildMs), bytes: r.bytes, walBytes: r.walBytes };
        for (const ef of EFS) {
          out['ef' + ef] = { meanMs: r.perEf[ef].meanMs, medianMs: r.perEf[ef].medianMs, recall: recall(r.perEf[ef].results, truth) };
        }
        row[engine] = out;
        log(`${name} ${engine}: ${JSON.stringify(out)}`);
      }
    }
    postMessage({ result });
  } catch (err) {
    postMessage({ error: String(err?.stack ?? err) });
  }
};
