// NeuralDB's main-thread client. All work happens in a dedicated module
// worker (worker.js), one per tab, shared by every database the tab opens.
// See README.md ("JavaScript API") for the contract and index.d.ts for types.

/** An error reported by the database, shaped like node-postgres' DatabaseError. */
export class NeuralDBError extends Error {
  constructor({ code, message, detail = null, hint = null, position = null }) {
    super(message);
    this.name = 'NeuralDBError';
    /** SQLSTATE, e.g. '23505' */
    this.code = code;
    this.detail = detail ?? undefined;
    this.hint = hint ?? undefined;
    this.position = position == null ? undefined : String(position);
    this.severity = 'ERROR';
  }

  /** Whether running the same transaction again may succeed (40001, 40P01, class 08). */
  get retryable() {
    return this.code === '40001' || this.code === '40P01' || this.code.startsWith('08');
  }
}

/** What a statement cancelled through its AbortSignal fails with. */
function canceledError() {
  return new NeuralDBError({ code: '57014', message: 'canceling statement due to user request' });
}

// ---------------------------------------------------------------------------
// The tab's worker and its request/response channel.

class WorkerLink {
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    /** progress id -> onProgress callback of a running statement */
    this.progress = new Map();
    this.nextProgress = 1;
    /** live query id -> (message) => void */
    this.lives = new Map();
    this.nextLive = 1;
    /** 'h<handle>' / 's<session key>' -> (notification) => void */
    this.notifyRoutes = new Map();
    this.dead = false;
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'fatal') return this.fail('the database worker failed');
      if (m.type === 'live') return this.lives.get(m.id)?.(m);
      if (m.type === 'notification') {
        const route = m.handle !== undefined ? `h${m.handle}` : `s${m.key}`;
        return this.notifyRoutes.get(route)?.(m.n);
      }
      if (m.type === 'progress') {
        const cb = this.progress.get(m.id);
        if (cb) {
          try {
            cb(m.progress);
          } catch (err) {
            queueMicrotask(() => { throw err; }); // report, but never break the link
          }
        }
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      m.ok ? p.resolve(m.value) : p.reject(new NeuralDBError(m.error));
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.fail(`the database worker failed: ${e.message ?? 'unknown error'}`);
    };
  }

  fail(message) {
    this.dead = true;
    if (link === this) link = null;
    for (const p of this.pending.values()) p.reject(new NeuralDBError({ code: '08006', message }));
    this.pending.clear();
    this.worker.terminate();
  }

  call(op, ...args) {
    if (this.dead) {
      return Promise.reject(new NeuralDBError({ code: '08006', message: 'the database worker is gone; reopen the database' }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }
}

let link = null;

function workerLink(options) {
  if (options.worker) return new WorkerLink(options.worker);
  if (!link) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'neuraldb' });
    link = new WorkerLink(worker);
    compileForWorker(worker);
  }
  return link;
}

/**
 * Fetches and compiles the wasm module here while the worker starts, and
 * hands it over: a cold open is about 20 ms shorter than when the worker
 * begins the fetch once its own scripts have loaded. If this fails (no
 * streaming compile, a wrong MIME type), the worker fetches it itself.
 */
function compileForWorker(worker) {
  worker.postMessage({ op: 'expectWasm' });
  let module;
  try {
    module = WebAssembly.compileStreaming(fetch(new URL('./wasm/neuraldb_bg.wasm', import.meta.url)));
  } catch {
    module = Promise.reject();
  }
  module.then(
    (m) => worker.postMessage({ op: 'wasm', args: [m] }),
    () => worker.postMessage({ op: 'wasm', args: [null] }),
  );
}

// ---------------------------------------------------------------------------
// Results.

function convertInt8(value, mode) {
  if (typeof value === 'bigint') {
    if (mode === 'bigint') return value;
    if (mode === 'string') return value.toString();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new NeuralDBError({
        code: '22003',
        message: `bigint value ${value} does not fit a JavaScript number exactly`,
        hint: "Open the database with { int8: 'bigint' } or { int8: 'string' }.",
      });
    }
    return Number(value);
  }
  if (Array.isArray(value)) return value.map((v) => convertInt8(v, mode));
  return value;
}

function shapeResult(r, int8, rowMode) {
  const fields = r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID ?? 0, type: f.type }));
  const rows = r.rows.map((cells) => {
    const values = int8 === 'bigint' ? cells : cells.map((v) => convertInt8(v, int8));
    if (rowMode === 'array') return values;
    const obj = {};
    fields.forEach((f, i) => (obj[f.name] = values[i]));
    return obj;
  });
  const command = r.command.split(' ')[0];
  return { command, rowCount: r.rowCount, rows, fields };
}

/** Calls a user callback; a throw is reported but never breaks the caller. */
function callBack(fn, ...args) {
  try {
    fn(...args);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** The key of a row for live.changes: one column's value, or several joined. */
function rowKey(row, key) {
  const part = (k) => {
    const v = row[k];
    return typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  };
  return Array.isArray(key) ? key.map(part).join('\u0000') : part(key);
}

function sameRow(a, b) {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const x = a[k];
    const y = b[k];
    if (x === y) return true;
    if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
    if (x instanceof Uint8Array && y instanceof Uint8Array) return x.length === y.length && x.every((v, i) => v === y[i]);
    if (typeof x === 'object' && typeof y === 'object' && x !== null && y !== null) {
      return JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ===
        JSON.stringify(y, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    }
    return false;
  });
}

// ---------------------------------------------------------------------------
// Sessions.

const ISOLATION = new Map([
  ['read committed', 'READ COMMITTED'],
  ['repeatable read', 'REPEATABLE READ'],
  ['serializable', 'SERIALIZABLE'],
]);

// db.transaction()'s hooks on its session (module-private): a BEGIN sent
// with the first statement, and a COMMIT that also ends the engine session.
const DEFER_BEGIN = Symbol('deferBegin');
const COMMIT_AND_END = Symbol('commitAndEnd');
const DETACH = Symbol('detach');
/** Idle worker sessions db.transaction() keeps per instance for the next transactions. */
const MAX_IDLE_TX_SESSIONS = 8;

/** A dedicated engine session: its own transaction, its own snapshot. */
export class Session {
  #link;
  #key;
  #int8;
  #onNotice;
  #queue = Promise.resolve();
  #released = false;
  /** A BEGIN not sent yet: it goes with the next statement (db.transaction). */
  #begin = null;

  constructor(link, key, int8, onNotice, onNotification) {
    this.#link = link;
    this.#key = key;
    this.#int8 = int8;
    this.#onNotice = onNotice;
    /**
     * Called with `{ channel, payload, processId }` for each NOTIFY on a
     * channel this session LISTENs to (delivered between transactions).
     */
    this.onNotification = onNotification;
    link.notifyRoutes.set(`s${key}`, (n) => this.onNotification && callBack(this.onNotification, n));
    /** Engine session id (pid in pg_stat_activity); null before the first query. */
    this.processID = null;
    /** 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
    this.transactionStatus = 'I';
  }

  async #run(sql, params, options = {}) {
    const { onProgress, signal } = options;
    const end = options[COMMIT_AND_END] === true;
    if (this.#released) throw new NeuralDBError({ code: '08003', message: 'the session was released' });
    if (typeof sql !== 'string') throw new TypeError('sql must be a string');
    if (params !== undefined && !Array.isArray(params)) throw new TypeError('params must be an array');
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
    const link = this.#link;
    const progressId = onProgress ? link.nextProgress++ : undefined;
    // One statement at a time per session, in call order (like node-postgres).
    const turn = this.#queue.then(() => {
      if (signal?.aborted) throw canceledError();
      // A deferred BEGIN goes with the first statement actually sent.
      const begin = this.#begin;
      this.#begin = null;
      if (progressId !== undefined) link.progress.set(progressId, onProgress);
      const done = link.call('query', this.#key, sql, params ?? [], progressId, begin, end);
      if (signal) {
        // Like PostgreSQL's CancelRequest: reaches a statement that waits
        // for a lock or runs in slices (CREATE INDEX); one that already
        // finished is not affected.
        const onAbort = () => link.call('cancel', this.#key).catch(() => {});
        signal.addEventListener('abort', onAbort, { once: true });
        done.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
      }
      return done;
    });
    this.#queue = turn.catch(() => {});
    let out;
    try {
      out = await turn;
    } catch (e) {
      if (e.code?.startsWith('08')) this.transactionStatus = 'I';
      throw e;
    } finally {
      if (progressId !== undefined) link.progress.delete(progressId);
    }
    this.processID = out.pid;
    this.transactionStatus = out.status;
    // WARNINGs and NOTICEs the statements raised (as node-postgres's
    // 'notice' event), before their result or error.
    const onNotice = options.onNotice ?? this.#onNotice;
    if (onNotice) for (const n of out.notices ?? []) onNotice(n);
    if (out.error) throw new NeuralDBError(out.error);
    return out;
  }

  /**
   * Runs one statement (or several: the last one's result is returned).
   * @param {string} sql @param {unknown[]} [params] @param {{rowMode?: 'array', onProgress?: (p: object) => void, signal?: AbortSignal}} [options]
   */
  async query(sql, params, options = {}) {
    const out = await this.#run(sql, params, options);
    const last = out.results[out.results.length - 1] ?? { command: '', fields: [], rows: [], rowCount: 0 };
    return shapeResult(last, this.#int8, options.rowMode);
  }

  /** Runs several statements (one implicit transaction unless they BEGIN/COMMIT themselves); returns every result. */
  async exec(sql, options = {}) {
    const out = await this.#run(sql, [], options);
    return out.results.map((r) => shapeResult(r, this.#int8, options.rowMode));
  }

  /**
   * db.transaction(): `sql` (a BEGIN) is sent with the next statement, in
   * the same request to the leader; meanwhile the session counts as in a
   * transaction. `null` drops a BEGIN still unsent; returns whether one was.
   */
  [DEFER_BEGIN](sql) {
    const had = this.#begin !== null;
    this.#begin = sql;
    this.transactionStatus = sql !== null ? 'T' : had ? 'I' : this.transactionStatus;
    return had;
  }

  /** db.transaction(): COMMIT, then the engine session ends in the same request (the next statement gets a new one). */
  [COMMIT_AND_END]() {
    return this.query('COMMIT', [], { [COMMIT_AND_END]: true });
  }

  /**
   * db.transaction(): this object is done (later calls fail with 08003,
   * as after release()), but the worker keeps the session key, whose
   * engine session COMMIT already closed, for another transaction.
   */
  [DETACH]() {
    this.#released = true;
    this.#link.notifyRoutes.delete(`s${this.#key}`);
  }

  /** Ends the session, rolling back an open transaction. */
  async release() {
    if (this.#released) return;
    this.#released = true;
    this.#link.notifyRoutes.delete(`s${this.#key}`);
    await this.#queue;
    await this.#link.call('release', this.#key);
  }
}

function backoff(attempt) {
  const base = Math.min(1000, 10 * 2 ** attempt);
  return new Promise((r) => setTimeout(r, base / 2 + Math.random() * base));
}

/** A database opened by this tab; also its own session for query/exec. */
export class NeuralDB {
  #link;
  #handle;
  #session;
  #int8;
  #onNotice;
  #closed = false;

  #onNotification;
  /** channel -> Set of db.listen callbacks */
  #listeners = new Map();
  /** live ids of this instance */
  #lives = new Set();
  /** worker session keys (no engine session) for db.transaction() to reuse */
  #txKeys = [];

  constructor(link, handle, session, int8, name, onNotice, onNotification) {
    this.#onNotice = onNotice;
    this.#onNotification = onNotification;
    this.#link = link;
    this.#handle = handle;
    this.#session = session;
    this.#int8 = int8;
    this.name = name;
    link.notifyRoutes.set(`h${handle}`, (n) => {
      for (const cb of this.#listeners.get(n.channel) ?? []) callBack(cb, n.payload, { channel: n.channel, processId: n.processId });
    });
    /**
     * `db.live(sql, params, callback, options?)`: see README ("Live
     * queries"). `db.live.changes(sql, params, key, callback, options?)`
     * delivers keyed differences instead of whole results.
     */
    this.live = Object.assign((sql, params, callback, options) => this.#live(sql, params, callback, options), {
      changes: (sql, params, key, callback, options) => this.#liveChanges(sql, params, key, callback, options),
    });
    /**
     * `db.changes({ since, limit })`: committed row changes after cursor
     * `since`, in commit order, and the cursor to acknowledge once they
     * are applied elsewhere (`db.changes.ack(cursor)`). See README
     * ("Change feed").
     */
    this.changes = Object.assign((options) => this.#changes(options), {
      ack: (cursor) => this.#ackChanges(cursor),
    });
  }

  #feedReady = null;

  /** Turns the change feed on once (capture starts then). */
  #ensureFeed() {
    this.#feedReady ??= (async () => {
      const feed = await this.query("SELECT to_regclass('neuraldb.changes') IS NOT NULL AS enabled");
      if (!feed.rows[0].enabled) await this.exec(await this.#link.call('changeFeedDdl'));
    })().catch((e) => {
      this.#feedReady = null;
      throw e;
    });
    return this.#feedReady;
  }

  async #changes({ since = 0, limit = 1000 } = {}) {
    this.#check();
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
    await this.#ensureFeed();
    const cursor = BigInt(since);
    const r = await this.query(
      'SELECT seq, xid, relation, op, key, row FROM neuraldb.changes WHERE seq > $1 ORDER BY seq LIMIT $2',
      [cursor, limit],
    );
    // Rows come in the instance's int8 form; so does the cursor.
    const last = r.rows.length ? r.rows[r.rows.length - 1].seq : convertInt8(cursor, this.#int8);
    return { changes: r.rows, cursor: last };
  }

  /** Forgets the changes up to `cursor` (they were applied). */
  async #ackChanges(cursor) {
    this.#check();
    await this.#ensureFeed();
    await this.query('DELETE FROM neuraldb.changes WHERE seq <= $1', [BigInt(cursor)]);
  }

  async #live(sql, params, callback, options = {}) {
    this.#check();
    if (typeof sql !== 'string') throw new TypeError('sql must be a string');
    if (params !== undefined && params !== null && !Array.isArray(params)) throw new TypeError('params must be an array');
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    const { onError, rowMode } = options;
    if (onError !== undefined && typeof onError !== 'function') throw new TypeError('onError must be a function');
    const link = this.#link;
    const id = link.nextLive++;
    let closed = false;
    const shape = (outcome, reason) => {
      const last = outcome.results[outcome.results.length - 1] ?? { command: '', fields: [], rows: [], rowCount: 0 };
      return { ...shapeResult(last, this.#int8, rowMode), reason };
    };
    const handle = {
      /** The latest result delivered. */
      result: null,
      /** Stops the live query; no callback runs after the promise resolves. */
      unsubscribe: async () => {
        if (closed) return;
        closed = true;
        link.lives.delete(id);
        this.#lives.delete(id);
        await link.call('unlive', this.#handle, id).catch(() => {});
      },
    };
    link.lives.set(id, (m) => {
      if (closed) return;
      if (m.outcome.error) {
        const err = new NeuralDBError(m.outcome.error);
        if (onError) callBack(onError, err);
        else queueMicrotask(() => { throw err; });
        return;
      }
      let result;
      try {
        result = shape(m.outcome, m.reason);
      } catch (err) {
        if (onError) callBack(onError, err);
        return;
      }
      handle.result = result;
      callBack(callback, result);
    });
    this.#lives.add(id);
    try {
      const first = await link.call('live', this.#handle, id, sql, params ?? []);
      const result = shape(first, 'initial');
      handle.result = result;
      callBack(callback, result);
    } catch (e) {
      closed = true;
      link.lives.delete(id);
      this.#lives.delete(id);
      throw e;
    }
    return handle;
  }

  async #liveChanges(sql, params, key, callback, options = {}) {
    if (typeof key !== 'string' && !(Array.isArray(key) && key.length && key.every((k) => typeof k === 'string'))) {
      throw new TypeError('key must be a column name or an array of column names');
    }
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    let previous = new Map();
    return this.#live(sql, params, (result) => {
      const next = new Map();
      for (const row of result.rows) {
        if (!(Array.isArray(key) ? key : [key]).every((k) => k in row)) {
          throw new NeuralDBError({ code: '42703', message: `live.changes: the result has no column ${JSON.stringify(key)}` });
        }
        next.set(rowKey(row, key), row);
      }
      const inserts = [];
      const updates = [];
      const deletes = [];
      for (const [k, row] of next) {
        const old = previous.get(k);
        if (!old) inserts.push(row);
        else if (!sameRow(old, row)) updates.push(row);
      }
      for (const [k, row] of previous) if (!next.has(k)) deletes.push(row);
      previous = next;
      callback({ inserts, updates, deletes, rows: result.rows, fields: result.fields, reason: result.reason });
    }, { ...options, rowMode: undefined });
  }

  /**
   * LISTEN on `channel` (exact name, case kept) for this instance:
   * `callback(payload, { channel, processId })` runs for each NOTIFY
   * committed by any tab or connection. Resolves to a function that stops
   * this callback (UNLISTEN when it was the channel's last).
   */
  async listen(channel, callback) {
    this.#check();
    if (typeof channel !== 'string' || channel.length === 0) throw new TypeError('channel must be a non-empty string');
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
    }
    set.add(callback);
    try {
      await this.#link.call('listen', this.#handle, channel);
    } catch (e) {
      set.delete(callback);
      if (!set.size) this.#listeners.delete(channel);
      throw e;
    }
    return async () => {
      if (!set.delete(callback) || set.size) return;
      if (this.#listeners.get(channel) === set) this.#listeners.delete(channel);
      if (!this.#closed) await this.#link.call('unlisten', this.#handle, channel);
    };
  }

  /** Stops every db.listen callback of `channel` (UNLISTEN). */
  async unlisten(channel) {
    this.#check();
    if (!this.#listeners.delete(channel)) return;
    await this.#link.call('unlisten', this.#handle, channel);
  }

  /**
   * The whole database as a plain SQL script that PostgreSQL's psql loads
   * (schema, data as COPY, then constraints and indexes), taken under one
   * snapshot. See README ("Dump and restore").
   */
  async dump() {
    this.#check();
    return this.#link.call('dump', this.#handle);
  }

  /**
   * Loads a plain SQL script (a dump of ours, or PostgreSQL's pg_dump
   * plain format) in one transaction: all of it or nothing. Resolves to
   * `{ statements, rows }`; an unsupported statement fails it with an
   * error naming the statement and its line.
   */
  async restore(script) {
    this.#check();
    if (typeof script !== 'string') throw new TypeError('script must be a string');
    return this.#link.call('restore', this.#handle, script);
  }

  /** NOTIFY `channel` with `payload` (committed at once: pg_notify in its own transaction). */
  async notify(channel, payload = '') {
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * Opens (creating if needed) a database.
   * @param {string} name
   * @param {{storage?: 'opfs'|'memory', int8?: 'bigint'|'number'|'string', poolBytes?: number, worker?: Worker, onNotice?: (n: Notice) => void}} [options]
   */
  static async open(name, options = {}) {
    const int8 = options.int8 ?? 'bigint';
    if (!['bigint', 'number', 'string'].includes(int8)) throw new TypeError(`invalid int8 mode ${int8}`);
    if (typeof Worker !== 'function') {
      throw new NeuralDBError({ code: '0A000', message: 'NeuralDB needs Web Workers (run it in a browser page)' });
    }
    const l = workerLink(options);
    const handle = await l.call('open', name, { storage: options.storage ?? 'opfs', poolBytes: options.poolBytes });
    const key = await l.call('connect', handle);
    if (options.onNotice !== undefined && typeof options.onNotice !== 'function') throw new TypeError('onNotice must be a function');
    if (options.onNotification !== undefined && typeof options.onNotification !== 'function') throw new TypeError('onNotification must be a function');
    return new NeuralDB(l, handle, new Session(l, key, int8, options.onNotice, options.onNotification), int8, name, options.onNotice, options.onNotification);
  }

  /** This instance's session id (pid), known after the first query. */
  get processID() {
    return this.#session.processID;
  }

  /** 'I', 'T' or 'E' for this instance's session. */
  get transactionStatus() {
    return this.#session.transactionStatus;
  }

  #check() {
    if (this.#closed) throw new NeuralDBError({ code: '08003', message: 'the database is closed' });
  }

  query(sql, params, options) {
    this.#check();
    return this.#session.query(sql, params, options);
  }

  exec(sql, options) {
    this.#check();
    return this.#session.exec(sql, options);
  }

  /**
   * Reads a query's rows a batch at a time: an async iterable of rows
   * (`for await (const row of db.stream(sql, params, { batchSize }))`).
   * The query runs in a transaction of its own on a dedicated session, as
   * a NO SCROLL cursor (DECLARE / FETCH batchSize): it sees one snapshot
   * throughout, and a table scan (optionally filtered, projected, limited)
   * is read only as far as the batches fetched, so memory stays bounded.
   * Leaving the loop early (break, return, throw) or draining it ends the
   * transaction, which closes the cursor.
   * @param {string} sql @param {unknown[]} [params]
   * @param {{batchSize?: number, rowMode?: 'array', signal?: AbortSignal}} [options]
   */
  stream(sql, params, options = {}) {
    this.#check();
    if (typeof sql !== 'string') throw new TypeError('sql must be a string');
    if (params !== undefined && !Array.isArray(params)) throw new TypeError('params must be an array');
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be a positive integer');
    // DECLARE takes one query: drop trailing semicolons and space.
    const body = sql.replace(/[\s;]+$/, '');
    const db = this;
    return {
      async *[Symbol.asyncIterator]() {
        const { tx, key } = await db.#streamSession();
        let reusable = false;
        try {
          // BEGIN travels with the DECLARE (one request).
          tx[DEFER_BEGIN]('BEGIN');
          await tx.query(`DECLARE neuraldb_stream NO SCROLL CURSOR FOR ${body}`, params ?? [], {
            signal: options.signal,
          });
          for (;;) {
            const r = await tx.query(`FETCH ${batchSize} FROM neuraldb_stream`, [], {
              rowMode: options.rowMode,
              signal: options.signal,
            });
            for (const row of r.rows) yield row;
            if (r.rows.length < batchSize) break;
          }
        } finally {
          // COMMIT ends the transaction (closing the cursor) and the engine
          // session in one request, as db.transaction() does.
          if (!tx[DEFER_BEGIN](null) && tx.transactionStatus !== 'I') {
            try {
              await tx[COMMIT_AND_END]();
              reusable = true;
            } catch {
              // the session is released below
            }
          } else {
            reusable = true;
          }
          db.#endStreamSession(tx, key, reusable);
        }
      },
    };
  }

  async #streamSession() {
    const key = this.#txKeys.pop() ?? (await this.#link.call('connect', this.#handle));
    return { tx: new Session(this.#link, key, this.#int8, this.#onNotice, this.#onNotification), key };
  }

  #endStreamSession(tx, key, reusable) {
    if (reusable && !this.#closed && this.#txKeys.length < MAX_IDLE_TX_SESSIONS) {
      tx[DETACH]();
      this.#txKeys.push(key);
    } else {
      tx.release().catch(() => {});
    }
  }

  /** A new dedicated session; call release() when done. */
  async connect() {
    this.#check();
    const key = await this.#link.call('connect', this.#handle);
    return new Session(this.#link, key, this.#int8, this.#onNotice, this.#onNotification);
  }

  /**
   * Runs fn in a transaction on a dedicated session, retrying the whole
   * function on serialization failures, deadlocks and a lost leader.
   * @template T
   * @param {(tx: Session) => Promise<T>} fn
   * @param {{isolation?: 'read committed'|'repeatable read'|'serializable', readOnly?: boolean, retries?: number}} [options]
   * @returns {Promise<T>}
   */
  async transaction(fn, options = {}) {
    this.#check();
    const iso = ISOLATION.get(String(options.isolation ?? 'read committed').toLowerCase());
    if (!iso) throw new TypeError(`unknown isolation level ${options.isolation}`);
    const retries = options.retries ?? 5;
    const begin = `BEGIN ISOLATION LEVEL ${iso}${options.readOnly ? ' READ ONLY' : ''}`;
    // A key left by an earlier transaction saves a request to the worker:
    // its engine session was closed by that COMMIT, the first statement
    // creates a new one. `tx` itself is new each time.
    const key = this.#txKeys.pop() ?? (await this.#link.call('connect', this.#handle));
    const tx = new Session(this.#link, key, this.#int8, this.#onNotice, this.#onNotification);
    let reusable = false;
    try {
      for (let attempt = 0; ; attempt++) {
        let committing = false;
        try {
          // BEGIN goes with fn's first statement, and the COMMIT closes
          // the engine session: two leader round trips fewer.
          tx[DEFER_BEGIN](begin);
          const value = await fn(tx);
          committing = true;
          const end = await tx[COMMIT_AND_END]();
          reusable = true;
          if (end.command === 'ROLLBACK') {
            throw new NeuralDBError({
              code: '25P02',
              message: 'the transaction was rolled back because a statement in it failed',
            });
          }
          return value;
        } catch (e) {
          // Nothing to roll back when fn failed before any statement.
          if (!tx[DEFER_BEGIN](null) && tx.transactionStatus !== 'I') await tx.query('ROLLBACK').catch(() => {});
          // A lost connection during COMMIT leaves the outcome unknown: never retry that.
          const retry = e instanceof NeuralDBError && e.retryable && !(committing && e.code.startsWith('08'));
          if (!retry || attempt >= retries) throw e;
          await backoff(attempt);
        }
      }
    } finally {
      if (reusable && !this.#closed && this.#txKeys.length < MAX_IDLE_TX_SESSIONS) {
        tx[DETACH]();
        this.#txKeys.push(key);
      } else {
        await tx.release().catch(() => {});
      }
    }
  }

  /** Releases this instance's sessions; the last instance in the tab closes the files. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of this.#lives) this.#link.lives.delete(id);
    this.#lives.clear();
    this.#listeners.clear();
    this.#link.notifyRoutes.delete(`h${this.#handle}`);
    await this.#session.release().catch(() => {});
    await this.#link.call('close', this.#handle);
  }
}

export default NeuralDB;
