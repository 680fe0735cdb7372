// Types for NeuralDB's JavaScript API. The contract is in README.md
// ("JavaScript API", "Type mapping").

/** A value returned in a row. See README.md for the SQL ↔ JS type table. */
export type SqlValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Date
  | Uint8Array
  | Float32Array
  | SqlValue[]
  | { [key: string]: unknown };

/** A value accepted as a query parameter. */
export type SqlParam =
  | SqlValue
  | undefined
  | ArrayBuffer
  | Float64Array
  | SqlParam[];

export interface FieldDef {
  name: string;
  /** PostgreSQL type OID (0 when unknown). */
  dataTypeID: number;
  /** SQL type name, e.g. `integer`, `character varying(20)`. */
  type: string;
}

export interface QueryResult<R = Record<string, SqlValue>> {
  /** The command tag's verb: `SELECT`, `INSERT`, `UPDATE`, `BEGIN`, ... */
  command: string;
  /** Rows affected (INSERT/UPDATE/DELETE/MERGE) or returned (SELECT). */
  rowCount: number;
  rows: R[];
  fields: FieldDef[];
}

/** How far a long statement has got (PostgreSQL's pg_stat_progress_create_index terms). */
export interface Progress {
  command: 'CREATE INDEX';
  index: string;
  phase: string;
  tuplesDone: number;
  tuplesTotal: number;
}

export interface QueryOptions {
  /** `'array'`: rows as arrays instead of objects keyed by column name. */
  rowMode?: 'array';
  /** Called while the statement runs (CREATE INDEX: at the start, at most every 50 ms, at the end). */
  onProgress?: (progress: Progress) => void;
  /**
   * Aborting cancels the statement as PostgreSQL's CancelRequest does: it
   * fails with 57014 if it is waiting for a lock or running in slices (a
   * CREATE INDEX build); aborted before it starts, it never runs.
   */
  signal?: AbortSignal;
  /** Called with each WARNING or NOTICE the statement raises, before it returns (overrides OpenOptions.onNotice). */
  onNotice?: (notice: Notice) => void;
}

/** A WARNING or NOTICE (PostgreSQL's NoticeResponse), e.g. `pg_advisory_unlock` of a lock not held. */
export interface StreamOptions {
  /** Rows per FETCH (one request to the engine each). Default 1000. */
  batchSize?: number;
  rowMode?: 'array';
  /** Aborting cancels a statement waiting for a lock, as in query(). */
  signal?: AbortSignal;
}

export interface Notice {
  severity: 'WARNING' | 'NOTICE';
  /** SQLSTATE, e.g. `'01000'`. */
  code: string;
  message: string;
  detail: string | null;
  hint: string | null;
}

export interface OpenOptions {
  /** `'opfs'` (default): durable, shared by every tab. `'memory'`: ephemeral, private to this tab. */
  storage?: 'opfs' | 'memory';
  /** How `bigint` (int8) values arrive: `'bigint'` (default), `'string'`, or `'number'` (throws 22003 beyond 2^53). */
  int8?: 'bigint' | 'number' | 'string';
  /** Buffer pool size in bytes for the engine (default 64 MiB). Applies when this tab runs the engine. */
  poolBytes?: number;
  /** Use this worker (created from `neuraldb/worker`) instead of the built-in one. */
  worker?: Worker;
  /** Receives the WARNINGs and NOTICEs of this instance's statements and of its sessions' (default: dropped, as node-postgres does without a 'notice' listener). */
  onNotice?: (notice: Notice) => void;
  /** Receives NOTIFYs for channels this instance's sessions LISTEN to with SQL (`db.listen` has its own callbacks). */
  onNotification?: (notification: Notification) => void;
}

/** A NOTIFY as a listener receives it. */
export interface Notification {
  channel: string;
  payload: string;
  /** The session (pid) that sent it. */
  processId: number;
}

/** Why a live query delivered a result: its first run, a commit that changed what it reads, or a new leader tab. */
export type LiveReason = 'initial' | 'change' | 'failover';

export interface LiveResult<R = Record<string, SqlValue>> extends QueryResult<R> {
  reason: LiveReason;
}

export interface LiveOptions {
  /** Called when a re-run fails (e.g. a table it reads was dropped); without it the error is thrown asynchronously. */
  onError?: (error: NeuralDBError) => void;
  rowMode?: 'array';
}

export interface LiveChanges<R = Record<string, SqlValue>> {
  inserts: R[];
  updates: R[];
  deletes: R[];
  /** The whole new result. */
  rows: R[];
  fields: FieldDef[];
  reason: LiveReason;
}

export interface LiveQuery<T> {
  /** The latest result delivered. */
  readonly result: T | null;
  /** Stops it; no callback runs once the promise resolves. */
  unsubscribe(): Promise<void>;
}

export interface LiveFunction {
  /**
   * Runs `sql` now and again after every committed transaction (any tab, any session) that changed a table or view it reads.
   * The first result is delivered before the promise resolves.
   */
  <R = Record<string, SqlValue>>(sql: string, params: SqlParam[] | undefined, callback: (result: LiveResult<R>) => void, options?: LiveOptions): Promise<LiveQuery<LiveResult<R>>>;
  /** Like `live`, but delivers the rows inserted, updated and deleted since the last result, matched by `key` (column name or names). */
  changes<R = Record<string, SqlValue>>(sql: string, params: SqlParam[] | undefined, key: string | string[], callback: (changes: LiveChanges<R>) => void, options?: Omit<LiveOptions, 'rowMode'>): Promise<LiveQuery<LiveResult<R>>>;
}

/** A committed row change. `key`: the primary key (every column without one) before the change; `row`: the new row (INSERT, UPDATE), as `to_jsonb` gives them. */
export interface Change {
  seq: SqlValue;
  xid: SqlValue;
  /** Schema-qualified, e.g. `public.notes`. */
  relation: string;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  key: Record<string, unknown>;
  row: Record<string, unknown> | null;
}

export interface ChangesFunction {
  /** Committed changes after `since` (default: all not yet acknowledged), in commit order; the first call turns the feed on. */
  (options?: { since?: bigint | number | string; limit?: number }): Promise<{ changes: Change[]; cursor: SqlValue }>;
  /** Forgets the changes up to `cursor` once they are applied elsewhere. */
  ack(cursor: bigint | number | string): Promise<void>;
}

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
  /** Retries on 40001, 40P01 and a lost leader (class 08, except during COMMIT). Default 5. */
  retries?: number;
}

/** A database error, shaped like node-postgres' DatabaseError. */
export class NeuralDBError extends Error {
  /** SQLSTATE, e.g. `'23505'`. */
  readonly code: string;
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character position in the statement, as a string (node-postgres habit). */
  readonly position?: string;
  readonly severity: 'ERROR';
  /** True for 40001, 40P01 and class 08: the transaction may succeed if run again. */
  readonly retryable: boolean;
}

/** A dedicated engine session with its own transaction. */
export class Session {
  /** Engine session id (pid in pg_stat_activity); null before the first query. */
  readonly processID: number | null;
  /** `'I'` idle, `'T'` in a transaction block, `'E'` in a failed block. */
  readonly transactionStatus: 'I' | 'T' | 'E';
  query<R = SqlValue[]>(sql: string, params: SqlParam[] | undefined, options: { rowMode: 'array' }): Promise<QueryResult<R>>;
  query<R = Record<string, SqlValue>>(sql: string, params?: SqlParam[], options?: QueryOptions): Promise<QueryResult<R>>;
  exec(sql: string, options?: QueryOptions): Promise<QueryResult[]>;
  /** Called for each NOTIFY on a channel this session LISTENs to (delivered between transactions). */
  onNotification?: (notification: Notification) => void;
  /** Ends the session, rolling back its open transaction. */
  release(): Promise<void>;
}

export class NeuralDB {
  /** Opens (creating if needed) a database shared by every tab of this origin. */
  static open(name: string, options?: OpenOptions): Promise<NeuralDB>;
  readonly name: string;
  readonly processID: number | null;
  readonly transactionStatus: 'I' | 'T' | 'E';
  query<R = SqlValue[]>(sql: string, params: SqlParam[] | undefined, options: { rowMode: 'array' }): Promise<QueryResult<R>>;
  query<R = Record<string, SqlValue>>(sql: string, params?: SqlParam[], options?: QueryOptions): Promise<QueryResult<R>>;
  /**
   * A query's rows a batch at a time, as an async iterable (a NO SCROLL
   * cursor in a transaction of its own on a dedicated session). Leaving the
   * loop early closes the cursor and ends the transaction.
   */
  stream<R = SqlValue[]>(sql: string, params: SqlParam[] | undefined, options: StreamOptions & { rowMode: 'array' }): AsyncIterable<R>;
  stream<R = Record<string, SqlValue>>(sql: string, params?: SqlParam[], options?: StreamOptions): AsyncIterable<R>;
  exec(sql: string, options?: QueryOptions): Promise<QueryResult[]>;
  /** A new dedicated session; call `release()` when done. */
  connect(): Promise<Session>;
  /** Runs `fn` in a transaction on a dedicated session, retrying on 40001/40P01/lost leader. */
  transaction<T>(fn: (tx: Session) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Live queries: see `LiveFunction`. */
  readonly live: LiveFunction;
  /** The whole database as a plain SQL script PostgreSQL's psql loads, under one snapshot. */
  dump(): Promise<string>;
  /** Loads a plain SQL script (ours or pg_dump's plain format) in one transaction. */
  restore(script: string): Promise<{ statements: number; rows: number }>;
  /** The change feed: see `ChangesFunction`. */
  readonly changes: ChangesFunction;
  /** LISTEN on `channel` (exact name); resolves to a function that removes this callback. */
  listen(channel: string, callback: (payload: string, info: { channel: string; processId: number }) => void): Promise<() => Promise<void>>;
  /** Removes every `listen` callback of `channel`. */
  unlisten(channel: string): Promise<void>;
  /** NOTIFY `channel` with `payload`, committed at once. */
  notify(channel: string, payload?: string): Promise<void>;
  close(): Promise<void>;
}

export default NeuralDB;
