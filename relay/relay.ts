// The relay, put together: SQLite store, embedded MQTT broker, dispatcher, uplink handler,
// webhook sender and HTTP API. startRelay() returns once everything listens.
import type { AddressInfo } from 'node:net';
import { parseJobRequest } from '../protocol/job.js';
import { compileUplinkValidators } from '../protocol/messages.js';
import { consoleLog, type Log } from '../shared/log.js';
import { buildApi } from './api/app.js';
import { startEmbeddedBroker } from './broker/embedded.js';
import { Dispatcher } from './dispatcher.js';
import { JobService } from './jobs.js';
import type { RelayStore } from './store/job-store.js';
import { openRelayStore } from './store/open.js';
import { Uplink } from './uplink.js';
import { defaultWebhookOptions, type WebhookOptions, WebhookSender } from './webhooks.js';

export interface RelayOptions {
  dataDir: string;
  /** Interface to listen on (default 0.0.0.0). */
  host?: string;
  /** 0 picks a free port. Defaults: HTTP 8080, MQTT 1883, WebSocket 8083 (null: none), MQTTS 8883. */
  httpPort?: number;
  mqttPort?: number;
  wsPort?: number | null;
  tls?: { cert: string | Buffer; key: string | Buffer; port?: number } | null;
  /** Expiry of jobs that give none (default 24 h). */
  defaultTtlSeconds?: number;
  /** Largest job request (default 2 MiB); bigger gets a 413. */
  maxBodyBytes?: number;
  /** Largest MQTT packet an agent may send (default 2 MiB). */
  maxPacketBytes?: number;
  resendAfterMs?: number;
  sweepIntervalMs?: number;
  retentionDays?: number;
  webhooks?: Partial<Omit<WebhookOptions, 'log'>>;
  log?: Log;
}

export interface RelayUrls {
  http: string;
  mqtt: string;
  mqtts: string | null;
  ws: string | null;
}

export interface Relay {
  urls: RelayUrls;
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
  const store = openRelayStore(options.dataDir);
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  let closing: Promise<void> | null = null;
  const closeAll = () => {
    closing ??= (async () => {
      for (const c of cleanups.reverse()) await c();
    })();
    return closing;
  };
  try {
    // The embedded broker starts empty: no agent is connected until it connects again.
    await store.markAllOffline();
    // Before anything listens, so that the first order and the first agents do not wait for Ajv.
    parseJobRequest.compile();
    compileUplinkValidators();
    const broker = await startEmbeddedBroker({
      directory: store,
      host,
      mqttPort: options.mqttPort ?? 1883,
      wsPort: options.wsPort === undefined ? 8083 : options.wsPort,
      tls: options.tls
        ? { cert: options.tls.cert, key: options.tls.key, port: options.tls.port ?? 8883 }
        : null,
      maxPacketBytes: options.maxPacketBytes ?? 2 * 1024 * 1024,
      log,
    });

    const dispatcher = new Dispatcher(store, store, broker.bus, {
      resendAfterMs: options.resendAfterMs ?? 60_000,
      sweepIntervalMs: options.sweepIntervalMs ?? 5_000,
      retentionDays: options.retentionDays ?? 90,
      log,
    });
    const uplink = new Uplink(store, store, broker.bus, dispatcher, log);
    broker.bus.onUplink((m) => uplink.accept(m));
    cleanups.push(async () => {
      await broker.close();
      await uplink.idle();
    });
    dispatcher.start();
    cleanups.push(() => dispatcher.stop());

    const webhooks = new WebhookSender(store, { ...defaultWebhookOptions, ...options.webhooks, log });
    webhooks.start();
    cleanups.push(() => webhooks.stop());

    const service = new JobService(store, store, dispatcher, {
      defaultTtlSeconds: options.defaultTtlSeconds ?? 24 * 3600,
    });
    const api = await buildApi({ directory: store, jobs: store, service, bodyLimit, log });
    await api.listen({ port: options.httpPort ?? 8080, host });
    cleanups.push(() => api.close());
    const { port } = api.server.address() as AddressInfo;
    const httpHost = broker.urls.mqtt.slice('mqtt://'.length).replace(/:\d+$/, '');

    return {
      urls: { http: `http://${httpHost}:${port}`, ...broker.urls },
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
