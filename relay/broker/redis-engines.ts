/// <reference path="./aedes-persistence-redis.d.ts" />
// What several relay processes share so that they act as one MQTT broker: aedes' own cluster
// mode, with Redis behind its message emitter (mqemitter-redis: a message published on any
// process reaches the subscribers connected to every process) and its persistence
// (aedes-persistence-redis: subscriptions, QoS 1 messages queued for an agent that is away,
// last wills, so an agent that reconnects to another process finds its session there). Each
// process has a broker id of its own; aedes tells the others of its clients and, when a process
// stops sending heartbeats, one of the others publishes the last wills of its agents.
import redisPersistence from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Log } from '../../shared/log.js';
import { maskedUrl } from '../../shared/masked-url.js';

/** The message emitter every relay process's broker shares (what of it the relay uses itself). */
export interface Emitter {
  on(topic: string, listener: (packet: { payload: Buffer | string }, done: () => void) => void): void;
  emit(packet: { topic: string; payload: Buffer }, cb?: (err?: Error) => void): void;
  state: { on(event: 'error', listener: (err: Error) => void): void };
}

export interface RedisEngines {
  /** For Aedes.createBroker. */
  mq: Emitter;
  persistence: unknown;
  /** Why the broker cannot work just now (Redis unreachable), or null. */
  problem(): string | null;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5000;

/**
 * Connects to Redis at `url` (failing clearly at once when it is not there) and makes aedes'
 * engines on it; `onRecovered` is called when Redis is back after a loss.
 */
export async function redisEngines(url: string, log: Log, onRecovered: () => void): Promise<RedisEngines> {
  const where = maskedUrl(url, 'Redis');
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new Error(`cannot reach Redis at ${where}: ${(err as Error).message}`);
  } finally {
    probe.disconnect();
  }

  // Later losses are waited out: ioredis reconnects (with backoff) and replays what was queued.
  const connections = ['publish', 'subscribe', 'persistence'].map(
    () => new Redis(url, { connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: null }),
  ) as [Redis, Redis, Redis];
  let lost: string | null = null;
  for (const conn of connections) {
    conn.on('error', (err: Error) => {
      if (lost === null) log.warn(`Redis at ${where}: ${err.message}; reconnecting`);
      lost = err.message;
    });
    conn.on('ready', () => {
      if (lost !== null && connections.every((c) => c.status === 'ready')) {
        log.info(`Redis at ${where} is back`);
        lost = null;
        onRecovered();
      }
    });
  }
  const [pubConn, subConn, conn] = connections;
  const mq = MQEmitterRedis({ pubConn, subConn }) as unknown as Emitter;
  mq.state.on('error', (err) => log.warn(`Redis message emitter: ${err.message}`));
  return {
    mq,
    persistence: redisPersistence({ conn }),
    problem: () =>
      connections.every((c) => c.status === 'ready')
        ? null
        : `Redis at ${where} is unreachable: ${lost ?? 'connecting'}`,
    // After the broker closed (which closes its emitter): the connections that remain.
    close: async () => {
      for (const c of connections) c.disconnect();
    },
  };
}
