// Browser benchmark. Results go to the page and to window.benchResult
// (scripts/bench-browser.mjs prints them).
import { NeuralDB } from '/pkg/index.js';

const N = Number(new URLSearchParams(location.search).get('n') ?? 500);

function stats(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    n: times.length,
    meanMs: +mean.toFixed(3),
    medianMs: +sorted[Math.floor(sorted.length / 2)].toFixed(3),
    p99Ms: +sorted[Math.floor(sorted.length * 0.99)].toFixed(3),
    perSecond: Math.round(1000 / mean),
  };
}

async function floor() {
  const w = new Worker(new URL('./bench-floor-worker.js', import.meta.url));
  const times = await new Promise((resolve) => {
    w.onmessage = (e) => resolve(e.data);
    w.postMessage({ n: N, recordBytes: 200 });
  });
  w.terminate();
  return stats(times);
}

async function neuraldb() {
  const db = await NeuralDB.open('neuraldb-bench');
  await db.exec('DROP TABLE IF EXISTS bench; CREATE TABLE bench (id int PRIMARY KEY, v text)');
  const commit = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await db.query('INSERT INTO bench VALUES ($1, $2)', [i, 'payload-' + i]);
    commit.push(performance.now() - t0);
  }
  const point = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = await db.query('SELECT v FROM bench WHERE id = $1', [(i * 7919) % N]);
    point.push(performance.now() - t0);
    if (r.rows.length !== 1) throw new Error('point query missed');
  }
  await db.query('DROP TABLE bench');
  await db.close();
  return { commit: stats(commit), point: stats(point) };
}

async function run() {
  const out = document.getElementById('out');
  out.textContent = 'running…';
  const f = await floor();
  const { commit, point } = await neuraldb();
  const result = {
    userAgent: navigator.userAgent,
    opfsFloor: f,
    durableCommit: commit,
    pointQuery: point,
    commitVsFloor: +(commit.meanMs / f.meanMs).toFixed(2),
  };
  out.textContent =
    `raw OPFS floor (200 B write + flush, worker):  ${f.meanMs} ms mean, ${f.medianMs} ms median  (${f.perSecond}/s)\n` +
    `NeuralDB 1-row durable commit (main thread):  ${commit.meanMs} ms mean, ${commit.medianMs} ms median, p99 ${commit.p99Ms} ms  (${commit.perSecond}/s, ${result.commitVsFloor}x the floor)\n` +
    `NeuralDB point query round trip (main thread): ${point.meanMs} ms mean, ${point.medianMs} ms median, p99 ${point.p99Ms} ms  (${point.perSecond}/s)\n`;
  window.benchResult = result;
}

document.getElementById('go').onclick = run;
if (new URLSearchParams(location.search).has('auto')) run();
