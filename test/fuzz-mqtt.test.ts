// Property-based tests of what agents send the real relay over MQTT with real credentials:
// any uplink payload leaves the relay running and the agent connected, every event of a
// well-formed batch is acknowledged (valid or not, so it cannot jam the outbox), garbage on
// the MQTT port closes only that connection, and a valid job still flows afterwards.
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_JOB_STATES, decodeJson, parseEventBatchEnvelope } from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import type { AgentCredentials } from '../relay/admin.js';
import type { Log } from '../shared/log.js';
import { FakeAgent, jobBody, startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';
import { text } from './support/fuzz-arbitraries.js';

const STORE = 'fuzz-mqtt';
const errors: string[] = [];
const log: Log = { info() {}, warn() {}, error: (m) => errors.push(m) };
let t: TestRelay;
let creds: AgentCredentials;
let agent: FakeAgent;
/** Jobs of this store and of another one, for events to name. */
const jobIds: string[] = [];

beforeAll(async () => {
  t = await startTestRelay({ log });
  creds = await t.store(STORE);
  await t.store('fuzz-other');
  agent = await FakeAgent.connect(t.relay.urls.mqtt, creds);
  await agent.hello();
  for (let i = 0; i < 4; i++) jobIds.push(await t.createJob(jobBody(STORE)));
  jobIds.push(await t.createJob(jobBody('fuzz-other')));
});
afterAll(async () => {
  await agent?.close();
  await t?.close();
});

const iso = fc
  .date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true })
  .map((d) => d.toISOString());
// Read when generating: the jobs are made in beforeAll.
const knownJob = fc.nat().map((i) => jobIds[i % jobIds.length] as string);
const jobId = fc.oneof(knownJob, fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), text(10));
const printerId = fc.oneof(fc.constantFrom('kitchen-1', 'receipt-1'), text(20));
const status = fc.oneof(
  fc.record({
    connected: fc.boolean(),
    online: fc.boolean(),
    paper: fc.constantFrom('ok', 'near-end', 'out', 'unknown'),
    coverOpen: fc.boolean(),
    cutterError: fc.boolean(),
    mechanicalError: fc.boolean(),
    unrecoverableError: fc.boolean(),
    overheat: fc.boolean(),
    drawerOpen: fc.constantFrom(true, false, null),
    source: fc.constantFrom('asb', 'dle-eot', 'none'),
    updatedAt: iso,
  }),
  fc.jsonValue(),
);
const count = fc.oneof(fc.nat(), fc.double(), fc.constant(-1));
const eventBody = fc.oneof(
  fc.record({
    type: fc.constant('hello'),
    agentVersion: text(10),
    instanceId: fc.oneof(fc.constant('instance-1'), text(20)),
    printers: fc.array(
      fc.record(
        { id: printerId, roles: fc.array(text(10), { maxLength: 3 }), status },
        { requiredKeys: ['id', 'roles'] },
      ),
      { maxLength: 3 },
    ),
    jobIds: fc.array(jobId, { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant('job-received'), jobId: jobId }),
  fc.record(
    {
      type: fc.constant('job-state'),
      jobId: jobId,
      state: fc.constantFrom(...AGENT_JOB_STATES, 'sent', 'exploded'),
      detail: text(40),
      printerId,
    },
    { requiredKeys: ['type', 'jobId', 'state'] },
  ),
  fc.record({ type: fc.constant('printer-status'), printerId, status }),
  fc.record({
    type: fc.constant('health'),
    agentVersion: text(10),
    uptimeSeconds: count,
    memoryRssBytes: count,
    heldJobs: count,
    printers: fc.array(fc.record({ printerId, queueDepth: count, printedJobs: count, paperUsedMm: count }), {
      maxLength: 2,
    }),
  }),
  fc.dictionary(fc.constantFrom('type', 'jobId', 'state', 'printers', 'x'), fc.jsonValue()),
);
const event = fc
  .tuple(fc.uuid(), fc.oneof(iso, fc.jsonValue()), eventBody)
  .map(([id, at, body]) => ({ type: 'unknown', ...body, id, at }));
const payload = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ v: fc.constant(1), events: fc.array(event, { minLength: 1, maxLength: 8 }) })
      .map((b) => JSON.stringify(b)),
  },
  {
    weight: 1,
    arbitrary: fc.record({ v: fc.jsonValue(), events: fc.jsonValue() }).map((b) => JSON.stringify(b)),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
);

/** The outbox ids the relay must acknowledge for this payload: all of them when the envelope is sound. */
function idsToAck(p: string | Buffer): string[] {
  try {
    return parseEventBatchEnvelope(decodeJson(p, 'batch')).events.map((e) => e.id);
  } catch {
    return [];
  }
}

/** Connects a raw socket, optionally logs in, writes `bytes`; resolves when closed or after a pause. */
function garbage(port: number, bytes: Uint8Array, login: boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 50);
    socket.on('close', done);
    socket.on('error', () => {});
    socket.on('connect', () => {
      if (!login) return void socket.write(bytes);
      const connectPacket = mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: `${STORE}:fuzz`,
        keepalive: 30,
        username: creds.username,
        password: Buffer.from(creds.password),
      });
      socket.once('data', () => socket.write(bytes));
      socket.write(connectPacket);
    });
  });
}

describe('agent uplink payloads (fast-check)', () => {
  it('acknowledges every event of a sound batch, ignores the rest, and keeps the agent connected', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        await agent.client.publishAsync(topics.events(STORE), p, { qos: 1 });
        const ids = idsToAck(p);
        if (ids.length > 0) await waitFor(() => ids.every((id) => agent.acked.has(id)), 'acks');
        else await t.relay.uplinkIdle();
        expect(agent.client.connected).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect(errors).toEqual([]);
  });

  it('survives any presence payload without dropping the agent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({
            v: fc.constant(1),
            online: fc.boolean(),
            at: iso,
            agentVersion: text(10),
            connectionId: text(20),
          }),
          fc.jsonValue(),
        ),
        fc.boolean(),
        async (body, retain) => {
          await agent.client.publishAsync(topics.presence(STORE), JSON.stringify(body), { qos: 1, retain });
          await t.relay.uplinkIdle();
          expect(agent.client.connected).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('closes only the connection that sends garbage, before or after logging in', async () => {
    const port = Number(new URL(t.relay.urls.mqtt).port);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.boolean(),
        async (bytes, login) => {
          await garbage(port, bytes, login);
          expect(agent.client.connected).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('still delivers a job afterwards, end to end', async () => {
    // As after a reconnect: presence and hello put the store back in a known state.
    await agent.client.publishAsync(topics.presence(STORE), agent.presence(true), { qos: 1, retain: true });
    await agent.hello([], 'instance-after-fuzz');
    const id = await t.createJob(jobBody(STORE));
    await agent.waitForJob(id);
    await agent.send({ type: 'job-received', jobId: id });
    await waitFor(async () => {
      const job = (await (await t.api(`/v1/jobs/${id}`)).json()) as { state: string };
      return job.state === 'delivered';
    }, 'the job delivered');
  });
});
