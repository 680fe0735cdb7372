// Types for `neuraldb/kysely`, the Kysely dialect. See README.md ("Kysely").
import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import type { NeuralDB, Session } from './index.js';

export interface NeuralDBDialectConfig {
  /** The database (NeuralDB.open); each Kysely connection is a session of it (db.connect()). */
  database: NeuralDB;
  /** Called once for each new session, before its first query. */
  onCreateConnection?: (connection: NeuralDBConnection) => Promise<void>;
}

/** `new Kysely<DB>({ dialect: new NeuralDBDialect({ database: db }) })`. */
export declare class NeuralDBDialect implements Dialect {
  constructor(config: NeuralDBDialectConfig);
  createDriver(): Driver;
  createQueryCompiler(): QueryCompiler;
  createAdapter(): DialectAdapter;
  createIntrospector(db: Kysely<any>): DatabaseIntrospector;
}

/** Connections are dedicated sessions, reused once released (up to 8 idle); `kysely.destroy()` releases them all. */
export declare class NeuralDBDriver implements Driver {
  constructor(config: NeuralDBDialectConfig);
  init(): Promise<void>;
  acquireConnection(): Promise<DatabaseConnection>;
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void>;
  commitTransaction(connection: DatabaseConnection): Promise<void>;
  rollbackTransaction(connection: DatabaseConnection): Promise<void>;
  savepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void>;
  rollbackToSavepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void>;
  releaseSavepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void>;
  releaseConnection(connection: DatabaseConnection): Promise<void>;
  destroy(): Promise<void>;
}

export declare class NeuralDBConnection implements DatabaseConnection {
  /** The NeuralDB session this connection runs on. */
  readonly session: Session;
  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>>;
  /** Yields a finished result's rows in chunks (the engine materialises results). */
  streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>>;
}
