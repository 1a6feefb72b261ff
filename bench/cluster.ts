// Relay cluster benchmark (issue #13): one relay process against two on the same throwaway
// PostgreSQL and Redis (docs/scaling.md), in one run. The relay processes are bench/broker-child.ts
// children; simulated agents (bench/light-agent.ts, in worker processes) are spread over the
// processes, each knowing the others as alternates; orders go to the processes' HTTP APIs in
// turn, open loop as in bench/fanout.ts. Then one of the two processes is killed with -9 and
// the time until every agent is back (on the other) is measured.
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterEngines, startClusterEngines } from '../harness/cluster-engines.js';
import {
  allUp,
  type Broker,
  Child,
  children,
  httpSender,
  makeTemplate,
  type PhaseResult,
  runPhase,
  type Sender,
  startBroker,
  track,
  type Worker,
} from './fanout.js';
import { fmt, nowMs, percentile, table } from './stats.js';

export interface ClusterBenchOptions {
  /** Agents over all processes. */
  agents: number;
  phases: { rate: number; seconds: number }[];
  workers: number;
  log: (line: string) => void;
}

/** CPU ms used so far by every process named `name` (PostgreSQL's backends, Redis), from /proc. */
function cpuOf(name: string): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!comm.startsWith(name)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

interface ScenarioResult {
  processes: number;
  connectMs: number;
  /** RSS growth of all processes together per connected agent, after a full GC. */
  memPerAgentBytes: number;
  phases: PhaseResult[];
  /** CPU of PostgreSQL and of Redis per 1,000 accepted jobs, per phase. */
  engines: { postgresMsPer1000: number; redisMsPer1000: number }[];
  /** After kill -9 of one process: until every agent is up (and its hello acknowledged) again. */
  failoverMs: number | null;
  problems: string[];
}

const FAILOVER_TIMEOUT_MS = 120_000;

async function scenario(
  processes: number,
  engines: ClusterEngines,
  opts: ClusterBenchOptions,
): Promise<ScenarioResult> {
  const result: ScenarioResult = {
    processes,
    connectMs: Number.NaN,
    memPerAgentBytes: Number.NaN,
    phases: [],
    engines: [],
    failoverMs: null,
    problems: [],
  };
  // Each scenario on a database and a Redis of its own, as a fresh deployment would be.
  await engines.redis.kill9();
  await engines.redis.resume();
  const { database, redis } = await engines.cluster(`bench_${processes}_${Date.now().toString(36)}`);
  opts.log(`  ${processes} process(es): ${opts.agents} stores in PostgreSQL ...`);
  const template = await makeTemplate(opts.agents, database);
  const brokers: { broker: Broker; mqttPort: number; httpPort: number }[] = [];
  for (let i = 0; i < processes; i++) {
    // A data dir each: the admin socket is per process; the rest is in PostgreSQL.
    const { broker, ready } = await startBroker({
      kind: 'relay',
      dataDir: mkdtempSync(join(tmpdir(), 'printrelay-bench-cluster-')),
      mqttPort: 0,
      httpPort: 0,
      database,
      redis,
    });
    track(broker);
    brokers.push({ broker, mqttPort: ready.mqttPort, httpPort: ready.httpPort });
  }
  const rss = async () =>
    (await Promise.all(brokers.map((b) => b.broker.ask({ type: 'usage', gc: true }, 'usage')))).reduce(
      (n, u) => n + u.rssBytes,
      0,
    );
  const emptyRss = await rss();
  const workers = Array.from({ length: opts.workers }, (_, w) => {
    const proc = fork(join(import.meta.dirname, 'agent-worker.js'), [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return track<Worker>(new Child(`cluster agent worker ${w}`, proc));
  });
  try {
    // Agent i starts on process i mod N, with the others as its alternates.
    const t0 = nowMs();
    workers.forEach((worker, w) => {
      for (let p = 0; p < processes; p++) {
        const agents = template.creds.filter((_, i) => i % opts.workers === w && i % processes === p);
        const ports = brokers.map(
          (_, k) => (brokers[(p + k) % processes] as (typeof brokers)[number]).mqttPort,
        );
        worker.send({ type: 'add', host: '127.0.0.1', ports, agents, window: 200 });
      }
    });
    const up = await allUp(workers, opts.agents, true, t0, 300_000);
    if (up.shortfall) {
      result.problems.push(`connecting: ${up.shortfall}`);
      return result;
    }
    result.connectMs = up.helloMs;
    result.memPerAgentBytes = ((await rss()) - emptyRss) / opts.agents;
    opts.log(`  ${processes} process(es): ${opts.agents} agents up in ${fmt(up.helloMs, 0)} ms`);

    const storeIds = template.creds.map((c) => c.storeId);
    for (const { rate, seconds } of opts.phases) {
      const runId = `cluster-${processes}-${rate}-${Date.now().toString(36)}`;
      const senders = brokers.map((b) => httpSender(b.httpPort, template.apiKey, runId));
      let next = 0;
      const send: Sender = (storeId, i, sched) =>
        (senders[next++ % senders.length] as (typeof senders)[number]).send(storeId, i, sched);
      try {
        const pg0 = cpuOf('postgres');
        const redis0 = cpuOf('redis-server');
        const phase = await runPhase(
          'relay',
          brokers.map((b) => b.broker),
          workers,
          send,
          storeIds,
          rate,
          { seconds, drainTimeoutMs: 60_000 },
        );
        result.phases.push(phase);
        result.engines.push({
          postgresMsPer1000: ((cpuOf('postgres') - pg0) * 1000) / phase.accepted,
          redisMsPer1000: ((cpuOf('redis-server') - redis0) * 1000) / phase.accepted,
        });
        opts.log(
          `  ${processes} process(es): ${rate}/s: ${phase.accepted}/${phase.offered} at ${fmt(phase.acceptPerSecond, 0)}/s, ` +
            `p99 accepted ${fmt(percentile(phase.acceptLatency, 99), 1)} ms, ${phase.lost} not received`,
        );
      } finally {
        for (const s of senders) s.close();
      }
    }

    if (processes > 1) {
      const killed = brokers[0] as (typeof brokers)[number];
      const survivor = (brokers[1] as (typeof brokers)[number]).broker;
      const profileDir = process.env.BENCH_CPU_PROF;
      if (profileDir) await survivor.ask({ type: 'profile-start' }, 'profiling');
      const at = nowMs();
      killed.broker.kill();
      await killed.broker.exited;
      // Its agents notice at once (the connection closes) and move to their next relay.
      const back = await allUp(workers, opts.agents, true, at, FAILOVER_TIMEOUT_MS);
      if (profileDir)
        await survivor.ask(
          { type: 'profile-stop', file: join(profileDir, 'cluster-failover.cpuprofile') },
          'profiled',
        );
      if (back.shortfall) result.problems.push(`after the kill: ${back.shortfall}`);
      else result.failoverMs = back.helloMs;
      opts.log(
        `  ${processes} process(es): kill -9 of one: ${back.shortfall ?? `every agent back in ${fmt(back.helloMs, 0)} ms`}`,
      );
    }
    return result;
  } finally {
    for (const w of workers) w.kill();
    for (const b of brokers) b.broker.kill();
  }
}

export async function runClusterBench(opts: ClusterBenchOptions): Promise<{ markdown: string }> {
  // The relay children inherit PRINTRELAY_SECRET_KEY from this process (set by the engines).
  const engines = await startClusterEngines();
  try {
    const one = await scenario(1, engines, opts);
    const two = await scenario(2, engines, opts);
    return { markdown: report([one, two], opts) };
  } finally {
    for (const c of children.splice(0)) c.kill();
    await engines.stop();
  }
}

function report(results: ScenarioResult[], opts: ClusterBenchOptions): string {
  const [one, two] = results as [ScenarioResult, ScenarioResult];
  const ratio = (a: number, b: number) =>
    Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${fmt(a / b, 2)}x` : '';
  const engines = (e: ScenarioResult['engines'][number] | undefined) =>
    e ? `${fmt(e.postgresMsPer1000, 0)} ms / ${fmt(e.redisMsPer1000, 0)} ms` : '';
  const rows: string[][] = [
    [
      'agents up, every hello acknowledged',
      `${fmt(one.connectMs, 0)} ms`,
      `${fmt(two.connectMs, 0)} ms`,
      ratio(two.connectMs, one.connectMs),
    ],
    [
      'memory per connected agent (RSS growth of all processes / agents)',
      `${fmt(one.memPerAgentBytes / 1024, 1)} KB`,
      `${fmt(two.memPerAgentBytes / 1024, 1)} KB`,
      ratio(two.memPerAgentBytes, one.memPerAgentBytes),
    ],
  ];
  opts.phases.forEach(({ rate }, i) => {
    const a = one.phases[i];
    const b = two.phases[i];
    if (!a || !b) return;
    const p99 = (p: PhaseResult) => percentile(p.acceptLatency, 99);
    const toAgent = (p: PhaseResult) => percentile(p.toAgentFromSend, 99);
    rows.push(
      [`**${rate} orders/s**, ${a.offered} offered`, '', '', ''],
      [
        'accepted / failed / never received',
        `${a.accepted} / ${a.failed} / ${a.lost}`,
        `${b.accepted} / ${b.failed} / ${b.lost}`,
        '',
      ],
      [
        'accept throughput (201)',
        `${fmt(a.acceptPerSecond, 0)}/s`,
        `${fmt(b.acceptPerSecond, 0)}/s`,
        ratio(b.acceptPerSecond, a.acceptPerSecond),
      ],
      [
        'order sent -> accepted, p50 / p99 ms',
        `${fmt(percentile(a.acceptLatency, 50), 1)} / ${fmt(p99(a), 1)}`,
        `${fmt(percentile(b.acceptLatency, 50), 1)} / ${fmt(p99(b), 1)}`,
        ratio(p99(b), p99(a)),
      ],
      [
        'order sent -> agent has it, p99 ms',
        fmt(toAgent(a), 1),
        fmt(toAgent(b), 1),
        ratio(toAgent(b), toAgent(a)),
      ],
      [
        'CPU of all relay processes per 1,000 jobs',
        `${fmt(a.cpuMsPer1000, 0)} ms`,
        `${fmt(b.cpuMsPer1000, 0)} ms`,
        ratio(b.cpuMsPer1000, a.cpuMsPer1000),
      ],
      ['CPU of PostgreSQL / of Redis per 1,000 jobs', engines(one.engines[i]), engines(two.engines[i]), ''],
    );
  });
  rows.push([
    'kill -9 of one process: every agent back (hello acknowledged)',
    'n/a',
    two.failoverMs === null ? 'incomplete' : `${fmt(two.failoverMs, 0)} ms`,
    '',
  ]);
  const problems = results.flatMap((r) => r.problems.map((p) => `- ${r.processes} process(es): ${p}`));
  return [
    '### Relay cluster: one process against two (PostgreSQL and Redis)',
    '',
    `${opts.agents.toLocaleString('en-US')} simulated agents spread over the relay processes (each knowing the others as alternates), ` +
      `${opts.workers} agent worker processes; throwaway PostgreSQL and Redis on the same machine; orders to the processes' HTTP APIs in turn, ` +
      'open loop, latencies from the scheduled send. Each scenario on a fresh database and an empty Redis.',
    '',
    table(['', '1 relay process', '2 relay processes', '2 / 1'], rows),
    ...(problems.length ? ['', ...problems] : []),
  ].join('\n');
}
