// The relay, put together: SQLite store, embedded MQTT broker, dispatcher, uplink handler,
// webhook sender and HTTP API. startRelay() returns once everything listens.

import { mkdirSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseJobRequest } from '../protocol/job.js';
import { compileUplinkValidators } from '../protocol/messages.js';
import { consoleLog, type Log } from '../shared/log.js';
import type { AdminContext } from './admin.js';
import { startAdminChannel } from './admin-channel.js';
import { buildApi, type HttpLimits } from './api/app.js';
import type { AuthThrottleOptions } from './broker/auth-throttle.js';
import { startEmbeddedBroker } from './broker/embedded.js';
import { Dispatcher } from './dispatcher.js';
import { defaultIgnoredEvents, type IgnoredEventOptions, IgnoredEvents } from './ignored-events.js';
import { JobService } from './jobs.js';
import {
  closeServer,
  displayHost,
  type ListenerInfo,
  listen,
  TlsCertificate,
  type TlsFiles,
} from './listeners.js';
import { RelayMetrics } from './metrics.js';
import { OrderService } from './orders/orders.js';
import { TemplateService } from './orders/templates.js';
import type { RelayStore } from './store/job-store.js';
import { openStore } from './store/open.js';
import { Uplink } from './uplink.js';
import { defaultWebhookOptions, type WebhookOptions, WebhookSender } from './webhooks.js';

export interface RelayOptions {
  dataDir: string;
  /**
   * postgres:// URL: the store on PostgreSQL, shareable by several relay processes; absent,
   * relay.db in the data dir (SQLite). See docs/scaling.md.
   */
  database?: string | undefined;
  /** redis:// URL: one MQTT broker with every relay process on that Redis; absent, this process alone. */
  redis?: string | undefined;
  /** Interface to listen on (default 0.0.0.0). */
  host?: string;
  /**
   * Plain listeners: 0 picks a free port, null turns it off. Defaults: HTTP 8080, MQTT 1883,
   * WebSocket 8083. At least one HTTP and one MQTT listener (plain or TLS) must stay on.
   */
  httpPort?: number | null;
  mqttPort?: number | null;
  wsPort?: number | null;
  /** TLS listeners, all with this certificate; ports as above. Defaults: HTTPS 8443, MQTTS 8883, WSS 8884. */
  tls?: (TlsFiles & { httpsPort?: number | null; mqttsPort?: number | null; wssPort?: number | null }) | null;
  /** Expiry of jobs that give none (default 24 h). */
  defaultTtlSeconds?: number;
  /** Largest job request (default 2 MiB); bigger gets a 413. */
  maxBodyBytes?: number;
  /** Request and idle timeouts, enrolment rate limits (defaults: defaultHttpLimits). */
  httpLimits?: Partial<HttpLimits>;
  /** Largest MQTT packet an agent may send (default 2 MiB). */
  maxPacketBytes?: number;
  /** Failed MQTT logins allowed per address and per username (defaults: defaultAuthThrottle). */
  mqttAuthThrottle?: Partial<AuthThrottleOptions>;
  /** Events for jobs a store does not have: summary interval, and how many before its batches are dropped. */
  ignoredEvents?: Partial<IgnoredEventOptions>;
  resendAfterMs?: number;
  /** After an agent's hello, how long a not-ready printer status waits before it is reported (default 5 s; see uplink.ts). */
  printerSettleMs?: number;
  sweepIntervalMs?: number;
  retentionDays?: number;
  webhooks?: Partial<Omit<WebhookOptions, 'log'>>;
  log?: Log;
}

/** Where to reach each listener; null: not listening. */
export interface RelayUrls {
  /** The HTTP API: http:// when plain HTTP is on, else https://. */
  http: string;
  /** MQTT for agents: mqtt:// when plain MQTT is on, else mqtts://. */
  mqtt: string;
  https: string | null;
  mqtts: string | null;
  ws: string | null;
  wss: string | null;
}

export interface Relay {
  urls: RelayUrls;
  /** Every listener, and whether it is plain. */
  listeners: ListenerInfo[];
  /**
   * Serves a new certificate and key on every TLS listener from the next connection on; open
   * connections (agents) stay up. Throws, changing nothing, if the pair is unusable or TLS is off.
   */
  reloadTls(files: TlsFiles): void;
  store: RelayStore;
  dispatcher: Dispatcher;
  webhooks: WebhookSender;
  /** Resolves when every agent message received so far has been handled. */
  uplinkIdle(): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const log = options.log ?? consoleLog;
  const host = options.host ?? '0.0.0.0';
  const bodyLimit = options.maxBodyBytes ?? 2 * 1024 * 1024;
  // Owner-only: the database, and the admin socket that gives its owner control of the relay.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const orDefault = (value: number | null | undefined, fallback: number) =>
    value === undefined ? fallback : value;
  const tls = options.tls ?? null;
  const certificate = tls && new TlsCertificate(tls);
  const ports = {
    http: orDefault(options.httpPort, 8080),
    mqtt: orDefault(options.mqttPort, 1883),
    ws: orDefault(options.wsPort, 8083),
    https: tls ? orDefault(tls.httpsPort, 8443) : null,
    mqtts: tls ? orDefault(tls.mqttsPort, 8883) : null,
    wss: tls ? orDefault(tls.wssPort, 8884) : null,
  };
  if (ports.http === null && ports.https === null)
    throw new Error('the relay needs an HTTP or HTTPS listener');
  if (ports.mqtt === null && ports.mqtts === null)
    throw new Error('the relay needs an MQTT or MQTTS listener');
  const store = await openStore(options.dataDir, options.database, log);
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  let closing: Promise<void> | null = null;
  const closeAll = () => {
    closing ??= (async () => {
      for (const c of cleanups.reverse()) await c();
    })();
    return closing;
  };
  try {
    // Before anything else: it refuses to start beside another relay on the same data.
    const admin: AdminContext = { directory: store, jobs: store, dashboard: store.dashboard };
    const channel = await startAdminChannel(options.dataDir, admin, log);
    if (channel) cleanups.push(() => channel.close());
    // The embedded broker starts empty: no agent is connected until it connects again. Not so
    // with other relay processes on the same broker: their agents stay connected.
    if (!options.redis) await store.markAllOffline();
    // Before anything listens, so that the first order and the first agents do not wait for Ajv.
    parseJobRequest.compile();
    compileUplinkValidators();
    const broker = await startEmbeddedBroker({
      directory: store,
      host,
      mqttPort: ports.mqtt,
      wsPort: ports.ws,
      tls: certificate && { certificate, mqttsPort: ports.mqtts, wssPort: ports.wss },
      maxPacketBytes: options.maxPacketBytes ?? 2 * 1024 * 1024,
      onIdentityConflict: (c) => {
        const data = { ...c, at: new Date(c.at).toISOString() };
        store.recordIdentityConflict(c.storeId, c.at, data).catch((err: unknown) => {
          log.error(`store ${c.storeId}: could not record the identity conflict: ${String(err)}`);
        });
      },
      authThrottle: options.mqttAuthThrottle,
      redis: options.redis,
      onRecovered: () => {
        dispatcher
          .resendUnacknowledged()
          .catch((err: unknown) => log.error(`resending after Redis came back: ${String(err)}`));
      },
      log,
    });

    const metrics = new RelayMetrics(store);
    const unsubscribeMetrics = store.changes.subscribe((change) => metrics.change(change));
    cleanups.push(async () => void unsubscribeMetrics());

    admin.disconnectStore = (storeId) => broker.disconnectStore(storeId);
    const brokerUrl = (kind: 'mqtt' | 'mqtts') => broker.listeners.find((l) => l.kind === kind)?.url;
    admin.mqttUrl = brokerUrl('mqtts') ?? brokerUrl('mqtt');

    const dispatcher = new Dispatcher(store, store, broker.bus, {
      resendAfterMs: options.resendAfterMs ?? 60_000,
      sweepIntervalMs: options.sweepIntervalMs ?? 5_000,
      retentionDays: options.retentionDays ?? 90,
      log,
    });
    const ignored = new IgnoredEvents({ ...defaultIgnoredEvents, ...options.ignoredEvents }, log);
    const uplink = new Uplink(
      store,
      store,
      broker.bus,
      dispatcher,
      log,
      {
        printerSettleMs: options.printerSettleMs ?? 5000,
        eventLag: (seconds) => metrics.uplinkEvent(seconds),
      },
      ignored,
    );
    broker.bus.onUplink((m) => uplink.accept(m));
    cleanups.push(async () => {
      await broker.close();
      uplink.stop();
      await uplink.idle();
      ignored.close();
    });
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());

    const webhooks = new WebhookSender(store, { ...defaultWebhookOptions, ...options.webhooks, log });
    webhooks.start();
    cleanups.push(() => webhooks.stop());

    const service = new JobService(store, store, dispatcher, {
      defaultTtlSeconds: options.defaultTtlSeconds ?? 24 * 3600,
    });
    const templates = new TemplateService(store);
    const listeners: ListenerInfo[] = [];
    const api = await buildApi({
      directory: store,
      jobs: store,
      admin,
      service,
      orders: new OrderService(store, store, service, templates),
      templates,
      dispatcher,
      dashboard: store.dashboard,
      changes: store.changes,
      metrics,
      bodyLimit,
      limits: options.httpLimits,
      listeners: () => listeners,
      brokerProblem: () => broker.problem(),
      log,
    });
    cleanups.push(() => api.close());
    const urlHost = displayHost(host);
    if (ports.http !== null) {
      await api.listen({ port: ports.http, host });
      const { port } = api.server.address() as AddressInfo;
      listeners.push({ kind: 'http', url: `http://${urlHost}:${port}`, tls: false });
    } else {
      await api.ready();
    }
    if (certificate && ports.https !== null) {
      // Fastify serves one server of its own; the HTTPS one hands requests to the same app,
      // with the same timeouts.
      const https = createHttpsServer(certificate.options, api.routing);
      for (const k of ['keepAliveTimeout', 'requestTimeout', 'headersTimeout', 'timeout'] as const) {
        https[k] = api.server[k];
      }
      certificate.serve(https);
      cleanups.push(() => closeServer(https));
      listeners.push({
        kind: 'https',
        url: `https://${urlHost}:${await listen(https, ports.https, host)}`,
        tls: true,
      });
    }
    listeners.push(...broker.listeners);
    const url = (kind: ListenerInfo['kind']) => listeners.find((l) => l.kind === kind)?.url ?? null;

    return {
      urls: {
        http: (url('http') ?? url('https')) as string,
        mqtt: (url('mqtt') ?? url('mqtts')) as string,
        https: url('https'),
        mqtts: url('mqtts'),
        ws: url('ws'),
        wss: url('wss'),
      },
      listeners,
      reloadTls: (files) => {
        if (!certificate) throw new Error('TLS is off: start the relay with a certificate and key first');
        certificate.reload(files);
      },
      store,
      dispatcher,
      webhooks,
      uplinkIdle: () => uplink.idle(),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
