// Opens the relay's store: relay.db in the data dir (SQLite, shared/sqlite.ts), its group
// commit (group-commit.ts), and the Directory and JobStore on it, as one RelayStore. A job that
// got its 201 survives a kill -9 of the relay and a power cut.
import { join } from 'node:path';
import { type Connection, openDatabase } from '../../shared/sqlite.js';
import { SecretBox } from '../secret-box.js';
import { SqliteDashboardStore } from './dashboard-sqlite.js';
import { GroupCommit } from './group-commit.js';
import type { Directory, JobStore, RelayStore } from './job-store.js';
import { migrations } from './migrations.js';
import { SqliteDirectory } from './sqlite-directory.js';
import { SqliteJobStore } from './sqlite-jobs.js';

/** Opens (creating if needed) `relay.db` in `dataDir` and brings its schema up to date. */
export function openRelayStore(dataDir: string): RelayStore {
  // The CLI may write (stores add, keys add) while the relay runs: openDatabase sets a busy timeout.
  const db = openDatabase(join(dataDir, 'relay.db'), migrations, 'relay database');
  const secrets = SecretBox.forDataDir(dataDir);
  sealClearWebhookSecrets(db, secrets);
  const commit = new GroupCommit(db, 'the relay database');
  return {
    ...methodsOf<Directory>(new SqliteDirectory(db, commit, secrets)),
    ...methodsOf<Omit<JobStore, 'close'>>(new SqliteJobStore(db, commit, secrets)),
    dashboard: new SqliteDashboardStore(db, commit, secrets),
    changes: commit.changes,
    async close() {
      await commit.close();
      if (db.open) db.close();
    },
  };
}

/** Webhook secrets stored in clear by versions before encryption at rest are sealed on open. */
function sealClearWebhookSecrets(db: Connection, secrets: SecretBox): void {
  db.transaction(() => {
    const rows = db.prepare('SELECT id, secret FROM webhooks').all() as { id: string; secret: string }[];
    for (const r of rows) {
      if (SecretBox.isSealed(r.secret)) continue;
      db.prepare('UPDATE webhooks SET secret = ? WHERE id = ?').run(secrets.seal(r.secret, r.id), r.id);
    }
  })();
}

/** The public methods of a class instance, bound to it (private ones are #private, not listed). */
export function methodsOf<T extends object>(instance: T): T {
  const methods: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(instance))) {
    const value: unknown = Reflect.get(instance, name);
    if (name !== 'constructor' && typeof value === 'function') methods[name] = value.bind(instance);
  }
  return methods as T;
}
