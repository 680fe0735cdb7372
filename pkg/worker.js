// NeuralDB's dedicated worker: one per tab (created by index.js).
//
// Per database name, the workers of all tabs elect a leader with the Web
// Locks API (`neuraldb:<name>:leader`). The leader opens the two OPFS files
// with sync access handles and runs the engine; the other workers forward
// their tab's requests to it.
//
// Channels: `neuraldb:<name>` (every worker) carries only the election:
// who, leader, hello, resign, bye. Each worker also opens its link
// `neuraldb:<name>:link:<clientId>`; on its `hello` the leader opens the
// same name and answers `welcome` there, and the worker's requests wait
// for that. Only those two instances share the name, so a request reaches
// only the leader and a reply (res, progress, changed, notify) only its
// tab, not every tab's worker (a channel never receives its own posts).
// The leader's `run` op folds into one request creating a session, a
// BEGIN deferred by db.transaction(), the statement, and closing the
// session after a COMMIT.
//
// Liveness: every worker holds `neuraldb:<name>:client:<clientId>` for its
// whole life. The leader queues a request for each client's lock; it is
// granted when that client's tab is gone, and the leader then disconnects
// the client's sessions (rolling back their transactions) and closes its
// link. Followers do
// the same for the leader's lock: when granted, the leader is gone, their
// in-flight requests fail with 08006, and the next leader (whoever's queued
// leader-lock request is granted) recovers the files and announces itself.
//
// Messages with the main thread: `{ id, op, args }` → `{ id, ok, value }`
// or `{ id, ok: false, error }`, where errors are plain
// `{ code, message, detail?, hint?, position? }` objects.

import init, { Database, changeFeedDdl } from './wasm/neuraldb.js';

const clientId = crypto.randomUUID();
/** How often the clock is checked while a parked statement has a statement_timeout. */
const TIMEOUT_POLL_MS = 20;
/**
 * The wasm instance, started on first need. The package's page side
 * compiles the module while this worker starts and posts it
 * (`expectWasm`, then `wasm`): opening begins about 20 ms sooner. A worker
 * the application created (`options.worker`) fetches the module itself.
 */
let wasmReady = null;
/** Resolves the module the page is compiling (null: it could not; fetch it here). */
let moduleFromPage = null;
function wasm() {
  wasmReady ??= init();
  return wasmReady;
}

/** @returns {{code: string, message: string}} */
function dbError(code, message, extra = {}) {
  return { code, message, ...extra };
}

function asDbError(e) {
  if (e && typeof e === 'object' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    return { code: e.code, message: e.message, detail: e.detail ?? null, hint: e.hint ?? null, position: e.position ?? null };
  }
  if (e instanceof WebAssembly.RuntimeError) {
    // A panic inside the engine: its state can no longer be trusted.
    fatal = true;
    return dbError('XX000', `internal error in the database engine: ${e.message}`);
  }
  return dbError('XX000', String(e && e.message ? e.message : e));
}

/** Set after a wasm trap; every later request fails and the tab's worker is replaced. */
let fatal = false;

const lostLeader = () =>
  dbError('08006', 'connection to the database leader was lost; the transaction was rolled back', {
    hint: 'The tab running the database closed or crashed. Retry: another tab has taken over.',
  });

// ---------------------------------------------------------------------------
// The engine, as run by the leader (or privately, for memory databases).

class EngineHost {
  /** @param {Database} db */
  constructor(db) {
    this.db = db;
    /** sid -> owning client id */
    this.owner = new Map();
    /** sid -> resolve function of the parked statement's promise */
    this.parked = new Map();
    /** client ids whose liveness lock we wait on */
    this.watched = new Set();
    this.onClientGone = null;
    /** pending statement_timeout check while statements are parked */
    this.timeoutTimer = null;
    /** a MessageChannel loop runs yielded statements' slices (scheduleWork) */
    this.working = false;
    this.closed = false;
    /** (client, sid, progress) => void: set by the database that owns this host */
    this.onProgress = null;
    /** client -> Map(live id -> Set of relation OIDs it reads): live queries */
    this.watches = new Map();
    /** (client, live ids) => void: a commit changed what these live queries read */
    this.onChanged = null;
    /** (client, sid, notification) => void: a NOTIFY reached a listening session */
    this.onNotify = null;
    /** 'client tag' -> sid of a session created by a run() still in flight (for cancelRun) */
    this.running = new Map();
    db.setProgressHook((sid, progress) => {
      const client = this.owner.get(sid);
      if (client !== undefined) this.onProgress?.(client, sid, progress);
    });
  }

  connect(client) {
    const sid = this.db.connect();
    this.owner.set(sid, client);
    this.watchClient(client);
    return sid;
  }

  /** Queues for another tab's liveness lock (once): granted when it is gone. */
  watchClient(client) {
    if (client !== clientId && this.onClientGone && !this.watched.has(client)) {
      this.watched.add(client);
      this.onClientGone(client);
    }
  }

  /**
   * One request for what a tab's statement needs: a new session when
   * `sid` is null, `begin` (a BEGIN the page deferred) run first, the
   * statement, then (`end`) the session closed. Saves a leader round trip
   * each. Resolves to `{ sid, out }`.
   */
  async run(client, sid, sql, params, begin, end, tag) {
    let running = null;
    if (sid === null) {
      sid = this.connect(client);
      // Until the reply the tab does not know the session: it cancels by tag.
      running = `${client} ${tag}`;
      this.running.set(running, sid);
    }
    try {
      return await this.runOn(client, sid, sql, params, begin, end);
    } finally {
      if (running) this.running.delete(running);
    }
  }

  async runOn(client, sid, sql, params, begin, end) {
    let out;
    if (begin) {
      const b = await this.submit(client, sid, begin, []);
      if (b.error) out = b;
      else {
        out = await this.submit(client, sid, sql, params);
        if (b.notices?.length) out.notices = [...b.notices, ...(out.notices ?? [])];
      }
    } else {
      out = await this.submit(client, sid, sql, params);
    }
    if (end) {
      this.disconnect(client, sid);
      out.status = 'I';
    }
    return { sid, out };
  }

  /**
   * Registers live query `id` of `client` (run on its session `sid`):
   * commits that change a relation it reads are reported to the client.
   */
  watch(client, sid, id, sql) {
    this.checkOwner(client, sid);
    let relations;
    try {
      relations = this.db.relationsRead(sid, sql);
    } finally {
      this.drain();
    }
    if (!this.watches.has(client)) this.watches.set(client, new Map());
    this.watches.get(client).set(id, new Set(relations));
    return relations.length;
  }

  /** The database as a plain SQL script, on session `sid` (idle). */
  dump(client, sid) {
    this.checkOwner(client, sid);
    try {
      return this.db.dump(sid);
    } finally {
      this.drain();
    }
  }

  /** Loads a plain SQL script in one transaction of session `sid`. */
  restore(client, sid, script) {
    this.checkOwner(client, sid);
    try {
      return this.db.restore(sid, script);
    } finally {
      this.drain();
    }
  }

  unwatch(client, id) {
    this.watches.get(client)?.delete(id);
  }

  /** Live queries whose relations the commits changed, per client. */
  dispatchCommits(commits) {
    for (const [client, lives] of this.watches) {
      const hit = [];
      for (const [id, relations] of lives) {
        if (commits.some((c) => c === null || c.some((oid) => relations.has(oid)))) hit.push(id);
      }
      if (hit.length) this.onChanged?.(client, hit);
    }
  }

  checkOwner(client, sid) {
    if (this.owner.get(sid) !== client) {
      throw dbError('08003', `session ${sid} does not exist`);
    }
  }

  submit(client, sid, sql, params) {
    this.checkOwner(client, sid);
    let out;
    try {
      out = this.db.submit(sid, sql, params);
    } finally {
      this.drain();
    }
    if (out !== undefined) {
      // A parked statement's timeouts, or a session's idle-in-transaction
      // or transaction timeout, need the clock watched.
      if (this.parked.size || this.db.hasDeadlines()) this.watchTimeouts();
      return Promise.resolve(out);
    }
    this.watchTimeouts();
    this.scheduleWork();
    return new Promise((resolve) => this.parked.set(sid, resolve));
  }

  /**
   * While a statement yielded (a CREATE INDEX build), runs one slice per
   * task: requests that arrived meanwhile (other tabs' queries, a
   * pg_stat_progress_create_index read, a cancel) are served in between.
   */
  scheduleWork() {
    if (this.working || !this.db.hasWork()) return;
    this.working = true;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      if (this.closed) return channel.port1.close();
      try {
        this.db.work();
        this.drain();
      } catch (e) {
        asDbError(e); // a trap marks the worker fatal
        this.working = false;
        return channel.port1.close();
      }
      if (this.db.hasWork()) channel.port2.postMessage(null);
      else {
        this.working = false;
        channel.port1.close();
      }
    };
    channel.port2.postMessage(null);
  }

  /** cancel() of the statement of a run() that created its session (tab-side tag). */
  cancelRun(client, tag) {
    const sid = this.running.get(`${client} ${tag}`);
    return sid === undefined ? false : this.cancel(client, sid);
  }

  /** Cancels the session's waiting or yielded statement (57014). */
  cancel(client, sid) {
    if (this.owner.get(sid) !== client) return false;
    try {
      return this.db.cancel(sid);
    } finally {
      this.drain();
    }
  }

  /** While a parked statement has a statement_timeout, checks the clock. */
  watchTimeouts() {
    if (this.timeoutTimer) return;
    const tick = () => {
      this.timeoutTimer = null;
      let again;
      try {
        again = this.db.expireTimeouts();
      } finally {
        this.drain();
      }
      if (again) this.timeoutTimer = setTimeout(tick, TIMEOUT_POLL_MS);
    };
    this.timeoutTimer = setTimeout(tick, 0);
  }

  disconnect(client, sid) {
    if (this.owner.get(sid) !== client) return;
    this.owner.delete(sid);
    const waiter = this.parked.get(sid);
    this.parked.delete(sid);
    try {
      this.db.disconnect(sid);
    } finally {
      this.drain();
    }
    if (waiter) {
      waiter({ results: [], error: dbError('57P01', 'session closed while its statement waited'), status: 'I' });
    }
    if (this.parked.size) this.watchTimeouts();
  }

  /** Rolls back and closes every session of a client that went away. */
  disconnectClient(client) {
    this.watches.delete(client);
    for (const [sid, owner] of [...this.owner]) {
      if (owner === client) this.disconnect(client, sid);
    }
    this.watched.delete(client);
  }

  /** Delivers outcomes of statements that were parked and have now finished. */
  drain() {
    for (const [sid, outcome] of this.db.takeCompletions()) {
      const resolve = this.parked.get(sid);
      this.parked.delete(sid);
      if (resolve) resolve(outcome);
    }
    // Commits are durable when the engine call returns (synchronous
    // commit) or were asked not to be: tell live queries and listeners.
    const commits = this.db.takeCommits();
    if (commits.length && this.watches.size) this.dispatchCommits(commits);
    for (const [sid, n] of this.db.takeNotifications()) {
      const client = this.owner.get(sid);
      if (client !== undefined) this.onNotify?.(client, sid, n);
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    for (const resolve of this.parked.values()) {
      resolve({ results: [], error: dbError('57P01', 'the database was closed'), status: 'I' });
    }
    this.parked.clear();
    this.db.free();
  }
}

// ---------------------------------------------------------------------------
// OPFS files.

const OPFS_DIR = 'neuraldb';

async function opfsDirectory() {
  if (!(navigator.storage && typeof navigator.storage.getDirectory === 'function')) {
    throw dbError('0A000', 'the Origin Private File System is not available in this browser', {
      hint: "Use a current browser outside private mode, or NeuralDB.open(name, { storage: 'memory' }) for an ephemeral database.",
    });
  }
  let root;
  try {
    root = await navigator.storage.getDirectory();
  } catch (e) {
    throw dbError('0A000', `the Origin Private File System is not available: ${e && e.message}`, {
      hint: "Private browsing often disables it. NeuralDB.open(name, { storage: 'memory' }) gives an ephemeral database.",
    });
  }
  return root.getDirectoryHandle(OPFS_DIR, { create: true });
}

function fileNames(name) {
  const base = encodeURIComponent(name);
  return [`${base}.ndb`, `${base}.ndb-wal`];
}

/**
 * Opens a sync access handle. The previous leader's handles are released
 * when its worker is torn down, which can lag behind its lock release by a
 * moment, so a busy file is retried for a few seconds.
 */
async function openSyncHandle(dir, file) {
  const fh = await dir.getFileHandle(file, { create: true });
  if (typeof fh.createSyncAccessHandle !== 'function') {
    throw dbError('0A000', 'OPFS sync access handles are not supported in this browser');
  }
  const deadline = Date.now() + 10_000;
  for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
    try {
      return await fh.createSyncAccessHandle();
    } catch (e) {
      const busy = e && (e.name === 'NoModificationAllowedError' || e.name === 'InvalidStateError');
      if (!busy || Date.now() > deadline) {
        throw dbError('58030', `could not open OPFS file ${file}: ${e && e.name}: ${e && e.message}`);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function openOpfsEngine(name, options) {
  const dir = await opfsDirectory();
  const [dataName, walName] = fileNames(name);
  const data = await openSyncHandle(dir, dataName);
  let wal;
  try {
    wal = await openSyncHandle(dir, walName);
  } catch (e) {
    data.close();
    throw e;
  }
  // On success the engine owns both handles; on failure it has dropped
  // (closed) them already.
  return new EngineHost(Database.openOpfs(data, wal, { poolBytes: options.poolBytes ?? undefined }));
}

// ---------------------------------------------------------------------------
// A database as seen from this worker.

/** PostgreSQL's quote_ident for a channel name in LISTEN / UNLISTEN. */
function quoteIdent(name) {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Which result a live query delivers, weakest first (one that waits is replaced by a stronger one). */
const LIVE_REASONS = ['change', 'failover'];

/**
 * A live query of this tab: registered with the leader (which reports
 * commits that change a relation it reads) and re-run on its database
 * instance's live session. Re-runs never overlap: commits that arrive
 * during one cause exactly one more.
 */
class Live {
  constructor(db, id, handle, session, sql, params) {
    Object.assign(this, { db, id, handle, session, sql, params });
    this.running = false;
    this.pending = null;
    this.closed = false;
  }

  async watch() {
    const sid = await this.session.ensure();
    await this.db.call('watch', [sid, this.id, this.sql]);
  }

  refresh(reason) {
    if (this.closed) return;
    if (this.running) {
      if (!this.pending || LIVE_REASONS.indexOf(reason) > LIVE_REASONS.indexOf(this.pending)) this.pending = reason;
      return;
    }
    this.loop(reason);
  }

  async loop(reason) {
    this.running = true;
    try {
      while (reason && !this.closed) {
        let outcome;
        try {
          // What it reads may have changed (a table dropped and created
          // again by the commit): register again, then run.
          await this.watch();
          outcome = await this.session.query(this.sql, this.params);
        } catch (e) {
          outcome = { results: [], error: asDbError(e), status: 'I' };
        }
        // A lost leader is not reported as an error: the next leader's
        // 'failover' result follows (see restart).
        const lost = outcome.error?.code?.startsWith('08');
        if (!this.closed && !lost) self.postMessage({ type: 'live', id: this.id, reason, outcome });
        reason = this.pending;
        this.pending = null;
      }
    } finally {
      this.running = false;
    }
  }

  /** A new leader knows nothing of us: register again and deliver a fresh result. */
  async restart() {
    if (this.closed) return;
    try {
      await this.watch();
    } catch (e) {
      if (!this.closed) self.postMessage({ type: 'live', id: this.id, reason: 'failover', outcome: { results: [], error: asDbError(e), status: 'I' } });
      return;
    }
    this.refresh('failover');
  }

  close() {
    this.closed = true;
    this.db.lives.delete(this.id);
    this.db.call('unwatch', [this.id]).catch(() => {});
  }
}

/**
 * What both kinds of database share: live queries, and per database
 * instance (handle) the internal sessions that run live queries and
 * LISTEN for `db.listen`.
 */
class DbBase {
  constructor() {
    this.refs = 0;
    this.sessions = new Set(); // Session records of this worker
    this.progressRoutes = new Map(); // engine sid -> page progress id
    this.lives = new Map(); // live id -> Live
    this.internal = new Map(); // handle -> { live: Session, listen: Session, channels: Set }
  }

  internalSessions(handle) {
    let rec = this.internal.get(handle);
    if (!rec) {
      rec = { live: new Session(this), listen: new Session(this, { handle }), channels: new Set() };
      this.internal.set(handle, rec);
    }
    return rec;
  }

  /** Commits changed what these live queries read. */
  changed(ids) {
    for (const id of ids) this.lives.get(id)?.refresh('change');
  }

  /** A notification for engine session `sid` (if it is still ours). */
  notified(sid, n) {
    for (const s of this.sessions) {
      if (s.sid === sid && s.epoch === this.epoch) return s.notify(n);
    }
  }

  /** After a leader change: listeners and live queries register again. */
  resubscribe() {
    for (const rec of this.internal.values()) {
      for (const channel of rec.channels) {
        rec.listen.query(`LISTEN ${quoteIdent(channel)}`, []).catch(() => {});
      }
    }
    for (const live of this.lives.values()) live.restart();
  }

  /** Ends a database instance's live queries and internal sessions. */
  async closeHandle(handle) {
    for (const live of [...this.lives.values()]) if (live.handle === handle) live.close();
    const rec = this.internal.get(handle);
    this.internal.delete(handle);
    if (rec) await Promise.all([rec.live.release(), rec.listen.release()]);
  }
}

/** Memory databases: private to this tab, no election. */
class MemoryDb extends DbBase {
  constructor(options) {
    super();
    this.engine = new EngineHost(Database.openMemory({ poolBytes: options.poolBytes ?? undefined }));
    this.epoch = 1;
    this.engine.onProgress = (client, sid, progress) => deliverProgress(this, sid, progress);
    this.engine.onChanged = (client, ids) => this.changed(ids);
    this.engine.onNotify = (client, sid, n) => this.notified(sid, n);
  }
  async ready() {}
  async call(op, args) {
    return this.engine[op](clientId, ...args);
  }
  close() {
    this.engine.close();
  }
}

/** Client locks are held for the worker's life (see the header comment). */
const heldClientLocks = new Set();

function holdForever(lockName) {
  return new Promise((acquired) => {
    navigator.locks.request(lockName, () => {
      acquired();
      return new Promise(() => {});
    });
  });
}

class SharedDb extends DbBase {
  constructor(name, options) {
    super();
    this.name = name;
    this.options = options;
    this.leaderId = null;
    this.engine = null; // EngineHost when this worker leads
    this.epoch = 0; // bumped at every leader change
    this.pending = new Map(); // rid -> { resolve, reject }
    this.nextRid = 1;
    this.leaderWaiters = [];
    this.releaseLeaderLock = null;
    this.openError = null;
    this.closed = false;
    // Election and announcements (who, leader, hello, resign, bye): every tab.
    this.channel = new BroadcastChannel(`neuraldb:${name}`);
    this.channel.onmessage = (e) => this.onMessage(e.data);
    // This tab's link to the leader: only this worker and the leader open
    // this name, so each request and reply reaches exactly one worker.
    this.link = new BroadcastChannel(this.linkName(clientId));
    this.link.onmessage = (e) => this.onMessage(e.data);
    /** the leader that answered our `hello` on the link (requests wait for it) */
    this.linkedTo = null;
    this.linkWaiters = [];
    /** client id -> BroadcastChannel of its link (while this worker leads) */
    this.links = new Map();
  }

  lockName(kind) {
    return `neuraldb:${this.name}:${kind}`;
  }

  linkName(client) {
    return `neuraldb:${this.name}:link:${client}`;
  }

  async start() {
    const own = this.lockName(`client:${clientId}`);
    if (!heldClientLocks.has(own)) {
      heldClientLocks.add(own);
      await holdForever(own);
    }
    this.controller = new AbortController();
    navigator.locks
      .request(this.lockName('leader'), { signal: this.controller.signal }, () => this.lead())
      .catch(() => {});
    this.channel.postMessage({ type: 'who', from: clientId });
  }

  /** Runs while this worker holds the leader lock. */
  async lead() {
    if (this.closed) return;
    try {
      this.engine = await openOpfsEngine(this.name, this.options);
      // Progress of a statement goes to the worker of the tab that runs it.
      this.engine.onProgress = (client, sid, progress) => {
        if (client === clientId) deliverProgress(this, sid, progress);
        else this.sendTo(client, { type: 'progress', sid, progress });
      };
      // Live queries and notifications of every tab are the leader's to report.
      this.engine.onChanged = (client, ids) => {
        if (client === clientId) this.changed(ids);
        else this.sendTo(client, { type: 'changed', ids });
      };
      this.engine.onNotify = (client, sid, n) => {
        if (client === clientId) this.notified(sid, n);
        else this.sendTo(client, { type: 'notify', sid, n });
      };
    } catch (e) {
      // Let open() report it; release the lock so that another tab (or a
      // later open) can try again.
      this.openError = asDbError(e);
      for (const w of this.leaderWaiters.splice(0)) w.reject(this.openError);
      return;
    }
    this.engine.onClientGone = (client) => {
      navigator.locks.request(this.lockName(`client:${client}`), () => {
        if (this.engine) this.engine.disconnectClient(client);
        this.links.get(client)?.close();
        this.links.delete(client);
      });
    };
    this.setLeader(clientId);
    this.channel.postMessage({ type: 'leader', id: clientId });
    await new Promise((release) => (this.releaseLeaderLock = release));
  }

  /** A message to another tab's worker, on its link (the leader's side). */
  sendTo(client, m) {
    this.links.get(client)?.postMessage(m);
  }

  setLeader(id) {
    if (this.leaderId === id) return;
    if (this.leaderId !== null) this.leaderLost(this.leaderId);
    this.leaderId = id;
    this.epoch += 1;
    this.openError = null;
    if (id !== clientId) {
      // Granted only once the leader's worker is gone.
      navigator.locks.request(this.lockName(`client:${id}`), () => {
        if (this.leaderId === id) this.leaderLost(id);
      });
      // Ask the leader to open our link; requests wait for its `welcome`.
      this.linkedTo = null;
      this.channel.postMessage({ type: 'hello', from: clientId, to: id });
    }
    for (const w of this.leaderWaiters.splice(0)) w.resolve();
    // A new leader: live queries and listeners of this tab move to it.
    this.resubscribe();
  }

  leaderLost(id) {
    if (this.leaderId !== id) return;
    this.leaderId = null;
    this.linkedTo = null;
    this.epoch += 1;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(lostLeader());
    for (const w of this.linkWaiters.splice(0)) w.reject(lostLeader());
    for (const s of this.sessions) s.leaderLost();
  }

  onMessage(m) {
    if (this.closed) return;
    switch (m.type) {
      // On the shared channel:
      case 'who':
        if (this.engine) this.channel.postMessage({ type: 'leader', id: clientId });
        break;
      case 'leader':
        if (!this.engine) this.setLeader(m.id);
        break;
      case 'hello':
        if (this.engine && m.to === clientId) {
          let link = this.links.get(m.from);
          if (!link) {
            link = new BroadcastChannel(this.linkName(m.from));
            link.onmessage = (e) => this.onMessage(e.data);
            this.links.set(m.from, link);
            this.engine.watchClient(m.from);
          }
          link.postMessage({ type: 'welcome', id: clientId });
        }
        break;
      case 'resign':
        this.leaderLost(m.id);
        break;
      case 'bye':
        if (this.engine) this.engine.disconnectClient(m.from);
        break;
      // On a link (the leader's side):
      case 'req':
        this.serve(m);
        break;
      // On our link (a follower's side):
      case 'welcome':
        if (m.id === this.leaderId) {
          this.linkedTo = m.id;
          for (const w of this.linkWaiters.splice(0)) w.resolve();
        }
        break;
      case 'progress':
        deliverProgress(this, m.sid, m.progress);
        break;
      case 'changed':
        this.changed(m.ids);
        break;
      case 'notify':
        this.notified(m.sid, m.n);
        break;
      case 'res': {
        const p = this.pending.get(m.rid);
        this.pending.delete(m.rid);
        if (p) (m.ok ? p.resolve(m.value) : p.reject(m.error));
        break;
      }
    }
  }

  async serve(m) {
    const reply = (r) => this.sendTo(m.from, { type: 'res', rid: m.rid, ...r });
    if (!this.engine) return reply({ ok: false, error: lostLeader() });
    try {
      reply({ ok: true, value: await this.engine[m.op](m.from, ...m.args) });
    } catch (e) {
      reply({ ok: false, error: asDbError(e) });
    }
  }

  /** Resolves once a leader is known; rejects if becoming leader failed. */
  ready() {
    if (this.leaderId !== null) return Promise.resolve();
    if (this.openError) return Promise.reject(this.openError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.leaderWaiters = this.leaderWaiters.filter((w) => w.resolve !== done);
        reject(dbError('08001', `no tab could open database "${this.name}" within 30 s`));
      }, 30_000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.leaderWaiters.push({ resolve: done, reject: (e) => (clearTimeout(timer), reject(e)) });
    });
  }

  /** Resolves once the leader has opened our link; rejects if it is lost first. */
  linked() {
    if (this.linkedTo !== null && this.linkedTo === this.leaderId) return Promise.resolve();
    return new Promise((resolve, reject) => this.linkWaiters.push({ resolve, reject }));
  }

  async call(op, args) {
    await this.ready();
    if (this.engine) return this.engine[op](clientId, ...args);
    await this.linked();
    const rid = this.nextRid++;
    return new Promise((resolve, reject) => {
      this.pending.set(rid, { resolve, reject });
      this.link.postMessage({ type: 'req', from: clientId, rid, op, args });
    });
  }

  close() {
    this.closed = true;
    if (this.engine) {
      this.engine.close();
      this.engine = null;
      for (const link of this.links.values()) link.close();
      this.links.clear();
      this.channel.postMessage({ type: 'resign', id: clientId });
      if (this.releaseLeaderLock) this.releaseLeaderLock();
    } else {
      this.controller.abort();
      this.channel.postMessage({ type: 'bye', from: clientId });
    }
    for (const p of this.pending.values()) p.reject(dbError('08003', 'the database was closed'));
    this.pending.clear();
    for (const w of this.linkWaiters.splice(0)) w.reject(dbError('08003', 'the database was closed'));
    this.channel.close();
    this.link.close();
  }
}

/** A statement's progress, to the page that asked for it (if it did). */
function deliverProgress(db, sid, progress) {
  const id = db.progressRoutes.get(sid);
  if (id !== undefined) self.postMessage({ type: 'progress', id, progress });
}

// ---------------------------------------------------------------------------
// Sessions as the main thread sees them: a stable key whose engine session
// is (re)created on the current leader when needed.

let nextTag = 1;

class Session {
  /** @param {{key?: number, handle?: number}} [route] where its notifications go on the page */
  constructor(db, route = {}) {
    this.db = db;
    this.route = route;
    this.sid = null;
    this.epoch = -1;
    this.status = 'I';
    this.inFlight = false;
    this.broken = false;
    /** names this session to the leader while a request creates its engine session */
    this.tag = nextTag++;
    this.creating = false;
    db.sessions.add(this);
  }

  /** The engine session on the current leader, connecting if needed. */
  async ensure() {
    if (this.sid === null || this.epoch !== this.db.epoch) {
      await this.db.ready();
      const epoch = this.db.epoch;
      this.sid = await this.db.call('connect', []);
      this.epoch = epoch;
    }
    return this.sid;
  }

  /** A NOTIFY this session LISTENs for. */
  notify(n) {
    self.postMessage({ type: 'notification', ...this.route, n });
  }

  leaderLost() {
    if (this.sid === null) return;
    // A transaction open on the lost leader is gone: report that once,
    // unless the in-flight request already did.
    if (this.status !== 'I' && !this.inFlight) this.broken = true;
    this.sid = null;
    this.status = 'I';
  }

  /**
   * Runs a statement; `begin` (a BEGIN the page deferred) runs just before
   * it and `end` closes the engine session after it, in the same request.
   */
  async query(sql, params, progressId, begin = null, end = false) {
    if (this.broken) {
      this.broken = false;
      throw lostLeader();
    }
    this.inFlight = true;
    try {
      let out;
      if ((this.sid === null || this.epoch !== this.db.epoch) && progressId === undefined) {
        // No session on this leader yet: it is created by the same request.
        await this.db.ready();
        const epoch = this.db.epoch;
        this.creating = true;
        let r;
        try {
          r = await this.db.call('run', [null, sql, params, begin, end, this.tag]);
        } finally {
          this.creating = false;
        }
        this.sid = r.sid;
        this.epoch = epoch;
        out = r.out;
      } else {
        await this.ensure();
        const routed = progressId !== undefined && this.db.progressRoutes;
        if (routed) this.db.progressRoutes.set(this.sid, progressId);
        try {
          out = (await this.db.call('run', [this.sid, sql, params, begin, end, this.tag])).out;
        } finally {
          if (routed) this.db.progressRoutes.delete(this.sid);
        }
      }
      this.status = out.status;
      out.pid = this.sid;
      if (end) {
        // The leader closed the engine session after the statement.
        this.sid = null;
        this.status = 'I';
      }
      // A timeout terminated the engine session (FATAL in PostgreSQL):
      // the next statement gets a new one.
      if (out.error && (out.error.code === '25P03' || out.error.code === '25P04')) {
        this.sid = null;
        this.status = 'I';
        out.status = 'I';
      }
      return out;
    } catch (e) {
      if (e && typeof e.code === 'string' && e.code.startsWith('08')) {
        this.sid = null;
        this.status = 'I';
      }
      throw e;
    } finally {
      this.inFlight = false;
    }
  }

  /** Cancels this session's statement if it waits or yielded. */
  async cancel() {
    if (this.creating) return this.db.call('cancelRun', [this.tag]).catch(() => false);
    if (this.sid === null || this.epoch !== this.db.epoch) return false;
    return this.db.call('cancel', [this.sid]).catch(() => false);
  }

  async release() {
    this.db.sessions.delete(this);
    if (this.sid !== null && this.epoch === this.db.epoch) {
      const sid = this.sid;
      this.sid = null;
      await this.db.call('disconnect', [sid]).catch(() => {});
    }
  }
}

// ---------------------------------------------------------------------------
// The main thread's requests.

const databases = new Map(); // key -> SharedDb | MemoryDb
const handles = new Map(); // handle -> { key, db }
const sessions = new Map(); // session key -> { session, handle }
let nextHandle = 1;
let nextSession = 1;

/** Runs fn(db, sid) on a new engine session of the handle's database, then ends it. */
async function withTemporarySession(handle, fn) {
  const h = handles.get(handle);
  if (!h) throw dbError('08003', 'the database is closed');
  const session = new Session(h.db);
  try {
    return await fn(h.db, await session.ensure());
  } finally {
    await session.release();
  }
}

const ops = {
  async open(name, options = {}) {
    await wasm();
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw dbError('3D000', 'database name must be a non-empty string of at most 200 characters');
    }
    const storage = options.storage ?? 'opfs';
    if (storage !== 'opfs' && storage !== 'memory') {
      throw dbError('22023', `unknown storage "${storage}" (expected "opfs" or "memory")`);
    }
    const key = `${storage}:${name}`;
    let db = databases.get(key);
    if (!db) {
      if (storage === 'memory') {
        db = new MemoryDb(options);
      } else {
        if (!(navigator.locks && typeof BroadcastChannel === 'function')) {
          throw dbError('0A000', 'this browser lacks the Web Locks API or BroadcastChannel');
        }
        db = new SharedDb(name, options);
        databases.set(key, db);
        try {
          await db.start();
          await db.ready();
        } catch (e) {
          databases.delete(key);
          db.close();
          throw e;
        }
      }
      databases.set(key, db);
    }
    db.refs += 1;
    const handle = nextHandle++;
    handles.set(handle, { key, db });
    return handle;
  },

  async connect(handle) {
    const h = handles.get(handle);
    if (!h) throw dbError('08003', 'the database is closed');
    const key = nextSession++;
    sessions.set(key, { session: new Session(h.db, { key }), handle });
    return key;
  },

  /** dump / restore on a session of their own, released after. */
  async dump(handle) {
    return withTemporarySession(handle, (db, sid) => db.call('dump', [sid]));
  },

  async restore(handle, script) {
    if (typeof script !== 'string') throw dbError('22023', 'restore needs the script as a string');
    return withTemporarySession(handle, (db, sid) => db.call('restore', [sid, script]));
  },

  /** The DDL that turns the change feed on. */
  async changeFeedDdl() {
    await wasm();
    return changeFeedDdl();
  },

  /** Starts live query `id`; returns its first outcome. */
  async live(handle, id, sql, params) {
    const h = handles.get(handle);
    if (!h) throw dbError('08003', 'the database is closed');
    const db = h.db;
    const live = new Live(db, id, handle, db.internalSessions(handle).live, sql, params ?? []);
    db.lives.set(id, live);
    // Commits while the first run is on cause one more run after it.
    live.running = true;
    try {
      await live.watch();
      const outcome = await live.session.query(sql, params ?? []);
      if (outcome.error) throw outcome.error;
      return outcome;
    } catch (e) {
      live.close();
      throw e;
    } finally {
      live.running = false;
      const next = live.pending;
      live.pending = null;
      if (next) live.refresh(next);
    }
  },

  async unlive(handle, id) {
    const h = handles.get(handle);
    h?.db.lives.get(id)?.close();
  },

  /** LISTEN on the database instance's listener session. */
  async listen(handle, channel) {
    const h = handles.get(handle);
    if (!h) throw dbError('08003', 'the database is closed');
    const rec = h.db.internalSessions(handle);
    if (rec.channels.has(channel)) return;
    const outcome = await rec.listen.query(`LISTEN ${quoteIdent(channel)}`, []);
    if (outcome.error) throw outcome.error;
    rec.channels.add(channel);
  },

  async unlisten(handle, channel) {
    const h = handles.get(handle);
    const rec = h?.db.internal.get(handle);
    if (!rec || !rec.channels.delete(channel)) return;
    const outcome = await rec.listen.query(`UNLISTEN ${quoteIdent(channel)}`, []);
    if (outcome.error) throw outcome.error;
  },

  async query(key, sql, params, progressId, begin, end) {
    const s = sessions.get(key);
    if (!s) throw dbError('08003', 'the session was released');
    return s.session.query(sql, params ?? [], progressId, begin ?? null, end ?? false);
  },

  async cancel(key) {
    const s = sessions.get(key);
    return s ? s.session.cancel() : false;
  },

  async release(key) {
    const s = sessions.get(key);
    if (!s) return;
    sessions.delete(key);
    await s.session.release();
  },

  async close(handle) {
    const h = handles.get(handle);
    if (!h) return;
    handles.delete(handle);
    await h.db.closeHandle(handle);
    for (const [key, s] of [...sessions]) {
      if (s.handle === handle) {
        sessions.delete(key);
        await s.session.release();
      }
    }
    h.db.refs -= 1;
    if (h.db.refs === 0) {
      databases.delete(h.key);
      h.db.close();
    }
  },
};

self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  if (op === 'expectWasm' && wasmReady === null) {
    wasmReady = new Promise((resolve) => (moduleFromPage = resolve)).then((module) =>
      init(module ? { module_or_path: module } : undefined),
    );
    return;
  }
  if (op === 'wasm') {
    moduleFromPage?.(args[0]);
    moduleFromPage = null;
    return;
  }
  if (fatal) {
    self.postMessage({ id, ok: false, error: dbError('08006', 'the database worker failed; reopen the database') });
    return;
  }
  try {
    const value = await ops[op](...args);
    self.postMessage({ id, ok: true, value });
  } catch (err) {
    self.postMessage({ id, ok: false, error: asDbError(err) });
  }
  if (fatal) {
    // After a trap the wasm instance is unusable: tell the page, and end
    // this worker so its locks pass to another tab, which recovers.
    self.postMessage({ type: 'fatal' });
    self.close();
  }
};
