// The agent's durable state in one SQLite file (dataDir/agent.db, WAL, synchronous=FULL via
// shared/sqlite.ts): jobs, cancels for jobs not seen yet, the outbox of events for the relay,
// per-printer counters. Every method is synchronous and each change is one transaction, so
// what a caller was told is on disk when the call returns (the link PUBACKs after onJob).
//
// Only relay jobs produce job events; local jobs (test prints, reprints made at the store)
// stay local.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { JOB_LIMITS, type OnExpiry } from '../../protocol/job.js';
import type { AgentEvent, AgentJobState, JobMessage } from '../../protocol/messages.js';
import { type Connection, openDatabase, type Row, SqliteDatabase } from '../../shared/sqlite.js';
import type { Outbox } from '../relay-link.js';
import { FINAL_LOCAL_STATES, type LocalJobState, type LocalJobView } from '../views.js';
import { migrations } from './migrations.js';

export type JobSource = 'relay' | 'local';

export interface JobRecord {
  jobId: string;
  source: JobSource;
  message: JobMessage;
  printerRef: string;
  printerId: string | null;
  state: LocalJobState;
  detail: string | null;
  copies: number;
  copiesPrinted: number;
  onExpiry: OnExpiry;
  expiresAt: number | null;
  /** A person chose to print it although its expiry passed. */
  printAnyway: boolean;
  reprintOf: string | null;
  /** > 0: print it with the visible mark REPRINT #n (the stored message is unmarked). */
  reprintMark: number;
  createdAt: number;
  updatedAt: number;
}

/** Where a new job goes: a printer, or nowhere (it fails at once with this detail). */
export type Route = { printerId: string; detail?: string } | { failed: string };

export type CancelOutcome = 'cancelled' | 'started' | 'final' | 'remembered';

/** An event as queued: the store gives it its outbox id and time. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventBody = DistributiveOmit<AgentEvent, 'id' | 'at'>;

/** How long job ids and pending cancels are remembered: as long as the relay may deliver a job. */
export const RETENTION_MS = JOB_LIMITS.maxLifetimeSeconds * 1000;
/** States of a job that has started printing (a crash then leaves it uncertain). */
const STARTED: readonly LocalJobState[] = ['printing', 'waiting'];
const FINAL_SQL = `(${FINAL_LOCAL_STATES.map((s) => `'${s}'`).join(', ')})`;

function toJob(r: Row): JobRecord {
  return {
    jobId: r.job_id as string,
    source: r.source as JobSource,
    message: JSON.parse(r.message as string) as JobMessage,
    printerRef: r.printer_ref as string,
    printerId: (r.printer_id as string | null) ?? null,
    state: r.state as LocalJobState,
    detail: (r.detail as string | null) ?? null,
    copies: r.copies as number,
    copiesPrinted: r.copies_printed as number,
    onExpiry: r.on_expiry as OnExpiry,
    expiresAt: (r.expires_at as number | null) ?? null,
    printAnyway: r.print_anyway === 1,
    reprintOf: (r.reprint_of as string | null) ?? null,
    reprintMark: r.reprint_mark as number,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function jobView(job: JobRecord): LocalJobView {
  return {
    jobId: job.jobId,
    source: job.source,
    printerRef: job.printerRef,
    printerId: job.printerId,
    state: job.state,
    detail: job.detail,
    copies: job.copies,
    copiesPrinted: job.copiesPrinted,
    orderRef: job.message.orderRef ?? null,
    reprintOf: job.reprintOf,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    expiresAt: job.expiresAt === null ? null : iso(job.expiresAt),
  };
}

export function isFinal(state: LocalJobState): boolean {
  return FINAL_LOCAL_STATES.includes(state);
}

export interface AgentStoreOptions {
  /** The clock (ms); tests move it to check expiry and pruning. Default Date.now. */
  now?: () => number;
}

export class AgentStore extends SqliteDatabase implements Outbox {
  /** Made when the database was created: a new one tells the relay the old jobs are gone. */
  readonly instanceId: string;
  readonly now: () => number;

  /** Opens (creating if needed) `agent.db` in dataDir. */
  static open(dataDir: string, opts: AgentStoreOptions = {}): AgentStore {
    return new AgentStore(openDatabase(join(dataDir, 'agent.db'), migrations, 'agent database'), opts);
  }

  private constructor(db: Connection, opts: AgentStoreOptions) {
    super(db);
    this.now = opts.now ?? Date.now;
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('instanceId', ?)").run(randomUUID());
    this.instanceId = this.get("SELECT value FROM meta WHERE key = 'instanceId'")?.value as string;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs fn in one IMMEDIATE transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.inTransaction ? fn() : this.db.transaction(fn).immediate();
  }

  // ---- outbox ---------------------------------------------------------------------------

  /**
   * Queues an event for the relay. Of health reports and hellos only the newest matters, and of
   * a printer's status changes only its newest (the relay keeps the latest by time), so older
   * unsent ones go: an agent offline for days, reconnecting often, or with a printer whose
   * status flaps, does not pile them up.
   */
  queueEvent(body: EventBody): AgentEvent {
    const event = { id: randomUUID(), at: iso(this.now()), ...body } as AgentEvent;
    this.transaction(() => {
      if (event.type === 'health' || event.type === 'hello') {
        this.run('DELETE FROM outbox WHERE type = ?', event.type);
      } else if (event.type === 'printer-status') {
        this.run(
          "DELETE FROM outbox WHERE type = 'printer-status' AND json_extract(event, '$.printerId') = ?",
          event.printerId,
        );
      }
      this.run(
        'INSERT INTO outbox (id, type, event) VALUES (?, ?, ?)',
        event.id,
        event.type,
        JSON.stringify(event),
      );
    });
    return event;
  }

  pending(limit: number): AgentEvent[] {
    return this.all('SELECT event FROM outbox ORDER BY seq LIMIT ?', limit).map(
      (r) => JSON.parse(r.event as string) as AgentEvent,
    );
  }

  acknowledge(ids: string[]): void {
    if (ids.length === 0) return;
    this.run('DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(ids));
  }

  outboxDepth(): number {
    return this.get('SELECT count(*) AS n FROM outbox')?.n as number;
  }

  private jobEvent(job: JobRecord, state: AgentJobState, detail: string | null): void {
    if (job.source !== 'relay') return;
    this.queueEvent({
      type: 'job-state',
      jobId: job.jobId,
      state,
      ...(detail === null ? {} : { detail: detail.slice(0, 1000) }),
      ...(job.printerId === null ? {} : { printerId: job.printerId }),
    });
  }

  // ---- jobs -----------------------------------------------------------------------------

  getJob(jobId: string): JobRecord | undefined {
    const r = this.get('SELECT * FROM jobs WHERE job_id = ?', jobId);
    return r ? toJob(r) : undefined;
  }

  /** Newest first. */
  listJobs(filter: { state?: LocalJobState; limit?: number } = {}): JobRecord[] {
    const limit = filter.limit ?? 100;
    return (
      filter.state === undefined
        ? this.all('SELECT * FROM jobs ORDER BY seq DESC LIMIT ?', limit)
        : this.all('SELECT * FROM jobs WHERE state = ? ORDER BY seq DESC LIMIT ?', filter.state, limit)
    ).map(toJob);
  }

  /** Jobs in these states, oldest first. */
  jobsIn(states: readonly LocalJobState[]): JobRecord[] {
    return this.all(
      'SELECT * FROM jobs WHERE state IN (SELECT value FROM json_each(?)) ORDER BY seq',
      JSON.stringify(states),
    ).map(toJob);
  }

  /** Queued and held jobs whose printer is none of `printerIds` (after a config change). */
  waitingElsewhere(printerIds: readonly string[]): JobRecord[] {
    return this.all(
      `SELECT * FROM jobs WHERE state IN ('queued', 'held')
         AND (printer_id IS NULL OR printer_id NOT IN (SELECT value FROM json_each(?))) ORDER BY seq`,
      JSON.stringify(printerIds),
    ).map(toJob);
  }

  /** The oldest job waiting for this printer. */
  nextQueued(printerId: string): JobRecord | undefined {
    const r = this.get(
      "SELECT * FROM jobs WHERE printer_id = ? AND state = 'queued' ORDER BY seq LIMIT 1",
      printerId,
    );
    return r ? toJob(r) : undefined;
  }

  /** Jobs queued or printing on this printer. */
  queueDepth(printerId: string): number {
    return this.get(
      "SELECT count(*) AS n FROM jobs WHERE printer_id = ? AND state IN ('queued', 'printing', 'waiting')",
      printerId,
    )?.n as number;
  }

  /**
   * What a person at the store has to decide on, newest first: held jobs, and failed or
   * uncertain ones nobody has dealt with yet (settle()).
   */
  needingDecision(limit: number): JobRecord[] {
    return this.all(
      // IN first, so that SQLite reads these states through the jobs_state index, not every job.
      `SELECT * FROM jobs WHERE state IN ('held', 'failed', 'uncertain') AND (state = 'held' OR settled_at IS NULL)
       ORDER BY seq DESC LIMIT ?`,
      limit,
    ).map(toJob);
  }

  /** A person dealt with this failed or uncertain job; false when it is not one or was dealt with. */
  settle(jobId: string): boolean {
    return (
      this.run(
        `UPDATE jobs SET settled_at = ? WHERE job_id = ? AND state IN ('failed', 'uncertain') AND settled_at IS NULL`,
        this.now(),
        jobId,
      ).changes === 1
    );
  }

  /** The order ticket printed last (relay jobs only: not a test print or a reprint). */
  lastPrinted(): JobRecord | undefined {
    const r = this.get(
      "SELECT * FROM jobs WHERE state = 'printed' AND source = 'relay' ORDER BY updated_at DESC, seq DESC LIMIT 1",
    );
    return r ? toJob(r) : undefined;
  }

  heldCount(): number {
    return this.get("SELECT count(*) AS n FROM jobs WHERE state = 'held'")?.n as number;
  }

  /** Relay jobs the agent still holds (for hello), oldest first. */
  openRelayJobIds(limit: number): string[] {
    return this.all(
      `SELECT job_id FROM jobs WHERE source = 'relay' AND state NOT IN ${FINAL_SQL} ORDER BY seq LIMIT ?`,
      limit,
    ).map((r) => r.job_id as string);
  }

  private update(
    job: JobRecord,
    patch: Partial<Pick<JobRecord, 'state' | 'detail' | 'printerId' | 'copiesPrinted' | 'printAnyway'>>,
  ): JobRecord {
    const next = { ...job, ...patch, updatedAt: this.now() };
    this.run(
      `UPDATE jobs SET state = ?, detail = ?, printer_id = ?, copies_printed = ?, print_anyway = ?, updated_at = ?
       WHERE job_id = ?`,
      next.state,
      next.detail,
      next.printerId,
      next.copiesPrinted,
      next.printAnyway ? 1 : 0,
      next.updatedAt,
      job.jobId,
    );
    return next;
  }

  private insert(job: Omit<JobRecord, 'createdAt' | 'updatedAt'>): JobRecord {
    const now = this.now();
    const record: JobRecord = { ...job, createdAt: now, updatedAt: now };
    this.run(
      `INSERT INTO jobs (job_id, source, message, printer_ref, printer_id, state, detail, copies, copies_printed,
         on_expiry, expires_at, print_anyway, reprint_of, reprint_mark, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      record.jobId,
      record.source,
      JSON.stringify(record.message),
      record.printerRef,
      record.printerId,
      record.state,
      record.detail,
      record.copies,
      record.copiesPrinted,
      record.onExpiry,
      record.expiresAt,
      record.printAnyway ? 1 : 0,
      record.reprintOf,
      record.reprintMark,
      now,
      now,
    );
    return record;
  }

  /**
   * Commits a job from the relay with its job-received event, in one transaction. A job seen
   * before only gets job-received again. A job with a pending cancel is stored cancelled;
   * otherwise `route` says which printer takes it (or why none can).
   */
  receiveJob(msg: JobMessage, route: () => Route): { job: JobRecord; duplicate: boolean } {
    return this.transaction(() => {
      const known = this.getJob(msg.jobId);
      this.queueEvent({ type: 'job-received', jobId: msg.jobId });
      if (known) return { job: known, duplicate: true };
      const base = {
        jobId: msg.jobId,
        source: 'relay' as const,
        message: msg,
        printerRef: msg.printer,
        copies: msg.copies,
        copiesPrinted: 0,
        onExpiry: msg.onExpiry,
        expiresAt: msg.expiresAt === undefined ? null : Date.parse(msg.expiresAt),
        printAnyway: false,
        reprintOf: msg.reprintOf ?? null,
        // The relay already put the mark in a reprint it sends.
        reprintMark: 0,
      };
      const cancelled = this.run('DELETE FROM pending_cancels WHERE job_id = ?', msg.jobId).changes === 1;
      if (cancelled) {
        const job = this.insert({
          ...base,
          printerId: null,
          state: 'cancelled',
          detail: 'cancelled before it reached the store',
        });
        this.jobEvent(job, 'cancelled', job.detail);
        return { job, duplicate: false };
      }
      const r = route();
      if ('failed' in r) {
        const job = this.insert({ ...base, printerId: null, state: 'failed', detail: r.failed });
        this.jobEvent(job, 'failed', job.detail);
        return { job, duplicate: false };
      }
      const job = this.insert({ ...base, printerId: r.printerId, state: 'queued', detail: r.detail ?? null });
      return { job, duplicate: false };
    });
  }

  /** A job made at the store (test print, reprint): never reported to the relay. */
  addLocalJob(input: {
    message: Omit<JobMessage, 'jobId' | 'v' | 'createdAt' | 'onExpiry'>;
    printerId: string;
    reprintOf?: string;
    reprintMark?: number;
    detail?: string;
  }): JobRecord {
    const jobId = `local-${randomUUID()}`;
    const message: JobMessage = {
      v: 1,
      jobId,
      ...input.message,
      onExpiry: 'expire',
      createdAt: iso(this.now()),
    };
    return this.transaction(() =>
      this.insert({
        jobId,
        source: 'local',
        message,
        printerRef: message.printer,
        printerId: input.printerId,
        state: 'queued',
        detail: input.detail ?? null,
        copies: message.copies,
        copiesPrinted: 0,
        onExpiry: 'expire',
        expiresAt: null,
        printAnyway: false,
        reprintOf: input.reprintOf ?? null,
        reprintMark: input.reprintMark ?? 0,
      }),
    );
  }

  /**
   * A local reprint of `original`: same content, the next REPRINT #n mark. A reprint the relay
   * sent carries its mark already and is printed as it is (a second banner would only confuse).
   */
  addReprint(original: JobRecord, opts: { copies: number; printerId: string; detail?: string }): JobRecord {
    const { printer, ticket, raw, orderRef, reprintCount } = original.message;
    return this.transaction(() => {
      // After the reprints made here and those the relay sent (already marked REPRINT #n).
      const last = this.get(
        `SELECT max(max(reprint_mark), coalesce(json_extract(message, '$.reprintCount'), 0)) AS n
         FROM jobs WHERE reprint_of = ?`,
        original.jobId,
      );
      return this.addLocalJob({
        message: {
          printer,
          ...(ticket === undefined ? { raw } : { ticket }),
          copies: opts.copies,
          ...(orderRef === undefined ? {} : { orderRef }),
          ...(reprintCount === undefined ? {} : { reprintCount }),
        },
        printerId: opts.printerId,
        reprintOf: original.jobId,
        reprintMark: reprintCount === undefined ? ((last?.n as number | null) ?? 0) + 1 : 0,
        ...(opts.detail === undefined ? {} : { detail: opts.detail }),
      });
    });
  }

  private expired(job: JobRecord): boolean {
    return !job.printAnyway && job.expiresAt !== null && job.expiresAt <= this.now();
  }

  /** Expired queued job -> expired (onExpiry expire) or held (hold), with its event. */
  private applyExpiry(job: JobRecord): JobRecord {
    if (job.onExpiry === 'hold') {
      const held = this.update(job, {
        state: 'held',
        detail: 'its expiry passed before it printed; print or discard it',
      });
      this.jobEvent(held, 'held', held.detail);
      return held;
    }
    const expired = this.update(job, { state: 'expired', detail: 'its expiry passed before it printed' });
    this.jobEvent(expired, 'expired', expired.detail);
    return expired;
  }

  /** Applies expiry to every queued job whose time has come; returns them. */
  expireDue(): JobRecord[] {
    return this.transaction(() =>
      this.all(
        "SELECT * FROM jobs WHERE state = 'queued' AND print_anyway = 0 AND expires_at <= ? ORDER BY seq",
        this.now(),
      ).map((r) => this.applyExpiry(toJob(r))),
    );
  }

  /** When the next queued job expires (ms), or null. */
  nextExpiry(): number | null {
    const r = this.get(
      "SELECT min(expires_at) AS t FROM jobs WHERE state = 'queued' AND print_anyway = 0 AND expires_at IS NOT NULL",
    );
    return (r?.t as number | null) ?? null;
  }

  /**
   * queued -> printing, persisted (with its event) before the first byte goes out: that is
   * what makes a crash from here on "uncertain". `notes` (how the ticket prints differently
   * from what it asked: a barcode as text, a partial cut) join the event's detail, so the
   * job's timeline at the relay shows them. Null when the job is no longer queued on this
   * printer (cancelled, moved) or its expiry passed (then it is expired or held).
   */
  startJob(jobId: string, printerId: string, notes: readonly string[] = []): JobRecord | null {
    return this.transaction(() => {
      const job = this.getJob(jobId);
      if (job?.state !== 'queued' || job.printerId !== printerId) return null;
      if (this.expired(job)) {
        this.applyExpiry(job);
        return null;
      }
      const started = this.update(job, { state: 'printing', detail: null });
      const detail = [...(job.detail === null ? [] : [job.detail]), ...notes].join('; ');
      this.jobEvent(started, 'printing', detail === '' ? null : detail);
      return started;
    });
  }

  /** Printing, but the printer is not ready (reasons), or ready again (null). Local only. */
  setWaiting(jobId: string, reasons: string | null): JobRecord | undefined {
    return this.transaction(() => {
      const job = this.getJob(jobId);
      if (!job || !STARTED.includes(job.state)) return job;
      const state = reasons === null ? 'printing' : 'waiting';
      const detail = reasons === null ? null : `waiting: ${reasons}`;
      if (job.state === state && job.detail === detail) return job;
      return this.update(job, { state, detail });
    });
  }

  /** One more copy confirmed by the printer; the last one makes the job printed. */
  /** `caveat` qualifies 'printed' in the job's detail and event (e.g. a printer that cannot confirm). */
  copyPrinted(jobId: string, paperMm: number, caveat?: string): JobRecord {
    return this.transaction(() => {
      const job = this.getJob(jobId);
      if (!job) throw new Error(`job ${jobId} is not in the database`);
      const copiesPrinted = job.copiesPrinted + 1;
      if (job.printerId !== null) {
        this.run(
          `INSERT INTO printer_counters (printer_id, printed_jobs, paper_used_mm) VALUES (?, ?, ?)
           ON CONFLICT (printer_id) DO UPDATE SET printed_jobs = printed_jobs + excluded.printed_jobs,
             paper_used_mm = paper_used_mm + excluded.paper_used_mm`,
          job.printerId,
          copiesPrinted >= job.copies ? 1 : 0,
          paperMm,
        );
      }
      if (copiesPrinted < job.copies) return this.update(job, { copiesPrinted });
      const printed = this.update(job, { copiesPrinted, state: 'printed', detail: caveat ?? null });
      const detail = [job.copies > 1 ? `${job.copies} copies` : '', caveat ?? ''].filter(Boolean).join('; ');
      this.jobEvent(printed, 'printed', detail || null);
      return printed;
    });
  }

  /** A job ends without being printed (all of it): failed or uncertain, with its event. */
  finish(jobId: string, state: 'failed' | 'uncertain', detail: string): JobRecord | undefined {
    return this.transaction(() => {
      const job = this.getJob(jobId);
      if (!job || isFinal(job.state)) return job;
      const done = this.update(job, { state, detail });
      this.jobEvent(done, state, detail);
      return done;
    });
  }

  /** A started job whose next copy never left the agent (the agent is stopping): back in line. */
  requeue(jobId: string, detail: string): void {
    this.transaction(() => {
      const job = this.getJob(jobId);
      if (job && STARTED.includes(job.state)) this.update(job, { state: 'queued', detail });
    });
  }

  /** Moves the jobs not started on `from` to `to` (failover); returns their ids. */
  moveQueued(from: string, to: string, detail: string): string[] {
    return this.transaction(() =>
      this.all("SELECT * FROM jobs WHERE printer_id = ? AND state = 'queued' ORDER BY seq", from).map((r) => {
        const job = this.update(toJob(r), { printerId: to, detail });
        return job.jobId;
      }),
    );
  }

  /** Points a job not started at another printer, or fails it when there is none. */
  reroute(jobId: string, route: Route): void {
    this.transaction(() => {
      const job = this.getJob(jobId);
      if (!job || (job.state !== 'queued' && job.state !== 'held')) return;
      if ('failed' in route) {
        const failed = this.update(job, { state: 'failed', printerId: null, detail: route.failed });
        this.jobEvent(failed, 'failed', route.failed);
      } else this.update(job, { printerId: route.printerId, detail: route.detail ?? job.detail });
    });
  }

  /**
   * cancel from the relay: a job not started is cancelled; one that started is left alone
   * (the relay learns printing/printed); an unknown one is remembered so that it never prints.
   */
  cancel(jobId: string): CancelOutcome {
    return this.transaction(() => {
      const job = this.getJob(jobId);
      if (!job) {
        this.run('INSERT OR IGNORE INTO pending_cancels (job_id, at) VALUES (?, ?)', jobId, this.now());
        return 'remembered';
      }
      if (job.state === 'queued' || job.state === 'held') {
        const cancelled = this.update(job, { state: 'cancelled', detail: 'cancelled through the relay' });
        this.jobEvent(cancelled, 'cancelled', cancelled.detail);
        return 'cancelled';
      }
      return STARTED.includes(job.state) ? 'started' : 'final';
    });
  }

  /** A person's decision on a held job; null when the job is not held. */
  decideHeld(jobId: string, decision: 'print' | 'discard'): JobRecord | null {
    return this.transaction(() => {
      const job = this.getJob(jobId);
      if (job?.state !== 'held') return null;
      if (decision === 'print') {
        return this.update(job, { state: 'queued', printAnyway: true, detail: 'a person chose to print it' });
      }
      const discarded = this.update(job, {
        state: 'cancelled',
        detail: 'discarded by a person at the store',
      });
      this.jobEvent(discarded, 'cancelled', discarded.detail);
      return discarded;
    });
  }

  /**
   * After a restart: jobs that were printing are uncertain (never printed again by
   * themselves). With `reprint`, each relay job's remaining copies become a local job with
   * the REPRINT mark, queued on the same printer.
   */
  recoverInterrupted(reprint: boolean): { uncertain: JobRecord[]; reprints: JobRecord[] } {
    return this.transaction(() => {
      const uncertain: JobRecord[] = [];
      const reprints: JobRecord[] = [];
      for (const job of this.jobsIn(STARTED)) {
        let detail = `the agent stopped while printing copy ${job.copiesPrinted + 1} of ${job.copies}`;
        if (reprint && job.source === 'relay' && job.printerId !== null) {
          const left = job.copies - job.copiesPrinted;
          const copy = this.addReprint(job, {
            copies: left,
            printerId: job.printerId,
            detail: `reprint of ${job.jobId}, which the agent stopped in the middle of`,
          });
          reprints.push(copy);
          // Its reprint deals with it: the store page does not ask a person about it.
          this.run('UPDATE jobs SET settled_at = ? WHERE job_id = ?', this.now(), job.jobId);
          detail += `; reprinting ${left === 1 ? '1 copy' : `${left} copies`} with a REPRINT mark as job ${copy.jobId}`;
        }
        const done = this.update(job, { state: 'uncertain', detail });
        this.jobEvent(done, 'uncertain', detail);
        uncertain.push(done);
      }
      return { uncertain, reprints };
    });
  }

  // ---- counters and housekeeping --------------------------------------------------------

  counters(printerId: string): { printedJobs: number; paperUsedMm: number } {
    const r = this.get(
      'SELECT printed_jobs, paper_used_mm FROM printer_counters WHERE printer_id = ?',
      printerId,
    );
    return { printedJobs: (r?.printed_jobs as number) ?? 0, paperUsedMm: (r?.paper_used_mm as number) ?? 0 };
  }

  /** Forgets jobs that ended, and cancels remembered, more than RETENTION_MS ago. */
  prune(): { jobs: number; cancels: number } {
    const before = this.now() - RETENTION_MS;
    return this.transaction(() => ({
      jobs: this.run(`DELETE FROM jobs WHERE state IN ${FINAL_SQL} AND updated_at < ?`, before).changes,
      cancels: this.run('DELETE FROM pending_cancels WHERE at < ?', before).changes,
    }));
  }
}
