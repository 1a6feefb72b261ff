// A simulated store agent light enough to run thousands per process: raw MQTT packets over a
// TCP socket, speaking docs/protocol.md as the real agent does (subscribe to its downlink, presence,
// hello through the outbox, job-received for every job, reconnect with the agent's jittered
// backoff) but keeping its "database" in memory. It time-stamps what the benchmark measures.
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import mqtt, { type Packet } from 'mqtt-packet';
import { backoffDelay, RECONNECT_DEFAULTS } from '../agent/relay-link.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import type { AgentCredentials } from '../relay/admin.js';
import { nowMs } from './stats.js';

// As agent/relay-link.ts.
const KEEPALIVE_SECONDS = 30;
const CONNECT_TIMEOUT_MS = 10_000;
const { minMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS } = RECONNECT_DEFAULTS;

/** The one printer a light agent reports in its hello. */
export const LIGHT_PRINTER = 'kitchen-1';

export interface AgentSink {
  received(jobId: string, at: number): void;
  delivered(jobId: string, at: number): void;
}

export class LightAgent {
  private socket: Socket | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private nextMessageId = 1;
  private failures = 0;
  private stopped = false;
  private readonly jobIds = new Set<string>();
  /** Outbox ids of job-received events not yet acknowledged, with their job. */
  private readonly unacked = new Map<string, string>();
  private helloId: string | null = null;
  private onFirstUp: (() => void) | null = null;
  private readonly connectionId = randomUUID();
  private readonly downJobs: string;
  private readonly downAcks: string;
  /** CONNACK + SUBACK of the current connection, 0 while down. */
  upAt = 0;
  helloAckedAt = 0;
  lastSentAt = 0;
  refused = 0;

  /** Which of `ports` it tries next: like the agent's relay URLs, the next one after each loss. */
  private portIndex = 0;

  constructor(
    private readonly creds: AgentCredentials,
    private readonly host: string,
    /** The relay's MQTT port, then its alternates (other processes of a cluster). */
    private readonly ports: readonly number[],
    private readonly sink: AgentSink,
  ) {
    this.downJobs = topics.jobs(creds.storeId);
    this.downAcks = topics.acks(creds.storeId);
  }

  /** Connects; calls `onUp` once, when first up (so that initial connects can be paced). */
  start(onUp?: () => void): void {
    this.onFirstUp = onUp ?? null;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.socket?.destroy();
  }

  ping(olderThanMs: number, now: number): void {
    if (this.upAt > 0 && now - this.lastSentAt > olderThanMs) this.send({ cmd: 'pingreq' });
  }

  private connect(): void {
    const port = this.ports[this.portIndex % this.ports.length] as number;
    const socket = connect({ host: this.host, port, noDelay: true });
    this.socket = socket;
    const parser = mqtt.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => this.handle(p));
    parser.on('error', () => socket.destroy());
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.down(socket));
    this.connectTimer = setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    socket.on('connect', () => {
      this.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: this.creds.clientId,
        keepalive: KEEPALIVE_SECONDS,
        username: this.creds.username,
        password: Buffer.from(this.creds.password),
        will: {
          topic: topics.presence(this.creds.storeId),
          payload: this.presence(false),
          qos: 1,
          retain: true,
        },
      });
    });
  }

  private down(socket: Socket): void {
    if (socket !== this.socket) return;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.socket = null;
    const wasUpFor = this.upAt > 0 ? nowMs() - this.upAt : -1;
    this.upAt = 0;
    this.helloAckedAt = 0;
    if (this.stopped) return;
    // The agent's rule: a connection that outlived the longest wait was not part of a crash loop.
    if (wasUpFor >= BACKOFF_MAX_MS) this.failures = 0;
    // The agent's rule with several relays: the next one, and a longer wait only after a full pass.
    this.portIndex++;
    const delay = backoffDelay(Math.floor(this.failures / this.ports.length), BACKOFF_MIN_MS, BACKOFF_MAX_MS);
    this.failures++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private send(packet: Packet): void {
    if (!this.socket) return;
    this.socket.write(mqtt.generate(packet));
    this.lastSentAt = nowMs();
  }

  private publish(topic: string, payload: string, retain = false): void {
    const messageId = this.nextMessageId;
    this.nextMessageId = (this.nextMessageId % 65535) + 1;
    this.send({ cmd: 'publish', topic, payload, qos: 1, messageId, retain, dup: false });
  }

  private presence(online: boolean): string {
    return JSON.stringify({
      v: PROTOCOL_VERSION,
      online,
      at: new Date().toISOString(),
      agentVersion: 'bench-light',
      connectionId: this.connectionId,
    });
  }

  private events(events: Record<string, unknown>[]): string {
    return JSON.stringify({ v: PROTOCOL_VERSION, events });
  }

  private handle(p: Packet): void {
    switch (p.cmd) {
      case 'connack':
        if (p.returnCode !== 0) {
          this.refused++;
          this.socket?.destroy();
          return;
        }
        this.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: topics.agentSubscriptions(this.creds.storeId).map((topic) => ({ topic, qos: 1 })),
        });
        return;
      case 'suback': {
        if (this.connectTimer) clearTimeout(this.connectTimer);
        this.upAt = nowMs();
        this.publish(topics.presence(this.creds.storeId), this.presence(true), true);
        this.helloId = randomUUID();
        const hello = {
          id: this.helloId,
          type: 'hello',
          at: new Date().toISOString(),
          agentVersion: 'bench-light',
          instanceId: this.connectionId,
          printers: [{ id: LIGHT_PRINTER, roles: ['kitchen'] }],
          jobIds: [...this.jobIds],
        };
        // Events the relay has not acknowledged go again after a reconnect, oldest first.
        const resend = [...this.unacked].map(([id, jobId]) => this.jobReceived(id, jobId));
        this.publish(topics.events(this.creds.storeId), this.events([...resend, hello]));
        const first = this.onFirstUp;
        this.onFirstUp = null;
        first?.();
        return;
      }
      case 'publish': {
        const at = nowMs();
        if (p.qos > 0) this.send({ cmd: 'puback', messageId: p.messageId as number });
        if (p.topic === this.downJobs) this.job(p.payload, at);
        else if (p.topic === this.downAcks) this.acks(p.payload, at);
        return;
      }
      default:
        return;
    }
  }

  private jobReceived(id: string, jobId: string) {
    return { id, type: 'job-received', at: new Date().toISOString(), jobId };
  }

  /** Commits the job (a duplicate is not stored again) and queues job-received either way. */
  private job(payload: Buffer | string, at: number): void {
    const { jobId } = JSON.parse(payload.toString()) as { jobId: string };
    if (!this.jobIds.has(jobId)) {
      this.jobIds.add(jobId);
      this.sink.received(jobId, at);
    }
    const id = randomUUID();
    this.unacked.set(id, jobId);
    this.publish(topics.events(this.creds.storeId), this.events([this.jobReceived(id, jobId)]));
  }

  private acks(payload: Buffer | string, at: number): void {
    const { ids } = JSON.parse(payload.toString()) as { ids: string[] };
    // As the agent: the relay works end to end, so a later drop is retried quickly.
    if (this.upAt > 0) this.failures = 0;
    for (const id of ids) {
      if (id === this.helloId) this.helloAckedAt = at;
      const jobId = this.unacked.get(id);
      if (jobId !== undefined) {
        this.unacked.delete(id);
        this.sink.delivered(jobId, at);
      }
    }
  }
}
