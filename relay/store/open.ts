// Opens the relay's store: relay.db in the data dir (SQLite, shared/sqlite.ts), its group
// commit (group-commit.ts), and the Directory and JobStore on it, as one RelayStore. A job that
// got its 201 survives a kill -9 of the relay and a power cut.
import { join } from 'node:path';
import { openDatabase } from '../../shared/sqlite.js';
import { GroupCommit } from './group-commit.js';
import type { Directory, JobStore, RelayStore } from './job-store.js';
import { migrations } from './migrations.js';
import { SqliteDirectory } from './sqlite-directory.js';
import { SqliteJobStore } from './sqlite-jobs.js';

/** Opens (creating if needed) `relay.db` in `dataDir` and brings its schema up to date. */
export function openRelayStore(dataDir: string): RelayStore {
  // The CLI may write (stores add, keys add) while the relay runs: openDatabase sets a busy timeout.
  const db = openDatabase(join(dataDir, 'relay.db'), migrations, 'relay database');
  const commit = new GroupCommit(db, 'the relay database');
  return {
    ...methodsOf<Directory>(new SqliteDirectory(db, commit)),
    ...methodsOf<Omit<JobStore, 'close'>>(new SqliteJobStore(db, commit)),
    async close() {
      await commit.close();
      if (db.open) db.close();
    },
  };
}

/** The public methods of a class instance, bound to it (private ones are #private, not listed). */
function methodsOf<T extends object>(instance: T): T {
  const methods: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(instance))) {
    const value: unknown = Reflect.get(instance, name);
    if (name !== 'constructor' && typeof value === 'function') methods[name] = value.bind(instance);
  }
  return methods as T;
}
