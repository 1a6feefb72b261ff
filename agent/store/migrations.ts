// The agent's SQLite schema, one entry per version (PRAGMA user_version, applied by
// shared/sqlite.ts). Never edit an entry that has shipped: append a new one.
export const migrations: string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  -- Every job the agent has taken, relay or local. A row is kept 7 days after the job ended,
  -- which also makes it the memory of seen job ids: the relay never delivers a job later than
  -- 7 days after creating it, so a duplicate always finds its row.
  CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order, which is printing order
    job_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,                  -- relay | local
    message TEXT NOT NULL,                 -- the JobMessage as received (local jobs: as made)
    printer_ref TEXT NOT NULL,
    printer_id TEXT,
    state TEXT NOT NULL,
    detail TEXT,
    copies INTEGER NOT NULL,
    copies_printed INTEGER NOT NULL DEFAULT 0,
    on_expiry TEXT NOT NULL,
    expires_at INTEGER,
    print_anyway INTEGER NOT NULL DEFAULT 0, -- a person chose to print it although it expired
    reprint_of TEXT,
    reprint_mark INTEGER NOT NULL DEFAULT 0, -- > 0: printed with the mark REPRINT #n
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX jobs_queue ON jobs (printer_id, state, seq);
  CREATE INDEX jobs_state ON jobs (state, updated_at);
  CREATE INDEX jobs_reprint_of ON jobs (reprint_of) WHERE reprint_of IS NOT NULL;

  -- Cancels for jobs not received yet, so that they are never printed if they come later.
  CREATE TABLE pending_cancels (
    job_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Events for the relay, sent oldest first and deleted when the relay acknowledges them.
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    event TEXT NOT NULL
  );

  CREATE TABLE printer_counters (
    printer_id TEXT PRIMARY KEY,
    printed_jobs INTEGER NOT NULL DEFAULT 0,
    paper_used_mm REAL NOT NULL DEFAULT 0
  );
  `,
  `
  -- When a person at the store dealt with a failed or uncertain job (printed it again or set it
  -- aside): the store page stops asking about it. NULL: nobody has yet.
  ALTER TABLE jobs ADD COLUMN settled_at INTEGER;
  `,
];
