// The store agent's link to the relay (docs/protocol.md): one MQTT connection at a time,
// reconnected with our own jittered backoff; downlink messages handed to the agent before
// their PUBACK; the durable outbox sent up in batches until the relay acknowledges them.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type DoneCallback, type IPublishPacket, type MqttClient } from 'mqtt';
import {
  type AgentCommand,
  type AgentEvent,
  compileDownlinkValidators,
  decodeJson,
  type JobMessage,
  PROTOCOL_VERSION,
  type PresenceMessage,
  parseAckMessage,
  parseControlMessage,
  parseJobMessage,
  type TakeoverNotice,
} from '../protocol/messages.js';
import { parseStoreTopic, topics } from '../protocol/topics.js';
import { consoleLog, type Log } from '../shared/log.js';

export interface Outbox {
  /** Oldest first. */
  pending(limit: number): AgentEvent[];
  /** Deletes them; unknown ids are ignored. */
  acknowledge(ids: string[]): void;
}

export interface RelayLinkOptions {
  /** The relay first, then other processes of its cluster, tried in turn (see connect()). */
  urls: string[];
  storeId: string;
  password: string;
  clientId: string;
  agentVersion: string;
  outbox: Outbox;
  /** Called for each valid down/jobs message; MUST commit synchronously (SQLite) before returning;
   *  the link sends the MQTT PUBACK only after it returns. Throwing = no PUBACK (the relay resends). */
  onJob(msg: JobMessage): void;
  /** Same contract as onJob. (Takeover notices are the link's own business.) */
  onControl(msg: AgentCommand): void;
  /** After each (re)connect, once subscribed and presence published: the agent queues `hello`. */
  onConnected(): void;
  /** The link that was up went down (error: why, or null when it just closed). */
  onDisconnected?(error: Error | null): void;
  /** Send unacknowledged outbox events again after this long (default 10 s). */
  outboxResendMs?: number;
  /** Reconnect backoff bounds (default RECONNECT_DEFAULTS: 1 s .. 10 s). */
  reconnect?: { minMs?: number; maxMs?: number };
  /** The wait after another agent took this store's connection (default IDENTITY_CONFLICT_RETRY: 60 .. 120 s). */
  conflictRetry?: { minMs: number; maxMs: number };
  /** PEM file of the CA that signed the relay's certificate (mqtts://, wss://), read at each connect. */
  caFile?: string;
  log?: Log;
}

const MAX_BATCH_EVENTS = 500;
// Half the broker's default 2 MiB packet limit, so a batch never gets the connection closed.
// No single event can exceed the limit: the schemas bound every event to well under 2 MiB.
const MAX_BATCH_BYTES = 1024 * 1024;
const KEEPALIVE_SECONDS = 30;
const CONNECT_TIMEOUT_MS = 10_000;
// How long a clean shutdown waits for its presence and DISCONNECT to go out.
const CLOSE_TIMEOUT_MS = 3_000;
// CONNACK return codes (MQTT 3.1.1) that mean our credentials or client id are not accepted.
const REFUSALS: Record<number, string> = {
  2: 'identifier rejected: the client id must be the store id or start with "<storeId>:"',
  4: 'bad username or password',
  5: 'not authorized',
};

/**
 * Reconnect waits. The ceiling is short because a store whose link dropped cannot print its
 * orders: after a relay restart every store should be back within seconds, and jitter already
 * spreads 10,000 agents' attempts over it (refused connections cost the relay nothing).
 */
export const RECONNECT_DEFAULTS = { minMs: 1000, maxMs: 10_000 } as const;

/**
 * The wait after the relay gave this store's connection to another agent: long enough that two
 * agents sharing an identity swap at most once a minute or two instead of every second.
 */
export const IDENTITY_CONFLICT_RETRY = { minMs: 60_000, maxMs: 120_000 } as const;

/** Full jitter with a floor: uniform between min and the exponential ceiling. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt + 1, 30));
  return Math.round(minMs + Math.random() * Math.max(0, ceiling - minMs));
}

// Node's codes for a relay certificate the agent cannot trust.
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What went wrong with a connection, in words that say what to do where we know it. */
function describeError(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return `the relay's TLS certificate is not trusted (${err.message}); if the relay uses a private CA, set relay.caFile to its PEM file`;
  }
  return err.message || String(err);
}

function refusalOf(err: Error | null): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? (REFUSALS[code] ?? null) : null;
}

/** What the store's staff and the log see: Chinese first, English beside it. */
function identityConflictMessage(notice: TakeoverNotice): string {
  const by = `client ${JSON.stringify(notice.clientId)}${notice.address ? ` from ${notice.address}` : ''}`;
  return (
    `本店的身份正被另一台电脑使用 / another agent is using this store's identity ` +
    `(${by} took over the connection at ${notice.at}); give each store PC its own store id and password`
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class RelayLink {
  lastConnectedAt: Date | null = null;
  lastError: string | null = null;
  /** When the link last came up or went down (before the first connection: when it started). */
  connectedChangedAt: Date = new Date();
  /** When the relay last handed this store's connection to another agent (see identityConflictAt). */
  private conflictAt: Date | null = null;
  /** The takeover notice received on the current connection, if any. */
  private takenOverBy: TakeoverNotice | null = null;

  private readonly log: Log;
  private readonly resendMs: number;
  private readonly minMs: number;
  private readonly maxMs: number;
  private client: MqttClient | null = null;
  /** Random per connection: the relay ignores an offline presence from an older connection. */
  private connectionId = '';
  private up = false;
  private upSince = 0;
  private started = false;
  private closed = false;
  private failures = 0;
  /** Which of opts.urls the link uses: it moves on after a failed attempt, and stays while one works. */
  private urlIndex = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Ids of the batch waiting for its ack; only one batch is in flight at a time. */
  private inFlight: Set<string> | null = null;
  private resendTimer: NodeJS.Timeout | null = null;
  private flushQueued = false;

  constructor(private readonly opts: RelayLinkOptions) {
    this.log = opts.log ?? consoleLog;
    this.resendMs = opts.outboxResendMs ?? 10_000;
    this.minMs = opts.reconnect?.minMs ?? RECONNECT_DEFAULTS.minMs;
    this.maxMs = Math.max(this.minMs, opts.reconnect?.maxMs ?? RECONNECT_DEFAULTS.maxMs);
  }

  /** The relay address in use (or being tried). */
  get url(): string {
    return this.opts.urls[this.urlIndex] as string;
  }

  /** Subscribed, presence published: downlink flows and the outbox is being sent. */
  get connected(): boolean {
    return this.up;
  }

  /**
   * When another agent last took this store's connection; null once this agent has held the
   * connection longer than the other one's retry wait (it is gone), or if it never happened.
   */
  get identityConflictAt(): Date | null {
    const wait = this.opts.conflictRetry ?? IDENTITY_CONFLICT_RETRY;
    if (this.conflictAt && this.up && Date.now() - this.upSince > 2 * wait.maxMs) {
      this.conflictAt = null;
    }
    return this.conflictAt;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connectedChangedAt = new Date();
    this.connect();
  }

  /** Something new is in the outbox: send it soon (coalesces a burst of calls into one batch). */
  flush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.sendNext();
    });
  }

  /** Publishes presence offline (retained) if connected, then disconnects; no reconnect after. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopResendTimer();
    const client = this.client;
    this.client = null;
    const wasUp = this.up;
    this.up = false;
    if (!client) return;
    if (!wasUp) {
      // Still connecting: nothing to say goodbye on.
      client.end(true);
      return;
    }
    await withTimeout(
      client
        .publishAsync(topics.presence(this.opts.storeId), JSON.stringify(this.presence(false, new Date())), {
          qos: 1,
          retain: true,
        })
        .catch(() => undefined),
      CLOSE_TIMEOUT_MS,
    );
    // A DISCONNECT (no last will); a connection that cannot even do that is cut.
    await withTimeout(
      client.endAsync().catch(() => undefined),
      CLOSE_TIMEOUT_MS,
    );
    client.stream.destroy();
    this.log.info('relay: link closed');
  }

  private presence(online: boolean, at: Date, connectionId = this.connectionId): PresenceMessage {
    return {
      v: PROTOCOL_VERSION,
      online,
      at: at.toISOString(),
      agentVersion: this.opts.agentVersion,
      connectionId,
    };
  }

  private connect(): void {
    const { storeId } = this.opts;
    const url = this.url;
    const connectionId = randomUUID();
    this.connectionId = connectionId;
    this.takenOverBy = null;
    let lastError: Error | null = null;
    let ca: Buffer | undefined;
    if (this.opts.caFile !== undefined) {
      try {
        ca = readFileSync(this.opts.caFile);
      } catch (err) {
        this.retryLater(
          `cannot read relay.caFile ${this.opts.caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        );
        return;
      }
    }
    const client = mqtt.connect(url, {
      ...(ca ? { ca } : {}),
      clientId: this.opts.clientId,
      username: storeId,
      password: this.opts.password,
      protocolVersion: 4,
      clean: true,
      keepalive: KEEPALIVE_SECONDS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Our own backoff: mqtt.js would retry every second with no jitter.
      reconnectPeriod: 0,
      will: {
        topic: topics.presence(storeId),
        payload: Buffer.from(JSON.stringify(this.presence(false, new Date(), connectionId))),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.handleMessage = (packet, done) => this.receive(client, packet, done);
    client.on('error', (err) => {
      lastError = err;
    });
    client.on('connect', () => {
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.setUp(client).catch((err: unknown) => {
        lastError = err as Error;
        this.log.warn(`relay: setting up the connection failed: ${(err as Error).message}`);
        client.end(true);
      });
    });
    client.once('close', () => this.closedConnection(client, lastError));
  }

  private async setUp(client: MqttClient): Promise<void> {
    const { storeId } = this.opts;
    // mqtt.js rejects when the SUBACK refuses the filter (0x80).
    const subscribed = client.subscribeAsync(topics.agentSubscriptions(storeId), { qos: 1 });
    // While the SUBACK is on its way: the jobs that follow it must not wait for Ajv.
    compileDownlinkValidators();
    await subscribed;
    await client.publishAsync(topics.presence(storeId), JSON.stringify(this.presence(true, new Date())), {
      qos: 1,
      retain: true,
    });
    if (this.client !== client) return;
    this.up = true;
    this.upSince = Date.now();
    this.lastConnectedAt = new Date();
    this.connectedChangedAt = this.lastConnectedAt;
    this.lastError = null;
    this.log.info(`relay: connected to ${this.url} as ${this.opts.clientId}`);
    this.opts.onConnected();
    // Including whatever was in flight on the previous connection.
    this.sendNext();
  }

  private closedConnection(client: MqttClient, error: Error | null): void {
    if (this.client !== client) return;
    this.client = null;
    const wasUp = this.up;
    this.up = false;
    if (wasUp) this.connectedChangedAt = new Date();
    this.inFlight = null;
    this.stopResendTimer();
    // A connection that outlived the longest wait was not part of a crash loop either.
    if (wasUp && Date.now() - this.upSince >= this.maxMs) this.failures = 0;
    const refusal = refusalOf(error);
    const takenOverBy = this.takenOverBy;
    let delay: number;
    if (takenOverBy) {
      const wait = this.opts.conflictRetry ?? IDENTITY_CONFLICT_RETRY;
      delay = backoffDelay(0, wait.minMs, wait.maxMs);
      this.lastError = identityConflictMessage(takenOverBy);
    } else if (refusal) {
      // Retrying fast cannot help; an operator has to fix the config (or the relay its records):
      // 1.5 to 3 times the longest wait (15 to 30 s by default).
      delay = Math.round(this.maxMs * (1.5 + Math.random() * 1.5));
      this.lastError = `the relay refused the credentials of store ${this.opts.storeId} (${refusal}); check the agent's storeId and password`;
    } else {
      // Every relay of the list is tried once before the wait grows: a dead process is left for
      // the next one at once, while a store whose internet is down still backs off.
      delay = backoffDelay(Math.floor(this.failures / this.opts.urls.length), this.minMs, this.maxMs);
      this.lastError = error ? describeError(error) : 'connection closed';
    }
    this.failures++;
    const retry = `retrying in ${(delay / 1000).toFixed(1)} s`;
    if (takenOverBy) {
      // One line per takeover, with the wait, not a line per reconnect attempt.
      this.log.error(`relay: ${this.lastError}; ${retry}`);
      if (wasUp) this.opts.onDisconnected?.(error);
    } else if (wasUp) {
      this.log.warn(`relay: connection lost (${this.lastError}); ${retry}`);
      this.opts.onDisconnected?.(error);
    } else if (refusal) {
      this.log.error(`relay: ${this.lastError}; ${retry}`);
    } else {
      this.log.warn(`relay: cannot connect to ${this.url} (${this.lastError}); ${retry}`);
    }
    // A connection that never came up (or a refusal) moves on to the next relay; a lost one
    // tries its relay again first (a restart is quick), then moves on if that fails.
    if (!wasUp && !takenOverBy && this.opts.urls.length > 1) {
      this.urlIndex = (this.urlIndex + 1) % this.opts.urls.length;
      this.log.info(`relay: next attempt at ${this.url}`);
    }
    this.reconnectAfter(delay);
  }

  /** A connection that could not even be attempted: retry after the normal backoff. */
  private retryLater(reason: string): void {
    const delay = backoffDelay(this.failures++, this.minMs, this.maxMs);
    this.lastError = reason;
    this.log.error(`relay: ${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.reconnectAfter(delay);
  }

  private reconnectAfter(delay: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) this.connect();
    }, delay);
  }

  /** The relay is about to close this connection because another agent proved the same identity. */
  private takenOver(client: MqttClient, notice: TakeoverNotice): void {
    if (this.client !== client) return;
    this.takenOverBy = notice;
    this.conflictAt = new Date();
    this.lastError = identityConflictMessage(notice);
  }

  /** mqtt.js calls this for each PUBLISH and sends the PUBACK when `done` is called without error. */
  private receive(client: MqttClient, packet: IPublishPacket, done: DoneCallback): void {
    const t = parseStoreTopic(packet.topic);
    if (!t || t.storeId !== this.opts.storeId || t.direction !== 'down') {
      this.log.warn(`relay: ignored a message on ${packet.topic}`);
      done();
      return;
    }
    let handle: () => void;
    try {
      const body = decodeJson(packet.payload, `${t.channel} message`);
      if (t.channel === 'jobs') {
        const msg = parseJobMessage(body);
        handle = () => this.opts.onJob(msg);
      } else if (t.channel === 'control') {
        const msg = parseControlMessage(body);
        handle = msg.type === 'takeover' ? () => this.takenOver(client, msg) : () => this.opts.onControl(msg);
      } else {
        const msg = parseAckMessage(body);
        handle = () => this.acknowledged(msg.ids);
      }
    } catch (err) {
      // It will never become valid: acknowledge it so that it does not come back forever.
      this.log.warn(`relay: ignored an invalid ${t.channel} message: ${(err as Error).message}`);
      done();
      return;
    }
    try {
      handle();
    } catch (err) {
      // No PUBACK: the relay sends it again, and then it may be stored.
      this.log.error(`relay: could not handle a ${t.channel} message: ${(err as Error).message}`);
      done(err as Error);
      return;
    }
    done();
  }

  private acknowledged(ids: string[]): void {
    this.opts.outbox.acknowledge(ids);
    // The relay handled what we sent on this connection, so it works end to end: a later drop
    // (a relay restart, a cut link) is retried quickly instead of after the grown backoff.
    if (this.up) this.failures = 0;
    if (!this.inFlight) return;
    for (const id of ids) this.inFlight.delete(id);
    if (this.inFlight.size === 0) {
      this.inFlight = null;
      this.stopResendTimer();
      this.sendNext();
    }
  }

  /** Publishes the next batch of the outbox unless one is already waiting for its ack. */
  private sendNext(): void {
    const client = this.client;
    if (!client || !this.up || this.inFlight) return;
    const events = this.opts.outbox.pending(MAX_BATCH_EVENTS);
    if (events.length === 0) return;
    const parts: string[] = [];
    let bytes = 0;
    for (const event of events) {
      const json = JSON.stringify(event);
      const size = Buffer.byteLength(json) + 1;
      if (parts.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      parts.push(json);
      bytes += size;
    }
    const ids = new Set(events.slice(0, parts.length).map((e) => e.id));
    this.inFlight = ids;
    const payload = `{"v":${PROTOCOL_VERSION},"events":[${parts.join(',')}]}`;
    client.publish(topics.events(this.opts.storeId), payload, { qos: 1 }, (err) => {
      // A lost connection is handled by the reconnect; the resend timer covers the rest.
      if (err && this.client === client) this.log.warn(`relay: sending events failed: ${err.message}`);
    });
    this.resendTimer = setTimeout(() => {
      this.resendTimer = null;
      if (this.inFlight !== ids) return;
      this.log.warn(`relay: no ack for ${ids.size} event(s) after ${this.resendMs} ms; sending again`);
      this.inFlight = null;
      this.sendNext();
    }, this.resendMs);
  }

  private stopResendTimer(): void {
    if (this.resendTimer) clearTimeout(this.resendTimer);
    this.resendTimer = null;
  }
}
