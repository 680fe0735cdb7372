// `neuraldb/kysely`: a Kysely dialect over a NeuralDB instance. Kysely's
// PostgreSQL adapter, query compiler and introspector; a driver whose
// connections are dedicated NeuralDB sessions (db.connect()), pooled as
// node-postgres' Pool does, so a Kysely transaction has its own session and
// concurrent queries run concurrently. See README.md ("Kysely") and
// kysely.d.ts.
import {
  CompiledQuery,
  createQueryId,
  IdentifierNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  RawNode,
} from 'kysely';
import { NeuralDBError } from './index.js';

/** Idle sessions kept for reuse; more are released when they come back. */
const MAX_IDLE = 8;

export class NeuralDBDialect {
  #config;

  /** @param {{ database: import('./index.js').NeuralDB, onCreateConnection?: (c: NeuralDBConnection) => Promise<void> }} config */
  constructor(config) {
    if (!config?.database || typeof config.database.connect !== 'function') {
      throw new TypeError('NeuralDBDialect: config.database must be a NeuralDB instance (NeuralDB.open)');
    }
    this.#config = config;
  }

  createDriver() {
    return new NeuralDBDriver(this.#config);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  createAdapter() {
    return new PostgresAdapter();
  }

  createIntrospector(db) {
    return new PostgresIntrospector(db);
  }
}

function savepointCommand(command, name) {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}

export class NeuralDBDriver {
  #config;
  #idle = [];
  #open = new Set();
  #destroyed = false;

  constructor(config) {
    this.#config = config;
  }

  async init() {}

  async acquireConnection() {
    if (this.#destroyed) throw new Error('driver has already been destroyed');
    let connection = this.#idle.pop();
    if (!connection) {
      connection = new NeuralDBConnection(await this.#config.database.connect());
      this.#open.add(connection);
      if (this.#config.onCreateConnection) await this.#config.onCreateConnection(connection);
    }
    return connection;
  }

  async beginTransaction(connection, settings) {
    let sql = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      sql = 'start transaction';
      if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) sql += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(sql));
  }

  async commitTransaction(connection) {
    const { rows } = await connection.executeQuery(CompiledQuery.raw('commit'));
    // COMMIT of a block that a failed statement aborted is a ROLLBACK.
    if (rows[0]?.command === 'ROLLBACK') {
      throw new NeuralDBError({ code: '25P02', message: 'the transaction was rolled back because a statement in it failed' });
    }
  }

  async rollbackTransaction(connection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection, name, compileQuery) {
    await connection.executeQuery(compileQuery(savepointCommand('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(connection, name, compileQuery) {
    await connection.executeQuery(compileQuery(savepointCommand('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(connection, name, compileQuery) {
    await connection.executeQuery(compileQuery(savepointCommand('release', name), createQueryId()));
  }

  async releaseConnection(connection) {
    // A session handed back inside a transaction block (a raw BEGIN on
    // db.connection()) is rolled back rather than lent to the next query.
    if (connection.session.transactionStatus !== 'I') {
      await connection.session.query('ROLLBACK').catch(() => {});
    }
    if (this.#destroyed || this.#idle.length >= MAX_IDLE || connection.session.transactionStatus !== 'I') {
      this.#open.delete(connection);
      await connection.session.release().catch(() => {});
      return;
    }
    this.#idle.push(connection);
  }

  /** Releases every session (`kysely.destroy()`); the NeuralDB instance stays open. */
  async destroy() {
    this.#destroyed = true;
    const all = [...this.#open];
    this.#open.clear();
    this.#idle = [];
    await Promise.all(all.map((c) => c.session.release().catch(() => {})));
  }
}

const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

export class NeuralDBConnection {
  /** @param {import('./index.js').Session} session */
  constructor(session) {
    /** The dedicated NeuralDB session this connection runs on. */
    this.session = session;
  }

  async executeQuery(compiledQuery) {
    const { command, rowCount, rows } = await this.session.query(compiledQuery.sql, [...compiledQuery.parameters]);
    if (command === 'ROLLBACK' || command === 'COMMIT') return { rows: [{ command }] };
    return {
      numAffectedRows: AFFECTING.has(command) ? BigInt(rowCount) : undefined,
      rows: rows ?? [],
    };
  }

  /**
   * `.stream(chunkSize)`: the engine materialises a result before it
   * returns it, so this yields the finished result's rows in chunks (it
   * saves no memory; it lets code written for streaming run).
   */
  async *streamQuery(compiledQuery, chunkSize = 100) {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new Error('chunkSize must be a positive integer');
    const { rows } = await this.executeQuery(compiledQuery);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }
}
