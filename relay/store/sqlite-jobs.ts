// JobStore (job-store.ts) on relay.db: jobs and their timelines, agent event de-duplication,
// and the outbox of events with its webhook deliveries. Jobs and their states are `durable`
// writes (a 201 or an acknowledgement promises them); send claims, seen event ids and webhook
// fan-out are `soft` (a lost one only makes it happen again).
import { canTransition, type JobState } from '../../protocol/job.js';
import type { Row } from '../../shared/sqlite.js';
import { jobStateEventData } from './event-data.js';
import {
  type CreateJobResult,
  type DueDelivery,
  DuplicateError,
  type JobFilter,
  type JobRecord,
  type JobStore,
  type NewJob,
  type OrderRecord,
  type StateChange,
  type TemplateVersion,
  type TimelineRecord,
  type WebhookEventType,
} from './job-store.js';
import { toDueDelivery, toJob, toOrder, toTemplateVersion, toTimeline, toWebhook } from './rows.js';
import { SqliteRelayTables } from './sqlite-tables.js';

const OPEN_STATES = "('accepted', 'sent', 'delivered', 'held', 'printing')";

/** Without close: the connection belongs to whoever opened it (open.ts). */
export class SqliteJobStore extends SqliteRelayTables implements Omit<JobStore, 'close'> {
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
      this.note({
        type: 'job',
        storeId: job.storeId,
        jobId: job.id,
        state: 'accepted',
        at: job.createdAt,
        createdAt: job.createdAt,
      });
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
    for (const r of rows) out.get(r.job_id as string)?.push(toTimeline(r));
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

  #applyTransition(jobId: string, to: JobState, change: StateChange): JobRecord | null {
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
    this.note({
      type: 'job',
      storeId: job.storeId,
      jobId,
      state: to,
      at: change.at,
      createdAt: job.createdAt,
    });
    return job;
  }

  async transitionJob(jobId: string, to: JobState, change: StateChange): Promise<JobRecord | null> {
    return this.write('durable', () => this.#applyTransition(jobId, to, change));
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
      if (claimed.state === 'accepted') this.#applyTransition(jobId, 'sent', { at });
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
      const hooks = this.all('SELECT * FROM webhooks').map((r) => toWebhook(r, this.secrets));
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

  async pendingDeliveries(): Promise<number> {
    return this.get('SELECT count(*) AS n FROM webhook_deliveries WHERE done_at IS NULL')?.n as number;
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
    return rows.map((r) => toDueDelivery(r, this.secrets));
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

  async putOrder(order: OrderRecord): Promise<void> {
    return this.write('durable', () => {
      this.run(
        `INSERT INTO orders (store_id, source, order_no, body, cancelled_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (store_id, source, order_no)
         DO UPDATE SET body = excluded.body, cancelled_at = excluded.cancelled_at, updated_at = excluded.updated_at`,
        order.storeId,
        order.source,
        order.orderNo,
        order.body,
        order.cancelledAt,
        order.updatedAt,
      );
    });
  }

  async getOrder(storeId: string, source: string, orderNo: string): Promise<OrderRecord | null> {
    const row = this.get(
      'SELECT * FROM orders WHERE store_id = ? AND source = ? AND order_no = ?',
      storeId,
      source,
      orderNo,
    );
    return row ? toOrder(row) : null;
  }

  async putMenu(storeId: string, menu: string, at: number): Promise<void> {
    return this.write('durable', () => {
      this.run(
        `INSERT INTO store_menus (store_id, menu, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (store_id) DO UPDATE SET menu = excluded.menu, updated_at = excluded.updated_at`,
        storeId,
        menu,
        at,
      );
    });
  }

  async getMenu(storeId: string): Promise<string | null> {
    return (
      (this.get('SELECT menu FROM store_menus WHERE store_id = ?', storeId)?.menu as string | undefined) ??
      null
    );
  }

  async addTemplateVersion(v: Omit<TemplateVersion, 'version'>): Promise<TemplateVersion> {
    return this.write('durable', () => {
      const row = this.get(
        `INSERT INTO templates (kind, store_id, version, body, saved_by, comment, saved_at)
         VALUES (@kind, @store, (SELECT coalesce(max(version), 0) + 1 FROM templates WHERE kind = @kind AND store_id = @store),
           @body, @savedBy, @comment, @savedAt)
         RETURNING version`,
        {
          kind: v.kind,
          store: v.storeId ?? '',
          body: v.body,
          savedBy: v.savedBy,
          comment: v.comment,
          savedAt: v.savedAt,
        },
      );
      return { ...v, version: row?.version as number };
    });
  }

  async templateVersions(kind: string, storeId: string | null): Promise<TemplateVersion[]> {
    return this.all(
      'SELECT * FROM templates WHERE kind = ? AND store_id = ? ORDER BY version DESC',
      kind,
      storeId ?? '',
    ).map(toTemplateVersion);
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
        this.run('DELETE FROM orders WHERE updated_at < ?', before.jobs);
      })
      .immediate();
  }
}
