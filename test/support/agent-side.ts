// The store agent's side of a relay link (agent/relay-link.ts), in the test's process: jobs
// kept in memory, events queued as the agent queues them, every call recorded.
import { randomUUID } from 'node:crypto';
import { type Outbox, RelayLink, type RelayLinkOptions } from '../../agent/relay-link.js';
import type { AgentEvent, ControlMessage, JobMessage } from '../../protocol/messages.js';
import type { AgentCredentials } from '../../relay/admin.js';
import { silentLog } from '../../shared/log.js';

export class MemoryOutbox implements Outbox {
  events: AgentEvent[] = [];
  pendingCalls = 0;

  pending(limit: number): AgentEvent[] {
    this.pendingCalls++;
    return this.events.slice(0, limit);
  }

  acknowledge(ids: string[]): void {
    const done = new Set(ids);
    this.events = this.events.filter((e) => !done.has(e.id));
  }
}

export type NewEvent = AgentEvent extends infer E
  ? E extends AgentEvent
    ? Omit<E, 'id' | 'at'>
    : never
  : never;

/** The agent side of a link: stores jobs, queues events like the agent does, records calls. */
export class AgentSide {
  readonly outbox = new MemoryOutbox();
  readonly stored = new Map<string, JobMessage>();
  readonly deliveries: string[] = [];
  readonly controls: ControlMessage[] = [];
  readonly disconnects: (Error | null)[] = [];
  failNextJobs = 0;
  readonly link: RelayLink;

  constructor(creds: AgentCredentials, url: string, overrides: Partial<RelayLinkOptions> = {}) {
    this.link = new RelayLink({
      urls: [url],
      storeId: creds.storeId,
      password: creds.password,
      clientId: creds.clientId,
      agentVersion: 'link-test',
      outbox: this.outbox,
      onJob: (msg) => {
        this.deliveries.push(msg.jobId);
        if (this.failNextJobs > 0) {
          this.failNextJobs--;
          throw new Error('SQLITE_FULL: database or disk is full');
        }
        this.stored.set(msg.jobId, msg);
        this.queue({ type: 'job-received', jobId: msg.jobId });
      },
      onControl: (msg) => {
        this.controls.push(msg);
      },
      onConnected: () =>
        this.queue({
          type: 'hello',
          agentVersion: 'link-test',
          instanceId: 'instance-1',
          // The relay forgets printers a hello does not list.
          printers: [{ id: 'counter', roles: ['receipt', 'kitchen'] }],
          jobIds: [...this.stored.keys()],
        }),
      onDisconnected: (err) => {
        this.disconnects.push(err);
      },
      outboxResendMs: 300,
      reconnect: { minMs: 50, maxMs: 400 },
      log: silentLog,
      ...overrides,
    });
  }

  queue(...events: NewEvent[]): string[] {
    const full = events.map((e) => ({ ...e, id: randomUUID(), at: new Date().toISOString() }) as AgentEvent);
    this.outbox.events.push(...full);
    this.link.flush();
    return full.map((e) => e.id);
  }
}
