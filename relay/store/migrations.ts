// SQLite schema, one entry per version (PRAGMA user_version). Never edit an entry that has
// shipped: append a new one.
export const migrations: string[] = [
  `
  CREATE TABLE stores (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    connection_id TEXT,
    last_seen_at INTEGER,
    agent_version TEXT,
    instance_id TEXT,
    health TEXT,
    health_at INTEGER
  );

  CREATE TABLE printers (
    store_id TEXT NOT NULL REFERENCES stores(id),
    printer_id TEXT NOT NULL,
    info TEXT,
    status TEXT,
    status_at INTEGER,
    health TEXT,
    PRIMARY KEY (store_id, printer_id)
  );

  CREATE TABLE agent_credentials (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );

  CREATE TABLE enrolment_codes (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );

  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at INTEGER NOT NULL
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
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    order_source TEXT,
    order_no TEXT,
    reprint_of TEXT,
    reprint_count INTEGER NOT NULL DEFAULT 0,
    cancel_requested_at INTEGER,
    cancel_sent_at INTEGER,
    last_sent_at INTEGER,
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

  CREATE TABLE job_timeline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    at INTEGER NOT NULL,
    detail TEXT
  );
  CREATE INDEX job_timeline_job ON job_timeline (job_id, seq);

  CREATE TABLE agent_events_seen (
    store_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX agent_events_seen_at ON agent_events_seen (seen_at);

  CREATE TABLE relay_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    store_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    data TEXT NOT NULL
  );

  CREATE TABLE webhook_deliveries (
    webhook_id TEXT NOT NULL,
    event_seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    done_at INTEGER,
    delivered INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (webhook_id, event_seq)
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE done_at IS NULL;

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // HQ dashboard: each printer's condition kept beside its status (so that fleet pages filter
  // and sort worst-first in SQL), its transitions, users, sessions and the audit log.
  `
  ALTER TABLE printers ADD COLUMN condition TEXT NOT NULL DEFAULT 'unknown';
  ALTER TABLE printers ADD COLUMN severity_rank INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX printers_severity ON printers (store_id, severity_rank);
  CREATE INDEX stores_name ON stores (name);
  CREATE INDEX jobs_state_updated ON jobs (state, updated_at) WHERE state IN ('failed', 'uncertain');

  CREATE TABLE printer_status_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id TEXT NOT NULL,
    printer_id TEXT NOT NULL,
    condition TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX printer_status_history_printer ON printer_status_history (store_id, printer_id, seq);

  CREATE TABLE dashboard_users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    stores TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_name);

  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    store_id TEXT,
    target TEXT,
    detail TEXT
  );
  `,
  // Operator controls and webhook de-duplication: a store can be disabled; the presence and
  // printer status last sent to webhooks, so that only real changes are sent.
  `
  ALTER TABLE stores ADD COLUMN disabled_at INTEGER;
  ALTER TABLE stores ADD COLUMN reported_online INTEGER;
  ALTER TABLE printers ADD COLUMN reported_status TEXT;
  UPDATE stores SET reported_online = online;
  UPDATE printers SET reported_status = status;
  `,
  // Orders as their sources sent them (POST /v1/orders), the latest version of each: a change
  // or a cancellation is told apart from what the stations already have.
  `
  CREATE TABLE orders (
    store_id TEXT NOT NULL,
    source TEXT NOT NULL,
    order_no TEXT NOT NULL,
    body TEXT NOT NULL,
    cancelled_at INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, source, order_no)
  );
  CREATE INDEX orders_updated ON orders (updated_at);

  CREATE TABLE store_menus (
    store_id TEXT PRIMARY KEY,
    menu TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );

  -- Ticket templates: every save a new version, of HQ's (store_id '') or a store's own.
  CREATE TABLE templates (
    kind TEXT NOT NULL,
    store_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    comment TEXT,
    saved_at INTEGER NOT NULL,
    PRIMARY KEY (kind, store_id, version)
  );
  `,
];
