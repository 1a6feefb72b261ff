// Opens the relay's store on PostgreSQL (`relay start --db postgres://...`): a connection pool,
// the schema brought up to date, the Directory, JobStore and DashboardStore on it, and one
// connection LISTENing for the changes every relay process on the database commits. The pool
// reconnects by itself when the server comes back; until then calls fail with
// StoreUnavailableError (503 at the API).
import pg from 'pg';
import type { Log } from '../../../shared/log.js';
import { maskedUrl } from '../../../shared/masked-url.js';
import type { SecretBox } from '../../secret-box.js';
import { ChangeFeed, type StoreChange } from '../changes.js';
import type { Directory, JobStore, RelayStore } from '../job-store.js';
import { methodsOf } from '../methods.js';
import { PgDashboardStore } from './dashboard.js';
import { PgDirectory } from './directory.js';
import { PgJobStore } from './jobs.js';
import { migrate } from './schema.js';
import { CHANGES_CHANNEL } from './tables.js';

const INT8_OID = 20;
/** Times are milliseconds and counts are small: BIGINT as a JavaScript number, not a string. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Delivers the NOTIFYs of every relay process to this one's feed, reconnecting after a loss. */
class ChangeListener {
  #client: pg.Client | null = null;
  #closed = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly feed: ChangeFeed,
    private readonly log: Log,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, types, connectionTimeoutMillis: 5000 });
    client.on('notification', (n) => {
      if (n.channel !== CHANGES_CHANNEL || !n.payload) return;
      this.feed.emit(JSON.parse(n.payload) as StoreChange);
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.#client = client;
  }

  #lost(client: pg.Client): void {
    if (this.#closed || this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => {});
    this.log.warn('PostgreSQL: the change feed lost its connection; reconnecting');
    const again = () => {
      this.#retry = null;
      if (this.#closed) return;
      this.start().then(
        () => this.log.info('PostgreSQL: the change feed is back'),
        () => {
          this.#retry = setTimeout(again, 1000);
        },
      );
    };
    this.#retry = setTimeout(again, 500);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
  }
}

export async function openPostgresStore(url: string, secrets: SecretBox, log: Log): Promise<RelayStore> {
  const pool = new pg.Pool({ connectionString: url, types, connectionTimeoutMillis: 5000, max: 10 });
  // An idle client whose server went away: the pool drops it; nothing to crash over.
  pool.on('error', (err) => log.warn(`PostgreSQL: ${err.message}`));
  const changes = new ChangeFeed();
  const listener = new ChangeListener(url, changes, log);
  try {
    await migrate(pool);
    await listener.start();
  } catch (err) {
    await listener.close();
    await pool.end().catch(() => {});
    throw new Error(`cannot use PostgreSQL at ${maskedUrl(url, 'PostgreSQL')}: ${(err as Error).message}`);
  }
  return {
    ...methodsOf<Directory>(new PgDirectory(pool, secrets)),
    ...methodsOf<Omit<JobStore, 'close'>>(new PgJobStore(pool, secrets)),
    dashboard: new PgDashboardStore(pool, secrets),
    changes,
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}
