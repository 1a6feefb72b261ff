// The SQLite connection on Node's built-in `node:sqlite` (Node 22.5 and later), shaped like the
// part of better-sqlite3 the stores use. It is what the single executables run on: a Windows
// build of better-sqlite3 cannot be made here, and a built-in needs no native addon matching
// the executable's Node version.
//
// better-sqlite3's transaction semantics are kept: a transaction function started inside
// another one becomes a savepoint, an exception rolls back only its own level, and
// `.immediate()` takes the write lock at BEGIN.
import type { Connection, RunResult, Statement, Transaction } from './sqlite.js';

// node:sqlite as Node 22 has it; @types/node 20 does not know the module.
interface StatementSync {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
}
interface DatabaseSync {
  prepare(sql: string): StatementSync;
  exec(sql: string): void;
  close(): void;
}
type NodeSqlite = { DatabaseSync: new (file: string, options?: { readOnly?: boolean }) => DatabaseSync };

/** node:sqlite, or null where this Node has no such module (before 22.5). */
export function nodeSqlite(): NodeSqlite | null {
  return (process.getBuiltinModule?.('node:sqlite') as NodeSqlite | undefined) ?? null;
}

// SQLite's result codes by number, as better-sqlite3 names them in an error's `code` (which
// the stores test, e.g. SQLITE_CONSTRAINT_UNIQUE); node:sqlite gives only the number (errcode).
const PRIMARY_CODES = [
  'OK',
  'ERROR',
  'INTERNAL',
  'PERM',
  'ABORT',
  'BUSY',
  'LOCKED',
  'NOMEM',
  'READONLY',
  'INTERRUPT',
  'IOERR',
  'CORRUPT',
  'NOTFOUND',
  'FULL',
  'CANTOPEN',
  'PROTOCOL',
  'EMPTY',
  'SCHEMA',
  'TOOBIG',
  'CONSTRAINT',
  'MISMATCH',
  'MISUSE',
  'NOLFS',
  'AUTH',
  'FORMAT',
  'RANGE',
  'NOTADB',
  'NOTICE',
  'WARNING',
];
const EXTENDED_CODES: Record<number, string> = {
  261: 'BUSY_RECOVERY',
  517: 'BUSY_SNAPSHOT',
  773: 'BUSY_TIMEOUT',
  262: 'LOCKED_SHAREDCACHE',
  264: 'READONLY_RECOVERY',
  520: 'READONLY_CANTLOCK',
  776: 'READONLY_ROLLBACK',
  1032: 'READONLY_DBMOVED',
  275: 'CONSTRAINT_CHECK',
  531: 'CONSTRAINT_COMMITHOOK',
  787: 'CONSTRAINT_FOREIGNKEY',
  1043: 'CONSTRAINT_FUNCTION',
  1299: 'CONSTRAINT_NOTNULL',
  1555: 'CONSTRAINT_PRIMARYKEY',
  1811: 'CONSTRAINT_TRIGGER',
  2067: 'CONSTRAINT_UNIQUE',
  2323: 'CONSTRAINT_VTAB',
  2579: 'CONSTRAINT_ROWID',
  2835: 'CONSTRAINT_PINNED',
  3091: 'CONSTRAINT_DATATYPE',
};

/** Runs fn; an SQLite error it throws gets better-sqlite3's `code` (SQLITE_<name>). */
function sqlite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { code?: unknown; errcode?: unknown };
    if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') {
      e.code = `SQLITE_${EXTENDED_CODES[e.errcode] ?? PRIMARY_CODES[e.errcode & 0xff] ?? 'ERROR'}`;
    }
    throw err;
  }
}

class NodeStatement implements Statement {
  constructor(readonly statement: StatementSync) {}

  get(...params: unknown[]): unknown {
    return sqlite(() => this.statement.get(...params));
  }

  all(...params: unknown[]): unknown[] {
    return sqlite(() => this.statement.all(...params));
  }

  run(...params: unknown[]): RunResult {
    const r = sqlite(() => this.statement.run(...params));
    return { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid };
  }
}

export class NodeSqliteConnection implements Connection {
  readonly #db: DatabaseSync;
  #open = true;
  /** Transaction levels entered through transaction(): 0 outside, 1 in BEGIN, more in savepoints. */
  #depth = 0;

  constructor(
    readonly name: string,
    sqlite: NodeSqlite,
    options: { readOnly?: boolean } = {},
  ) {
    this.#db = new sqlite.DatabaseSync(name, options);
  }

  get open(): boolean {
    return this.#open;
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  prepare(sql: string): Statement {
    return new NodeStatement(sqlite(() => this.#db.prepare(sql)));
  }

  exec(sql: string): void {
    sqlite(() => this.#db.exec(sql));
  }

  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const rows = this.#db.prepare(`PRAGMA ${source}`).all() as Record<string, unknown>[];
    if (!options.simple) return rows;
    const first = rows[0];
    return first === undefined ? undefined : Object.values(first)[0];
  }

  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R> {
    const run =
      (begin: string) =>
      (...args: A): R =>
        this.#inTransaction(begin, () => fn(...args));
    return Object.assign(run('BEGIN'), { immediate: run('BEGIN IMMEDIATE') });
  }

  #inTransaction<R>(begin: string, fn: () => R): R {
    const savepoint = this.#depth > 0 ? `printrelay_${this.#depth}` : null;
    this.exec(savepoint ? `SAVEPOINT ${savepoint}` : begin);
    this.#depth++;
    let result: R;
    try {
      result = fn();
      if (result instanceof Promise) throw new TypeError('a transaction function must not return a promise');
    } catch (err) {
      this.#depth--;
      this.exec(savepoint ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : 'ROLLBACK');
      throw err;
    }
    this.#depth--;
    if (savepoint) this.exec(`RELEASE ${savepoint}`);
    else {
      try {
        this.exec('COMMIT');
      } catch (err) {
        // A commit that failed (busy, disk full) may leave the transaction open: end it.
        try {
          this.#db.exec('ROLLBACK');
        } catch {}
        throw err;
      }
    }
    return result;
  }

  close(): void {
    if (!this.#open) return;
    this.#db.close();
    this.#open = false;
  }
}
