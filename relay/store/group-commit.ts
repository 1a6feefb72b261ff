// The relay store's durability engine: group commit on one better-sqlite3 connection (WAL mode,
// opened by shared/sqlite.ts at synchronous=FULL), with the WAL fsynced off the event loop.
//
// The writes that arrive in one turn of the event loop share one transaction, so one fsync
// serves them all instead of one each. Each write runs in its own savepoint, so one that fails
// undoes only itself.
//
// The commit itself does not wait for the disk (synchronous=NORMAL for these transactions):
// the WAL file is fsynced on a libuv thread instead, and a `durable` write's promise settles
// only once that fsync covering its commit has returned. So the event loop never blocks on the
// disk (a blocking fsync per commit was a fifth of the relay's time at saturation), fsyncs in
// flight cover every commit made before they started, and what was promised is on disk exactly
// as with synchronous=FULL: WAL frames that reached the disk are what recovery keeps, and a
// checkpoint syncs the WAL before copying it anyway.
//
// Only `durable` writes wait for the disk: what a reply promises (for the relay, jobs and their
// states). `soft` writes settle at commit: they survive a kill -9 (the WAL is in the page
// cache); a power cut may lose the last of them, so they must be writes that a loss only makes
// happen again (state agents resend on reconnect, bookkeeping).
import { closeSync, fsync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';

export type Durability = 'durable' | 'soft';

interface PendingWrite {
  fn: () => unknown;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  #pending: PendingWrite[] = [];
  readonly #batch: Database.Transaction<(batch: PendingWrite[]) => unknown[]>;
  readonly #statements: Record<'normal' | 'full' | 'savepoint' | 'rollback' | 'release', Database.Statement>;

  /** `what` names the database in errors ("the relay database"). */
  constructor(
    private readonly db: Database.Database,
    private readonly what: string,
  ) {
    this.#statements = {
      normal: db.prepare('PRAGMA synchronous = NORMAL'),
      full: db.prepare('PRAGMA synchronous = FULL'),
      savepoint: db.prepare('SAVEPOINT write'),
      rollback: db.prepare('ROLLBACK TO write'),
      release: db.prepare('RELEASE write'),
    };
    const s = this.#statements;
    this.#batch = db.transaction((batch: PendingWrite[]) =>
      batch.map((w): Outcome => {
        s.savepoint.run();
        try {
          return { ok: true, value: w.fn() };
        } catch (error) {
          s.rollback.run();
          return { ok: false, error };
        } finally {
          s.release.run();
        }
      }),
    );
  }

  /**
   * Runs `fn` (synchronous SQL on this connection) in the next group commit. Resolves with its
   * result once committed (`soft`) or once that commit is on disk (`durable`); rejects with what
   * `fn` threw (undoing only `fn`'s changes) or when the commit or its fsync fails.
   */
  write<T>(durability: Durability, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.#commitPending());
      this.#pending.push({
        fn,
        durable: durability === 'durable',
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
  }

  /** Commits what is pending and waits for its fsyncs; the connection stays open (its owner closes it). */
  async close(): Promise<void> {
    // Writes already accepted are committed and on disk, not dropped.
    this.#commitPending();
    while (this.#syncing) await this.#syncing;
    if (this.#walFd !== null) closeSync(this.#walFd);
    this.#walFd = null;
  }

  #commitPending(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    if (!this.db.open) {
      for (const w of batch) w.reject(new Error(`${this.what} is closed`));
      return;
    }
    let outcomes: Outcome[];
    try {
      this.#statements.normal.run();
      outcomes = this.#batch.immediate(batch) as Outcome[];
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    } finally {
      // Writes outside the group commit (a CLI's, pruning) keep synchronous=FULL.
      this.#statements.full.run();
    }
    const synced = batch.some((w, i) => w.durable && outcomes[i]?.ok) ? this.#walSynced() : null;
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (!o?.ok) w.reject(o?.error);
      else if (w.durable && synced) synced.then(() => w.resolve(o.value), w.reject);
      else w.resolve(o.value);
    });
  }

  // WAL fsyncs on the libuv pool: one at a time, each covering every commit made before it began.
  #walFd: number | null = null;
  #commits = 0;
  #syncedCommits = 0;
  #syncing: Promise<void> | null = null;
  #syncWaiters: { commit: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  /** Resolves once the WAL, as it is now (the commit just made), is on disk. */
  #walSynced(): Promise<void> {
    const commit = ++this.#commits;
    return new Promise((resolve, reject) => {
      this.#syncWaiters.push({ commit, resolve, reject });
      this.#startSync();
    });
  }

  #startSync(): void {
    if (this.#syncing || this.#syncedCommits === this.#commits) return;
    const upTo = this.#commits;
    try {
      // The WAL file exists from the first commit on and, while this connection is open, is
      // never deleted (only rewritten from the start after a checkpoint).
      this.#walFd ??= openSync(`${this.db.name}-wal`, 'r+');
    } catch (err) {
      this.#settleSyncs(upTo, err as Error);
      return;
    }
    const fd = this.#walFd;
    this.#syncing = new Promise((done) =>
      fsync(fd, (err) => {
        this.#syncing = null;
        if (!err) this.#syncedCommits = upTo;
        this.#settleSyncs(upTo, err);
        done();
        this.#startSync();
      }),
    );
  }

  #settleSyncs(upTo: number, err: Error | null): void {
    const due = this.#syncWaiters.filter((w) => w.commit <= upTo);
    this.#syncWaiters = this.#syncWaiters.filter((w) => w.commit > upTo);
    const failure = err && new Error(`${this.what} could not be written to disk: ${err.message}`);
    for (const w of due) {
      if (failure) w.reject(failure);
      else w.resolve();
    }
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
