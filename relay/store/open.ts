// Opens the relay's store: relay.db in the data dir (SQLite, shared/sqlite.ts), its group
// commit (group-commit.ts), and the Directory and JobStore on it, as one RelayStore. A job that
// got its 201 survives a kill -9 of the relay and a power cut.
import { join } from 'node:path';
import type { Log } from '../../shared/log.js';
import { type Connection, openDatabase } from '../../shared/sqlite.js';
import { SecretBox } from '../secret-box.js';
import { SqliteDashboardStore } from './dashboard-sqlite.js';
import { GroupCommit } from './group-commit.js';
import type { Directory, JobStore, RelayStore } from './job-store.js';
import { methodsOf } from './methods.js';
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

/**
 * The relay's store: on PostgreSQL when `database` is a postgres:// URL (several relay
 * processes may share it), else relay.db in `dataDir`. Webhook secrets are sealed with the key
 * of PRINTRELAY_SECRET_KEY or of `dataDir`, which every process on one database must share.
 */
export async function openStore(
  dataDir: string,
  database: string | undefined,
  log: Log,
): Promise<RelayStore> {
  if (database === undefined || database === '') return openRelayStore(dataDir);
  if (!/^postgres(ql)?:\/\//i.test(database))
    throw new Error(`--db takes a postgres:// or postgresql:// URL, not ${JSON.stringify(database)}`);
  // Loaded only here: an agent, or a relay on SQLite, never evaluates the PostgreSQL client.
  const { openPostgresStore } = await import('./postgres/open.js');
  return openPostgresStore(database, SecretBox.forDataDir(dataDir), log);
}
