// The relay store's durability engine (relay/store/group-commit.ts) on its own, on a real
// SQLite file in WAL mode. The WAL fsyncs are the real ones, counted (and, where a test needs
// it, held back) by a pass-through wrapper around fs.fsync.
import fs, { rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../relay/store/group-commit.js';
import { openDatabase } from '../shared/sqlite.js';
import { tempDir } from './relay-helpers.js';

const MIGRATIONS = ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)'];
const realFsync = fs.fsync;
let fsyncs = 0;
let held: (() => void)[] | null = null;

function wrapFsync(): void {
  fs.fsync = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    fsyncs++;
    const run = () => realFsync(fd, callback);
    if (held) held.push(run);
    else run();
  }) as typeof fs.fsync;
  syncBuiltinESMExports();
}

/** Lets the held fsyncs run (and any later ones straight away). */
function releaseFsyncs(): void {
  const waiting = held ?? [];
  held = null;
  for (const run of waiting) run();
}

/** Whether `promise` has settled by the end of this turn and the next. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('group commit', () => {
  let dir: string;
  let db: Database.Database;
  let commit: GroupCommit;
  const insert = (text: string) => db.prepare('INSERT INTO notes (text) VALUES (?)').run(text).changes;
  const notes = () =>
    (db.prepare('SELECT text FROM notes ORDER BY id').all() as { text: string }[]).map((r) => r.text);

  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(join(dir, 'test.db'), MIGRATIONS, 'test database');
    commit = new GroupCommit(db, 'the test database');
    fsyncs = 0;
    held = null;
    wrapFsync();
  });

  afterEach(async () => {
    releaseFsyncs();
    await commit.close();
    if (db.open) db.close();
    fs.fsync = realFsync;
    syncBuiltinESMExports();
    rmSync(dir, { recursive: true, force: true });
  });

  it('covers many durable writes of one turn with one fsync', async () => {
    const writes = Array.from({ length: 50 }, (_, i) => commit.write('durable', () => insert(`n${i}`)));
    expect(await Promise.all(writes)).toEqual(Array(50).fill(1));
    expect(fsyncs).toBe(1);
    expect(notes()).toHaveLength(50);
  });

  it('settles a durable write only once the fsync covering its commit has returned', async () => {
    held = [];
    const durable = commit.write('durable', () => insert('a'));
    expect(await settled(durable)).toBe(false);
    // Committed already (readable), just not yet promised.
    expect(notes()).toEqual(['a']);
    // A commit made while that fsync is in flight waits for the next one: none runs beside it.
    const later = commit.write('durable', () => insert('b'));
    expect(await settled(later)).toBe(false);
    expect(fsyncs).toBe(1);
    releaseFsyncs();
    await Promise.all([durable, later]);
    expect(fsyncs).toBe(2);
  });

  it('settles soft writes at commit, without waiting for (or asking for) an fsync', async () => {
    held = [];
    const soft = commit.write('soft', () => insert('soft'));
    expect(await settled(soft)).toBe(true);
    expect(fsyncs).toBe(0);
    // In the same commit as a durable write, the soft one still does not wait for the disk.
    const [durable, alongside] = [
      commit.write('durable', () => insert('durable')),
      commit.write('soft', () => insert('alongside')),
    ];
    expect(await settled(alongside)).toBe(true);
    expect(await settled(durable)).toBe(false);
    releaseFsyncs();
    await durable;
  });

  it('fails a durable write whose fsync fails, and only it', async () => {
    await commit.write('soft', () => insert('first'));
    // The WAL file is gone (as on a failing disk): the commit is made, but cannot be promised.
    rmSync(join(dir, 'test.db-wal'));
    const [durable, soft] = await Promise.allSettled([
      commit.write('durable', () => insert('durable')),
      commit.write('soft', () => insert('soft')),
    ]);
    expect(durable.status).toBe('rejected');
    expect(String((durable as PromiseRejectedResult).reason)).toMatch(
      /^Error: the test database could not be written to disk: ENOENT/,
    );
    expect(soft).toEqual({ status: 'fulfilled', value: 1 });
  });

  it('undoes only the write that failed, keeping the others of its transaction', async () => {
    const results = await Promise.allSettled([
      commit.write('durable', () => insert('a')),
      commit.write('durable', () => {
        insert('half-done');
        throw new Error('no');
      }),
      commit.write('soft', () => insert('a')), // UNIQUE clash
      commit.write('durable', () => insert('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toBe('Error: no');
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
    expect(notes()).toEqual(['a', 'b']);
    expect(fsyncs).toBe(1);
  });

  it('leaves the connection at synchronous=FULL for the writes made outside it', async () => {
    await commit.write('soft', () => insert('a'));
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('commits what is pending on close and waits for its fsync', async () => {
    const durable = commit.write('durable', () => insert('last'));
    await commit.close();
    await expect(durable).resolves.toBe(1);
    db.close();
    const again = openDatabase(join(dir, 'test.db'), MIGRATIONS, 'test database');
    expect(again.prepare('SELECT text FROM notes').all()).toEqual([{ text: 'last' }]);
    again.close();
  });

  it('rejects writes once the connection is closed', async () => {
    db.close();
    await expect(commit.write('soft', () => insert('late'))).rejects.toThrow('the test database is closed');
  });
});
