// JobStore (../job-store.ts) on PostgreSQL: jobs and their timelines, agent event
// de-duplication, and the outbox of events with its webhook deliveries, as ../sqlite-jobs.ts
// does them. Several relay processes may share the database, so whatever hands out work is a
// claim one process wins: a job is sent by whoever's UPDATE of it matches (markSent), an event
// is fanned out by whoever locks it first (SKIP LOCKED), and a due webhook delivery is leased
// to the process that picked it until it reports back (or the lease runs out after it died).
import { canTransition, JOB_STATES, type JobState } from '../../../protocol/job.js';
import { jobStateEventData } from '../event-data.js';
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
} from '../job-store.js';
import { toDueDelivery, toJob, toOrder, toTemplateVersion, toTimeline, toWebhook } from '../rows.js';
import { PgTables, type Tx } from './tables.js';

export const OPEN_STATES = "('accepted', 'sent', 'delivered', 'held', 'printing')";
/** How long a process may take to send a webhook delivery it picked before another may. */
const DELIVERY_LEASE_MS = 120_000;

const isUniqueViolation = (err: unknown, constraint: string) =>
  (err as { code?: string; constraint?: string }).code === '23505' &&
  (err as { constraint?: string }).constraint === constraint;

export class PgJobStore extends PgTables implements Omit<JobStore, 'close'> {
  async createJob(job: NewJob): Promise<CreateJobResult> {
    try {
      return await this.tx('durable', (tx) => this.#create(tx, job));
    } catch (err) {
      // Another process committed the same key between our look and our insert: that one stands.
      if (job.idempotency && isUniqueViolation(err, 'jobs_idempotency'))
        return this.tx('durable', (tx) => this.#create(tx, job));
      throw err;
    }
  }

  async #create(tx: Tx, job: NewJob): Promise<CreateJobResult> {
    const { client } = tx;
    if (job.idempotency) {
      const prior = await this.row(
        'SELECT * FROM jobs WHERE api_key_id = $1 AND idempotency_key = $2',
        [job.idempotency.apiKeyId, job.idempotency.key],
        client,
      );
      if (prior) {
        const outcome = prior.request_hash === job.idempotency.requestHash ? 'replayed' : 'conflict';
        return { outcome, job: toJob(prior) };
      }
    }
    const detail = job.reprintOf ? `reprint #${job.reprintCount} of ${job.reprintOf}` : null;
    let created: JobRecord;
    try {
      // The job and its first timeline row in one statement (one round trip).
      const row = await this.row(
        `WITH created AS (
           INSERT INTO jobs (id, store_id, printer, kind, payload, copies, on_expiry, expires_at, created_at, updated_at,
             state, order_source, order_no, reprint_of, reprint_count, api_key_id, idempotency_key, request_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 'accepted', $10, $11, $12, $13, $14, $15, $16) RETURNING *
         ),
         timeline AS (
           INSERT INTO job_timeline (job_id, state, at, detail) SELECT id, 'accepted', created_at, $17::text FROM created
         )
         SELECT * FROM created`,
        [
          job.id,
          job.storeId,
          job.printer,
          job.kind,
          job.payload,
          job.copies,
          job.onExpiry,
          job.expiresAt,
          job.createdAt,
          job.orderRef?.source ?? null,
          job.orderRef?.orderNo ?? null,
          job.reprintOf,
          job.reprintCount,
          job.idempotency?.apiKeyId ?? null,
          job.idempotency?.key ?? null,
          job.idempotency?.requestHash ?? null,
          detail,
        ],
        client,
      );
      created = toJob(row as Record<string, unknown>);
    } catch (err) {
      if (job.reprintOf && isUniqueViolation(err, 'jobs_reprint_of'))
        throw new DuplicateError(`reprint #${job.reprintCount} of ${job.reprintOf}`);
      throw err;
    }
    this.addEvent(
      tx,
      'job.state',
      job.storeId,
      job.createdAt,
      jobStateEventData(created, 'accepted', job.createdAt, detail),
    );
    tx.changes.push({
      type: 'job',
      storeId: job.storeId,
      jobId: job.id,
      state: 'accepted',
      at: job.createdAt,
      createdAt: job.createdAt,
    });
    return { outcome: 'created', job: created };
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const r = await this.row('SELECT * FROM jobs WHERE id = $1', [id]);
    return r ? toJob(r) : null;
  }

  async storeOfJob(id: string): Promise<string | null> {
    return (
      (await this.row<{ store_id: string }>('SELECT store_id FROM jobs WHERE id = $1', [id]))?.store_id ??
      null
    );
  }

  async listJobs(f: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.storeIds !== 'all') add('store_id = ANY(?::text[])', f.storeIds);
    if (f.storeId !== undefined) add('store_id = ?', f.storeId);
    if (f.orderNo !== undefined) add('order_no = ?', f.orderNo);
    if (f.source !== undefined) add('order_source = ?', f.source);
    if (f.state !== undefined) add('state = ?', f.state);
    if (f.since !== undefined) add('created_at >= ?', f.since);
    params.push(f.limit);
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${params.length}`;
    return (await this.rows(sql, params)).map(toJob);
  }

  async timelines(jobIds: string[]): Promise<Map<string, TimelineRecord[]>> {
    const out = new Map<string, TimelineRecord[]>(jobIds.map((id) => [id, []]));
    const rows = await this.rows(
      'SELECT job_id, state, at, detail FROM job_timeline WHERE job_id = ANY($1::text[]) ORDER BY seq',
      [jobIds],
    );
    for (const r of rows) out.get(r.job_id as string)?.push(toTimeline(r));
    return out;
  }

  async countReprints(originalId: string): Promise<number> {
    return (
      (await this.row<{ n: number }>('SELECT count(*) AS n FROM jobs WHERE reprint_of = $1', [originalId]))
        ?.n ?? 0
    );
  }

  async openJobs(storeId: string): Promise<JobRecord[]> {
    return (
      await this.rows(
        `SELECT * FROM jobs WHERE store_id = $1 AND state IN ${OPEN_STATES} ORDER BY created_at`,
        [storeId],
      )
    ).map(toJob);
  }

  async openJobCounts(): Promise<Map<string, number>> {
    const rows = await this.rows<{ store_id: string; n: number }>(
      `SELECT store_id, count(*) AS n FROM jobs WHERE state IN ${OPEN_STATES} GROUP BY store_id`,
    );
    return new Map(rows.map((r) => [r.store_id, r.n]));
  }

  async #applyTransition(
    tx: Tx,
    jobId: string,
    to: JobState,
    change: StateChange,
  ): Promise<JobRecord | null> {
    // Which states the job may move from: checked by the statement that moves it.
    const from = JOB_STATES.filter(
      (s) => canTransition(s, to) && (!change.onlyFrom || change.onlyFrom.includes(s)),
    );
    const detail = change.detail ?? null;
    // One statement locks the row, checks its state, moves it and adds the timeline row. A
    // concurrent transition of the same job (two processes, two events) waits for the lock and
    // then sees this one's state.
    const row = await this.row<Record<string, unknown> & { previous_state: JobState }>(
      `WITH old AS (SELECT id, state FROM jobs WHERE id = $1 FOR UPDATE),
       moved AS (
         UPDATE jobs j SET state = $2, updated_at = $3, printer_id = coalesce($4, j.printer_id)
         FROM old WHERE j.id = old.id AND old.state = ANY($5::text[])
         RETURNING j.*, old.state AS previous_state
       ),
       timeline AS (INSERT INTO job_timeline (job_id, state, at, detail) SELECT id, $2::text, $3::bigint, $6::text FROM moved)
       SELECT * FROM moved`,
      [jobId, to, change.at, change.printerId ?? null, from, detail],
      tx.client,
    );
    if (!row) return null;
    const job = toJob(row);
    this.addEvent(
      tx,
      'job.state',
      job.storeId,
      change.at,
      jobStateEventData(job, row.previous_state, change.at, detail),
    );
    tx.changes.push({
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
    return this.tx('durable', (tx) => this.#applyTransition(tx, jobId, to, change));
  }

  async markSent(jobId: string, at: number, resendBefore: number): Promise<boolean> {
    return this.tx('soft', async (tx) => {
      // Under READ COMMITTED a second process's UPDATE waits for the first and re-checks the
      // row as the first left it: it no longer matches, so the job is sent once.
      const claimed = await this.row<{ state: JobState }>(
        `UPDATE jobs SET last_sent_at = $1, send_count = send_count + 1
         WHERE id = $2 AND cancel_requested_at IS NULL
           AND (state = 'accepted' OR (state = 'sent' AND coalesce(last_sent_at, 0) < $3))
         RETURNING state`,
        [at, jobId, resendBefore],
        tx.client,
      );
      if (!claimed) return false;
      if (claimed.state === 'accepted') await this.#applyTransition(tx, jobId, 'sent', { at });
      return true;
    });
  }

  async requestCancel(jobId: string, at: number): Promise<JobRecord | null> {
    await this.exec(
      'UPDATE jobs SET cancel_requested_at = $1 WHERE id = $2 AND cancel_requested_at IS NULL',
      [at, jobId],
    );
    return this.getJob(jobId);
  }

  async markCancelSent(jobId: string, at: number): Promise<void> {
    await this.tx('soft', ({ client }) =>
      this.exec('UPDATE jobs SET cancel_sent_at = $1 WHERE id = $2', [at, jobId], client),
    );
  }

  async jobsToSend(resendBefore: number, limit: number): Promise<JobRecord[]> {
    return (
      await this.rows(
        `SELECT j.* FROM jobs j JOIN stores s ON s.id = j.store_id
         WHERE s.online = 1 AND j.cancel_requested_at IS NULL
           AND (j.state = 'accepted' OR (j.state = 'sent' AND coalesce(j.last_sent_at, 0) < $1))
         ORDER BY j.created_at LIMIT $2`,
        [resendBefore, limit],
      )
    ).map(toJob);
  }

  async cancelsToSend(resendBefore: number, limit: number): Promise<JobRecord[]> {
    return (
      await this.rows(
        `SELECT j.* FROM jobs j JOIN stores s ON s.id = j.store_id
         WHERE s.online = 1 AND j.cancel_requested_at IS NOT NULL AND j.state IN ${OPEN_STATES}
           AND coalesce(j.cancel_sent_at, 0) < $1
         ORDER BY j.created_at LIMIT $2`,
        [resendBefore, limit],
      )
    ).map(toJob);
  }

  async undeliverableJobs(now: number, createdBefore: number, limit: number): Promise<JobRecord[]> {
    return (
      await this.rows(
        `SELECT * FROM jobs WHERE state IN ('accepted', 'sent')
           AND ((on_expiry = 'expire' AND expires_at <= $1) OR created_at < $2)
         ORDER BY created_at LIMIT $3`,
        [now, createdBefore, limit],
      )
    ).map(toJob);
  }

  async agentEventSeen(storeId: string, eventId: string): Promise<boolean> {
    return (
      (await this.row('SELECT 1 AS x FROM agent_events_seen WHERE store_id = $1 AND event_id = $2', [
        storeId,
        eventId,
      ])) !== undefined
    );
  }

  async rememberAgentEvent(storeId: string, eventId: string, at: number): Promise<void> {
    await this.tx('soft', ({ client }) =>
      this.exec(
        'INSERT INTO agent_events_seen (store_id, event_id, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [storeId, eventId, at],
        client,
      ),
    );
  }

  async fanOutEvents(limit: number): Promise<number> {
    return this.tx('soft', async ({ client }) => {
      const events = await this.rows<{ seq: number; type: string; store_id: string }>(
        'SELECT seq, type, store_id FROM relay_events WHERE fanned_out = 0 ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED',
        [limit],
        client,
      );
      if (events.length === 0) return 0;
      const hooks = (await this.rows('SELECT * FROM webhooks', [], client)).map((r) =>
        toWebhook(r, this.secrets),
      );
      for (const e of events) {
        for (const h of hooks) {
          const wanted =
            h.events.includes(e.type as WebhookEventType) &&
            (h.stores === 'all' || h.stores.includes(e.store_id));
          if (wanted) {
            await this.exec(
              `INSERT INTO webhook_deliveries (webhook_id, event_seq, next_attempt_at) VALUES ($1, $2, 0)
               ON CONFLICT DO NOTHING`,
              [h.id, e.seq],
              client,
            );
          }
        }
      }
      await this.exec(
        'UPDATE relay_events SET fanned_out = 1 WHERE seq = ANY($1::bigint[])',
        [events.map((e) => e.seq)],
        client,
      );
      return events.length;
    });
  }

  async pendingDeliveries(): Promise<number> {
    return (
      (await this.row<{ n: number }>('SELECT count(*) AS n FROM webhook_deliveries WHERE done_at IS NULL'))
        ?.n ?? 0
    );
  }

  async dueDeliveries(now: number, limit: number): Promise<DueDelivery[]> {
    // Picked deliveries are leased (their next attempt moved past the lease) in the same
    // statement, so another process does not send them too.
    const rows = await this.rows(
      `WITH picked AS (
         SELECT webhook_id, event_seq FROM webhook_deliveries
         WHERE done_at IS NULL AND next_attempt_at <= $1
         ORDER BY next_attempt_at, event_seq LIMIT $2 FOR UPDATE SKIP LOCKED),
       leased AS (
         UPDATE webhook_deliveries d SET next_attempt_at = $3
         FROM picked WHERE d.webhook_id = picked.webhook_id AND d.event_seq = picked.event_seq
         RETURNING d.webhook_id, d.event_seq, d.attempts)
       SELECT l.attempts, w.*, e.seq AS e_seq, e.id AS e_id, e.type AS e_type, e.store_id AS e_store_id,
         e.at AS e_at, e.data AS e_data
       FROM leased l JOIN webhooks w ON w.id = l.webhook_id JOIN relay_events e ON e.seq = l.event_seq
       ORDER BY e.seq`,
      [now, limit, now + DELIVERY_LEASE_MS],
    );
    return rows.map((r) => toDueDelivery(r, this.secrets));
  }

  async markDelivered(webhookId: string, eventSeq: number, at: number): Promise<void> {
    await this.exec(
      'UPDATE webhook_deliveries SET attempts = attempts + 1, done_at = $1, delivered = 1 WHERE webhook_id = $2 AND event_seq = $3',
      [at, webhookId, eventSeq],
    );
  }

  async markDeliveryFailed(
    webhookId: string,
    eventSeq: number,
    failure: { error: string; at: number; nextAttemptAt: number | null },
  ): Promise<void> {
    const { error, at, nextAttemptAt } = failure;
    await this.exec(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1,
         next_attempt_at = coalesce($2::bigint, next_attempt_at), done_at = CASE WHEN $2::bigint IS NULL THEN $3::bigint ELSE NULL END
       WHERE webhook_id = $4 AND event_seq = $5`,
      [error.slice(0, 500), nextAttemptAt, at, webhookId, eventSeq],
    );
  }

  async putOrder(order: OrderRecord): Promise<void> {
    await this.exec(
      `INSERT INTO orders (store_id, source, order_no, body, cancelled_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (store_id, source, order_no)
       DO UPDATE SET body = excluded.body, cancelled_at = excluded.cancelled_at, updated_at = excluded.updated_at`,
      [order.storeId, order.source, order.orderNo, order.body, order.cancelledAt, order.updatedAt],
    );
  }

  async getOrder(storeId: string, source: string, orderNo: string): Promise<OrderRecord | null> {
    const row = await this.row('SELECT * FROM orders WHERE store_id = $1 AND source = $2 AND order_no = $3', [
      storeId,
      source,
      orderNo,
    ]);
    return row ? toOrder(row) : null;
  }

  async putMenu(storeId: string, menu: string, at: number): Promise<void> {
    await this.exec(
      `INSERT INTO store_menus (store_id, menu, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (store_id) DO UPDATE SET menu = excluded.menu, updated_at = excluded.updated_at`,
      [storeId, menu, at],
    );
  }

  async getMenu(storeId: string): Promise<string | null> {
    return (
      (await this.row<{ menu: string }>('SELECT menu FROM store_menus WHERE store_id = $1', [storeId]))
        ?.menu ?? null
    );
  }

  async addTemplateVersion(v: Omit<TemplateVersion, 'version'>): Promise<TemplateVersion> {
    return this.tx('durable', async ({ client }) => {
      // Two saves of one template at once take turns for the next version number.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `template:${v.kind}:${v.storeId ?? ''}`,
      ]);
      const row = await this.row<{ version: number }>(
        `INSERT INTO templates (kind, store_id, version, body, saved_by, comment, saved_at)
         VALUES ($1, $2, (SELECT coalesce(max(version), 0) + 1 FROM templates WHERE kind = $1 AND store_id = $2),
           $3, $4, $5, $6)
         RETURNING version`,
        [v.kind, v.storeId ?? '', v.body, v.savedBy, v.comment, v.savedAt],
        client,
      );
      return { ...v, version: row?.version as number };
    });
  }

  async templateVersions(kind: string, storeId: string | null): Promise<TemplateVersion[]> {
    return (
      await this.rows('SELECT * FROM templates WHERE kind = $1 AND store_id = $2 ORDER BY version DESC', [
        kind,
        storeId ?? '',
      ])
    ).map(toTemplateVersion);
  }

  async prune(before: { agentEvents: number; webhookEvents: number; jobs: number }): Promise<void> {
    await this.tx('durable', async ({ client }) => {
      await this.exec('DELETE FROM agent_events_seen WHERE seen_at < $1', [before.agentEvents], client);
      await this.exec(
        `DELETE FROM webhook_deliveries WHERE done_at IS NOT NULL AND event_seq IN
           (SELECT seq FROM relay_events WHERE at < $1)`,
        [before.webhookEvents],
        client,
      );
      // An event is kept while a delivery still needs it, and until it has been fanned out.
      await this.exec(
        `DELETE FROM relay_events e WHERE at < $1 AND fanned_out = 1
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq)`,
        [before.webhookEvents],
        client,
      );
      const old = `SELECT id FROM jobs WHERE updated_at < $1 AND state NOT IN ${OPEN_STATES}`;
      await this.exec(`DELETE FROM job_timeline WHERE job_id IN (${old})`, [before.jobs], client);
      await this.exec(`DELETE FROM jobs WHERE id IN (${old})`, [before.jobs], client);
      await this.exec('DELETE FROM orders WHERE updated_at < $1', [before.jobs], client);
    });
  }
}
