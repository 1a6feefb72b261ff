// The store agent, put together: the SQLite store, one Printer and one queue per configured
// printer, routing with failover, the link to the relay and the local API.
//
// Flow of a relay job: the link hands down/jobs to onJob, which commits it (with its
// job-received event) before returning, so the PUBACK means "on disk". The printer's queue
// prints it when its turn comes and the printer is ready; every state worth telling the relay
// goes through the outbox, which the link sends until the relay acknowledges it.

import { resolveProfile } from '../escpos/profiles/index.js';
import type { AgentCommand, JobMessage, PrinterInfo } from '../protocol/messages.js';
import type { PrinterProfile } from '../protocol/profile.js';
import { notReadyReasons } from '../protocol/status.js';
import { consoleLog, type Log } from '../shared/log.js';
import { version } from '../shared/version.js';
import { type AgentConfig, parseAgentConfig, type ResolvedAgentConfig } from './config.js';
import { healthEvent } from './health.js';
import { type LocalApi, startLocalApi } from './local-api.js';
import { writeLocalApiFile } from './local-api-file.js';
import { Printer, type StatusChange } from './printer/printer.js';
import { PrinterQueue } from './queue/printer-queue.js';
import { Router } from './queue/router.js';
import { RelayLink } from './relay-link.js';
import { AgentRequestError } from './request-error.js';
import { AgentStore, isFinal, type JobRecord, jobView } from './store/agent-store.js';
import { testTicket } from './test-ticket.js';
import { type AgentView, LOCAL_JOB_STATES, type LocalJobState, type LocalJobView } from './views.js';

export interface AgentOptions {
  config: AgentConfig;
  log?: Log;
  /** Health report period (default 30 s). */
  healthIntervalMs?: number;
  /** Resend unacknowledged events after this long (default 10 s; passed to the link). */
  outboxResendMs?: number;
  /** Relay reconnect backoff (default 1 s .. 30 s). */
  reconnect?: { minMs?: number; maxMs?: number };
}

const HELLO_MAX_JOB_IDS = 20_000;
const PRUNE_EVERY_MS = 3600_000;
const MAX_LIST_LIMIT = 1000;
// setTimeout takes at most a 32-bit delay; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RunningPrinter {
  config: ResolvedAgentConfig['printers'][number];
  profile: PrinterProfile;
  printer: Printer;
  queue: PrinterQueue;
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const agent = new Agent(opts);
  try {
    await agent[START]();
  } catch (err) {
    await agent.close();
    throw err;
  }
  return agent;
}

const START = Symbol('start');

export class Agent {
  readonly storeId: string;
  readonly instanceId: string;
  /** http://127.0.0.1:PORT of the local API, or null when disabled. */
  localApiUrl: string | null = null;

  readonly #config: ResolvedAgentConfig;
  readonly #log: Log;
  readonly #healthIntervalMs: number;
  readonly #store: AgentStore;
  readonly #printers: Map<string, RunningPrinter>;
  readonly #router: Router;
  readonly #link: RelayLink;
  readonly #startedAt = Date.now();
  readonly #timers = new Map<'health' | 'prune' | 'expiry' | 'failover', NodeJS.Timeout>();
  #localApi: LocalApi | null = null;
  /** Printing paused by a person (local API). Not persisted: see pausePrinting(). */
  #paused = false;
  #closing: Promise<void> | null = null;

  /** Use startAgent(). */
  constructor(opts: AgentOptions) {
    this.#config = parseAgentConfig(opts.config);
    this.#log = opts.log ?? consoleLog;
    this.#healthIntervalMs = opts.healthIntervalMs ?? 30_000;
    this.storeId = this.#config.storeId;
    this.#store = AgentStore.open(this.#config.dataDir);
    this.instanceId = this.#store.instanceId;
    try {
      this.#printers = this.#startPrinters();
    } catch (err) {
      this.#store.close();
      throw err;
    }

    this.#router = new Router({
      printers: this.#config.printers,
      failover: this.#config.failover,
      notReadyReasons: (id) => this.#printers.get(id)?.printer.notReadyReasons ?? ['unknown printer'],
    });
    this.#link = new RelayLink({
      urls: [this.#config.relay.url, ...(this.#config.relay.alternateUrls ?? [])],
      storeId: this.storeId,
      password: this.#config.relay.password,
      clientId: this.#config.relay.clientId,
      ...(this.#config.relay.caFile === undefined ? {} : { caFile: this.#config.relay.caFile }),
      agentVersion: version,
      outbox: this.#store,
      onJob: (msg) => this.#onJob(msg),
      onControl: (msg) => this.#onControl(msg),
      onConnected: () => this.#onConnected(),
      log: this.#log,
      ...(opts.outboxResendMs === undefined ? {} : { outboxResendMs: opts.outboxResendMs }),
      ...(opts.reconnect === undefined ? {} : { reconnect: opts.reconnect }),
    });
  }

  #startPrinters(): Map<string, RunningPrinter> {
    const printers = new Map<string, RunningPrinter>();
    const { pollIntervalMs, confirmTimeoutMs } = this.#config.printerOptions;
    for (const config of this.#config.printers) {
      const profile = resolveProfile(config.profile);
      const printer = new Printer({
        uri: config.uri,
        profile,
        ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
        ...(confirmTimeoutMs === undefined ? {} : { confirmTimeoutMs }),
      });
      const queue = new PrinterQueue({
        printerId: config.id,
        printer,
        profile,
        printerName: config.name,
        intendedPrinter: (ref) => this.#router.primary(ref),
        store: this.#store,
        log: this.#log,
        changed: () => this.#changed(),
        paused: () => this.#paused,
      });
      printers.set(config.id, { config, profile, printer, queue });
    }
    return printers;
  }

  async [START](): Promise<void> {
    const store = this.#store;
    const { uncertain, reprints } = store.recoverInterrupted(this.#config.uncertainJobs === 'reprint-marked');
    for (const job of uncertain) this.#log.warn(`job ${job.jobId}: uncertain: ${job.detail}`);
    for (const job of reprints) this.#log.info(`job ${job.jobId}: reprint of ${job.reprintOf} queued`);
    this.#prune();
    // First, so that a port already taken stops the agent before it touches printers or the relay.
    const { port } = this.#config.localApi;
    if (port !== null) {
      this.#localApi = await startLocalApi(this, { port, log: this.#log });
      this.localApiUrl = this.#localApi.url;
      writeLocalApiFile(this.#config.dataDir, this.localApiUrl);
    }
    // Jobs waiting for a printer that is no longer configured go where their ref points now.
    // (Selected in SQL: reading every waiting job would cost seconds after a long outage.)
    for (const job of store.waitingElsewhere([...this.#printers.keys()])) {
      store.reroute(job.jobId, this.#router.resolve(job.printerRef));
    }
    for (const [id, p] of this.#printers) {
      p.printer.on('status', (change) => {
        try {
          this.#printerStatus(id, change);
        } catch (err) {
          // The driver emitted this: an error must not reach it.
          this.#log.error(`printer ${id}: status change not recorded: ${(err as Error).message}`);
        }
      });
      p.printer.on('connect-error', (err) => this.#log.warn(`printer ${id}: cannot connect: ${err.message}`));
      p.printer.start();
      p.queue.start();
    }
    this.#link.start();
    this.#every('health', this.#healthIntervalMs, () => this.#queueHealth());
    this.#every('prune', PRUNE_EVERY_MS, () => this.#prune());
    this.#scheduleExpiry();
    this.#checkFailover();
    this.#changed();
  }

  // ---- relay -------------------------------------------------------------------------------

  #onJob(msg: JobMessage): void {
    if (this.#closing) throw new Error('the agent is stopping');
    // Received and, if its printer is idle, started in one commit: the first byte waits for one fsync.
    const { job, duplicate, go } = this.#store.transaction(() => {
      const received = this.#store.receiveJob(msg, () => this.#router.resolve(msg.printer));
      const { printerId, state } = received.job;
      const queue = printerId === null ? undefined : this.#printers.get(printerId)?.queue;
      return { ...received, go: state === 'queued' ? queue?.startIfIdle() : undefined };
    });
    go?.();
    if (duplicate) this.#log.info(`job ${job.jobId}: received again (${job.state}); not stored twice`);
    else {
      this.#log.info(
        `job ${job.jobId}: received for ${msg.printer}: ${job.state}${job.detail ? ` (${job.detail})` : ''}`,
      );
      this.#wakeQueue(job.printerId);
      this.#scheduleExpiry();
    }
    this.#changed();
  }

  #onControl(msg: AgentCommand): void {
    if (this.#closing) throw new Error('the agent is stopping');
    if (msg.type === 'decide-held') {
      // Only a held job: a failed or uncertain one is reprinted from HQ through the relay.
      const state = this.#store.getJob(msg.jobId)?.state ?? 'unknown';
      if (state === 'held') this.decide(msg.jobId, msg.decision);
      else this.#log.info(`job ${msg.jobId}: decision from HQ ignored: the job is ${state}, not held`);
      return;
    }
    const outcome = this.#store.cancel(msg.jobId);
    const said = {
      cancelled: 'cancelled',
      started: 'cancel ignored: it has started printing',
      final: 'cancel ignored: it has finished',
      remembered: 'cancel remembered: the job has not arrived',
    }[outcome];
    this.#log.info(`job ${msg.jobId}: ${said}`);
    this.#changed();
  }

  #onConnected(): void {
    this.#store.queueEvent({
      type: 'hello',
      agentVersion: version,
      instanceId: this.instanceId,
      printers: [...this.#printers.values()].map((p) => this.#printerInfo(p)),
      jobIds: this.#store.openRelayJobIds(HELLO_MAX_JOB_IDS),
    });
    this.#link.flush();
  }

  #printerInfo(p: RunningPrinter): PrinterInfo {
    const { id, name, roles, backup } = p.config;
    return {
      id,
      ...(name === undefined ? {} : { name }),
      roles,
      profile: p.profile.name,
      ...(backup === undefined ? {} : { backup }),
      status: p.printer.status,
    };
  }

  // ---- printers ----------------------------------------------------------------------------

  #printerStatus(id: string, change: StatusChange): void {
    const p = this.#printers.get(id);
    if (this.#closing || !p) return;
    const { status, previous } = change;
    const describe = (reasons: string[]) =>
      reasons.length === 0 ? 'ready' : `not ready (${reasons.join(', ')})`;
    const now = describe(notReadyReasons(status));
    if (now !== describe(notReadyReasons(previous)) || status.paper !== previous.paper) {
      this.#log.info(`printer ${id}: ${now}${status.paper === 'near-end' ? ', paper near end' : ''}`);
    }
    this.#store.queueEvent({ type: 'printer-status', printerId: id, status });
    this.#router.update(id);
    p.queue.wake();
    this.#checkFailover();
    this.#changed();
  }

  /** Moves the jobs of printers out for too long to their backups, and re-arms the timer. */
  #checkFailover(): void {
    for (const t of this.#router.takeovers()) {
      const moved = this.#store.moveQueued(t.from, t.to, `moved to backup printer ${t.to}: ${t.reason}`);
      if (moved.length === 0) continue;
      this.#log.warn(
        `printer ${t.from}: ${moved.length} job(s) moved to backup printer ${t.to} (${t.reason})`,
      );
      this.#wakeQueue(t.to);
    }
    const next = this.#router.nextDeadline();
    this.#at('failover', next, () => this.#checkFailover());
  }

  #wakeQueue(printerId: string | null): void {
    if (printerId !== null) this.#printers.get(printerId)?.queue.wake();
  }

  // ---- timers ------------------------------------------------------------------------------

  #every(name: 'health' | 'prune', ms: number, fn: () => void): void {
    const timer = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.#log.error(`${name}: ${(err as Error).message}`);
      }
    }, ms);
    timer.unref();
    this.#timers.set(name, timer);
  }

  /** Runs fn at time `at` (ms; null: never), replacing the timer of that name. */
  #at(name: 'expiry' | 'failover', at: number | null, fn: () => void): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
    if (at === null || this.#closing) return;
    const delay = Math.max(0, at - Date.now());
    const timer = setTimeout(
      () => {
        this.#timers.delete(name);
        if (this.#closing) return;
        if (delay > MAX_TIMER_MS) this.#at(name, at, fn);
        else fn();
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    timer.unref();
    this.#timers.set(name, timer);
  }

  /** Queued jobs whose expiry passes become expired or held at that moment, printer ready or not. */
  #scheduleExpiry(): void {
    this.#at('expiry', this.#store.nextExpiry(), () => {
      const jobs = this.#store.expireDue();
      for (const job of jobs) this.#log.info(`job ${job.jobId}: ${job.state} (${job.detail})`);
      this.#changed();
      this.#scheduleExpiry();
    });
  }

  #queueHealth(): void {
    this.#store.queueEvent(
      healthEvent({
        startedAt: this.#startedAt,
        heldJobs: this.#store.heldCount(),
        printers: [...this.#printers.keys()].map((printerId) => ({
          printerId,
          queueDepth: this.#store.queueDepth(printerId),
          ...this.#store.counters(printerId),
        })),
      }),
    );
    this.#changed();
  }

  #prune(): void {
    const { jobs, cancels } = this.#store.prune();
    if (jobs + cancels > 0)
      this.#log.info(`forgot ${jobs} finished job(s) and ${cancels} cancel(s) older than 7 days`);
  }

  /** The store changed: events may wait in the outbox. */
  #changed(): void {
    if (!this.#closing) this.#link.flush();
  }

  // ---- what the local API offers -----------------------------------------------------------

  view(): AgentView {
    const lastTicket = this.#store.lastPrinted();
    return {
      storeId: this.storeId,
      agentVersion: version,
      instanceId: this.instanceId,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      relay: {
        url: this.#link.url,
        connected: this.#link.connected,
        lastConnectedAt: this.#link.lastConnectedAt?.toISOString() ?? null,
        since: this.#link.connectedChangedAt.toISOString(),
        lastError: this.#link.lastError,
        identityConflictAt: this.#link.identityConflictAt?.toISOString() ?? null,
      },
      outboxDepth: this.#store.outboxDepth(),
      heldJobs: this.#store.heldCount(),
      printingPaused: this.#paused,
      lastTicket: lastTicket ? jobView(lastTicket) : null,
      printers: [...this.#printers.values()].map(({ config, profile, printer }) => ({
        id: config.id,
        name: config.name ?? null,
        uri: config.uri,
        profile: profile.name,
        roles: config.roles,
        backup: config.backup ?? null,
        status: printer.status,
        // From the status, not the driver's send check: a one-way printer is never 'ready'.
        ready: notReadyReasons(printer.status).length === 0,
        notReadyReasons: notReadyReasons(printer.status),
        queueDepth: this.#store.queueDepth(config.id),
        printedJobs: this.#store.counters(config.id).printedJobs,
      })),
    };
  }

  listJobs(filter: { state?: LocalJobState; limit?: number } = {}): LocalJobView[] {
    if (filter.state !== undefined && !LOCAL_JOB_STATES.includes(filter.state)) {
      throw new AgentRequestError(400, `state must be one of ${LOCAL_JOB_STATES.join(', ')}`);
    }
    const limit = filter.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new AgentRequestError(400, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    }
    return this.#store.listJobs({ ...filter, limit }).map(jobView);
  }

  getJob(jobId: string): LocalJobView | undefined {
    const job = this.#store.getJob(jobId);
    return job ? jobView(job) : undefined;
  }

  #job(jobId: string): JobRecord {
    const job = this.#store.getJob(jobId);
    if (!job) throw new AgentRequestError(404, `no job ${jobId} at this store (jobs are kept 7 days)`);
    return job;
  }

  #open(): void {
    if (this.#closing) throw new AgentRequestError(409, 'the agent is stopping');
  }

  /** A test ticket on that printer (no failover: it tests this printer). */
  testPrint(printerId: string): LocalJobView {
    this.#open();
    const p = this.#printers.get(printerId);
    if (!p) {
      throw new AgentRequestError(
        404,
        `no printer ${printerId}; printers: ${[...this.#printers.keys()].join(', ')}`,
      );
    }
    const job = this.#store.addLocalJob({
      message: { printer: printerId, ticket: testTicket(this.storeId, p.config, p.profile.name), copies: 1 },
      printerId,
      detail: 'test print',
    });
    this.#log.info(`job ${job.jobId}: test print on ${printerId}`);
    p.queue.wake();
    return jobView(job);
  }

  /** One more copy of a finished job, with the visible REPRINT mark, where its ref points now. */
  reprint(jobId: string): LocalJobView {
    this.#open();
    const job = this.#job(jobId);
    if (!isFinal(job.state)) {
      throw new AgentRequestError(
        409,
        `job ${jobId} has not finished (${job.state}); nothing to reprint yet`,
      );
    }
    // A reprint of a reprint made here is the next reprint of the original.
    const original = (job.source === 'local' && job.reprintOf && this.#store.getJob(job.reprintOf)) || job;
    const route = this.#router.resolve(original.printerRef);
    if ('failed' in route) throw new AgentRequestError(409, `cannot reprint job ${jobId}: ${route.failed}`);
    const copy = this.#store.addReprint(original, {
      copies: 1,
      printerId: route.printerId,
      detail: route.detail ?? `reprint of ${original.jobId}`,
    });
    this.#log.info(`job ${copy.jobId}: reprint of ${original.jobId} on ${route.printerId}`);
    this.#wakeQueue(route.printerId);
    return jobView(copy);
  }

  /** Jobs a person at the store has to decide on (print or discard), newest first. */
  needingDecision(): LocalJobView[] {
    return this.#store.needingDecision(MAX_LIST_LIMIT).map(jobView);
  }

  /**
   * A person's decision on a job that needs one. Held: print it as it is, or discard it
   * (reported cancelled). Failed or uncertain: print it again with the REPRINT mark (it may
   * have printed), or set it aside; either way the store page stops asking about it.
   */
  decide(jobId: string, decision: 'print' | 'discard'): LocalJobView {
    this.#open();
    if (decision !== 'print' && decision !== 'discard') {
      throw new AgentRequestError(400, 'decision must be print or discard');
    }
    const job = this.#job(jobId);
    if (job.state === 'failed' || job.state === 'uncertain') return this.#settle(job, decision);
    const decided = this.#store.decideHeld(jobId, decision);
    if (!decided) {
      throw new AgentRequestError(
        409,
        `job ${jobId} is not held, failed or uncertain (it is ${job.state}); nothing to decide`,
      );
    }
    this.#log.info(
      `job ${jobId}: held job ${decision === 'print' ? 'to be printed' : 'discarded'} by a person`,
    );
    this.#wakeQueue(decided.printerId);
    this.#checkFailover();
    this.#changed();
    return jobView(decided);
  }

  #settle(job: JobRecord, decision: 'print' | 'discard'): LocalJobView {
    const reprint = decision === 'print' ? this.reprint(job.jobId) : null;
    if (!this.#store.settle(job.jobId) && reprint === null) {
      throw new AgentRequestError(409, `job ${job.jobId} was already dealt with`);
    }
    if (reprint === null) this.#log.info(`job ${job.jobId}: ${job.state} job set aside by a person`);
    return reprint ?? jobView(this.#job(job.jobId));
  }

  /** Reprints the order ticket printed last (relay jobs: not a test print or a reprint). */
  reprintLast(): LocalJobView {
    const last = this.#store.lastPrinted();
    if (!last)
      throw new AgentRequestError(404, 'no order ticket has been printed at this store in the last 7 days');
    return this.reprint(last.jobId);
  }

  /**
   * Pauses or resumes printing at the store: jobs keep arriving and wait in the queue (their
   * expiry still applies). Not persisted: a pause is for a moment (a roll to change, the lunch
   * rush over), and a forgotten one must not stop a day's orders after the PC restarts.
   */
  setPrintingPaused(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    this.#log.info(paused ? 'printing paused by a person' : 'printing resumed by a person');
    for (const p of this.#printers.values()) p.queue.wake();
  }

  /** Stops taking jobs, closes the link (presence offline), the printers, then the database. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const p of this.#printers.values()) p.queue.stopping();
    await this.#localApi?.close();
    await this.#link.close();
    // Closing a printer settles the copy under way, which lets its queue end.
    await Promise.all([...this.#printers.values()].map((p) => p.printer.close()));
    await Promise.all([...this.#printers.values()].map((p) => p.queue.stopped()));
    this.#store.close();
  }
}
