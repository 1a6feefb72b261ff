// Relay fan-out benchmark. Simulated agents (bench/light-agent.ts, in worker processes)
// connect over loopback to the broker under test (bench/broker-child.ts, its own process);
// this process sends the orders, open loop at a fixed rate, and joins the time stamps.
// Each scenario runs twice in the same run: against the relay (HTTP order -> SQLite ->
// MQTT -> job-received -> delivered) and against a bare aedes broker with plain QoS 1 and no
// durability (MQTT publish -> subscriber), the baseline the relay is compared with.
import { type ChildProcess, fork } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { JobMessage } from '../protocol/messages.js';
import { parseTicket } from '../protocol/ticket.js';
import { topics } from '../protocol/topics.js';
import { type AgentCredentials, addApiKey, newAgentCredentials } from '../relay/admin.js';
import { openStore } from '../relay/store/open.js';
import { silentLog } from '../shared/log.js';
import type {
  BrokerConfig,
  BrokerKind,
  BrokerReply,
  BrokerRequest,
  Stamps,
  WorkerReply,
  WorkerRequest,
  WorkerStats,
} from './ipc.js';
import { REPO_ROOT } from './repo.js';
import { fmt, nowMs, percentile, table, verdict } from './stats.js';

export interface FanoutOptions {
  agentCounts: number[];
  /** Order rates (per second) and how long each is offered. */
  phases: { rate: number; seconds: number }[];
  /** Processes the simulated agents are spread over. */
  workers: number;
  /** Initial connects in flight per worker. */
  connectWindow: number;
  /** How long a phase may take to deliver what was accepted, the agents to connect, a storm to reconnect. */
  drainTimeoutMs: number;
  connectTimeoutMs: number;
  stormTimeoutMs: number;
  log: (line: string) => void;
}

export const HOST = '127.0.0.1';
const ticket = parseTicket(
  JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/tickets/kitchen-ticket.json'), 'utf8')),
);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process spoken to by request and typed reply. */
export class Child<Req, Rep extends { type: string }> {
  private readonly waiters: { type: string; resolve: (m: Rep) => void; reject: (e: Error) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: Rep) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
    });
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code) => {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${name} exited (code ${code})`));
        resolve(code);
      }),
    );
  }

  next<T extends Rep['type']>(type: T): Promise<Extract<Rep, { type: T }>> {
    return new Promise((resolve, reject) =>
      this.waiters.push({ type, resolve: resolve as (m: Rep) => void, reject }),
    );
  }

  ask<T extends Rep['type']>(req: Req, type: T): Promise<Extract<Rep, { type: T }>> {
    const reply = this.next(type);
    this.send(req);
    return reply;
  }

  /** Sends without waiting for a reply; a child that is gone fails whoever waits on it. */
  send(req: Req): void {
    this.proc.send(req as object, (err) => {
      if (!err) return;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.name}: ${err.message}`));
    });
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

export type Broker = Child<BrokerRequest, BrokerReply>;
export type Worker = Child<WorkerRequest, WorkerReply>;

export async function startBroker(
  config: BrokerConfig,
): Promise<{ broker: Broker; ready: BrokerReply & { type: 'ready' } }> {
  const proc = fork(join(import.meta.dirname, 'broker-child.js'), [JSON.stringify(config)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const broker: Broker = new Child(`${config.kind} broker`, proc);
  return { broker, ready: await broker.next('ready') };
}

export async function stopBroker(broker: Broker): Promise<void> {
  await broker.ask({ type: 'stop' }, 'stopped');
  await broker.exited;
}

/** BENCH_CPU_PROF=DIR: a V8 CPU profile of the broker during each order phase and storm, to see what bounds it. */
async function profiled<T>(broker: Broker, name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return run();
  await broker.ask({ type: 'profile-start' }, 'profiling');
  const result = await run();
  await broker.ask({ type: 'profile-stop', file: join(dir, `${name}.cpuprofile`) }, 'profiled');
  return result;
}

/** `count` stores with agent credentials and one API key, in a data dir to copy per scenario. */
export async function makeTemplate(
  count: number,
  database?: string,
): Promise<{ dir: string; creds: AgentCredentials[]; apiKey: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-bench-'));
  const store = await openStore(dir, database, silentLog);
  const creds: AgentCredentials[] = [];
  const now = Date.now();
  // Many at a time, so that the store's group commit puts them in few transactions.
  for (let from = 0; from < count; from += 500) {
    const ids = Array.from(
      { length: Math.min(500, count - from) },
      (_, k) => `s${String(from + k).padStart(5, '0')}`,
    );
    await Promise.all(ids.map((id) => store.createStore({ id, name: `Bench store ${id}`, createdAt: now })));
    creds.push(...(await Promise.all(ids.map((id) => newAgentCredentials(store, id, now)))));
  }
  const { key } = await addApiKey(store, 'bench', 'all');
  await store.close();
  return { dir, creds, apiKey: key };
}

export async function workerStats(workers: Worker[]): Promise<WorkerStats> {
  const all = await Promise.all(workers.map((w) => w.ask({ type: 'stats' }, 'stats')));
  return all.reduce(
    (s, w) => ({
      agents: s.agents + w.agents,
      up: s.up + w.up,
      helloAcked: s.helloAcked + w.helloAcked,
      lastUpAt: Math.max(s.lastUpAt, w.lastUpAt),
      lastHelloAckAt: Math.max(s.lastHelloAckAt, w.lastHelloAckAt),
      refused: s.refused + w.refused,
    }),
    { agents: 0, up: 0, helloAcked: 0, lastUpAt: 0, lastHelloAckAt: 0, refused: 0 },
  );
}

interface UpResult {
  upMs: number;
  helloMs: number;
  /** Agents up (hello acknowledged, against the relay) `markMs` after `since`. */
  upAtMark: number;
  shortfall: string | null;
}

/**
 * Waits until every agent is up (and, against the relay, its hello acknowledged); returns
 * how long that took after `since`, or a description of how far it got by the deadline.
 */
export async function allUp(
  workers: Worker[],
  n: number,
  hello: boolean,
  since: number,
  timeoutMs: number,
  markMs = Number.POSITIVE_INFINITY,
): Promise<UpResult> {
  const deadline = nowMs() + timeoutMs;
  let upAtMark = Number.NaN;
  for (;;) {
    const s = await workerStats(workers);
    const ready = hello ? Math.min(s.up, s.helloAcked) : s.up;
    if (Number.isNaN(upAtMark) && nowMs() >= since + markMs) upAtMark = ready;
    const done = ready === n;
    if (done || nowMs() > deadline) {
      return {
        upMs: done ? s.lastUpAt - since : Number.NaN,
        helloMs: done && hello ? s.lastHelloAckAt - since : Number.NaN,
        // Done before the mark: all of them were up at the mark.
        upAtMark: Number.isNaN(upAtMark) && done ? n : upAtMark,
        shortfall: done
          ? null
          : `after ${fmt(timeoutMs / 1000, 0)} s only ${s.up}/${n} up${hello ? `, ${s.helloAcked} hellos acknowledged` : ''}${s.refused ? `, ${s.refused} refused` : ''}`,
      };
    }
    await sleep(100);
  }
}

interface Order {
  sched: number;
  accepted: number;
  jobId: string;
}

export interface PhaseResult {
  rate: number;
  offered: number;
  accepted: number;
  failed: number;
  lost: number;
  /** 201 (or PUBACK) per second, from the first scheduled send to the last acceptance. */
  acceptPerSecond: number;
  acceptLatency: number[];
  toAgent: number[];
  toAgentFromSend: number[];
  toDelivered: number[];
  cpuMsPer1000: number;
}

export type Sender = (storeId: string, i: number, sched: number) => Promise<Order | null>;

export function httpSender(
  httpPort: number,
  apiKey: string,
  runId: string,
): { send: Sender; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const send: Sender = (storeId, i, sched) =>
    new Promise((resolve) => {
      const body = JSON.stringify({
        storeId,
        printer: 'kitchen',
        ticket,
        orderRef: { source: 'bench', orderNo: `${runId}-${i}` },
      });
      const req = request(
        {
          host: HOST,
          port: httpPort,
          path: '/v1/jobs',
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': `${runId}-${i}`,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            const accepted = nowMs();
            if (res.statusCode !== 201) return resolve(null);
            resolve({ sched, accepted, jobId: (JSON.parse(text) as { jobId: string }).jobId });
          });
        },
      );
      req.on('error', () => resolve(null));
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

async function mqttSender(mqttPort: number, runId: string): Promise<{ send: Sender; close: () => void }> {
  const client = await mqtt.connectAsync(`mqtt://${HOST}:${mqttPort}`, {
    clientId: `bench-publisher-${runId}`,
    reconnectPeriod: 0,
  });
  const send: Sender = (storeId, i, sched) =>
    new Promise((resolve) => {
      const jobId = `${runId}-${i}`;
      const message: JobMessage = {
        v: 1,
        jobId,
        printer: 'kitchen',
        ticket,
        copies: 1,
        onExpiry: 'expire',
        createdAt: new Date().toISOString(),
      };
      client.publish(topics.jobs(storeId), JSON.stringify(message), { qos: 1 }, (err) =>
        resolve(err ? null : { sched, accepted: nowMs(), jobId }),
      );
    });
  return { send, close: () => client.end(true) };
}

export async function collect(
  workers: Worker[],
  received: Map<string, number>,
  delivered: Map<string, number>,
) {
  const add = (into: Map<string, number>, stamps: Stamps) => {
    for (const [id, at] of stamps) if (!into.has(id)) into.set(id, at);
  };
  for (const c of await Promise.all(workers.map((w) => w.ask({ type: 'collect' }, 'collected')))) {
    add(received, c.received);
    add(delivered, c.delivered);
  }
}

export async function runPhase(
  kind: BrokerKind,
  brokers: Broker[],
  workers: Worker[],
  sender: Sender,
  storeIds: string[],
  rate: number,
  timing: { seconds: number; drainTimeoutMs: number },
): Promise<PhaseResult> {
  const received = new Map<string, number>();
  const delivered = new Map<string, number>();
  await collect(workers, received, delivered);
  received.clear();
  delivered.clear();
  const cpu = async () =>
    (await Promise.all(brokers.map((b) => b.ask({ type: 'usage', gc: false }, 'usage')))).reduce(
      (ms, u) => ms + u.cpuMs,
      0,
    );
  const cpu0 = await cpu();

  const offered = Math.round(rate * timing.seconds);
  const pending: Promise<Order | null>[] = [];
  const start = nowMs() + 5;
  // Open loop: orders go out on schedule whether or not earlier ones were answered, and
  // latency counts from the scheduled time, so a slow broker cannot hide its queue.
  while (pending.length < offered) {
    const due = Math.min(offered, Math.floor(((nowMs() - start) * rate) / 1000) + 1);
    while (pending.length < due) {
      const i = pending.length;
      const storeId = storeIds[Math.floor(Math.random() * storeIds.length)] as string;
      pending.push(sender(storeId, i, start + (i * 1000) / rate));
    }
    await sleep(1);
  }
  const orders = (await Promise.all(pending)).filter((o): o is Order => o !== null);
  const deadline = nowMs() + timing.drainTimeoutMs;
  for (;;) {
    await collect(workers, received, delivered);
    const done = orders.every((o) => received.has(o.jobId) && (kind === 'aedes' || delivered.has(o.jobId)));
    if (done || nowMs() > deadline) break;
    await sleep(200);
  }
  const cpu1 = await cpu();

  const lastAccepted = Math.max(...orders.map((o) => o.accepted));
  const since = (from: Map<string, number>, base: (o: Order) => number) =>
    orders.flatMap((o) => {
      const at = from.get(o.jobId);
      return at === undefined ? [] : [at - base(o)];
    });
  return {
    rate,
    offered,
    accepted: orders.length,
    failed: offered - orders.length,
    lost: orders.filter((o) => !received.has(o.jobId)).length,
    acceptPerSecond: orders.length > 0 ? (orders.length * 1000) / (lastAccepted - start) : 0,
    acceptLatency: orders.map((o) => o.accepted - o.sched),
    toAgent: since(received, (o) => o.accepted),
    toAgentFromSend: since(received, (o) => o.sched),
    toDelivered: kind === 'relay' ? since(delivered, (o) => o.accepted) : [],
    cpuMsPer1000: ((cpu1 - cpu0) * 1000) / orders.length,
  };
}

/** One broker under test with its agents: the relay, or bare aedes. */
interface Side {
  kind: BrokerKind;
  dataDir: string;
  broker: Broker;
  ready: BrokerReply & { type: 'ready' };
  workers: Worker[];
  /** RSS and heap before any agent connected. */
  empty: BrokerReply & { type: 'usage' };
  agents: number;
  /** Why this side stopped early, if it did. */
  broken: string | null;
}

interface StepResult {
  agents: number;
  /** From adding the agents of this step to the last of them up (and its hello acknowledged). */
  connectMs: number;
  helloMs: number;
  memPerAgentBytes: number;
  heapPerAgentBytes: number;
  idleRssBytes: number;
  /** Broker CPU per second with every agent connected and no orders (keepalives). */
  idleCpuMsPerS: number;
  phases: PhaseResult[];
  problems: string[];
}

interface StormResult {
  connectMs: number;
  helloMs: number;
  upAt30s: number;
  problems: string[];
}

/** Every child process started, so that a failed run leaves none behind. */
export const children: { kill(): void }[] = [];
export const track = <T extends { kill(): void }>(c: T): T => {
  children.push(c);
  return c;
};

async function startSide(kind: BrokerKind, templateDir: string, opts: FanoutOptions): Promise<Side> {
  const dataDir = mkdtempSync(join(tmpdir(), 'printrelay-bench-run-'));
  if (kind === 'relay') cpSync(templateDir, dataDir, { recursive: true });
  const { broker, ready } = await startBroker({ kind, dataDir, mqttPort: 0, httpPort: 0 });
  track(broker);
  const workers = Array.from({ length: opts.workers }, (_, w) => {
    const proc = fork(join(import.meta.dirname, 'agent-worker.js'), [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return track<Worker>(new Child(`${kind} agent worker ${w}`, proc));
  });
  const empty = await broker.ask({ type: 'usage', gc: true }, 'usage');
  return { kind, dataDir, broker, ready, workers, empty, agents: 0, broken: null };
}

/** Brings the side up to `n` agents; measures the connects, then the idle cost of all of them. */
async function growSide(
  side: Side,
  n: number,
  creds: AgentCredentials[],
  opts: FanoutOptions,
): Promise<StepResult> {
  const step: StepResult = {
    agents: n,
    connectMs: Number.NaN,
    helloMs: Number.NaN,
    memPerAgentBytes: Number.NaN,
    heapPerAgentBytes: Number.NaN,
    idleRssBytes: Number.NaN,
    idleCpuMsPerS: Number.NaN,
    phases: [],
    problems: [],
  };
  if (side.broken) return step;
  const t0 = nowMs();
  side.workers.forEach((worker, w) => {
    const share = creds.slice(side.agents, n).filter((_, i) => i % side.workers.length === w);
    worker.send({
      type: 'add',
      host: HOST,
      ports: [side.ready.mqttPort],
      agents: share,
      window: opts.connectWindow,
    });
  });
  const up = await allUp(side.workers, n, side.kind === 'relay', t0, opts.connectTimeoutMs);
  side.agents = n;
  if (up.shortfall) {
    side.broken = `connecting ${n} agents: ${up.shortfall}`;
    step.problems.push(side.broken);
    return step;
  }
  step.connectMs = up.upMs;
  step.helloMs = up.helloMs;
  opts.log(`  ${side.kind}: ${n} agents up, the last ${fmt(up.upMs, 0)} ms after adding them`);
  step.idleCpuMsPerS = await idleCpu(side.broker);
  const idle = await side.broker.ask({ type: 'usage', gc: true }, 'usage');
  step.memPerAgentBytes = (idle.rssBytes - side.empty.rssBytes) / n;
  step.heapPerAgentBytes = (idle.heapUsedBytes - side.empty.heapUsedBytes) / n;
  step.idleRssBytes = idle.rssBytes;
  return step;
}

async function phaseOn(
  side: Side,
  rate: number,
  storeIds: string[],
  apiKey: string,
  opts: FanoutOptions,
): Promise<PhaseResult | null> {
  if (side.broken) return null;
  const runId = `${side.kind}-${side.agents}-${rate}-${Date.now().toString(36)}`;
  const sender =
    side.kind === 'relay'
      ? httpSender(side.ready.httpPort, apiKey, runId)
      : await mqttSender(side.ready.mqttPort, runId);
  try {
    const phase = await profiled(side.broker, `${side.kind}-${side.agents}-agents-${rate}-per-s`, () =>
      runPhase(side.kind, [side.broker], side.workers, sender.send, storeIds, rate, {
        seconds: opts.phases.find((p) => p.rate === rate)?.seconds ?? 0,
        drainTimeoutMs: opts.drainTimeoutMs,
      }),
    );
    opts.log(
      `  ${side.kind}: ${rate}/s: ${phase.accepted}/${phase.offered} accepted at ${fmt(phase.acceptPerSecond, 0)}/s, ` +
        `p99 order sent -> agent ${fmt(percentile(phase.toAgentFromSend, 99), 1)} ms, ${phase.lost} not received`,
    );
    return phase;
  } finally {
    sender.close();
  }
}

/** The broker restarts on the same ports; every agent comes back on its own backoff. */
async function storm(side: Side, opts: FanoutOptions): Promise<StormResult> {
  const result: StormResult = {
    connectMs: Number.NaN,
    helloMs: Number.NaN,
    upAt30s: Number.NaN,
    problems: [],
  };
  if (side.broken) return result;
  await stopBroker(side.broker);
  await waitAllDown(side.workers);
  const { broker, ready } = await startBroker({
    kind: side.kind,
    dataDir: side.dataDir,
    mqttPort: side.ready.mqttPort,
    httpPort: side.ready.httpPort,
  });
  track(broker);
  side.broker = broker;
  side.ready = ready;
  const back = await profiled(broker, `${side.kind}-${side.agents}-agents-storm`, () =>
    allUp(side.workers, side.agents, side.kind === 'relay', ready.at, opts.stormTimeoutMs, 30_000),
  );
  if (back.shortfall) result.problems.push(`reconnect storm: ${back.shortfall}`);
  result.connectMs = back.upMs;
  result.helloMs = back.helloMs;
  result.upAt30s = back.upAtMark;
  opts.log(
    `  ${side.kind}: reconnect storm: ${back.shortfall ?? `all ${side.agents} up ${fmt(back.upMs, 0)} ms after the restart`}`,
  );
  return result;
}

/**
 * What the connected agents cost the broker with no orders flowing (keepalives), once it has
 * finished with the connects: 1 s windows until three in a row are within 10% of the quietest
 * seen (at most 30 s); their mean, in CPU ms per second.
 */
async function idleCpu(broker: Broker): Promise<number> {
  const windows: number[] = [];
  let last = await broker.ask({ type: 'usage', gc: false }, 'usage');
  let lastAt = nowMs();
  for (let i = 0; i < 30; i++) {
    await sleep(1000);
    const u = await broker.ask({ type: 'usage', gc: false }, 'usage');
    const at = nowMs();
    windows.push(((u.cpuMs - last.cpuMs) * 1000) / (at - lastAt));
    last = u;
    lastAt = at;
    const quiet = Math.min(...windows);
    const recent = windows.slice(-3);
    if (recent.length === 3 && recent.every((w) => w <= quiet * 1.1 + 1)) break;
  }
  const recent = windows.slice(-3);
  return recent.reduce((a, b) => a + b, 0) / recent.length;
}

async function waitAllDown(workers: Worker[]): Promise<void> {
  const deadline = nowMs() + 30_000;
  for (;;) {
    const { up } = await workerStats(workers);
    if (up === 0) return;
    if (nowMs() > deadline) throw new Error(`${up} agents still connected to a stopped broker`);
    await sleep(50);
  }
}

// --- report ------------------------------------------------------------------------------

const ms = (v: number) => (Number.isFinite(v) ? `${fmt(v, 1)} ms` : 'n/a');
const kb = (bytes: number) => (Number.isFinite(bytes) ? `${fmt(bytes / 1000, 1)} KB` : 'n/a');
const pcts = (values: number[]) =>
  values.length === 0 ? 'n/a' : [50, 99, 99.9].map((p) => fmt(percentile(values, p), 1)).join(' / ');
const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${fmt(a / b, 2)}x` : '';
const p99 = (v: number[]) => percentile(v, 99);

function stepTable(relay: StepResult, base: StepResult, added: number): string {
  const rows: string[][] = [
    [
      `connect ${added.toLocaleString('en-US')} more agents: last one up`,
      ms(relay.connectMs),
      ms(base.connectMs),
      ratio(relay.connectMs, base.connectMs),
    ],
    ['... and its hello acknowledged', ms(relay.helloMs), '', ''],
    [
      'memory per connected idle agent (RSS growth / agents)',
      kb(relay.memPerAgentBytes),
      kb(base.memPerAgentBytes),
      ratio(relay.memPerAgentBytes, base.memPerAgentBytes),
    ],
    [
      '... of which JS heap',
      kb(relay.heapPerAgentBytes),
      kb(base.heapPerAgentBytes),
      ratio(relay.heapPerAgentBytes, base.heapPerAgentBytes),
    ],
    [
      'broker CPU while idle (keepalives)',
      `${fmt(relay.idleCpuMsPerS, 1)} ms/s`,
      `${fmt(base.idleCpuMsPerS, 1)} ms/s`,
      ratio(relay.idleCpuMsPerS, base.idleCpuMsPerS),
    ],
  ];
  const rates = [...new Set([...relay.phases, ...base.phases].map((p) => p.rate))];
  for (const rate of rates) {
    const r = relay.phases.find((p) => p.rate === rate);
    const b = base.phases.find((p) => p.rate === rate);
    const col = (f: (p: PhaseResult) => string) => [r ? f(r) : 'n/a', b ? f(b) : 'n/a'];
    const num = (f: (p: PhaseResult) => number) => ratio(r ? f(r) : Number.NaN, b ? f(b) : Number.NaN);
    rows.push(
      [`**${rate.toLocaleString('en-US')} orders/s**, ${(r ?? b)?.offered ?? 0} offered`, '', '', ''],
      ['accepted / failed / never received', ...col((p) => `${p.accepted} / ${p.failed} / ${p.lost}`), ''],
      [
        'accept throughput (201, or PUBACK)',
        ...col((p) => `${fmt(p.acceptPerSecond, 0)}/s`),
        num((p) => p.acceptPerSecond),
      ],
      [
        'order sent -> accepted, p50 / p99 / p99.9 ms',
        ...col((p) => pcts(p.acceptLatency)),
        num((p) => p99(p.acceptLatency)),
      ],
      [
        'order sent -> agent has it, p50 / p99 / p99.9 ms',
        ...col((p) => pcts(p.toAgentFromSend)),
        num((p) => p99(p.toAgentFromSend)),
      ],
      [
        'accepted -> agent has it, p50 / p99 / p99.9 ms',
        ...col((p) => pcts(p.toAgent)),
        num((p) => p99(p.toAgent)),
      ],
      [
        'accepted -> relay marked it delivered, p50 / p99 / p99.9 ms',
        r ? pcts(r.toDelivered) : 'n/a',
        '',
        '',
      ],
      [
        'broker CPU per 1,000 jobs',
        ...col((p) => `${fmt(p.cpuMsPer1000, 0)} ms`),
        num((p) => p.cpuMsPer1000),
      ],
    );
  }
  const problems = [
    ...relay.problems.map((p) => `relay: ${p}`),
    ...base.problems.map((p) => `bare aedes: ${p}`),
  ];
  return [
    table([`${relay.agents.toLocaleString('en-US')} agents`, 'relay', 'bare aedes', 'relay / aedes'], rows),
    ...(problems.length > 0 ? ['', ...problems.map((p) => `- incomplete: ${p}`)] : []),
  ].join('\n');
}

function stormTable(n: number, relay: StormResult, base: StormResult): string {
  const rows = [
    [
      'restart -> all agents up',
      ms(relay.connectMs),
      ms(base.connectMs),
      ratio(relay.connectMs, base.connectMs),
    ],
    ['... and every hello acknowledged', ms(relay.helloMs), '', ''],
    ['agents up 30 s after the restart', String(relay.upAt30s), String(base.upAt30s), ''],
  ];
  const problems = [
    ...relay.problems.map((p) => `relay: ${p}`),
    ...base.problems.map((p) => `bare aedes: ${p}`),
  ];
  return [
    table(
      [`reconnect storm, ${n.toLocaleString('en-US')} agents`, 'relay', 'bare aedes', 'relay / aedes'],
      rows,
    ),
    ...(problems.length > 0 ? ['', ...problems.map((p) => `- incomplete: ${p}`)] : []),
  ].join('\n');
}

/** RSS per extra agent between the two largest steps: the fixed part cancels out. */
function marginalMemory(steps: StepResult[]): number {
  const ok = steps.filter((r) => Number.isFinite(r.idleRssBytes));
  const [a, b] = ok.slice(-2);
  if (!a || !b) return Number.NaN;
  return (b.idleRssBytes - a.idleRssBytes) / (b.agents - a.agents);
}

function targets(steps: [StepResult, StepResult][], stormed: [StormResult, StormResult] | null): string[] {
  const relay = steps.map(([r]) => r).find((r) => r.agents === 10_000);
  if (!relay || !stormed) return ['- the targets are about 10,000 agents: run without --quick'];
  const at1000 = relay.phases.find((p) => p.rate === 1000);
  const fromSend = p99(at1000?.toAgentFromSend ?? []);
  const from201 = p99(at1000?.toAgent ?? []);
  const marginal = marginalMemory(steps.map(([r]) => r));
  const [s] = stormed;
  return [
    `- 10,000 agents on one relay process: ${Number.isFinite(relay.helloMs) ? 'met: all connected, every hello handled' : `**missed**: ${relay.problems.join('; ')}`}`,
    `- p99 to the agent at most 10 ms at 1,000 orders/s (10,000 agents): from the moment the order was sent, ${ms(fromSend)}, ` +
      `${verdict(fromSend, 10, 'lower')}; from the HTTP 201, ${ms(from201)} (${from201 <= 10 ? 'met' : '**missed**'}, but the relay ` +
      'publishes a job before it answers 201, so this only says the agent had it before the order source had its answer)',
    `- at most 30 KB of relay memory per idle agent: ${kb(relay.memPerAgentBytes)} at 10,000 agents, ${verdict(relay.memPerAgentBytes, 30_000, 'lower')}; ` +
      `per agent between the two largest steps, ${kb(marginal)}, ${verdict(marginal, 30_000, 'lower')} ` +
      `(bare aedes: ${kb(marginalMemory(steps.map(([, b]) => b)))})`,
    s.problems.length > 0
      ? `- all 10,000 agents reconnected within 30 s of a restart: **missed**: ${s.problems.join('; ')}; ${s.upAt30s} were up after 30 s`
      : `- all 10,000 agents reconnected within 30 s of a restart: ${ms(s.connectMs)}, ${verdict(s.connectMs, 30_000, 'lower')}; ` +
        `with every hello handled: ${ms(s.helloMs)}, ${verdict(s.helloMs, 30_000, 'lower')}; ${s.upAt30s} of 10,000 were up after 30 s`,
  ];
}

export async function runFanoutBench(opts: FanoutOptions): Promise<string> {
  const counts = [...opts.agentCounts].sort((a, b) => a - b);
  const most = counts[counts.length - 1] ?? 0;
  const t = nowMs();
  const template = await makeTemplate(most);
  opts.log(`  ${most} stores with agent credentials created in ${fmt((nowMs() - t) / 1000, 1)} s`);
  const steps: [StepResult, StepResult][] = [];
  let stormed: [StormResult, StormResult] | null = null;
  const sides: Side[] = [];
  try {
    // Both brokers stay up with their agents, each step adds agents to both, and the two
    // are measured one after the other at every step, so that both see the same machine.
    sides.push(await startSide('relay', template.dir, opts), await startSide('aedes', template.dir, opts));
    const [relay, aedes] = sides as [Side, Side];
    for (const n of counts) {
      const step: [StepResult, StepResult] = [
        await growSide(relay, n, template.creds, opts),
        await growSide(aedes, n, template.creds, opts),
      ];
      const storeIds = template.creds.slice(0, n).map((c) => c.storeId);
      for (const { rate } of opts.phases) {
        for (const [i, side] of [relay, aedes].entries()) {
          const phase = await phaseOn(side, rate, storeIds, template.apiKey, opts);
          if (phase) step[i]?.phases.push(phase);
        }
      }
      steps.push(step);
    }
    stormed = [await storm(relay, opts), await storm(aedes, opts)];
  } finally {
    for (const side of sides) {
      await Promise.all(side.workers.map((w) => w.ask({ type: 'stop' }, 'stopped').catch(() => {})));
    }
    for (const c of children.splice(0)) c.kill();
    for (const side of sides) rmSync(side.dataDir, { recursive: true, force: true });
    rmSync(template.dir, { recursive: true, force: true });
  }
  let previous = 0;
  const stepTables = steps.flatMap(([r, b]) => {
    const added = r.agents - previous;
    previous = r.agents;
    return [stepTable(r, b, added), ''];
  });
  return [
    '### Relay fan-out',
    '',
    'Both brokers run at once, each in its own process with its own agents; every step adds agents to both ' +
      'and then measures the two one after the other. ' +
      `Orders: ${opts.phases.map((p) => `${p.rate}/s for ${p.seconds} s`).join(', ')}, open loop (they go out on schedule whatever the answers, and ` +
      'latencies count from the scheduled send), to random stores. ' +
      `Agents are spread over ${opts.workers} worker processes per broker. ` +
      '"Accepted" is the HTTP 201 for the relay and the PUBACK to the publisher for bare aedes; "agent has it" is ' +
      'the moment the simulated agent had the job and sent job-received; "delivered" is the moment the relay\'s ' +
      'acknowledgement of that job-received reached the agent (the relay commits `delivered` before it acknowledges).',
    '',
    ...stepTables,
    stormed ? stormTable(most, ...stormed) : '',
    '',
    'Targets:',
    '',
    ...targets(steps, stormed),
  ].join('\n');
}
