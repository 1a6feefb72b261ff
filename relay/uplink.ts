// What agents tell the relay: presence, and batches of outbox events. Each event is
// handled once (by outbox id), committed, and only then acknowledged on down/acks.
// Messages of one store are handled one after another, in the order they arrived.
//
// Printer status is reported to webhooks only when it changes from what was last reported. An
// agent that (re)connects reports its printers as it finds them: disconnected, then connected
// but not yet online, then ready, within a second or two. So for `printerSettleMs` after it
// comes online (and after each hello) only a ready status is reported at once; a not-ready one is kept, and reported at the
// end of that time if the printer is still not as last reported.
import {
  type AckMessage,
  type AgentEvent,
  decodeJson,
  PROTOCOL_VERSION,
  parseAgentEvent,
  parseEventBatchEnvelope,
  parsePresenceMessage,
} from '../protocol/messages.js';
import { isReady } from '../protocol/status.js';
import { topics } from '../protocol/topics.js';
import type { Log } from '../shared/log.js';
import type { MessageBus, UplinkMessage } from './broker/bus.js';
import type { Dispatcher } from './dispatcher.js';
import type { IgnoredEvents } from './ignored-events.js';
import type { Directory, JobStore } from './store/job-store.js';

const MAX_EVENT_AGE_MS = 8 * 24 * 3600_000;
/**
 * A store's "last seen" is written at most this often from its event batches (presence and
 * hello write it too). Every batch used to write it: a transaction per printed job, for a
 * time that dashboards show to the minute.
 */
const LAST_SEEN_EVERY_MS = 10_000;
const MAX_CLOCK_AHEAD_MS = 60_000;

/**
 * The agent's time for an event, unless its clock is plainly wrong (in the future, or older
 * than any job can be, e.g. a store PC that lost its clock): then the time it arrived.
 */
function plausibleTime(iso: string): number {
  const at = Date.parse(iso);
  const now = Date.now();
  return at > now + MAX_CLOCK_AHEAD_MS || at < now - MAX_EVENT_AGE_MS ? now : at;
}

export interface UplinkOptions {
  /** After a hello, how long not-ready printer statuses are held back (see above). */
  printerSettleMs: number;
  /** Told, for each event handled, how long after the agent says it happened (metrics). */
  eventLag?: (seconds: number) => void;
}

export class Uplink {
  private readonly queues = new Map<string, Promise<void>>();
  /** Stores whose printers are settling after a hello, with the timer that ends it. */
  private readonly settling = new Map<string, NodeJS.Timeout>();
  /**
   * When each store's current connection said it is online. A job published since then went
   * over that connection (after its subscription), so a hello need not resend it.
   */
  private readonly onlineSince = new Map<string, number>();
  /** When this process last wrote each store's "last seen" from an event batch. */
  private readonly lastSeenWritten = new Map<string, number>();

  constructor(
    private readonly jobs: JobStore,
    private readonly directory: Directory,
    private readonly bus: MessageBus,
    private readonly dispatcher: Dispatcher,
    private readonly log: Log,
    private readonly opts: UplinkOptions,
    private readonly ignored: IgnoredEvents,
  ) {}

  /** Queues the message behind the store's earlier ones. */
  accept(message: UplinkMessage): void {
    this.enqueue(message.storeId, `${message.channel} message`, () => this.handle(message));
  }

  /** Runs `task` after the store's earlier messages and tasks. */
  private enqueue(storeId: string, what: string, task: () => Promise<void>): void {
    const previous = this.queues.get(storeId) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch((err: unknown) => this.log.error(`store ${storeId}: ${what} failed: ${String(err)}`));
    this.queues.set(storeId, next);
    void next.finally(() => {
      if (this.queues.get(storeId) === next) this.queues.delete(storeId);
    });
  }

  /** Resolves when every queued message has been handled. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  /** Drops the settling timers (the relay is stopping; the next start reports afresh). */
  stop(): void {
    for (const timer of this.settling.values()) clearTimeout(timer);
    this.settling.clear();
  }

  /** Coming online and a hello start (or restart) the settling time; at its end, what differs is reported. */
  private startSettling(storeId: string): void {
    clearTimeout(this.settling.get(storeId));
    const timer = setTimeout(() => {
      this.settling.delete(storeId);
      this.enqueue(storeId, 'printer status report', async () => {
        await this.directory.reportPrinterStatuses(storeId);
      });
    }, this.opts.printerSettleMs);
    timer.unref();
    this.settling.set(storeId, timer);
  }

  private async handle({ storeId, channel, payload }: UplinkMessage): Promise<void> {
    if (channel === 'presence') {
      let msg: ReturnType<typeof parsePresenceMessage>;
      try {
        msg = parsePresenceMessage(decodeJson(payload, 'presence message'));
      } catch (err) {
        // The agent's fault, not the relay's: a warning, like a bad event batch.
        this.log.warn(`store ${storeId}: dropped a presence message: ${(err as Error).message}`);
        return;
      }
      const at = Date.now();
      const applied = await this.directory.setPresence(storeId, {
        online: msg.online,
        connectionId: msg.connectionId,
        agentVersion: msg.agentVersion,
        at,
      });
      if (applied && msg.online) {
        this.onlineSince.set(storeId, at);
        // Before the agent's outbox: statuses it queued while away come after this.
        this.startSettling(storeId);
      } else if (applied) this.onlineSince.delete(storeId);
      this.log.info(
        `store ${storeId}: ${msg.online ? 'online' : 'offline'} (agent ${msg.agentVersion})${applied ? '' : ', ignored: from an older connection'}`,
      );
      return;
    }
    let batch: { events: { id: string; type: string }[] };
    try {
      batch = parseEventBatchEnvelope(decodeJson(payload, 'event batch'));
    } catch (err) {
      // Without outbox ids there is nothing to acknowledge: the agent's resend will tell.
      this.log.warn(`store ${storeId}: dropped an event batch: ${(err as Error).message}`);
      return;
    }
    // A store over its budget of ignored events: dropped unread, its agent sends it again.
    if (this.ignored.throttled(storeId)) return;
    const now = Date.now();
    if (now - (this.lastSeenWritten.get(storeId) ?? 0) >= LAST_SEEN_EVERY_MS) {
      await this.directory.touchStore(storeId, now);
      this.lastSeenWritten.set(storeId, now);
    }
    // The events of a batch are applied without waiting for each other's commits, so the
    // store's group commit serves a whole batch with a few fsyncs instead of two per event.
    // Writes still reach the store in event order; only a hello waits for what came before
    // it, because it reconciles against the job table.
    const work: Promise<void>[] = [];
    for (const raw of batch.events) {
      if (raw.type === 'hello') await Promise.allSettled(work);
      work.push(this.handleEvent(storeId, raw));
    }
    const results = await Promise.allSettled(work);
    const done = batch.events.filter((_, i) => results[i]?.status === 'fulfilled').map((e) => e.id);
    if (done.length > 0) await this.ack(storeId, done);
    const failed = results.find((r) => r.status === 'rejected');
    // Not acknowledged: the agent sends it again.
    if (failed) throw failed.reason;
  }

  private async handleEvent(storeId: string, raw: { id: string }): Promise<void> {
    if (await this.jobs.agentEventSeen(storeId, raw.id)) return;
    let event: AgentEvent;
    try {
      event = parseAgentEvent(raw);
    } catch (err) {
      // It will never become valid: acknowledged, so that it cannot jam the outbox.
      this.ignored.note(storeId, 'invalid', `event ${raw.id}: ${(err as Error).message}`);
      return;
    }
    // An ignored event changes nothing when it comes again: nothing to remember.
    if (await this.apply(storeId, event)) await this.jobs.rememberAgentEvent(storeId, raw.id, Date.now());
  }

  private async ack(storeId: string, ids: string[]): Promise<void> {
    const msg: AckMessage = { v: PROTOCOL_VERSION, ids };
    await this.bus.publish(topics.acks(storeId), JSON.stringify(msg));
  }

  /** False when the event was ignored (a job that is not the store's). */
  private async apply(storeId: string, event: AgentEvent): Promise<boolean> {
    const at = plausibleTime(event.at);
    this.opts.eventLag?.((Date.now() - at) / 1000);
    switch (event.type) {
      case 'hello': {
        const { previousInstanceId } = await this.directory.recordHello(storeId, {
          agentVersion: event.agentVersion,
          instanceId: event.instanceId,
          printers: event.printers,
          at: Date.now(),
          statusAt: at,
        });
        this.startSettling(storeId);
        this.log.info(
          `store ${storeId}: hello from agent ${event.agentVersion}, ${event.printers.length} printer(s), holds ${event.jobIds.length} job(s)`,
        );
        await this.dispatcher.reconcile(
          storeId,
          event,
          previousInstanceId,
          this.onlineSince.get(storeId) ?? Date.now(),
        );
        return true;
      }
      case 'job-received':
        if (!(await this.ownJob(storeId, event.jobId))) return false;
        await this.jobs.transitionJob(event.jobId, 'delivered', { at });
        return true;
      case 'job-state':
        if (!(await this.ownJob(storeId, event.jobId))) return false;
        await this.jobs.transitionJob(event.jobId, event.state, {
          at,
          detail: event.detail,
          printerId: event.printerId,
        });
        return true;
      case 'printer-status':
        await this.directory.setPrinterStatus(storeId, event.printerId, event.status, at, {
          report: !this.settling.has(storeId) || isReady(event.status),
        });
        return true;
      case 'health':
        await this.directory.recordHealth(storeId, {
          agentVersion: event.agentVersion,
          printers: event.printers,
          at: Date.now(),
          raw: event,
        });
        return true;
    }
  }

  /** An agent reports only on its own store's jobs; anything else is counted and ignored. */
  private async ownJob(storeId: string, jobId: string): Promise<boolean> {
    if ((await this.jobs.storeOfJob(jobId)) === storeId) return true;
    this.ignored.note(storeId, 'not its job', `job ${jobId}`);
    return false;
  }
}
