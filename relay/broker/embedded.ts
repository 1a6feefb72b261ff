// The embedded MQTT broker (aedes) with its listeners: TCP, optional TLS, optional
// WebSocket. Authentication and the topic ACL come from ./access.ts.
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { parseStoreTopic, topics } from '../../protocol/topics.js';
import type { Log } from '../../shared/log.js';
import type { Directory } from '../store/job-store.js';
import { authenticateAgent, maySubscribe, publishRefusal } from './access.js';
import { AuthThrottle, type AuthThrottleOptions, defaultAuthThrottle } from './auth-throttle.js';
import type { MessageBus, UplinkMessage } from './bus.js';
import { guarded } from './packet-guard.js';

export interface BrokerOptions {
  directory: Directory;
  host: string;
  mqttPort: number;
  /** null: no WebSocket listener. */
  wsPort: number | null;
  tls: { cert: string | Buffer; key: string | Buffer; port: number } | null;
  /** Largest MQTT packet an agent may send; a bigger one closes its connection. */
  maxPacketBytes: number;
  /** Failed logins allowed per address and per username (defaults: defaultAuthThrottle). */
  authThrottle?: Partial<AuthThrottleOptions>;
  log: Log;
}

export interface EmbeddedBroker {
  bus: MessageBus;
  urls: { mqtt: string; mqtts: string | null; ws: string | null };
  close(): Promise<void>;
}

// aedes error codes for CONNACK
const BAD_USERNAME_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

async function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server | HttpServer): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startEmbeddedBroker(opts: BrokerOptions): Promise<EmbeddedBroker> {
  const { directory, log } = opts;
  const storeOf = new WeakMap<Client, string>();
  const addressOf = new WeakMap<Client, string>();
  /** Clients whose login was refused: counted in the throttle's summary, not logged again. */
  const refusedLogin = new WeakSet<Client>();
  const handlers: ((m: UplinkMessage) => void)[] = [];
  const throttle = new AuthThrottle({ ...defaultAuthThrottle, ...opts.authThrottle }, log);

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const address = addressOf.get(client) ?? 'unknown';
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
            done(null, true);
            return;
          }
          throttle.failed(address, username, r.reason);
          refuse(r.message, r.reason === 'bad-client-id' ? IDENTIFIER_REJECTED : BAD_USERNAME_OR_PASSWORD);
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
      if (storeId && maySubscribe(storeId, sub.topic)) return done(null, sub);
      log.warn(`mqtt: client ${client.id}: may not subscribe to ${sub.topic}`);
      // null: a SUBACK failure (0x80) for this filter; the client stays connected.
      done(null, null);
    },
  });

  const deliver = (packet: AedesPublishPacket, cb: () => void) => {
    const t = parseStoreTopic(packet.topic);
    if (t && t.direction === 'up') {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      for (const h of handlers) h({ storeId: t.storeId, channel: t.channel, payload });
    }
    cb();
  };
  await new Promise<void>((resolve) => broker.subscribe(topics.relayUplink, deliver, resolve));

  broker.on('clientError', (client, err) => {
    // The guarded stream (Duplex.from) reports a connection that ended normally, e.g. after a
    // DISCONNECT, as an AbortError: not worth a warning. A refused login is in the throttle's
    // summary.
    if (err.name === 'AbortError' || refusedLogin.has(client)) return;
    log.warn(`mqtt: client ${client.id}: ${err.message}`);
  });

  const accept = (conn: Duplex, req?: IncomingMessage) => {
    const client = broker.handle(guarded(conn, opts.maxPacketBytes), req);
    const address = (req?.socket ?? (conn as Partial<Socket>)).remoteAddress;
    if (address) addressOf.set(client, address);
  };
  const tcp = createNetServer({ noDelay: true }, (socket) => accept(socket));
  let tlsServer: Server | null = null;
  let wsHttp: HttpServer | null = null;
  let wss: WebSocketServer | null = null;
  const close = async () => {
    // Closing the broker disconnects every client, so the servers can then close.
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throttle.close();
    for (const client of wss?.clients ?? []) client.terminate();
    wss?.close();
    await Promise.all([closeServer(tcp), tlsServer && closeServer(tlsServer), wsHttp && closeServer(wsHttp)]);
  };

  const host = displayHost(opts.host);
  const urls: EmbeddedBroker['urls'] = { mqtt: '', mqtts: null, ws: null };
  try {
    urls.mqtt = `mqtt://${host}:${await listen(tcp, opts.mqttPort, opts.host)}`;
    if (opts.tls) {
      const server = createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, (socket) => {
        socket.setNoDelay(true);
        accept(socket);
      });
      tlsServer = server;
      urls.mqtts = `mqtts://${host}:${await listen(server, opts.tls.port, opts.host)}`;
    }
    if (opts.wsPort !== null) {
      const http = createHttpServer((_req, res) => {
        res
          .writeHead(426, { 'content-type': 'text/plain' })
          .end('MQTT over WebSocket: connect with a WebSocket client\n');
      });
      wsHttp = http;
      const server = new WebSocketServer({ server: http, maxPayload: opts.maxPacketBytes + 16 });
      wss = server;
      server.on('connection', (socket, req) => {
        req.socket.setNoDelay(true);
        accept(createWebSocketStream(socket), req);
      });
      urls.ws = `ws://${host}:${await listen(http, opts.wsPort, opts.host)}`;
    }
  } catch (err) {
    await close();
    throw err;
  }

  const bus: MessageBus = {
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
          (err?: Error) => (err ? reject(err) : resolve()),
        );
      }),
    onUplink: (handler) => {
      handlers.push(handler);
    },
  };

  return { bus, urls, close };
}
