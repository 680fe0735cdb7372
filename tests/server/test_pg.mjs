// node-postgres (`pg`) against `neuraldb serve`: parameters, type round
// trips, errors with SQLSTATE, a row lock blocking another connection until
// commit, and a 40001 retry loop.
//
// Usage: node test_pg.mjs PORT   (prints "N passed, M failed")

import assert from 'node:assert/strict';
import pg from 'pg';
import Cursor from 'pg-cursor';

const port = Number(process.argv[2]);
const config = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
const tests = [];
const test = (name, fn) => tests.push([name, fn]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect() {
  const c = new pg.Client(config);
  await c.connect();
  return c;
}

test('parameters and types round trip', async () => {
  const c = await connect();
  try {
    await c.query('DROP TABLE IF EXISTS js_types');
    await c.query(`CREATE TABLE js_types (id int PRIMARY KEY, b bool, i8 bigint, f float8,
      n numeric(10,2), t text, d date, tstz timestamptz, j jsonb, by bytea, arr int[])`);
    const when = new Date('2024-01-02T03:04:05.123Z');
    await c.query('INSERT INTO js_types VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)', [
      1, true, '1099511627776', 1.5, '123.45', "it's", '2024-02-29', when, { a: [1, 2] },
      Buffer.from([0, 255, 7]), [1, 2, 3],
    ]);
    const { rows, fields } = await c.query('SELECT * FROM js_types WHERE id = $1', [1]);
    const r = rows[0];
    assert.equal(r.b, true);
    assert.equal(r.i8, '1099511627776');
    assert.equal(r.f, 1.5);
    assert.equal(r.n, '123.45');
    assert.equal(r.t, "it's");
    assert.equal(r.tstz.getTime(), when.getTime());
    assert.deepEqual(r.j, { a: [1, 2] });
    assert.deepEqual([...r.by], [0, 255, 7]);
    assert.deepEqual(r.arr, [1, 2, 3]);
    // Type OIDs in RowDescription drive pg's parsers.
    const oids = Object.fromEntries(fields.map((f) => [f.name, f.dataTypeID]));
    assert.deepEqual(
      [oids.id, oids.b, oids.i8, oids.f, oids.n, oids.t, oids.d, oids.tstz, oids.j, oids.by, oids.arr],
      [23, 16, 20, 701, 1700, 25, 1082, 1184, 3802, 17, 1007],
    );
    const { rows: [sum] } = await c.query('SELECT $1::int + $2::int AS s', [40, 2]);
    assert.equal(sum.s, 42);
    // Named prepared statement, executed twice.
    for (const v of [1, 2]) {
      const q = { name: 'double', text: 'SELECT $1::int * 2 AS d', values: [v] };
      assert.equal((await c.query(q)).rows[0].d, v * 2);
    }
  } finally {
    await c.end();
  }
});

test('errors carry SQLSTATE, detail and position', async () => {
  const c = await connect();
  try {
    await c.query('DROP TABLE IF EXISTS js_err');
    await c.query('CREATE TABLE js_err (id int PRIMARY KEY)');
    await c.query('INSERT INTO js_err VALUES (1)');
    await assert.rejects(c.query('INSERT INTO js_err VALUES ($1)', [1]), (e) => {
      assert.equal(e.code, '23505');
      assert.match(e.detail, /Key \(id\)=\(1\) already exists/);
      return true;
    });
    await assert.rejects(c.query('SELECT 1 +'), (e) => e.code === '42601' && e.position === '11');
    // The connection is usable after errors.
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
  } finally {
    await c.end();
  }
});

test('a row lock blocks another connection until commit', async () => {
  const a = await connect();
  const b = await connect();
  const other = await connect();
  try {
    await a.query('DROP TABLE IF EXISTS js_lock');
    await a.query('CREATE TABLE js_lock (id int PRIMARY KEY, v int)');
    await a.query('INSERT INTO js_lock VALUES (1, 0)');
    await a.query('BEGIN');
    await a.query('UPDATE js_lock SET v = v + 1 WHERE id = 1');
    let doneAt = 0;
    const blocked = b.query('UPDATE js_lock SET v = v + 10 WHERE id = $1', [1]).then((r) => {
      doneAt = Date.now();
      return r;
    });
    await sleep(300);
    assert.equal(doneAt, 0, 'the second update waits for the row lock');
    // Other connections go on meanwhile.
    assert.equal((await other.query('SELECT v FROM js_lock')).rows[0].v, 0);
    const commitAt = Date.now();
    await a.query('COMMIT');
    const r = await blocked;
    assert.equal(r.rowCount, 1);
    assert.ok(doneAt >= commitAt);
    assert.equal((await other.query('SELECT v FROM js_lock')).rows[0].v, 11);
  } finally {
    await Promise.all([a.end(), b.end(), other.end()]);
  }
});

test('40001 retry loop', async () => {
  const a = await connect();
  const b = await connect();
  try {
    await a.query('DROP TABLE IF EXISTS js_acct');
    await a.query('CREATE TABLE js_acct (id int PRIMARY KEY, balance int)');
    await a.query('INSERT INTO js_acct VALUES (1, 100)');
    let attempts = 0;
    for (;;) {
      attempts += 1;
      try {
        await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await a.query('SELECT balance FROM js_acct WHERE id = 1');
        if (attempts === 1) await b.query('UPDATE js_acct SET balance = balance - 10 WHERE id = 1');
        await a.query('UPDATE js_acct SET balance = balance - 5 WHERE id = 1');
        await a.query('COMMIT');
        break;
      } catch (e) {
        await a.query('ROLLBACK');
        if (e.code !== '40001' || attempts >= 5) throw e;
      }
    }
    assert.equal(attempts, 2);
    assert.equal((await a.query('SELECT balance FROM js_acct')).rows[0].balance, 85);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test('pg-cursor reads a large result in batches (portal row limits)', async () => {
  const c = await connect();
  try {
    const cursor = c.query(new Cursor('SELECT g, g * $1::int AS twice FROM generate_series(1, 2500) g ORDER BY g', [2]));
    let seen = 0;
    let batches = 0;
    for (;;) {
      const rows = await cursor.read(1000);
      if (rows.length === 0) break;
      batches += 1;
      for (const r of rows) {
        seen += 1;
        assert.equal(r.g, seen);
        assert.equal(r.twice, seen * 2);
      }
    }
    await cursor.close();
    assert.equal(seen, 2500);
    assert.equal(batches, 3);
    // The connection goes on after the cursor.
    assert.equal((await c.query('SELECT 1 + $1 AS n', [1])).rows[0].n, 2);
  } finally {
    await c.end();
  }
});

test('what node-postgres sends resolves as in PostgreSQL (untyped text parameters)', async () => {
  const c = await connect();
  try {
    const xid = (await c.query('SELECT txid_current() AS x')).rows[0].x;
    assert.equal((await c.query('SELECT txid_status($1) AS s', [xid])).rows[0].s, 'committed');
    const r = (await c.query("SELECT $1 + 1 AS a, now() - $2::interval < now() AS b, coalesce($3, 'x') AS c", [41, '1 day', null])).rows[0];
    assert.deepEqual(r, { a: 42, b: true, c: 'x' });
    await c.query('DROP TABLE IF EXISTS js_vecs');
    await c.query('CREATE TABLE js_vecs (id int PRIMARY KEY, e vector(2))');
    await c.query("INSERT INTO js_vecs VALUES (1, '[1,0]'), (2, $1)", ['[0,1]']);
    assert.equal((await c.query('SELECT id FROM js_vecs ORDER BY e <-> $1 LIMIT 1', ['[0.1,0.9]'])).rows[0].id, 2);
  } finally {
    await c.end();
  }
});

test("LISTEN/NOTIFY: node-postgres's notification event", async () => {
  const listener = await connect();
  const sender = await connect();
  try {
    const got = [];
    let done;
    const twoArrived = new Promise((resolve) => (done = resolve));
    listener.on('notification', (n) => {
      got.push({ channel: n.channel, payload: n.payload, pid: n.processId });
      if (got.length === 2) done();
    });
    await listener.query('LISTEN js_jobs');
    await sender.query("NOTIFY js_jobs, 'one'");
    await sender.query('BEGIN');
    await sender.query("NOTIFY js_jobs, 'never'");
    await sender.query('ROLLBACK');
    await sender.query("SELECT pg_notify('js_jobs', $1)", ['two']);
    let timer;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`notifications: ${JSON.stringify(got)}`)), 10000)));
    await Promise.race([twoArrived, timeout]).finally(() => clearTimeout(timer));
    assert.deepEqual(got, [
      { channel: 'js_jobs', payload: 'one', pid: sender.processID },
      { channel: 'js_jobs', payload: 'two', pid: sender.processID },
    ]);
  } finally {
    await listener.end();
    await sender.end();
  }
});

let passed = 0;
let failed = 0;
for (const [name, fn] of tests) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}\n${e.stack}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
