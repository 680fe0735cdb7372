// `neuraldb/drizzle`: a Drizzle ORM driver (drizzle-orm's pg-core) over a
// NeuralDB instance, built as drizzle-orm's own pglite and node-postgres
// drivers are: a PgSession whose prepared queries run on the instance (or on
// a transaction's dedicated session), rows in array mode for Drizzle's
// column mappers. See README.md ("Drizzle ORM") and drizzle.d.ts.
import {
  createTableRelationsHelpers,
  DefaultLogger,
  entityKind,
  extractTablesRelationalConfig,
  fillPlaceholders,
  mapResultRow,
  NoopLogger,
  sql,
} from 'drizzle-orm';
import { NoopCache } from 'drizzle-orm/cache/core';
import { PgDatabase, PgDialect, PgPreparedQuery, PgSession, PgTransaction } from 'drizzle-orm/pg-core';

// ---------------------------------------------------------------------------
// Values as Drizzle's column mappers expect them: what drizzle's
// node-postgres driver hands them (it turns PostgreSQL's date/time parsers
// off and has no pgvector parser). Everything else is passed as our package
// returns it (README "Type mapping"): int8 as BigInt (drizzle's bigint
// mappers take it), jsonb parsed (as node-postgres does), numeric, date,
// timestamp and interval already as PostgreSQL's text.

const TIMESTAMPTZ = 1184;
const TIMESTAMPTZ_ARRAY = 1185;
const VECTOR = 16385;
const HALFVEC = 16387;
const BIT = 1560;
const BIT_ARRAY = 1561;

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** A timestamptz in PostgreSQL's output format at TimeZone UTC: `2026-01-02 03:04:05.12+00`. */
function timestamptzText(d) {
  if (!(d instanceof Date)) return d; // 'infinity', '-infinity'
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) return d.toISOString();
  const ms = d.getUTCMilliseconds();
  const frac = ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
  return `${pad(y, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}+00`;
}

/** The shortest decimal that reads back as the same float4, as pgvector prints it. */
function float4Text(x) {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p < 9; p++) {
    const s = Number(x.toPrecision(p));
    if (Math.fround(s) === x) return String(s);
  }
  return String(x);
}

/** A vector or halfvec in pgvector's text form: `[1,2.5,3]`. */
function vectorText(v) {
  if (!(v instanceof Float32Array)) return v;
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + float4Text(v[i]);
  return `${out}]`;
}

/** A packed bit string (most significant bit first) as PostgreSQL's text `0101`, `bits` long. */
function bitText(b, bits) {
  if (!(b instanceof Uint8Array)) return b;
  let out = '';
  const n = bits ?? b.length * 8;
  for (let i = 0; i < n; i++) out += (b[i >> 3] >> (7 - (i & 7))) & 1 ? '1' : '0';
  return out;
}

function deep(value, f) {
  if (Array.isArray(value)) return value.map((v) => deep(v, f));
  return value === null ? null : f(value);
}

/** For each field, a function that turns our value into drizzle's, or null when none is needed. */
function converters(fields) {
  let any = false;
  const list = fields.map((field) => {
    let f = null;
    switch (field.dataTypeID) {
      case TIMESTAMPTZ:
      case TIMESTAMPTZ_ARRAY:
        f = (v) => deep(v, timestamptzText);
        break;
      case VECTOR:
      case HALFVEC:
        f = vectorText;
        break;
      case BIT:
      case BIT_ARRAY: {
        const m = /^bit\((\d+)\)/.exec(field.type ?? '');
        const bits = m ? Number(m[1]) : undefined;
        f = (v) => deep(v, (b) => bitText(b, bits));
        break;
      }
      default:
        // A column of an unknown type (an expression's): convert by value.
        if (!field.dataTypeID) f = (v) => deep(v, (x) => vectorText(timestamptzText(x)));
    }
    any ||= f !== null;
    return f;
  });
  return any ? list : null;
}

/** The result with its values converted for drizzle, rows kept as arrays or objects. */
function forDrizzle(result) {
  const conv = converters(result.fields);
  if (!conv) return result;
  const rows = result.rows.map((row) => {
    if (Array.isArray(row)) return row.map((v, i) => (conv[i] && v !== null ? conv[i](v) : v));
    const out = { ...row };
    result.fields.forEach((field, i) => {
      if (conv[i] && out[field.name] !== null) out[field.name] = conv[i](out[field.name]);
    });
    return out;
  });
  return { ...result, rows };
}

// ---------------------------------------------------------------------------
// Prepared queries, sessions, transactions.

export class NeuralDBPreparedQuery extends PgPreparedQuery {
  static [entityKind] = 'NeuralDBPreparedQuery';

  constructor(client, queryString, params, logger, cache, queryMetadata, cacheConfig, fields, name, isResponseInArrayMode, customResultMapper) {
    super({ sql: queryString, params }, cache, queryMetadata, cacheConfig);
    this.client = client;
    this.queryString = queryString;
    this.params = params;
    this.logger = logger;
    this.fields = fields;
    // The name of a named prepared query (`.prepare('name')`): NeuralDB
    // has no protocol-level prepared statements, so it is not used.
    this.name = name;
    this._isResponseInArrayMode = isResponseInArrayMode;
    this.customResultMapper = customResultMapper;
  }

  async execute(placeholderValues = {}) {
    const params = fillPlaceholders(this.params, placeholderValues);
    this.logger.logQuery(this.queryString, params);
    const { fields, client, queryString, joinsNotNullableMap, customResultMapper } = this;
    if (!fields && !customResultMapper) {
      // db.execute(sql`...`), and inserts/updates/deletes without returning():
      // the whole result, rows as objects (as drizzle's node-postgres driver).
      return this.queryWithCache(queryString, params, async () => forDrizzle(await client.query(queryString, params)));
    }
    const result = await this.queryWithCache(queryString, params, async () =>
      forDrizzle(await client.query(queryString, params, { rowMode: 'array' })),
    );
    return customResultMapper
      ? customResultMapper(result.rows)
      : result.rows.map((row) => mapResultRow(fields, row, joinsNotNullableMap));
  }

  async all(placeholderValues = {}) {
    const params = fillPlaceholders(this.params, placeholderValues);
    this.logger.logQuery(this.queryString, params);
    const result = await this.queryWithCache(this.queryString, params, async () =>
      forDrizzle(await this.client.query(this.queryString, params)),
    );
    return result.rows;
  }

  /** @internal */
  isResponseInArrayMode() {
    return this._isResponseInArrayMode;
  }
}

const ISOLATION = {
  'read uncommitted': 'read committed', // PostgreSQL runs it as READ COMMITTED
  'read committed': 'read committed',
  'repeatable read': 'repeatable read',
  serializable: 'serializable',
};

export class NeuralDBSession extends PgSession {
  static [entityKind] = 'NeuralDBSession';

  /**
   * @param client a NeuralDB instance, or a Session (db.connect(), or a
   *   transaction's)
   */
  constructor(client, dialect, schema, options = {}) {
    super(dialect);
    this.client = client;
    this.schema = schema;
    this.options = options;
    this.logger = options.logger ?? new NoopLogger();
    this.cache = options.cache ?? new NoopCache();
  }

  prepareQuery(query, fields, name, isResponseInArrayMode, customResultMapper, queryMetadata, cacheConfig) {
    return new NeuralDBPreparedQuery(
      this.client,
      query.sql,
      query.params,
      this.logger,
      this.cache,
      queryMetadata,
      cacheConfig,
      fields,
      name,
      isResponseInArrayMode,
      customResultMapper,
    );
  }

  /**
   * On a NeuralDB instance: `db.transaction()` of our package, on a
   * dedicated session, retried on 40001/40P01/a lost leader (config.retries,
   * default 5). On a Session: BEGIN ... COMMIT on it, never retried.
   */
  async transaction(transaction, config = {}) {
    const run = async (client) => {
      const session = new NeuralDBSession(client, this.dialect, this.schema, this.options);
      const tx = new NeuralDBTransaction(this.dialect, session, this.schema);
      if (typeof config.deferrable === 'boolean') await tx.setTransaction({ deferrable: config.deferrable });
      return transaction(tx);
    };
    if (typeof this.client.transaction === 'function') {
      const isolation = config.isolationLevel && ISOLATION[config.isolationLevel];
      if (config.isolationLevel && !isolation) throw new TypeError(`unknown isolation level ${config.isolationLevel}`);
      return this.client.transaction(run, {
        isolation,
        readOnly: config.accessMode === 'read only',
        retries: config.retries,
      });
    }
    const begin = new NeuralDBTransaction(this.dialect, this, this.schema);
    await begin.execute(sql`begin${config.isolationLevel || config.accessMode ? sql` ${begin.getTransactionConfigSQL({ isolationLevel: config.isolationLevel, accessMode: config.accessMode })}` : undefined}`);
    try {
      const result = await run(this.client);
      const end = await begin.execute(sql`commit`);
      if (end.command === 'ROLLBACK') {
        const e = new Error('the transaction was rolled back because a statement in it failed');
        e.code = '25P02';
        throw e;
      }
      return result;
    } catch (error) {
      if (this.client.transactionStatus !== 'I') await begin.execute(sql`rollback`).catch(() => {});
      throw error;
    }
  }

  async count(query) {
    const res = await this.execute(query);
    return Number(res.rows[0].count);
  }
}

export class NeuralDBTransaction extends PgTransaction {
  static [entityKind] = 'NeuralDBTransaction';

  /** A nested transaction: a savepoint, released on success, rolled back to on a throw. */
  async transaction(transaction) {
    const savepointName = `sp${this.nestedIndex + 1}`;
    const tx = new NeuralDBTransaction(this.dialect, this.session, this.schema, this.nestedIndex + 1);
    await tx.execute(sql.raw(`savepoint ${savepointName}`));
    try {
      const result = await transaction(tx);
      await tx.execute(sql.raw(`release savepoint ${savepointName}`));
      return result;
    } catch (err) {
      await tx.execute(sql.raw(`rollback to savepoint ${savepointName}`));
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------
// The database.

export class NeuralDBDriver {
  static [entityKind] = 'NeuralDBDriver';

  constructor(client, dialect, options = {}) {
    this.client = client;
    this.dialect = dialect;
    this.options = options;
  }

  createSession(schema) {
    return new NeuralDBSession(this.client, this.dialect, schema, { logger: this.options.logger, cache: this.options.cache });
  }
}

export class NeuralDBDatabase extends PgDatabase {
  static [entityKind] = 'NeuralDBDatabase';
}

/**
 * A Drizzle database over `client` (a NeuralDB instance, or a Session).
 * `drizzle(db, { schema, logger, casing, cache })` or `drizzle({ client: db, ...config })`.
 */
export function drizzle(client, config = {}) {
  if (client && typeof client.query !== 'function' && client.client) {
    ({ client, ...config } = client);
  }
  if (!client || typeof client.query !== 'function') {
    throw new TypeError('drizzle(db): db must be a NeuralDB instance (NeuralDB.open) or a Session (db.connect())');
  }
  const dialect = new PgDialect({ casing: config.casing });
  let logger;
  if (config.logger === true) logger = new DefaultLogger();
  else if (config.logger !== false) logger = config.logger;
  let schema;
  if (config.schema) {
    const tablesConfig = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers);
    schema = { fullSchema: config.schema, schema: tablesConfig.tables, tableNamesMap: tablesConfig.tableNamesMap };
  }
  const driver = new NeuralDBDriver(client, dialect, { logger, cache: config.cache });
  const session = driver.createSession(schema);
  const db = new NeuralDBDatabase(dialect, session, schema);
  db.$client = client;
  db.$cache = config.cache;
  if (db.$cache) db.$cache.invalidate = config.cache?.onMutate;
  return db;
}

// ---------------------------------------------------------------------------
// Migrations generated by drizzle-kit, applied in the browser.

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The advisory lock key that serialises migrations across tabs (any fixed int8). */
const MIGRATION_LOCK = 7_426_093_615_215_311_213n;

/**
 * Applies drizzle-kit migrations (`drizzle-kit generate` output) that are
 * not applied yet, all in one transaction, recording each in
 * `migrationsSchema.migrationsTable` (drizzle's `drizzle.__drizzle_migrations`:
 * same columns, same sha256 hash of the file, same `when` rule as
 * drizzle-orm's migrators). `journal` is meta/_journal.json; `migrations`
 * maps each entry's tag (or a path ending in `TAG.sql`) to the file's text.
 * Tabs that migrate at once are serialised by an advisory lock.
 */
export async function migrate(db, { journal, migrations, migrationsSchema = 'drizzle', migrationsTable = '__drizzle_migrations' }) {
  if (!journal || !Array.isArray(journal.entries)) throw new TypeError('migrate: journal must be drizzle-kit\'s meta/_journal.json');
  const texts = new Map();
  for (const [key, text] of Object.entries(migrations ?? {})) {
    texts.set(key.replace(/^.*\//, '').replace(/\.sql$/, ''), text);
  }
  const list = [];
  for (const entry of journal.entries) {
    const text = texts.get(entry.tag);
    if (typeof text !== 'string') throw new Error(`migrate: no SQL for the journal entry ${entry.tag}`);
    list.push({
      statements: text.split('--> statement-breakpoint').filter((s) => s.trim() !== ''),
      folderMillis: entry.when,
      hash: await sha256Hex(text),
    });
  }
  const table = sql`${sql.identifier(migrationsSchema)}.${sql.identifier(migrationsTable)}`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${sql.raw(String(MIGRATION_LOCK))})`);
    if (migrationsSchema !== 'public') await tx.execute(sql`create schema if not exists ${sql.identifier(migrationsSchema)}`);
    await tx.execute(sql`create table if not exists ${table} (id serial primary key, hash text not null, created_at bigint)`);
    const { rows } = await tx.execute(sql`select id, hash, created_at from ${table} order by created_at desc limit 1`);
    const last = rows[0];
    for (const m of list) {
      if (last && Number(last.created_at) >= m.folderMillis) continue;
      for (const statement of m.statements) await tx.execute(sql.raw(statement));
      await tx.execute(sql`insert into ${table} ("hash", "created_at") values (${m.hash}, ${m.folderMillis})`);
    }
  });
}
