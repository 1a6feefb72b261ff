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
type NodeSqlite = { DatabaseSync: new (file: string) => DatabaseSync };

/** node:sqlite, or null where this Node has no such module (before 22.5). */
export function nodeSqlite(): NodeSqlite | null {
  return (process.getBuiltinModule?.('node:sqlite') as NodeSqlite | undefined) ?? null;
}

class NodeStatement implements Statement {
  constructor(readonly statement: StatementSync) {}

  get(...params: unknown[]): unknown {
    return this.statement.get(...params);
  }

  all(...params: unknown[]): unknown[] {
    return this.statement.all(...params);
  }

  run(...params: unknown[]): RunResult {
    const r = this.statement.run(...params);
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
  ) {
    this.#db = new sqlite.DatabaseSync(name);
  }

  get open(): boolean {
    return this.#open;
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  prepare(sql: string): Statement {
    return new NodeStatement(this.#db.prepare(sql));
  }

  exec(sql: string): void {
    this.#db.exec(sql);
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
    this.#db.exec(savepoint ? `SAVEPOINT ${savepoint}` : begin);
    this.#depth++;
    let result: R;
    try {
      result = fn();
      if (result instanceof Promise) throw new TypeError('a transaction function must not return a promise');
    } catch (err) {
      this.#depth--;
      this.#db.exec(savepoint ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : 'ROLLBACK');
      throw err;
    }
    this.#depth--;
    if (savepoint) this.#db.exec(`RELEASE ${savepoint}`);
    else {
      try {
        this.#db.exec('COMMIT');
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
