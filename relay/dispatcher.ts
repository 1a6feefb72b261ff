// Table-driven dispatch: what goes down to the agents is decided from the job table, never
// from broker memory. Jobs are published when created (if the store is online), again after
// an agent's hello when it does not hold them, and again by the sweep when a publish went
// unanswered. The sweep also expires jobs that may no longer be sent.
import { JOB_LIMITS, type JobState } from '../protocol/job.js';
import {
  type ControlMessage,
  type HelloEvent,
  type JobMessage,
  PROTOCOL_VERSION,
} from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import type { Log } from '../shared/log.js';
import type { MessageBus } from './broker/bus.js';
import type { Directory, JobRecord, JobStore } from './store/job-store.js';

export interface DispatcherOptions {
  /** Publish a `sent` job again when the agent has not confirmed it for this long. */
  resendAfterMs: number;
  sweepIntervalMs: number;
  /** How long finished jobs are kept before they are deleted. */
  retentionDays: number;
  log: Log;
}

const UNDELIVERED: readonly JobState[] = ['accepted', 'sent'];
const TAKEN_BY_AGENT: readonly JobState[] = ['delivered', 'held', 'printing'];
const SEEN_EVENT_RETENTION_MS = 8 * 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;
const BATCH = 200;

/**
 * The job's down/jobs message as JSON text. A ticket is stored as the JSON text it arrived
 * in (validated then), so it is spliced in as is rather than parsed and serialized again.
 */
export function jobMessageText(job: JobRecord): string {
  const message: Omit<JobMessage, 'ticket'> = {
    v: PROTOCOL_VERSION,
    jobId: job.id,
    printer: job.printer,
    ...(job.kind === 'raw' ? { raw: job.payload } : {}),
    copies: job.copies,
    expiresAt: new Date(job.expiresAt).toISOString(),
    onExpiry: job.onExpiry,
    ...(job.reprintOf ? { reprintOf: job.reprintOf, reprintCount: job.reprintCount } : {}),
    ...(job.orderRef ? { orderRef: job.orderRef } : {}),
    createdAt: new Date(job.createdAt).toISOString(),
  };
  const text = JSON.stringify(message);
  return job.kind === 'ticket' ? `${text.slice(0, -1)},"ticket":${job.payload}}` : text;
}

export class Dispatcher {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private lastPrune = 0;

  constructor(
    private readonly jobs: JobStore,
    private readonly directory: Directory,
    private readonly bus: MessageBus,
    private readonly opts: DispatcherOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** Right after the job was committed: send it at once if its store is online. */
  async jobCreated(job: JobRecord): Promise<void> {
    try {
      if (await this.directory.storeOnline(job.storeId)) await this.send(job);
    } catch (err) {
      // The job is committed either way; the sweep sends it.
      this.opts.log.error(`job ${job.id}: first send failed: ${String(err)}`);
    }
  }

  /**
   * Marks the job sent, then publishes it. In this order, a cancel arriving meanwhile sees
   * `sent` and is forwarded to the agent; a crash in between leaves a `sent` job that is
   * published again later. The claim also stops two paths (first send, sweep, hello) that
   * read the job at the same moment from both publishing it; `resendBefore` is how recent
   * an earlier publish may be (an agent's hello saying it lacks the job overrides the wait).
   */
  async send(job: JobRecord, resendBefore = Date.now() - this.opts.resendAfterMs): Promise<void> {
    if (!(await this.jobs.markSent(job.id, Date.now(), resendBefore))) return;
    try {
      await this.bus.publish(topics.jobs(job.storeId), jobMessageText(job));
    } catch (err) {
      this.opts.log.warn(`job ${job.id}: publish failed (${String(err)}); it will be sent again`);
    }
  }

  async sendCancel(job: JobRecord): Promise<void> {
    const msg: ControlMessage = { v: PROTOCOL_VERSION, type: 'cancel', jobId: job.id };
    await this.jobs.markCancelSent(job.id, Date.now());
    try {
      await this.bus.publish(topics.control(job.storeId), JSON.stringify(msg));
    } catch (err) {
      this.opts.log.warn(`job ${job.id}: cancel publish failed (${String(err)}); it will be sent again`);
    }
  }

  /** A person at HQ decided a held job. Not retried: the decision is made again if it is lost. */
  async sendHeldDecision(job: JobRecord, decision: 'print' | 'discard'): Promise<void> {
    const msg: ControlMessage = { v: PROTOCOL_VERSION, type: 'decide-held', jobId: job.id, decision };
    await this.bus.publish(topics.control(job.storeId), JSON.stringify(msg));
  }

  /**
   * An agent said hello: send what it is missing and settle what it can no longer have. Jobs
   * published since `connectedAt` (the current connection's start) are on their way already.
   */
  async reconcile(
    storeId: string,
    hello: HelloEvent,
    previousInstanceId: string | null,
    connectedAt: number,
  ): Promise<void> {
    const held = new Set(hello.jobIds);
    const newDatabase = previousInstanceId !== null && previousInstanceId !== hello.instanceId;
    const now = Date.now();
    for (const job of await this.jobs.openJobs(storeId)) {
      if (held.has(job.id)) {
        if (job.cancelRequestedAt !== null) await this.sendCancel(job);
        continue;
      }
      if (UNDELIVERED.includes(job.state)) {
        if (job.cancelRequestedAt !== null) {
          await this.jobs.transitionJob(job.id, 'cancelled', {
            at: now,
            detail: 'cancelled before the agent received it',
            onlyFrom: UNDELIVERED,
          });
        } else if (this.maySend(job, now)) {
          await this.send(job, connectedAt);
        }
      } else if (newDatabase && TAKEN_BY_AGENT.includes(job.state)) {
        await this.jobs.transitionJob(job.id, 'uncertain', {
          at: now,
          detail: "the agent's database was replaced; this job may or may not have printed",
          onlyFrom: TAKEN_BY_AGENT,
        });
      }
    }
  }

  private maySend(job: JobRecord, now: number): boolean {
    if (now - job.createdAt >= JOB_LIMITS.maxLifetimeSeconds * 1000) return false;
    return job.onExpiry === 'hold' || job.expiresAt > now;
  }

  /** After the broker may have lost messages (Redis was gone): publishes every unacknowledged job again, now. */
  async resendUnacknowledged(): Promise<void> {
    const now = Date.now();
    for (const job of await this.jobs.jobsToSend(now, BATCH))
      if (this.maySend(job, now)) await this.send(job, now);
  }

  /** One pass: expire, (re)send jobs and cancels, and now and then delete old data. */
  sweep(): Promise<void> {
    if (!this.sweeping) {
      this.sweeping = this.sweepOnce()
        .catch((err: unknown) => this.opts.log.error(`dispatch sweep failed: ${String(err)}`))
        .finally(() => {
          this.sweeping = null;
        });
    }
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const now = Date.now();
    const lifetimeStart = now - JOB_LIMITS.maxLifetimeSeconds * 1000;
    for (const job of await this.jobs.undeliverableJobs(now, lifetimeStart, BATCH)) {
      const detail =
        job.createdAt < lifetimeStart
          ? 'not delivered within the maximum job lifetime (7 days)'
          : 'expired before it reached the store';
      await this.jobs.transitionJob(job.id, 'expired', { at: now, detail, onlyFrom: UNDELIVERED });
    }
    for (const job of await this.jobs.jobsToSend(now - this.opts.resendAfterMs, BATCH)) {
      if (this.maySend(job, now)) await this.send(job);
    }
    for (const job of await this.jobs.cancelsToSend(now - this.opts.resendAfterMs, BATCH)) {
      await this.sendCancel(job);
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.jobs.prune({
        agentEvents: now - SEEN_EVENT_RETENTION_MS,
        webhookEvents: now - this.opts.retentionDays * 24 * 3600_000,
        jobs: now - this.opts.retentionDays * 24 * 3600_000,
      });
    }
  }
}
