// The embedded MQTT broker (aedes) with its listeners: MQTT over TCP and over WebSocket,
// each plain and/or TLS. Authentication and the topic ACL come from ./access.ts, one
// connection per store from ./takeover.ts.

import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { parseStoreTopic } from '../../protocol/topics.js';
import type { Log } from '../../shared/log.js';
import { closeServer, displayHost, type ListenerInfo, listen, type TlsCertificate } from '../listeners.js';
import type { Directory } from '../store/job-store.js';
import { type AuthResult, authenticateAgent, maySubscribe, publishRefusal } from './access.js';
import { AuthThrottle, type AuthThrottleOptions, defaultAuthThrottle } from './auth-throttle.js';
import type { MessageBus, UplinkMessage } from './bus.js';
import { guarded } from './packet-guard.js';
import {
  type ClusterChannel,
  type IdentityConflict,
  StoreConnections,
  type TakeoverMessage,
} from './takeover.js';

export interface BrokerOptions {
  directory: Directory;
  host: string;
  /** Plain listeners; null: none. */
  mqttPort: number | null;
  wsPort: number | null;
  /** TLS listeners, with the relay's certificate; a null port: none. */
  tls: { certificate: TlsCertificate; mqttsPort: number | null; wssPort: number | null } | null;
  /** Largest MQTT packet an agent may send; a bigger one closes its connection. */
  maxPacketBytes: number;
  /** Two live agents used one store's identity (once per episode, see ./takeover.ts). */
  onIdentityConflict?: (conflict: IdentityConflict) => void;
  /** Failed logins allowed per address and per username (defaults: defaultAuthThrottle). */
  authThrottle?: Partial<AuthThrottleOptions>;
  /** Redis URL: one broker with the other relay processes on it (./redis-engines.ts); absent, this process alone. */
  redis?: string | undefined;
  /** Redis is back after a loss: what was published meanwhile may be lost. */
  onRecovered?: () => void;
  log: Log;
}

export interface EmbeddedBroker {
  bus: MessageBus;
  listeners: ListenerInfo[];
  /**
   * Closes the connections of a store's agent now (its credentials were revoked); how many on
   * this process. Other relay processes on the same Redis close theirs too.
   */
  disconnectStore(storeId: string): number;
  /** Why it cannot carry messages just now (Redis unreachable), or null. */
  problem(): string | null;
  close(): Promise<void>;
}

// CONNACK return codes for each refusal
const RETURN_CODES: Record<Exclude<AuthResult, { ok: true }>['reason'], number> = {
  'bad-client-id': 2, // identifier rejected
  'bad-credentials': 4, // bad user name or password
  disabled: 5, // not authorized
};
const SERVER_UNAVAILABLE = 3;
/** Between relay processes only: emitted on the broker's emitter, never published to MQTT clients. */
const DISCONNECT_STORE_TOPIC = 'printrelay-relays/disconnect-store';
/** Between relay processes: the takeover of a store's connection held by another (./takeover.ts). */
const TAKEOVER_TOPIC = 'printrelay-relays/takeover';
/** How long a publish may wait for Redis before the caller goes on (the message still goes out later). */
const PUBLISH_WAIT_MS = 3000;

export async function startEmbeddedBroker(opts: BrokerOptions): Promise<EmbeddedBroker> {
  const { directory, log } = opts;
  const storeOf = new WeakMap<Client, string>();
  const handlers: ((m: UplinkMessage) => void)[] = [];
  // The peer address of each connection aedes handles (it sees only the stream).
  const addressOf = new WeakMap<object, string>();
  let connections: StoreConnections | null = null;
  /** Clients whose login was refused: counted in the throttle's summary, not logged again. */
  const refusedLogin = new WeakSet<Client>();
  const throttle = new AuthThrottle({ ...defaultAuthThrottle, ...opts.authThrottle }, log);
  // Loaded only for a cluster: a lone relay (and the agent, in the same bundle) never evaluates the Redis clients.
  const engines = opts.redis
    ? await (await import('./redis-engines.js')).redisEngines(opts.redis, log, () => opts.onRecovered?.())
    : null;

  const broker = await Aedes.createBroker({
    ...(engines ? { mq: engines.mq, persistence: engines.persistence, id: `relay-${randomUUID()}` } : {}),
    authenticate: (client, username, password, done) => {
      const address = addressOf.get(client.conn) ?? 'unknown';
      const refuse = (message: string, returnCode: number) => {
        refusedLogin.add(client);
        done(Object.assign(new Error(message), { returnCode }), false);
      };
      const wait = throttle.check(address, username);
      if (wait > 0) {
        // "Server unavailable": the client retries later; its credentials were not checked.
        refuse(`too many failed logins: try again in ${Math.ceil(wait / 1000)} s`, SERVER_UNAVAILABLE);
        return;
      }
      authenticateAgent(directory, client.id, username, password).then(
        (r) => {
          if (r.ok) {
            storeOf.set(client, r.storeId);
            // A connection with the same client id is told and closed before this one is registered.
            (connections as StoreConnections).admit(client, r.storeId, r.online).then(
              () => done(null, true),
              (err: unknown) => {
                log.error(`mqtt: taking over store ${r.storeId}'s connection failed: ${String(err)}`);
                done(null, true);
              },
            );
            return;
          }
          throttle.failed(address, username, r.reason);
          refuse(r.message, RETURN_CODES[r.reason]);
        },
        (err: unknown) => {
          log.error(`mqtt: authentication failed: ${String(err)}`);
          refuse('server unavailable', SERVER_UNAVAILABLE);
        },
      );
    },
    authorizePublish: (client, packet, done) => {
      // Publishes by the relay itself (client null) are trusted.
      if (!client) return done(null);
      const storeId = storeOf.get(client);
      const refusal = storeId ? publishRefusal(storeId, packet.topic, packet.retain) : 'not authenticated';
      if (refusal) {
        log.warn(`mqtt: client ${client.id}: ${refusal}; disconnecting it`);
        return done(new Error(refusal));
      }
      // Nobody reads retained messages from this broker: agents subscribe only to their own
      // downlink, and the relay takes presence as it arrives and keeps it in SQLite. Stored,
      // they would cost a scan of all of them on every SUBSCRIBE (aedes' in-memory
      // persistence), which slowed reconnect storms of thousands of stores.
      packet.retain = false;
      done(null);
    },
    authorizeSubscribe: (client, sub, done) => {
      const storeId = storeOf.get(client);
      if (storeId && maySubscribe(storeId, sub.topic)) {
        // The store's jobs go to this connection from now on; one that had them is told and closed.
        (connections as StoreConnections).claimDownlink(client, storeId).then(
          () => done(null, sub),
          (err: unknown) => {
            log.error(`mqtt: taking over store ${storeId}'s downlink failed: ${String(err)}`);
            done(null, sub);
          },
        );
        return;
      }
      log.warn(`mqtt: client ${client.id}: may not subscribe to ${sub.topic}`);
      // null: a SUBACK failure (0x80) for this filter; the client stays connected.
      done(null, null);
    },
  });

  const cluster: ClusterChannel | null = engines && {
    self: broker.id,
    send: (m) => engines.mq.emit({ topic: TAKEOVER_TOPIC, payload: Buffer.from(JSON.stringify(m)) }),
    onMessage: (handler) =>
      engines.mq.on(TAKEOVER_TOPIC, (packet, done) => {
        try {
          handler(JSON.parse(packet.payload.toString()) as TakeoverMessage);
        } catch (err) {
          log.error(`mqtt: a takeover message from another relay process: ${String(err)}`);
        }
        done();
      }),
  };
  connections = new StoreConnections(
    broker,
    (client) => addressOf.get(client.conn) ?? null,
    (conflict) => opts.onIdentityConflict?.(conflict),
    log,
    cluster,
  );

  // What agents publish is handled by the process they are connected to: the 'publish' event
  // comes only for publishes made on this process (its agents', and the last wills it gives
  // out), never for those the other relay processes forward through Redis.
  broker.on('publish', (packet: AedesPublishPacket) => {
    const t = parseStoreTopic(packet.topic);
    if (t?.direction !== 'up') return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    for (const h of handlers) h({ storeId: t.storeId, channel: t.channel, payload });
  });
  // A persistence or emitter failure (Redis gone) is waited out, not a crash.
  (broker as unknown as EventEmitter).on('error', (err: Error) => log.error(`mqtt: ${err.message}`));

  // The connected clients of each store, so that revoking its credentials can close them.
  const connected = new Map<string, Set<Client>>();
  broker.on('client', (client) => {
    const storeId = storeOf.get(client);
    if (storeId) connected.set(storeId, (connected.get(storeId) ?? new Set()).add(client));
  });
  broker.on('clientDisconnect', (client) => {
    const storeId = storeOf.get(client);
    const clients = storeId === undefined ? undefined : connected.get(storeId);
    clients?.delete(client);
    if (storeId !== undefined && clients?.size === 0) connected.delete(storeId);
  });
  const disconnectHere = (storeId: string): number => {
    const clients = [...(connected.get(storeId) ?? [])];
    for (const client of clients) client.close();
    return clients.length;
  };
  // With other relay processes, the store's agent may be connected to any of them: they are
  // told through the broker's own emitter (on Redis), a topic no MQTT client can reach.
  if (engines) {
    engines.mq.on(DISCONNECT_STORE_TOPIC, (packet, done) => {
      disconnectHere(packet.payload.toString());
      done();
    });
  }
  const disconnectStore = (storeId: string): number => {
    engines?.mq.emit({ topic: DISCONNECT_STORE_TOPIC, payload: Buffer.from(storeId) });
    return disconnectHere(storeId);
  };

  broker.on('clientError', (client, err) => {
    // The guarded stream (Duplex.from) reports a connection that ended normally, e.g. after a
    // DISCONNECT, as an AbortError: not worth a warning. A refused login is in the throttle's
    // summary.
    if (err.name === 'AbortError' || refusedLogin.has(client)) return;
    log.warn(`mqtt: client ${client.id}: ${err.message}`);
  });

  const accept = (conn: Duplex, socket: Socket, req?: IncomingMessage) => {
    socket.setNoDelay(true);
    const stream = guarded(conn, opts.maxPacketBytes);
    if (socket.remoteAddress) addressOf.set(stream, socket.remoteAddress);
    broker.handle(stream, req);
  };
  const servers: (Server | HttpServer)[] = [];
  const sockets: WebSocketServer[] = [];
  const close = async () => {
    // Closing the broker disconnects every client, so the servers can then close.
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await engines?.close();
    throttle.close();
    for (const wss of sockets) {
      for (const client of wss.clients) client.terminate();
      wss.close();
    }
    await Promise.all(servers.map(closeServer));
  };
  const webSocketsOn = (http: HttpServer) => {
    const wss = new WebSocketServer({ server: http, maxPayload: opts.maxPacketBytes + 16 });
    sockets.push(wss);
    wss.on('connection', (ws, req) => accept(createWebSocketStream(ws), req.socket, req));
  };
  const notWebSocket: Parameters<typeof createHttpServer>[1] = (_req, res) => {
    res
      .writeHead(426, { 'content-type': 'text/plain' })
      .end('MQTT over WebSocket: connect with a WebSocket client\n');
  };

  const host = displayHost(opts.host);
  const listeners: ListenerInfo[] = [];
  const add = async (kind: ListenerInfo['kind'], server: Server | HttpServer, port: number) => {
    servers.push(server);
    listeners.push({
      kind,
      url: `${kind}://${host}:${await listen(server, port, opts.host)}`,
      tls: kind === 'mqtts' || kind === 'wss',
    });
  };
  try {
    if (opts.mqttPort !== null) {
      await add(
        'mqtt',
        createNetServer((socket) => accept(socket, socket)),
        opts.mqttPort,
      );
    }
    const tls = opts.tls;
    if (tls && tls.mqttsPort !== null) {
      const server = createTlsServer(tls.certificate.options, (socket) => accept(socket, socket));
      tls.certificate.serve(server);
      await add('mqtts', server, tls.mqttsPort);
    }
    if (opts.wsPort !== null) {
      const http = createHttpServer(notWebSocket);
      webSocketsOn(http);
      await add('ws', http, opts.wsPort);
    }
    if (tls && tls.wssPort !== null) {
      const https = createHttpsServer(tls.certificate.options, notWebSocket);
      tls.certificate.serve(https);
      webSocketsOn(https);
      await add('wss', https, tls.wssPort);
    }
  } catch (err) {
    await close();
    throw err;
  }

  const bus: MessageBus = {
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        // On Redis a publish waits for it; one that waits too long is left to go out when Redis
        // is back, and the caller treats the job as published later (the sweep, the agent's hello).
        const timer = engines
          ? setTimeout(
              () => reject(new Error(`no answer from Redis in ${PUBLISH_WAIT_MS} ms`)),
              PUBLISH_WAIT_MS,
            )
          : null;
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
          (err?: Error) => {
            if (timer) clearTimeout(timer);
            if (err) reject(err);
            else resolve();
          },
        );
      }),
    onUplink: (handler) => {
      handlers.push(handler);
    },
  };

  return { bus, listeners, disconnectStore, problem: () => engines?.problem() ?? null, close };
}
