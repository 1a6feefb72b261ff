// Opening a SQLite database the way the relay and the agent both need it, on one of two
// engines behind one surface (Connection, the part of better-sqlite3's API the stores use):
// better-sqlite3 (a native addon; what `npm install` gives) or Node's built-in node:sqlite
// (Node 22.5+, see sqlite-node.ts; what the single executables embed, since no Windows build of
// better-sqlite3 can be made here). openDatabase takes better-sqlite3 when it can be loaded and
// node:sqlite otherwise; PRINTRELAY_SQLITE=better-sqlite3 or node:sqlite (or the `engine`
// option) forces one. Both open the same files.
//
// Durability: journal_mode=WAL with synchronous=FULL. A transaction is on disk (fsynced) when
// commit returns, so what was acknowledged survives a kill -9 and also a power cut or kernel
// crash. (synchronous=NORMAL would survive kill -9 too, since committed WAL frames are in the
// OS page cache, but could lose the last commits on power loss.) The cost is one fsync per
// commit, far below what either side handles.
//
// Schema: one migration per version (PRAGMA user_version), applied in order. Never edit a
// migration that has shipped: append a new one.
//
// Modes: the folder is owner-only (0700) and so are the database and its -wal and -shm
// files (0600): they hold credentials' hashes, webhook secrets, tickets with customers'
// phone numbers. SQLite gives the -wal and -shm files the database file's mode.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { NodeSqliteConnection, nodeSqlite } from './sqlite-node.js';

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): RunResult;
}

/** A function run in a transaction (a savepoint when nested); immediate() takes the write lock at once. */
export interface Transaction<A extends unknown[], R> {
  (...args: A): R;
  immediate(...args: A): R;
}

/** An open database, on either engine. */
export interface Connection {
  /** The file. */
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  /** `PRAGMA source`: its rows, or with `simple` the first value of the first row. */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R>;
  close(): unknown;
}

export const SQLITE_ENGINES = ['better-sqlite3', 'node:sqlite'] as const;
export type SqliteEngine = (typeof SQLITE_ENGINES)[number];

// Resolved from this module: node_modules in a checkout; beside the executable in a single
// executable (its build makes import.meta.url the executable's path), where there is none.
const requireHere = createRequire(import.meta.url);

let better: typeof BetterSqlite3 | null | undefined;

/** better-sqlite3 when its addon loads into this Node (it loads it at the first open). */
function betterSqlite3(): typeof BetterSqlite3 | null {
  if (better === undefined) {
    try {
      const Database = requireHere('better-sqlite3') as typeof BetterSqlite3;
      // An addon built for another Node version (a stray node_modules above an executable)
      // fails here, not at require.
      new Database(':memory:').close();
      better = Database;
    } catch {
      better = null;
    }
  }
  return better;
}

/** The engine openDatabase uses: `wanted`, else PRINTRELAY_SQLITE, else the first one available. */
export function sqliteEngine(wanted = process.env.PRINTRELAY_SQLITE || undefined): SqliteEngine {
  if (wanted !== undefined && !(SQLITE_ENGINES as readonly string[]).includes(wanted)) {
    throw new Error(
      `unknown SQLite engine "${wanted}" (PRINTRELAY_SQLITE): use ${SQLITE_ENGINES.join(' or ')}`,
    );
  }
  if (
    wanted === 'node:sqlite' ||
    (wanted === undefined && betterSqlite3() === null && nodeSqlite() !== null)
  ) {
    return 'node:sqlite';
  }
  return 'better-sqlite3';
}

function connect(file: string, engine: SqliteEngine, readOnly = false): Connection {
  if (engine === 'node:sqlite') {
    const sqlite = nodeSqlite();
    if (!sqlite) throw new Error(`node:sqlite needs Node 22.5 or later (this is ${process.version})`);
    return new NodeSqliteConnection(file, sqlite, { readOnly });
  }
  const Database = betterSqlite3();
  if (!Database) throw new Error('better-sqlite3 is not installed (and this Node has no node:sqlite)');
  // Its Database is the surface Connection describes.
  return new Database(file, { readonly: readOnly, fileMustExist: readOnly }) as unknown as Connection;
}

/** Opens an existing database to look at it (no migration, no writes): WAL lets its owner go on writing. */
export function openReadOnly(file: string, opts: OpenOptions = {}): Connection {
  return connect(file, opts.engine ?? sqliteEngine(), true);
}

export interface OpenOptions {
  /** Default: sqliteEngine(). */
  engine?: SqliteEngine;
}

/** Opens (creating folder and file if needed) `file` and brings its schema up to date. */
export function openDatabase(
  file: string,
  migrations: readonly string[],
  what: string,
  opts: OpenOptions = {},
): Connection {
  ownerOnly(file);
  const db = connect(file, opts.engine ?? sqliteEngine());
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Another process (the CLI) may write while the service runs: wait for the lock.
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations, what);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Creates the folder (0700) and the file (0600) if needed, and tightens both if they exist. */
function ownerOnly(file: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

function migrate(db: Connection, migrations: readonly string[], what: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `${what} schema version ${current} is newer than this program knows (${migrations.length}): ${db.name}`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

export type Row = Record<string, unknown>;

/**
 * Base of the relay's and the agent's stores: queries with their prepared statements cached
 * by SQL text (preparing costs more than running most of our queries; the SQL texts are
 * constants, so the cache stays small).
 */
export abstract class SqliteDatabase {
  readonly #statements = new Map<string, Statement>();

  constructor(readonly db: Connection) {}

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  protected get(sql: string, ...params: unknown[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  protected all(sql: string, ...params: unknown[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }

  protected run(sql: string, ...params: unknown[]): RunResult {
    return this.#statement(sql).run(...params);
  }
}
