// Directory and JobStore on one SQLite file (better-sqlite3, WAL: see shared/sqlite.ts; the
// relay's own writes go through a group commit that fsyncs the WAL off the event loop, see
// write()). A job that got its 201 survives a kill -9 of the relay and a power cut.
import { randomUUID } from 'node:crypto';
import { closeSync, fsync, openSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { canTransition, type JobState } from '../../protocol/job.js';
import type { PrinterHealth, PrinterInfo } from '../../protocol/messages.js';
import type { PrinterStatus } from '../../protocol/status.js';
import { openDatabase, type Row, SqliteDatabase } from '../../shared/sqlite.js';
import { SecretBox } from '../secret-box.js';
import { jobStateEventData, printerStatusChanged, printerStatusEventData } from './event-data.js';
import {
  type AgentCredentialRecord,
  type ApiKeyRecord,
  type CreateJobResult,
  type Directory,
  type DueDelivery,
  DuplicateError,
  type EnrolmentCodeRecord,
  type JobFilter,
  type JobRecord,
  type JobStore,
  type NewJob,
  type PresenceUpdate,
  type PrinterRecord,
  type StateChange,
  type StoreRecord,
  type StoreScope,
  type TimelineRecord,
  type WebhookEventType,
  type WebhookRecord,
} from './job-store.js';
import { migrations } from './migrations.js';

const OPEN_STATES = "('accepted', 'sent', 'delivered', 'held', 'printing')";

function json<T>(text: unknown): T | null {
  return typeof text === 'string' ? (JSON.parse(text) as T) : null;
}

function scopeToText(scope: StoreScope): string {
  return scope === 'all' ? 'all' : JSON.stringify(scope);
}

function scopeFromText(text: unknown): StoreScope {
  return text === 'all' ? 'all' : (JSON.parse(String(text)) as string[]);
}

function toStore(r: Row): StoreRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    createdAt: r.created_at as number,
    online: r.online === 1,
    connectionId: (r.connection_id as string | null) ?? null,
    lastSeenAt: (r.last_seen_at as number | null) ?? null,
    agentVersion: (r.agent_version as string | null) ?? null,
    instanceId: (r.instance_id as string | null) ?? null,
    health: json(r.health),
    healthAt: (r.health_at as number | null) ?? null,
  };
}

function toJob(r: Row): JobRecord {
  return {
    id: r.id as string,
    storeId: r.store_id as string,
    printer: r.printer as string,
    printerId: (r.printer_id as string | null) ?? null,
    kind: r.kind as JobRecord['kind'],
    payload: r.payload as string,
    copies: r.copies as number,
    onExpiry: r.on_expiry as JobRecord['onExpiry'],
    expiresAt: r.expires_at as number,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    state: r.state as JobState,
    orderRef:
      r.order_no == null
        ? null
        : { source: (r.order_source as string | null) ?? '', orderNo: r.order_no as string },
    reprintOf: (r.reprint_of as string | null) ?? null,
    reprintCount: r.reprint_count as number,
    cancelRequestedAt: (r.cancel_requested_at as number | null) ?? null,
    cancelSentAt: (r.cancel_sent_at as number | null) ?? null,
    lastSentAt: (r.last_sent_at as number | null) ?? null,
    sendCount: r.send_count as number,
  };
}

function toWebhook(r: Row, box: SecretBox): WebhookRecord {
  return {
    id: r.id as string,
    url: r.url as string,
    secret: box.open(r.secret as string, r.id as string),
    events: JSON.parse(r.events as string) as WebhookEventType[],
    stores: scopeFromText(r.stores),
    createdAt: r.created_at as number,
  };
}

export class SqliteStore extends SqliteDatabase implements Directory, JobStore {
  /** Opens (creating if needed) `relay.db` in `dataDir` and brings its schema up to date. */
  static open(dataDir: string): SqliteStore {
    // The CLI may write (stores add, keys add) while the relay runs: openDatabase sets a busy timeout.
    const store = new SqliteStore(
      openDatabase(join(dataDir, 'relay.db'), migrations, 'relay database'),
      SecretBox.forDataDir(dataDir),
    );
    store.sealClearWebhookSecrets();
    return store;
  }

  private constructor(
    db: Database.Database,
    /** Webhook secrets are stored sealed with it (see ../secret-box.ts). */
    private readonly box: SecretBox,
  ) {
    super(db);
  }

  /** Secrets stored in clear by versions before encryption at rest are sealed on open. */
  private sealClearWebhookSecrets(): void {
    this.db.transaction(() => {
      for (const r of this.all('SELECT id, secret FROM webhooks')) {
        if (SecretBox.isSealed(r.secret as string)) continue;
        const id = r.id as string;
        this.run('UPDATE webhooks SET secret = ? WHERE id = ?', this.box.seal(r.secret as string, id), id);
      }
    })();
  }

  // Group commit: the writes that arrive in one turn of the event loop share one transaction,
  // so one fsync serves them all instead of one each. Each write runs in its own savepoint, so
  // one that fails undoes only itself.
  //
  // The commit itself does not wait for the disk (synchronous=NORMAL for these transactions):
  // the relay fsyncs the WAL file on a libuv thread instead, and a `durable` write's promise
  // settles only once that fsync covering its commit has returned. So the event loop never
  // blocks on the disk (a blocking fsync per commit was a fifth of the relay's time at
  // saturation), fsyncs in flight cover every commit made before they started, and what was
  // promised is on disk exactly as with synchronous=FULL: WAL frames that reached the disk
  // are what recovery keeps, and a checkpoint syncs the WAL before copying it anyway.
  //
  // Only `durable` writes wait for the disk: jobs and their states, which a 201 or an
  // acknowledgement to an agent promises. `soft` writes are what agents send again whenever
  // they reconnect (presence, last seen, hello, printer status, health) and bookkeeping that a
  // lost write only makes happen again (send claims, seen event ids, webhook fan-out): they
  // settle at commit. They survive a kill -9 (the WAL is in the page cache); a power cut may
  // lose the last of them.
  #pending: {
    fn: () => unknown;
    durable: boolean;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
  }[] = [];

  private write<T>(durability: 'durable' | 'soft', fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.commitPending());
      this.#pending.push({
        fn,
        durable: durability === 'durable',
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
  }

  private commitPending(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0 || !this.db.open) {
      for (const w of batch) w.reject(new Error('the relay database is closed'));
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.run('PRAGMA synchronous = NORMAL');
      this.db
        .transaction(() => {
          for (const w of batch) {
            this.run('SAVEPOINT write');
            try {
              outcomes.push({ ok: true, value: w.fn() });
            } catch (error) {
              this.run('ROLLBACK TO write');
              outcomes.push({ ok: false, error });
            }
            this.run('RELEASE write');
          }
        })
        .immediate();
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    } finally {
      // Writes outside the group commit (the CLI's, pruning) keep synchronous=FULL.
      this.run('PRAGMA synchronous = FULL');
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
    const failure = err && new Error(`the relay database could not be written to disk: ${err.message}`);
    for (const w of due) {
      if (failure) w.reject(failure);
      else w.resolve();
    }
  }

  private addEvent(type: WebhookEventType, storeId: string, at: number, data: unknown): void {
    this.run(
      'INSERT INTO relay_events (id, type, store_id, at, data) VALUES (?, ?, ?, ?, ?)',
      randomUUID(),
      type,
      storeId,
      at,
      JSON.stringify(data),
    );
  }

  // ---- Directory ----

  async createStore(store: { id: string; name: string; createdAt: number }): Promise<StoreRecord> {
    const r = this.run(
      'INSERT OR IGNORE INTO stores (id, name, created_at) VALUES (?, ?, ?)',
      store.id,
      store.name,
      store.createdAt,
    );
    if (r.changes === 0) throw new DuplicateError(`store ${store.id}`);
    return toStore(this.get('SELECT * FROM stores WHERE id = ?', store.id) as Row);
  }

  async getStore(id: string): Promise<StoreRecord | null> {
    const r = this.get('SELECT * FROM stores WHERE id = ?', id);
    return r ? toStore(r) : null;
  }

  async storeOnline(id: string): Promise<boolean | null> {
    const r = this.get('SELECT online FROM stores WHERE id = ?', id);
    return r ? r.online === 1 : null;
  }

  async listStores(): Promise<StoreRecord[]> {
    return this.all('SELECT * FROM stores ORDER BY id').map(toStore);
  }

  async listPrinters(storeId: string): Promise<PrinterRecord[]> {
    return this.all('SELECT * FROM printers WHERE store_id = ? ORDER BY printer_id', storeId).map((r) => ({
      storeId: r.store_id as string,
      printerId: r.printer_id as string,
      info: json<PrinterInfo>(r.info),
      status: json<PrinterStatus>(r.status),
      statusAt: (r.status_at as number | null) ?? null,
      health: json<PrinterHealth>(r.health),
    }));
  }

  async addAgentCredential(c: AgentCredentialRecord): Promise<void> {
    this.run(
      'INSERT INTO agent_credentials (id, store_id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)',
      c.id,
      c.storeId,
      c.secretHash,
      c.createdAt,
      c.revokedAt,
    );
  }

  async getAgentCredential(id: string): Promise<AgentCredentialRecord | null> {
    const r = this.get('SELECT * FROM agent_credentials WHERE id = ?', id);
    if (!r) return null;
    return {
      id: r.id as string,
      storeId: r.store_id as string,
      secretHash: r.secret_hash as string,
      createdAt: r.created_at as number,
      revokedAt: (r.revoked_at as number | null) ?? null,
    };
  }

  async addEnrolmentCode(c: EnrolmentCodeRecord): Promise<void> {
    const r = this.run(
      'INSERT OR IGNORE INTO enrolment_codes (id, store_id, code_hash, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)',
      c.id,
      c.storeId,
      c.codeHash,
      c.createdAt,
      c.expiresAt,
      c.usedAt,
    );
    if (r.changes === 0) throw new DuplicateError(`enrolment code ${c.id}`);
  }

  async getEnrolmentCode(id: string): Promise<EnrolmentCodeRecord | null> {
    const r = this.get('SELECT * FROM enrolment_codes WHERE id = ?', id);
    if (!r) return null;
    return {
      id: r.id as string,
      storeId: r.store_id as string,
      codeHash: r.code_hash as string,
      createdAt: r.created_at as number,
      expiresAt: r.expires_at as number,
      usedAt: (r.used_at as number | null) ?? null,
    };
  }

  async useEnrolmentCode(id: string, now: number): Promise<boolean> {
    const r = this.run(
      'UPDATE enrolment_codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?',
      now,
      id,
      now,
    );
    return r.changes === 1;
  }

  async addApiKey(k: ApiKeyRecord): Promise<void> {
    this.run(
      'INSERT INTO api_keys (id, name, secret_hash, stores, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
      k.id,
      k.name,
      k.secretHash,
      scopeToText(k.stores),
      k.createdAt,
      k.revokedAt,
    );
  }

  private toApiKey(r: Row): ApiKeyRecord {
    return {
      id: r.id as string,
      name: r.name as string,
      secretHash: r.secret_hash as string,
      stores: scopeFromText(r.stores),
      createdAt: r.created_at as number,
      revokedAt: (r.revoked_at as number | null) ?? null,
    };
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const r = this.get('SELECT * FROM api_keys WHERE id = ?', id);
    return r ? this.toApiKey(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.all('SELECT * FROM api_keys ORDER BY created_at').map((r) => this.toApiKey(r));
  }

  async revokeApiKey(id: string, now: number): Promise<boolean> {
    return (
      this.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now, id).changes ===
      1
    );
  }

  async addWebhook(h: WebhookRecord): Promise<void> {
    this.run(
      'INSERT INTO webhooks (id, url, secret, events, stores, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      h.id,
      h.url,
      this.box.seal(h.secret, h.id),
      JSON.stringify(h.events),
      scopeToText(h.stores),
      h.createdAt,
    );
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    return this.all('SELECT * FROM webhooks ORDER BY created_at').map((r) => toWebhook(r, this.box));
  }

  async removeWebhook(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.run('DELETE FROM webhook_deliveries WHERE webhook_id = ?', id);
      return this.run('DELETE FROM webhooks WHERE id = ?', id).changes === 1;
    })();
  }

  async setPresence(storeId: string, p: PresenceUpdate): Promise<boolean> {
    return this.write('soft', () => this.applyPresence(storeId, p));
  }

  private applyPresence(storeId: string, p: PresenceUpdate): boolean {
    const r = p.online
      ? this.run(
          'UPDATE stores SET online = 1, connection_id = ?, agent_version = ?, last_seen_at = ? WHERE id = ?',
          p.connectionId,
          p.agentVersion,
          p.at,
          storeId,
        )
      : this.run(
          `UPDATE stores SET online = 0, last_seen_at = ?
           WHERE id = ? AND (connection_id IS NULL OR connection_id = ?)`,
          p.at,
          storeId,
          p.connectionId,
        );
    return r.changes === 1;
  }

  async touchStore(storeId: string, at: number): Promise<void> {
    await this.write('soft', () => this.run('UPDATE stores SET last_seen_at = ? WHERE id = ?', at, storeId));
  }

  async markAllOffline(): Promise<void> {
    this.run('UPDATE stores SET online = 0, connection_id = NULL WHERE online = 1');
  }

  async recordHello(
    storeId: string,
    hello: {
      agentVersion: string;
      instanceId: string;
      printers: PrinterInfo[];
      at: number;
      statusAt: number;
    },
  ): Promise<{ previousInstanceId: string | null }> {
    return this.write('soft', () => {
      const before = this.get('SELECT instance_id FROM stores WHERE id = ?', storeId);
      this.run(
        // Saying hello proves the agent is connected, even if it never sent a presence message.
        'UPDATE stores SET online = 1, agent_version = ?, instance_id = ?, last_seen_at = ? WHERE id = ?',
        hello.agentVersion,
        hello.instanceId,
        hello.at,
        storeId,
      );
      const ids = hello.printers.map((p) => p.id);
      this.run(
        `DELETE FROM printers WHERE store_id = ? AND printer_id NOT IN (SELECT value FROM json_each(?))`,
        storeId,
        JSON.stringify(ids),
      );
      for (const p of hello.printers) {
        const { status, ...info } = p;
        this.run(
          `INSERT INTO printers (store_id, printer_id, info) VALUES (?, ?, ?)
           ON CONFLICT (store_id, printer_id) DO UPDATE SET info = excluded.info`,
          storeId,
          p.id,
          JSON.stringify(info),
        );
        if (status) this.applyPrinterStatus(storeId, p.id, status, hello.statusAt);
      }
      return { previousInstanceId: (before?.instance_id as string | null | undefined) ?? null };
    });
  }

  private applyPrinterStatus(storeId: string, printerId: string, status: PrinterStatus, at: number): boolean {
    const row = this.get(
      'SELECT status, status_at FROM printers WHERE store_id = ? AND printer_id = ?',
      storeId,
      printerId,
    );
    if (row && typeof row.status_at === 'number' && row.status_at > at) return false;
    const before = row ? json<PrinterStatus>(row.status) : null;
    this.run(
      `INSERT INTO printers (store_id, printer_id, status, status_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (store_id, printer_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
      storeId,
      printerId,
      JSON.stringify(status),
      at,
    );
    if (!printerStatusChanged(before, status)) return false;
    this.addEvent('printer.status', storeId, at, printerStatusEventData(storeId, printerId, status));
    return true;
  }

  async setPrinterStatus(
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    at: number,
  ): Promise<boolean> {
    return this.write('soft', () => this.applyPrinterStatus(storeId, printerId, status, at));
  }

  async recordHealth(
    storeId: string,
    h: { agentVersion: string; printers: PrinterHealth[]; at: number; raw: unknown },
  ): Promise<void> {
    await this.write('soft', () => {
      this.run(
        'UPDATE stores SET health = ?, health_at = ?, agent_version = ?, last_seen_at = ? WHERE id = ?',
        JSON.stringify(h.raw),
        h.at,
        h.agentVersion,
        h.at,
        storeId,
      );
      for (const p of h.printers) {
        this.run(
          `INSERT INTO printers (store_id, printer_id, health) VALUES (?, ?, ?)
           ON CONFLICT (store_id, printer_id) DO UPDATE SET health = excluded.health`,
          storeId,
          p.printerId,
          JSON.stringify(p),
        );
      }
    });
  }

  // ---- JobStore ----

  async createJob(job: NewJob): Promise<CreateJobResult> {
    return this.write('durable', (): CreateJobResult => {
      if (job.idempotency) {
        const prior = this.get(
          'SELECT * FROM jobs WHERE api_key_id = ? AND idempotency_key = ?',
          job.idempotency.apiKeyId,
          job.idempotency.key,
        );
        if (prior) {
          const outcome = prior.request_hash === job.idempotency.requestHash ? 'replayed' : 'conflict';
          return { outcome, job: toJob(prior) };
        }
      }
      let created: JobRecord;
      try {
        created = toJob(
          this.get(
            `INSERT INTO jobs (id, store_id, printer, kind, payload, copies, on_expiry, expires_at, created_at, updated_at,
               state, order_source, order_no, reprint_of, reprint_count, api_key_id, idempotency_key, request_hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
            job.id,
            job.storeId,
            job.printer,
            job.kind,
            job.payload,
            job.copies,
            job.onExpiry,
            job.expiresAt,
            job.createdAt,
            job.createdAt,
            job.orderRef?.source ?? null,
            job.orderRef?.orderNo ?? null,
            job.reprintOf,
            job.reprintCount,
            job.idempotency?.apiKeyId ?? null,
            job.idempotency?.key ?? null,
            job.idempotency?.requestHash ?? null,
          ) as Row,
        );
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && job.reprintOf) {
          throw new DuplicateError(`reprint #${job.reprintCount} of ${job.reprintOf}`);
        }
        throw err;
      }
      const detail = job.reprintOf ? `reprint #${job.reprintCount} of ${job.reprintOf}` : null;
      this.run(
        'INSERT INTO job_timeline (job_id, state, at, detail) VALUES (?, ?, ?, ?)',
        job.id,
        'accepted',
        job.createdAt,
        detail,
      );
      this.addEvent(
        'job.state',
        job.storeId,
        job.createdAt,
        jobStateEventData(created, 'accepted', job.createdAt, detail),
      );
      return { outcome: 'created', job: created };
    });
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const r = this.get('SELECT * FROM jobs WHERE id = ?', id);
    return r ? toJob(r) : null;
  }

  async storeOfJob(id: string): Promise<string | null> {
    return (this.get('SELECT store_id FROM jobs WHERE id = ?', id)?.store_id as string | undefined) ?? null;
  }

  async listJobs(f: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.storeIds !== 'all') {
      where.push('store_id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(f.storeIds));
    }
    if (f.storeId !== undefined) {
      where.push('store_id = ?');
      params.push(f.storeId);
    }
    if (f.orderNo !== undefined) {
      where.push('order_no = ?');
      params.push(f.orderNo);
    }
    if (f.source !== undefined) {
      where.push('order_source = ?');
      params.push(f.source);
    }
    if (f.state !== undefined) {
      where.push('state = ?');
      params.push(f.state);
    }
    if (f.since !== undefined) {
      where.push('created_at >= ?');
      params.push(f.since);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    return this.all(sql, ...params, f.limit).map(toJob);
  }

  async timelines(jobIds: string[]): Promise<Map<string, TimelineRecord[]>> {
    const out = new Map<string, TimelineRecord[]>(jobIds.map((id) => [id, []]));
    const rows = this.all(
      'SELECT job_id, state, at, detail FROM job_timeline WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY seq',
      JSON.stringify(jobIds),
    );
    for (const r of rows) {
      out.get(r.job_id as string)?.push({
        state: r.state as JobState,
        at: r.at as number,
        detail: (r.detail as string | null) ?? null,
      });
    }
    return out;
  }

  async countReprints(originalId: string): Promise<number> {
    return this.get('SELECT count(*) AS n FROM jobs WHERE reprint_of = ?', originalId)?.n as number;
  }

  async openJobs(storeId: string): Promise<JobRecord[]> {
    return this.all(
      `SELECT * FROM jobs WHERE store_id = ? AND state IN ${OPEN_STATES} ORDER BY created_at`,
      storeId,
    ).map(toJob);
  }

  async openJobCounts(): Promise<Map<string, number>> {
    const rows = this.all(
      `SELECT store_id, count(*) AS n FROM jobs WHERE state IN ${OPEN_STATES} GROUP BY store_id`,
    );
    return new Map(rows.map((r) => [r.store_id as string, r.n as number]));
  }

  private applyTransition(jobId: string, to: JobState, change: StateChange): JobRecord | null {
    const row = this.get('SELECT state FROM jobs WHERE id = ?', jobId);
    if (!row) return null;
    const from = row.state as JobState;
    if (change.onlyFrom && !change.onlyFrom.includes(from)) return null;
    if (!canTransition(from, to)) return null;
    const job = toJob(
      this.get(
        'UPDATE jobs SET state = ?, updated_at = ?, printer_id = coalesce(?, printer_id) WHERE id = ? RETURNING *',
        to,
        change.at,
        change.printerId ?? null,
        jobId,
      ) as Row,
    );
    const detail = change.detail ?? null;
    this.run(
      'INSERT INTO job_timeline (job_id, state, at, detail) VALUES (?, ?, ?, ?)',
      jobId,
      to,
      change.at,
      detail,
    );
    this.addEvent('job.state', job.storeId, change.at, jobStateEventData(job, from, change.at, detail));
    return job;
  }

  async transitionJob(jobId: string, to: JobState, change: StateChange): Promise<JobRecord | null> {
    return this.write('durable', () => this.applyTransition(jobId, to, change));
  }

  async markSent(jobId: string, at: number, resendBefore: number): Promise<boolean> {
    return this.write('soft', () => {
      const claimed = this.get(
        `UPDATE jobs SET last_sent_at = ?, send_count = send_count + 1
         WHERE id = ? AND cancel_requested_at IS NULL
           AND (state = 'accepted' OR (state = 'sent' AND coalesce(last_sent_at, 0) < ?))
         RETURNING state`,
        at,
        jobId,
        resendBefore,
      );
      if (!claimed) return false;
      if (claimed.state === 'accepted') this.applyTransition(jobId, 'sent', { at });
      return true;
    });
  }

  async requestCancel(jobId: string, at: number): Promise<JobRecord | null> {
    await this.write('durable', () =>
      this.run(
        'UPDATE jobs SET cancel_requested_at = ? WHERE id = ? AND cancel_requested_at IS NULL',
        at,
        jobId,
      ),
    );
    return this.getJob(jobId);
  }

  async markCancelSent(jobId: string, at: number): Promise<void> {
    await this.write('soft', () => this.run('UPDATE jobs SET cancel_sent_at = ? WHERE id = ?', at, jobId));
  }

  async jobsToSend(resendBefore: number, limit: number): Promise<JobRecord[]> {
    return this.all(
      `SELECT j.* FROM jobs j JOIN stores s ON s.id = j.store_id
       WHERE s.online = 1 AND j.cancel_requested_at IS NULL
         AND (j.state = 'accepted' OR (j.state = 'sent' AND coalesce(j.last_sent_at, 0) < ?))
       ORDER BY j.created_at LIMIT ?`,
      resendBefore,
      limit,
    ).map(toJob);
  }

  async cancelsToSend(resendBefore: number, limit: number): Promise<JobRecord[]> {
    return this.all(
      `SELECT j.* FROM jobs j JOIN stores s ON s.id = j.store_id
       WHERE s.online = 1 AND j.cancel_requested_at IS NOT NULL AND j.state IN ${OPEN_STATES}
         AND coalesce(j.cancel_sent_at, 0) < ?
       ORDER BY j.created_at LIMIT ?`,
      resendBefore,
      limit,
    ).map(toJob);
  }

  async undeliverableJobs(now: number, createdBefore: number, limit: number): Promise<JobRecord[]> {
    return this.all(
      `SELECT * FROM jobs WHERE state IN ('accepted', 'sent')
         AND ((on_expiry = 'expire' AND expires_at <= ?) OR created_at < ?)
       ORDER BY created_at LIMIT ?`,
      now,
      createdBefore,
      limit,
    ).map(toJob);
  }

  async agentEventSeen(storeId: string, eventId: string): Promise<boolean> {
    return (
      this.get(
        'SELECT 1 AS x FROM agent_events_seen WHERE store_id = ? AND event_id = ?',
        storeId,
        eventId,
      ) !== undefined
    );
  }

  async rememberAgentEvent(storeId: string, eventId: string, at: number): Promise<void> {
    await this.write('soft', () =>
      this.run(
        'INSERT OR IGNORE INTO agent_events_seen (store_id, event_id, seen_at) VALUES (?, ?, ?)',
        storeId,
        eventId,
        at,
      ),
    );
  }

  async fanOutEvents(limit: number): Promise<number> {
    return this.write('soft', () => {
      const cursor = Number(this.get("SELECT value FROM meta WHERE key = 'webhooks.fanout_seq'")?.value ?? 0);
      const events = this.all(
        'SELECT seq, type, store_id, at FROM relay_events WHERE seq > ? ORDER BY seq LIMIT ?',
        cursor,
        limit,
      );
      if (events.length === 0) return 0;
      const hooks = this.all('SELECT * FROM webhooks').map((r) => toWebhook(r, this.box));
      for (const e of events) {
        for (const h of hooks) {
          const wanted =
            h.events.includes(e.type as WebhookEventType) &&
            (h.stores === 'all' || h.stores.includes(e.store_id as string));
          if (wanted) {
            // next_attempt_at 0: due at once.
            this.run(
              'INSERT OR IGNORE INTO webhook_deliveries (webhook_id, event_seq, next_attempt_at) VALUES (?, ?, 0)',
              h.id,
              e.seq,
            );
          }
        }
      }
      const last = (events[events.length - 1] as Row).seq as number;
      this.run(
        "INSERT INTO meta (key, value) VALUES ('webhooks.fanout_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        String(last),
      );
      return events.length;
    });
  }

  async dueDeliveries(now: number, limit: number): Promise<DueDelivery[]> {
    const rows = this.all(
      `SELECT d.attempts, w.*, e.seq AS e_seq, e.id AS e_id, e.type AS e_type, e.store_id AS e_store_id, e.at AS e_at, e.data AS e_data
       FROM webhook_deliveries d
       JOIN webhooks w ON w.id = d.webhook_id
       JOIN relay_events e ON e.seq = d.event_seq
       WHERE d.done_at IS NULL AND d.next_attempt_at <= ?
       ORDER BY d.next_attempt_at, d.event_seq LIMIT ?`,
      now,
      limit,
    );
    return rows.map((r) => ({
      webhook: toWebhook(r, this.box),
      attempts: r.attempts as number,
      event: {
        seq: r.e_seq as number,
        id: r.e_id as string,
        type: r.e_type as WebhookEventType,
        storeId: r.e_store_id as string,
        at: r.e_at as number,
        data: JSON.parse(r.e_data as string),
      },
    }));
  }

  async markDelivered(webhookId: string, eventSeq: number, at: number): Promise<void> {
    this.run(
      'UPDATE webhook_deliveries SET attempts = attempts + 1, done_at = ?, delivered = 1 WHERE webhook_id = ? AND event_seq = ?',
      at,
      webhookId,
      eventSeq,
    );
  }

  async markDeliveryFailed(
    webhookId: string,
    eventSeq: number,
    failure: { error: string; at: number; nextAttemptAt: number | null },
  ): Promise<void> {
    const { error, at, nextAttemptAt } = failure;
    this.run(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?,
         next_attempt_at = coalesce(?, next_attempt_at), done_at = CASE WHEN ? IS NULL THEN ? ELSE NULL END
       WHERE webhook_id = ? AND event_seq = ?`,
      error.slice(0, 500),
      nextAttemptAt,
      nextAttemptAt,
      at,
      webhookId,
      eventSeq,
    );
  }

  async prune(before: { agentEvents: number; webhookEvents: number; jobs: number }): Promise<void> {
    this.db
      .transaction(() => {
        this.run('DELETE FROM agent_events_seen WHERE seen_at < ?', before.agentEvents);
        this.run(
          `DELETE FROM webhook_deliveries WHERE done_at IS NOT NULL AND event_seq IN
             (SELECT seq FROM relay_events WHERE at < ?)`,
          before.webhookEvents,
        );
        // An event is kept while a delivery still needs it, and until it has been fanned out.
        this.run(
          `DELETE FROM relay_events WHERE at < ?
             AND seq <= coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'webhooks.fanout_seq'), 0)
             AND seq NOT IN (SELECT event_seq FROM webhook_deliveries)`,
          before.webhookEvents,
        );
        const old = `SELECT id FROM jobs WHERE updated_at < ? AND state NOT IN ${OPEN_STATES}`;
        this.run(`DELETE FROM job_timeline WHERE job_id IN (${old})`, before.jobs);
        this.run(`DELETE FROM jobs WHERE id IN (${old})`, before.jobs);
      })
      .immediate();
  }

  async close(): Promise<void> {
    // Writes already accepted are committed and on disk, not dropped.
    this.commitPending();
    while (this.#syncing) await this.#syncing;
    if (this.#walFd !== null) closeSync(this.#walFd);
    this.#walFd = null;
    if (this.db.open) this.db.close();
  }
}
