// The relay's schema on PostgreSQL: the SQLite one (../migrations.ts) in PostgreSQL's words,
// with the same column names and the same encodings (0/1 flags, JSON as text, times as
// milliseconds since the epoch in BIGINT), so that one set of row mappers (../rows.ts) reads
// both. One entry per version, recorded in schema_migrations; never edit a shipped entry.
// Two differences serve several relay processes on one database: an event is marked when it
// has been fanned out to webhooks (a cursor over a sequence would skip an event whose
// transaction commits after a later one's), and a webhook delivery is leased while a process
// sends it.
import type { Pool } from 'pg';

export const PG_MIGRATIONS: string[] = [
  `
  CREATE TABLE stores (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    connection_id TEXT,
    last_seen_at BIGINT,
    agent_version TEXT,
    instance_id TEXT,
    health TEXT,
    health_at BIGINT,
    disabled_at BIGINT,
    reported_online INTEGER
  );
  CREATE INDEX stores_name ON stores (name);

  CREATE TABLE printers (
    store_id TEXT NOT NULL REFERENCES stores(id),
    printer_id TEXT NOT NULL,
    info TEXT,
    status TEXT,
    status_at BIGINT,
    health TEXT,
    condition TEXT NOT NULL DEFAULT 'unknown',
    severity_rank INTEGER NOT NULL DEFAULT 1,
    reported_status TEXT,
    PRIMARY KEY (store_id, printer_id)
  );
  CREATE INDEX printers_severity ON printers (store_id, severity_rank);

  CREATE TABLE agent_credentials (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );

  CREATE TABLE enrolment_codes (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
  );

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );

  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );

  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    printer TEXT NOT NULL,
    printer_id TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    copies INTEGER NOT NULL,
    on_expiry TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    order_source TEXT,
    order_no TEXT,
    reprint_of TEXT,
    reprint_count INTEGER NOT NULL DEFAULT 0,
    cancel_requested_at BIGINT,
    cancel_sent_at BIGINT,
    last_sent_at BIGINT,
    send_count INTEGER NOT NULL DEFAULT 0,
    api_key_id TEXT,
    idempotency_key TEXT,
    request_hash TEXT
  );
  CREATE UNIQUE INDEX jobs_idempotency ON jobs (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_open ON jobs (store_id, state)
    WHERE state IN ('accepted', 'sent', 'delivered', 'held', 'printing');
  CREATE INDEX jobs_store_created ON jobs (store_id, created_at);
  CREATE INDEX jobs_order ON jobs (order_no, order_source) WHERE order_no IS NOT NULL;
  CREATE INDEX jobs_created ON jobs (created_at);
  CREATE UNIQUE INDEX jobs_reprint_of ON jobs (reprint_of, reprint_count) WHERE reprint_of IS NOT NULL;
  CREATE INDEX jobs_state_updated ON jobs (state, updated_at) WHERE state IN ('failed', 'uncertain');

  CREATE TABLE job_timeline (
    seq BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    at BIGINT NOT NULL,
    detail TEXT
  );
  CREATE INDEX job_timeline_job ON job_timeline (job_id, seq);

  CREATE TABLE agent_events_seen (
    store_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, event_id)
  );
  CREATE INDEX agent_events_seen_at ON agent_events_seen (seen_at);

  CREATE TABLE relay_events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    store_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    data TEXT NOT NULL,
    fanned_out INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX relay_events_to_fan_out ON relay_events (seq) WHERE fanned_out = 0;

  CREATE TABLE webhook_deliveries (
    webhook_id TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    done_at BIGINT,
    delivered INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (webhook_id, event_seq)
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE done_at IS NULL;

  CREATE TABLE printer_status_history (
    seq BIGSERIAL PRIMARY KEY,
    store_id TEXT NOT NULL,
    printer_id TEXT NOT NULL,
    condition TEXT NOT NULL,
    at BIGINT NOT NULL
  );
  CREATE INDEX printer_status_history_printer ON printer_status_history (store_id, printer_id, seq);

  CREATE TABLE dashboard_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );

  CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
  );
  CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_name);

  CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    store_id TEXT,
    target TEXT,
    detail TEXT
  );

  CREATE TABLE orders (
    store_id TEXT NOT NULL,
    source TEXT NOT NULL,
    order_no TEXT NOT NULL,
    body TEXT NOT NULL,
    cancelled_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, source, order_no)
  );
  CREATE INDEX orders_updated ON orders (updated_at);

  CREATE TABLE store_menus (
    store_id TEXT PRIMARY KEY,
    menu TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE templates (
    kind TEXT NOT NULL,
    store_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    comment TEXT,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (kind, store_id, version)
  );
  `,
];

/** Any number that is the same in every relay process: the lock that serialises migrations. */
const MIGRATION_LOCK = 0x7072_7274; // "prrt"

/** Brings the schema up to date; relay processes starting at once take turns under an advisory lock. */
export async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    const current = rows[0]?.v ?? 0;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(
        `the relay database's schema version ${current} is newer than this program knows (${PG_MIGRATIONS.length})`,
      );
    }
    for (let v = current; v < PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v] as string);
      await client.query('INSERT INTO schema_migrations (version, at) VALUES ($1, $2)', [v + 1, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
