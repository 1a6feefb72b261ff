// Shared by the relay tests: a relay on loopback ports with a temp data dir, and a fake
// store agent written with mqtt.js that speaks docs/protocol.md.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { waitFor } from '../harness/wait.js';
import {
  type AckMessage,
  type ControlMessage,
  decodeJson,
  type JobMessage,
  PROTOCOL_VERSION,
  parseAckMessage,
  parseControlMessage,
  parseJobMessage,
} from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import { type AgentCredentials, addApiKey, addStore } from '../relay/admin.js';
import { type Relay, type RelayOptions, startRelay } from '../relay/relay.js';
import type { StoreScope } from '../relay/store/job-store.js';
import { silentLog } from '../shared/log.js';

// Tests wait with the harness's one waitFor.
export { waitFor };

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'printrelay-relay-'));
}

export interface TestRelay {
  relay: Relay;
  dataDir: string;
  apiKey: string;
  store: (id: string) => Promise<AgentCredentials>;
  key: (stores: StoreScope) => Promise<string>;
  api: (path: string, init?: RequestInit & { json?: unknown; key?: string | null }) => Promise<Response>;
  /** POST /v1/jobs that must answer 201; the new job's id. */
  createJob: (body: unknown, idempotencyKey?: string) => Promise<string>;
  close: (opts?: { keepData?: boolean }) => Promise<void>;
}

export async function startTestRelay(options: Partial<RelayOptions> = {}): Promise<TestRelay> {
  const dataDir = options.dataDir ?? tempDir();
  const relay = await startRelay({
    host: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    wsPort: 0,
    sweepIntervalMs: 50,
    log: silentLog,
    webhooks: { pollMs: 20, baseDelayMs: 50, maxDelayMs: 200, allowPrivateNetworks: true },
    ...options,
    dataDir,
  });
  const key = async (stores: StoreScope) => (await addApiKey(relay.store, 'test', stores)).key;
  const apiKey = await key('all');
  return {
    relay,
    dataDir,
    apiKey,
    key,
    store: async (id) => (await addStore(relay.store, id, `Store ${id}`)).credentials,
    api: (path, init = {}) => {
      const { json, key: k, headers, ...rest } = init;
      const h = new Headers(headers);
      const useKey = k === undefined ? apiKey : k;
      if (useKey !== null) h.set('authorization', `Bearer ${useKey}`);
      if (json !== undefined) h.set('content-type', 'application/json');
      return fetch(`${relay.urls.http}${path}`, {
        ...rest,
        headers: h,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
    },
    createJob: async (body, idempotencyKey = randomUUID()) => {
      const res = await fetch(`${relay.urls.http}/v1/jobs`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`POST /v1/jobs answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { jobId: string }).jobId;
    },
    close: async (opts = {}) => {
      await relay.close();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** MQTT connect that resolves on CONNACK and rejects on refusal, without reconnecting. */
export function connectMqtt(url: string, opts: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.once('connect', () => {
      // No Nagle delay on the client side either (see docs/platform.md, aedes).
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      resolve(client);
    });
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

type EventBody = Record<string, unknown> & { type: string };

/** A store agent as another team would write it from docs/protocol.md, minus the printing. */
export class FakeAgent {
  readonly jobs: JobMessage[] = [];
  readonly controls: ControlMessage[] = [];
  readonly acked = new Set<string>();

  private constructor(
    readonly client: MqttClient,
    readonly storeId: string,
    readonly connectionId: string,
  ) {
    client.on('message', (topic, payload) => {
      const body = decodeJson(payload, topic);
      if (topic === topics.jobs(storeId)) this.jobs.push(parseJobMessage(body));
      else if (topic === topics.control(storeId)) this.controls.push(parseControlMessage(body));
      else if (topic === topics.acks(storeId))
        for (const id of (parseAckMessage(body) as AckMessage).ids) this.acked.add(id);
    });
  }

  presence(online: boolean): string {
    return FakeAgent.presence(online, this.connectionId);
  }

  private static presence(online: boolean, connectionId: string): string {
    return JSON.stringify({
      v: PROTOCOL_VERSION,
      online,
      at: new Date().toISOString(),
      agentVersion: 'test-1',
      connectionId,
    });
  }

  static async connect(
    url: string,
    creds: AgentCredentials,
    opts: { clientId?: string; ca?: Buffer } = {},
  ): Promise<FakeAgent> {
    const connectionId = randomUUID();
    const presence = (online: boolean) => FakeAgent.presence(online, connectionId);
    const client = await connectMqtt(url, {
      clientId: opts.clientId ?? creds.clientId,
      username: creds.username,
      password: creds.password,
      clean: true,
      ...(opts.ca ? { ca: opts.ca } : {}),
      will: {
        topic: topics.presence(creds.storeId),
        payload: Buffer.from(presence(false)),
        qos: 1,
        retain: true,
      },
    });
    const agent = new FakeAgent(client, creds.storeId, connectionId);
    await client.subscribeAsync(topics.agentSubscriptions(creds.storeId), { qos: 1 });
    await client.publishAsync(topics.presence(creds.storeId), presence(true), { qos: 1, retain: true });
    return agent;
  }

  /** Publishes events as one batch and waits until the relay acknowledged all of them. */
  async send(...events: EventBody[]): Promise<string[]> {
    const withIds = events.map((e) => ({ id: randomUUID(), at: new Date().toISOString(), ...e }));
    await this.publishBatch(withIds);
    const ids = withIds.map((e) => e.id as string);
    await waitFor(
      () => ids.every((id) => this.acked.has(id)),
      `acks for ${events.map((e) => e.type).join(', ')}`,
    );
    return ids;
  }

  async publishBatch(events: unknown[]): Promise<void> {
    await this.client.publishAsync(
      topics.events(this.storeId),
      JSON.stringify({ v: PROTOCOL_VERSION, events }),
      { qos: 1 },
    );
  }

  /** By default one printer that takes both roles the tests send to. */
  hello(
    jobIds: string[] = [],
    instanceId = 'instance-1',
    printers: unknown[] = [{ id: 'p1', roles: ['kitchen', 'receipt'] }],
  ): Promise<string[]> {
    return this.send({ type: 'hello', agentVersion: 'test-1', instanceId, printers, jobIds });
  }

  waitForJob(jobId: string): Promise<JobMessage> {
    return waitFor(() => this.jobs.find((j) => j.jobId === jobId), `job ${jobId} at the agent`);
  }

  /** Ends the connection without DISCONNECT, so the broker publishes the last will. */
  drop(): void {
    this.client.stream.destroy();
    this.client.end(true);
  }

  /** A clean shutdown: presence offline first (a clean DISCONNECT sends no last will). */
  async close(): Promise<void> {
    await this.client.publishAsync(topics.presence(this.storeId), this.presence(false), {
      qos: 1,
      retain: true,
    });
    await this.client.endAsync();
  }
}

export const sampleTicket = {
  blocks: [{ type: 'text', text: '宫保鸡丁 x1', bold: true }, { type: 'cut' }],
};

export function jobBody(storeId: string, extra: Record<string, unknown> = {}) {
  return {
    storeId,
    printer: 'kitchen',
    ticket: sampleTicket,
    orderRef: { source: 'pos', orderNo: 'A-1001' },
    ...extra,
  };
}
