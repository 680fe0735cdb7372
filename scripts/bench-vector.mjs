// Vector search benchmark (not a test): NeuralDB's HNSW against
// hnswlib-wasm and PGlite + pgvector in one headless Chromium run, on a
// persistent profile (OPFS on disk), cross-origin isolated (5 µs timer).
// Installs the peers into bench/node_modules on first use.
// Usage: node scripts/bench-vector.mjs [n=20000] [dims=384] [q=100] [engines=neuraldb,hnswlib,pglite]
//   [pool=MiB] (NeuralDB's buffer pool; default 64) [mem=MiB] (maintenance_work_mem of both
//   databases' index builds; default 64) [datasets=clustered,lowrank,uniform]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, startServer } from '../tests/e2e/browsers.mjs';
import { ensureBenchDeps } from './bench-deps.mjs';

ensureBenchDeps();
const query = new URLSearchParams(process.argv.slice(2).map((a) => a.split('=')));
const server = await startServer();
const profile = mkdtempSync(join(tmpdir(), 'neuraldb-bench-vector-'));
const browser = await chromium(profile);
try {
  const page = await browser.newPage(`${server.url}bench-vector.html?${query}`, { waitReady: false });
  page.raw.on('console', (m) => m.type() === 'error' && console.error('page:', m.text()));
  let shown = 0;
  for (;;) {
    const text = await page.raw.evaluate(() => document.getElementById('out').textContent);
    const lines = text.split('\n');
    for (const l of lines.slice(shown)) if (l && l !== 'running…') console.log(l);
    shown = lines.length;
    const done = await page.raw.evaluate(() => window.benchResult);
    if (done) {
      if (done.error) process.exitCode = 1;
      else printTable(done);
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
} finally {
  await browser.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
}

function printTable(r) {
  console.log(`\n${r.n} x ${r.dims}, ${r.queries} queries, top-10 L2, m=16 ef_construction=64, cross-origin isolated: ${r.isolated}`);
  console.log('dataset    engine     load s  build s   ef40 ms recall  ef100 ms recall  ef200 ms recall  size MiB');
  for (const [ds, engines] of Object.entries(r.datasets)) {
    for (const [name, e] of Object.entries(engines)) {
      const ef = (k) => `${e[k].meanMs.toFixed(3).padStart(8)} ${e[k].recall.toFixed(3)}`;
      const size = e.bytes == null ? '-' : (e.bytes / 2 ** 20).toFixed(1);
      console.log(`${ds.padEnd(10)} ${name.padEnd(9)} ${(e.loadMs / 1000).toFixed(1).padStart(6)} ${(e.buildMs / 1000).toFixed(1).padStart(8)}  ${ef('ef40')} ${ef('ef100')} ${ef('ef200')}  ${size.padStart(8)}`);
    }
  }
}
