// Opening a SQLite database the way the relay and the agent both need it (better-sqlite3).
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
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** Opens (creating folder and file if needed) `file` and brings its schema up to date. */
export function openDatabase(file: string, migrations: readonly string[], what: string): Database.Database {
  ownerOnly(file);
  const db = new Database(file);
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

function migrate(db: Database.Database, migrations: readonly string[], what: string): void {
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
  readonly #statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  #statement(sql: string): Database.Statement {
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

  protected run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.#statement(sql).run(...params);
  }
}
