// Types for `neuraldb/drizzle`, the Drizzle ORM driver. See README.md
// ("Drizzle ORM").
import { entityKind, type DrizzleConfig, type ExtractTablesWithRelations, type Logger, type Query, type RelationalSchemaConfig, type SQL, type TablesRelationalConfig } from 'drizzle-orm';
import type { Cache } from 'drizzle-orm/cache/core';
import type { WithCacheConfig } from 'drizzle-orm/cache/core/types';
import {
  PgDatabase,
  PgDialect,
  PgPreparedQuery,
  PgSession,
  PgTransaction,
  type PgQueryResultHKT,
  type PgTransactionConfig,
  type PreparedQueryConfig,
  type SelectedFieldsOrdered,
} from 'drizzle-orm/pg-core';
import type { NeuralDB, QueryResult, Session } from './index.js';

/** What the driver runs on: an instance (NeuralDB.open) or a dedicated session (db.connect()). */
export type NeuralDBClient = NeuralDB | Session;

/** `db.execute(sql...)` resolves to our QueryResult (rows as objects). */
export interface NeuralDBQueryResultHKT extends PgQueryResultHKT {
  type: QueryResult<this['row'] extends Record<string, unknown> ? this['row'] : Record<string, unknown>>;
}

/** Drizzle's transaction config, plus the retries of NeuralDB's `db.transaction()`. */
export interface NeuralDBTransactionConfig extends PgTransactionConfig {
  /**
   * On a NeuralDB instance, the transaction function is run again on
   * 40001, 40P01 and a lost leader, up to this many times (default 5, as
   * `db.transaction()`); 0 never retries. Ignored on a Session client.
   */
  retries?: number;
}

export declare class NeuralDBPreparedQuery<T extends PreparedQueryConfig> extends PgPreparedQuery<T> {
  static readonly [entityKind]: string;
  execute(placeholderValues?: Record<string, unknown>): Promise<T['execute']>;
  all(placeholderValues?: Record<string, unknown>): Promise<T['all']>;
}

export interface NeuralDBSessionOptions {
  logger?: Logger;
  cache?: Cache;
}

export declare class NeuralDBSession<TFullSchema extends Record<string, unknown>, TSchema extends TablesRelationalConfig> extends PgSession<NeuralDBQueryResultHKT, TFullSchema, TSchema> {
  static readonly [entityKind]: string;
  constructor(client: NeuralDBClient, dialect: PgDialect, schema: RelationalSchemaConfig<TSchema> | undefined, options?: NeuralDBSessionOptions);
  prepareQuery<T extends PreparedQueryConfig = PreparedQueryConfig>(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    name: string | undefined,
    isResponseInArrayMode: boolean,
    customResultMapper?: (rows: unknown[][]) => T['execute'],
    queryMetadata?: { type: 'select' | 'update' | 'delete' | 'insert'; tables: string[] },
    cacheConfig?: WithCacheConfig,
  ): PgPreparedQuery<T>;
  transaction<T>(transaction: (tx: NeuralDBTransaction<TFullSchema, TSchema>) => Promise<T>, config?: NeuralDBTransactionConfig): Promise<T>;
  count(sql: SQL): Promise<number>;
}

export declare class NeuralDBTransaction<TFullSchema extends Record<string, unknown>, TSchema extends TablesRelationalConfig> extends PgTransaction<NeuralDBQueryResultHKT, TFullSchema, TSchema> {
  static readonly [entityKind]: string;
  /** A nested transaction: a SAVEPOINT, released on success, rolled back to when `transaction` throws. */
  transaction<T>(transaction: (tx: NeuralDBTransaction<TFullSchema, TSchema>) => Promise<T>): Promise<T>;
}

export declare class NeuralDBDriver {
  static readonly [entityKind]: string;
  constructor(client: NeuralDBClient, dialect: PgDialect, options?: NeuralDBSessionOptions);
  createSession(schema: RelationalSchemaConfig<TablesRelationalConfig> | undefined): NeuralDBSession<Record<string, unknown>, TablesRelationalConfig>;
}

export declare class NeuralDBDatabase<TSchema extends Record<string, unknown> = Record<string, never>> extends PgDatabase<NeuralDBQueryResultHKT, TSchema> {
  static readonly [entityKind]: string;
  /**
   * Runs `transaction` on a dedicated NeuralDB session between BEGIN and
   * COMMIT (rolled back if it throws or calls `tx.rollback()`); on a
   * NeuralDB instance retried as `db.transaction()` is (see `retries`).
   */
  transaction<T>(
    transaction: (tx: NeuralDBTransaction<TSchema, ExtractTablesWithRelations<TSchema>>) => Promise<T>,
    config?: NeuralDBTransactionConfig,
  ): Promise<T>;
}

/** A Drizzle database over a NeuralDB instance or Session. */
export declare function drizzle<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends NeuralDBClient = NeuralDB>(
  client: TClient,
  config?: DrizzleConfig<TSchema>,
): NeuralDBDatabase<TSchema> & { $client: TClient };
export declare function drizzle<TSchema extends Record<string, unknown> = Record<string, never>, TClient extends NeuralDBClient = NeuralDB>(
  config: DrizzleConfig<TSchema> & { client: TClient },
): NeuralDBDatabase<TSchema> & { $client: TClient };

/** drizzle-kit's meta/_journal.json. */
export interface MigrationJournal {
  entries: { idx: number; when: number; tag: string; breakpoints: boolean }[];
}

export interface MigrateConfig {
  journal: MigrationJournal;
  /**
   * The text of each migration file, keyed by its journal tag
   * (`0000_init`) or by a path ending in `TAG.sql` (what Vite's
   * `import.meta.glob('./drizzle/*.sql', { query: '?raw', import: 'default', eager: true })` returns).
   */
  migrations: Record<string, string>;
  /** Default `'drizzle'` (needs CREATE SCHEMA); `'public'` needs none. */
  migrationsSchema?: string;
  /** Default `'__drizzle_migrations'`. */
  migrationsTable?: string;
}

/** Applies the journal's migrations not applied yet, in one transaction, recording each as drizzle-orm's migrators do. */
export declare function migrate<TSchema extends Record<string, unknown>>(db: NeuralDBDatabase<TSchema>, config: MigrateConfig): Promise<void>;
