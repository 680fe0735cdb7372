// Side-by-side browser benchmark (not a test): the 16 tests of SQLite's
// classic speed comparison for NeuralDB (synchronous_commit on and off, and
// in memory), SQLite-WASM (opfs-sahpool, WAL, synchronous=FULL) and PGlite
// (opfs-ahp), each in a dedicated worker of its own on OPFS, in ONE headless
// Chromium launch on a persistent profile (OPFS on disk), cross-origin
// isolated (5 µs timer); see www/bench-peers.js. Also: round trips from the
// main thread, point SELECTs inside the worker, the cold open of the
// database left behind in a new page, OPFS bytes after the tests, and the
// gzip -9 size of the files each engine downloads. Prints one table, with
// medians over the runs; exits non-zero when the engines disagree on a
// table's contents or a SELECT's counts, or an engine fails.
// Usage: node scripts/bench-peers.mjs [--runs N] [--only neuraldb,sqlite,pglite]
//   (--only takes engine ids or their prefixes: neuraldb-on, neuraldb-off,
//   neuraldb-memory, sqlite, pglite)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, startServer } from '../tests/e2e/browsers.mjs';
import { ensureBenchDeps } from './bench-deps.mjs';

const LABELS = {
  'neuraldb-on': 'NeuralDB on',
  'neuraldb-off': 'NeuralDB off',
  'neuraldb-memory': 'NeuralDB mem',
  sqlite: 'SQLite-WASM',
  pglite: 'PGlite',
};

function options(argv) {
  const o = { runs: 2, only: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') o.runs = Number(argv[++i]);
    else if (argv[i] === '--only') o.only = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: --runs N --only neuraldb,sqlite,pglite)`);
  }
  if (!(o.runs >= 1)) throw new Error('--runs needs a positive number');
  return o;
}

/** The engine an id runs ('neuraldb', 'sqlite', 'pglite'): the memory database downloads what the others do. */
const kind = (id) => id.split('-')[0];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Sum of the gzip -9 sizes of the engine files a page and its workers loaded (not the benchmark's own). */
async function gzipBytes(baseUrl, urls) {
  let total = 0;
  for (const url of urls) {
    const { pathname } = new URL(url);
    if (/^\/bench-peers/.test(pathname)) continue;
    const res = await fetch(new URL(pathname, baseUrl));
    if (res.ok) total += gzipSync(Buffer.from(await res.arrayBuffer()), { level: 9 }).length;
  }
  return total;
}

/** Waits for window.benchResult on a page opened with `beforeGoto`, then closes it. */
async function pageResult(browser, url, beforeGoto) {
  const page = await browser.newPage(url, { waitReady: false, beforeGoto });
  try {
    await page.raw.waitForFunction(() => window.benchResult, null, { timeout: 0, polling: 500 });
    const result = await page.raw.evaluate(() => window.benchResult);
    if (result.error) throw new Error(result.error);
    return result;
  } finally {
    await page.close();
  }
}

/**
 * Compares every engine's SELECT counts and table sums, run by run, with
 * the reference engine's (SQLite-WASM's when it ran); returns the mismatches.
 */
function mismatches(result) {
  const ids = result.engines.map((e) => e.id);
  const refId = ['sqlite', 'pglite', ...ids].find((id) => result.runs[0][id]?.checks);
  const ref = result.runs[0][refId];
  const out = [];
  result.runs.forEach((run, r) => {
    for (const id of ids) {
      const got = run[id];
      if (!got?.checks || got === ref) continue;
      got.counted.forEach((n, i) => {
        if (n !== ref.counted[i]) {
          out.push(`run ${r + 1}: ${LABELS[id]}, test ${i + 1} (${ref.names[i]}): its SELECTs counted ${n} rows, ${LABELS[refId]} ${ref.counted[i]}`);
        }
      });
      got.checks.forEach((c, i) => {
        if (c.values !== ref.checks[i].values) {
          out.push(`run ${r + 1}: ${LABELS[id]}, after test ${c.after} (${ref.names[c.after - 1]}), ${c.table}: count sum(a) sum(b) sum(length(c)) = ${c.values}, ${LABELS[refId]}: ${ref.checks[i].values}`);
        }
      });
    }
  });
  return out;
}

function printTable(result, cold, download) {
  const ids = result.engines.map((e) => e.id);
  const okRuns = (id) => result.runs.map((run) => run[id]).filter((r) => r?.times);
  const names = okRuns(ids.find((id) => okRuns(id).length))[0]?.names ?? [];
  const extra = (id, key) => (result.extras[id]?.[key] ? median(result.extras[id][key]) : null);
  const mib = (bytes) => (bytes == null ? null : bytes / 2 ** 20);
  const rows = [
    ...names.map((name, i) => ({
      label: `${String(i + 1).padStart(2)}. ${name} (ms)`,
      value: (id) => (okRuns(id).length ? median(okRuns(id).map((r) => r.times[i])) : null),
      target: { ratio: 1 },
    })),
    { label: 'Total of the 16 tests (ms)', value: (id) => (okRuns(id).length ? median(okRuns(id).map((r) => r.times.reduce((a, b) => a + b, 0))) : null), target: { ratio: 0.75 } },
    { label: 'Durable 1-row INSERT, round trip (µs)', value: (id) => extra(id, 'insertUs'), target: { ratio: 1, strict: true } },
    { label: 'Point SELECT by key, round trip (µs)', value: (id) => extra(id, 'selectUs') },
    { label: 'Point SELECT in the worker (µs)', value: (id) => extra(id, 'pointInWorkerUs'), target: { at: 15 } },
    { label: 'Cold open in a new page (ms)', value: (id) => (cold[id] ? median(cold[id].map((c) => c.ms)) : null), target: { at: 100 } },
    { label: 'OPFS after the tests (MiB)', value: (id) => mib(okRuns(id).at(-1)?.opfsBytes), target: { ratio: 1 } },
    { label: 'Download, gzip -9 (MiB)', value: (id) => mib(download[kind(id)]) },
  ];
  const fmt = (v) => (v == null ? '—' : v >= 99.5 ? v.toFixed(0) : v >= 9.95 ? v.toFixed(1) : v.toFixed(2));
  const width = Math.max(...rows.map((r) => r.label.length));
  const ours = 'neuraldb-on';
  const hasRatio = ids.includes(ours) && ids.includes('sqlite');
  const head = [''.padEnd(width), ...ids.map((id) => LABELS[id].padStart(12))];
  if (hasRatio) head.push('on/SQLite'.padStart(10), '  target');
  console.log(`\n${head.join(' ')}`);
  for (const row of rows) {
    const cells = [row.label.padEnd(width), ...ids.map((id) => fmt(row.value(id)).padStart(12))];
    if (hasRatio) {
      const mine = row.value(ours);
      const theirs = row.value('sqlite');
      const ratio = mine != null && theirs ? mine / theirs : null;
      cells.push((ratio == null ? '—' : `${ratio.toFixed(2)}x`).padStart(10));
      const t = row.target;
      if (t?.ratio !== undefined && ratio != null) {
        const met = t.strict ? ratio < t.ratio : ratio <= t.ratio;
        cells.push(`  ${t.strict ? '<' : '≤'} ${t.ratio.toFixed(2)}x ${met ? 'ok' : 'MISS'}`);
      } else if (t?.at !== undefined && mine != null) {
        cells.push(`  ≤ ${t.at} ${mine <= t.at ? 'ok' : 'MISS'}`);
      }
    }
    console.log(cells.join(' '));
  }
}

const opts = options(process.argv.slice(2));
ensureBenchDeps();
const server = await startServer();
const profile = mkdtempSync(join(tmpdir(), 'neuraldb-bench-peers-'));
const browser = await chromium(profile);
try {
  const query = new URLSearchParams({ runs: opts.runs, ...(opts.only && { only: opts.only }) });
  const result = await pageResult(browser, `${server.url}bench-peers.html?${query}`, (page) => {
    page.on('console', (m) => (m.type() === 'error' ? console.error : console.log)(`  ${m.text()}`));
  });
  // Each cold open in a new page; the first one per engine also records
  // what the page and its workers download.
  const cold = {};
  const download = {};
  for (let r = 0; r < opts.runs; r++) {
    for (const { id } of result.engines.filter((e) => e.persistent && result.extras[e.id]?.pointInWorkerUs)) {
      const urls = new Set();
      const watch = r === 0 ? (page) => page.on('request', (req) => urls.add(req.url())) : undefined;
      const c = await pageResult(browser, `${server.url}bench-peers.html?open=${id}`, watch);
      (cold[id] ??= []).push(c);
      if (watch) download[kind(id)] ??= await gzipBytes(server.url, urls);
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const isolated = result.isolated && result.runs.every((run) => Object.values(run).every((s) => s.isolated !== false));
  console.log(`\n${date}, ${/Chrome\/\S+/.exec(result.userAgent)?.[0]}, cross-origin isolated (page and workers): ${isolated}, medians of ${opts.runs} run(s)`);
  printTable(result, cold, download);
  const problems = mismatches(result);
  for (const [id, runs] of Object.entries(cold)) {
    const counts = new Set(runs.map((c) => c.count));
    if (counts.size !== 1) problems.push(`${LABELS[id]}: cold opens counted ${[...counts].join(', ')} rows of kv`);
  }
  const allCounts = new Set(Object.values(cold).map((runs) => runs[0].count));
  if (allCounts.size > 1) problems.push(`cold opens disagree on kv's row count: ${[...allCounts].join(', ')}`);
  for (const [id, e] of Object.entries(result.extras)) if (e.error) problems.push(`${LABELS[id]}: ${e.error}`);
  result.runs.forEach((run, r) => {
    for (const [id, s] of Object.entries(run)) if (s.error) problems.push(`run ${r + 1}: ${LABELS[id]}: ${s.error}`);
  });
  if (problems.length) {
    console.error(`\n!!! ${problems.length} PROBLEM(S): the engines disagree or failed !!!`);
    for (const p of problems) console.error(`!!! ${p}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
}
