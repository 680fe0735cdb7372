// Cross-tab throughput: one headless Chromium (persistent profile, so OPFS
// is on disk), one database, bank transfers through db.transaction() at
// READ COMMITTED (SELECT ... FOR UPDATE of two accounts in id order, then
// two UPDATEs). First one tab (the leader) runs all T transfers; then N
// tabs run T/N each, all released together by a start barrier, timed from
// the barrier to the last tab's finish. Prints tx/s for each and the ratio
// N-tab / 1-tab; checks every account's balance against the transfers
// (each applied exactly once, total conserved) and exits 1 otherwise.
//
// Usage: node scripts/bench-tabs.mjs [--tabs 4,8] [--transfers 800] [--accounts 100] [--rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, startServer } from '../tests/e2e/browsers.mjs';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const tabCounts = option('tabs', '4,8').split(',').map(Number);
const T = Number(option('transfers', 800));
const ACCOUNTS = Number(option('accounts', 100));
const ROUNDS = Number(option('rounds', 3));
const START_BALANCE = 1000;
for (const n of [...tabCounts, T, ACCOUNTS, ROUNDS]) {
  if (!Number.isInteger(n) || n < 1) throw new Error('--tabs, --transfers, --accounts and --rounds take positive integers');
}
for (const n of tabCounts) if (T % n) throw new Error(`--transfers ${T} is not a multiple of ${n} tabs`);

/** T transfers [from, to, amount], the same for every configuration (seeded). */
function makeTransfers(seed) {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out = [];
  for (let k = 0; k < T; k++) {
    const from = 1 + Math.floor(rnd() * ACCOUNTS);
    let to = 1 + Math.floor(rnd() * (ACCOUNTS - 1));
    if (to >= from) to++;
    out.push([from, to, 1 + Math.floor(rnd() * 100)]);
  }
  return out;
}

/** The balances the transfers must leave, whatever order they committed in. */
function expectedBalances(transfers) {
  const bal = new Array(ACCOUNTS + 1).fill(START_BALANCE);
  for (const [from, to, amount] of transfers) {
    bal[from] -= amount;
    bal[to] += amount;
  }
  return bal.slice(1);
}

const server = await startServer();
const profile = mkdtempSync(join(tmpdir(), 'neuraldb-bench-tabs-'));
const browser = await chromium(profile);
const maxTabs = Math.max(...tabCounts);
const pages = [];
let failed = false;

/** Recreates the accounts table (same start for every run). */
async function resetAccounts() {
  await pages[0].eval(async ({ accounts, balance }) => {
    await window.db.exec('DROP TABLE IF EXISTS accounts');
    await window.db.exec('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    await window.db.query('INSERT INTO accounts SELECT g, $1 FROM generate_series(1, $2) g', [balance, accounts]);
  }, { accounts: ACCOUNTS, balance: START_BALANCE });
}

/** Runs the transfers split over the first `n` tabs; resolves to the measured figures. */
async function run(n, transfers) {
  await resetAccounts();
  const per = T / n;
  // Arm every tab: each waits for 'go' on a BroadcastChannel, then runs its
  // share; window.benchDone resolves to its figures when it is done.
  await Promise.all(pages.slice(0, n).map((p, i) => p.eval(({ share }) => {
    let finished;
    window.benchDone = new Promise((resolve) => (finished = resolve));
    const go = new BroadcastChannel('bench-tabs-go');
    go.onmessage = async () => {
      go.close();
      const start = performance.timeOrigin + performance.now();
      let attempts = 0;
      let done = 0;
      let error = null;
      try {
        for (const [from, to, amount] of share) {
          const [a, b] = from < to ? [from, to] : [to, from];
          await window.db.transaction(async (tx) => {
            attempts++;
            await tx.query('SELECT id, balance FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE', [a, b]);
            await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from]);
            await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to]);
          }, { isolation: 'read committed', retries: 100 });
          done++;
        }
      } catch (e) {
        error = `${e.code ?? ''} ${e.message}`;
      }
      finished({ start, end: performance.timeOrigin + performance.now(), attempts, done, error });
    };
  }, { share: transfers.slice(i * per, (i + 1) * per) })));
  // The barrier: one post reaches every armed tab (a channel's own posts
  // are not delivered to itself, so a fresh instance sends).
  await pages[0].eval(() => {
    const c = new BroadcastChannel('bench-tabs-go');
    c.postMessage('go');
    c.close();
  });
  // Wait for every tab's completion promise (no polling: polls from here
  // would cost the browser CPU while it is measured).
  const outs = await Promise.all(pages.slice(0, n).map((p) => p.eval(() => window.benchDone)));
  const errors = outs.filter((o) => o.error).map((o) => o.error);
  const done = outs.reduce((s, o) => s + o.done, 0);
  const attempts = outs.reduce((s, o) => s + o.attempts, 0);
  const ms = Math.max(...outs.map((o) => o.end)) - Math.min(...outs.map((o) => o.start));
  const balances = await pages[n - 1].eval(async () =>
    (await window.db.query('SELECT balance FROM accounts ORDER BY id', [], { rowMode: 'array' })).rows.map((r) => r[0]));
  const want = expectedBalances(transfers);
  const sum = balances.reduce((s, b) => s + b, 0);
  const problems = [...errors];
  if (done !== T) problems.push(`${done} transfers completed, expected ${T}`);
  if (sum !== ACCOUNTS * START_BALANCE) problems.push(`total balance ${sum}, expected ${ACCOUNTS * START_BALANCE}`);
  const wrong = want.filter((b, i) => balances[i] !== b).length;
  if (balances.length !== ACCOUNTS || wrong) problems.push(`${wrong} accounts differ from the transfers' expected balances`);
  return { n, ms, tps: (done / ms) * 1000, retries: attempts - done, problems };
}

const fmt = (r) => `${String(r.n).padStart(2)} tab${r.n > 1 ? 's' : ' '}: ${(r.tps).toFixed(0).padStart(5)} tx/s (${T} transfers in ${r.ms.toFixed(0)} ms, ${r.retries} retried)`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const base = `${server.url}e2e/`;
  for (let i = 0; i < maxTabs; i++) {
    const p = await browser.newPage(base);
    // The first tab opens the database first: it is the leader.
    await p.eval(async () => {
      window.db = await window.ndb.NeuralDB.open('bench-tabs');
    });
    pages.push(p);
  }
  const configs = [1, ...tabCounts];
  const tps = new Map(configs.map((n) => [n, []]));
  console.log(`${T} transfers over ${ACCOUNTS} accounts, READ COMMITTED, SELECT ... FOR UPDATE + 2 UPDATEs per transaction; ${ROUNDS} round(s)`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const n of configs) {
      const r = await run(n, makeTransfers(round * 7919 + n));
      console.log(`round ${round} ${fmt(r)}${r.problems.length ? `  FAILED: ${r.problems.join('; ')}` : ''}`);
      if (r.problems.length) failed = true;
      tps.get(n).push(r.tps);
    }
  }
  const one = median(tps.get(1));
  console.log(`median of ${ROUNDS}:`);
  console.log(` 1 tab : ${one.toFixed(0).padStart(5)} tx/s`);
  for (const n of tabCounts) {
    const m = median(tps.get(n));
    console.log(`${String(n).padStart(2)} tabs: ${m.toFixed(0).padStart(5)} tx/s  = ${(m / one).toFixed(2)}x one tab`);
  }
  console.log(failed ? 'FAILED: see above' : `checks: every run completed ${T} transfers; balances match the transfers, total conserved`);
} finally {
  await browser.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
