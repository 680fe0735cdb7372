// The demo console: one NeuralDB session per tab, plus a second session
// that polls pg_stat_activity and pg_locks without touching the console's
// transaction.
import { NeuralDB } from '/pkg/index.js';
import { vectorPanel } from './vectors.js';
import { registerServiceWorker } from './pwa.js';

registerServiceWorker().catch((e) => console.warn('service worker:', e));

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const dbName = params.get('db') ?? 'demo';
$('dbname').value = dbName;
$('dbname').addEventListener('change', () => {
  params.set('db', $('dbname').value);
  location.search = params.toString();
});

function cell(v) {
  const td = document.createElement('td');
  if (v === null || v === undefined) {
    td.textContent = 'NULL';
    td.className = 'null';
  } else if (v instanceof Date) {
    td.textContent = v.toISOString();
  } else if (v instanceof Uint8Array) {
    td.textContent = '\\x' + [...v].map((b) => b.toString(16).padStart(2, '0')).join('');
  } else if (v instanceof Float32Array) {
    td.textContent = '[' + [...v].join(',') + ']';
  } else if (typeof v === 'object') {
    td.textContent = JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x));
  } else {
    td.textContent = String(v);
  }
  return td;
}

function table(result) {
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const f of result.fields) {
    const th = document.createElement('th');
    th.textContent = f.name;
    th.title = f.type;
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of result.rows) {
    const tr = body.insertRow();
    for (const v of row) tr.append(cell(v));
  }
  return t;
}

function showError(target, e) {
  const div = document.createElement('div');
  div.className = 'error';
  div.textContent = `ERROR ${e.code ?? ''}: ${e.message}` +
    (e.detail ? `\nDETAIL: ${e.detail}` : '') + (e.hint ? `\nHINT: ${e.hint}` : '');
  target.append(div);
}

let db;
let monitor;

function showStatus() {
  $('session').textContent = `session: ${db.processID ?? '–'}`;
  const s = db.transactionStatus;
  $('txn').textContent = { I: 'idle', T: 'in transaction', E: 'failed transaction' }[s];
  $('txn').className = `badge ${s}`;
}

async function run(sql) {
  const out = $('output');
  out.replaceChildren();
  const started = performance.now();
  try {
    const results = await db.exec(sql, { rowMode: 'array' });
    for (const r of results) {
      const tag = document.createElement('div');
      tag.className = 'tag';
      tag.textContent = `${r.command} ${r.rowCount}`;
      out.append(tag);
      if (r.fields.length) out.append(table(r));
    }
    const ms = document.createElement('div');
    ms.className = 'tag';
    ms.textContent = `${(performance.now() - started).toFixed(1)} ms`;
    out.append(ms);
  } catch (e) {
    showError(out, e);
  }
  showStatus();
  refresh();
}

async function refresh() {
  for (const [id, sql] of [
    ['activity', `SELECT pid, state, wait_event_type AS wait, backend_xid AS xid, query
                  FROM pg_stat_activity ORDER BY pid`],
    ['locks', `SELECT pid, locktype, relation, transactionid AS xid, mode, granted
               FROM pg_locks ORDER BY pid, locktype`],
  ]) {
    const target = $(id);
    try {
      const r = await monitor.query(sql, [], { rowMode: 'array' });
      target.replaceChildren(table(r));
    } catch (e) {
      target.replaceChildren();
      showError(target, e);
    }
  }
}

async function main() {
  try {
    db = await NeuralDB.open(dbName, { int8: 'string' });
    monitor = await db.connect();
  } catch (e) {
    showError($('output'), e);
    return;
  }
  $('run').onclick = () => run($('sql').value);
  $('sql').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run($('sql').value);
  });
  for (const b of document.querySelectorAll('button[data-sql]')) b.onclick = () => run(b.dataset.sql);
  await run('SELECT version()');
  setInterval(refresh, 1000);
  // Its own session, so the console's open transaction does not hold it.
  vectorPanel(await db.connect(), $);
}

main();
