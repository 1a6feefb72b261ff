// Relay cluster benchmark (issue #13): one relay process against two on the same throwaway
// PostgreSQL and Redis (docs/scaling.md), in one run. The relay processes are bench/broker-child.ts
// children; simulated agents (bench/light-agent.ts, in worker processes) are spread over the
// processes, each knowing the others as alternates; orders go to the processes' HTTP APIs in
// turn, open loop as in bench/fanout.ts. Then one of the two processes is killed with -9 and
// the time until every agent is back (on the other) is measured. A scale run does it again with
// more agents (BENCH_CLUSTER_SCALE_AGENTS) on two processes, and kills one of three.
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterEngines, startClusterEngines } from '../harness/cluster-engines.js';
import { openFilesLimit } from '../shared/open-files.js';
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
  /** Agents over all processes, one process against two. */
  agents: number;
  /** Agents of the scale run: two processes hold them, then three, one of which is killed. */
  scaleAgents: number;
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

interface Scenario {
  processes: number;
  agents: number;
  phases: { rate: number; seconds: number }[];
  /** Kill -9 one process at the end and time its agents' return. */
  kill: boolean;
}

interface ScenarioResult {
  processes: number;
  agents: number;
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
  { processes, agents, phases, kill }: Scenario,
  engines: ClusterEngines,
  opts: ClusterBenchOptions,
): Promise<ScenarioResult> {
  const result: ScenarioResult = {
    processes,
    agents,
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
  opts.log(`  ${processes} process(es): ${agents} stores in PostgreSQL ...`);
  const template = await makeTemplate(agents, database);
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
    const up = await allUp(workers, agents, true, t0, 300_000);
    if (up.shortfall) {
      result.problems.push(`connecting: ${up.shortfall}`);
      return result;
    }
    result.connectMs = up.helloMs;
    result.memPerAgentBytes = ((await rss()) - emptyRss) / agents;
    opts.log(`  ${processes} process(es): ${agents} agents up in ${fmt(up.helloMs, 0)} ms`);

    const storeIds = template.creds.map((c) => c.storeId);
    for (const { rate, seconds } of phases) {
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

    if (kill) {
      const killed = brokers[0] as (typeof brokers)[number];
      const survivor = (brokers[1] as (typeof brokers)[number]).broker;
      const profileDir = process.env.BENCH_CPU_PROF;
      if (profileDir) await survivor.ask({ type: 'profile-start' }, 'profiling');
      const at = nowMs();
      killed.broker.kill();
      await killed.broker.exited;
      // Its agents notice at once (the connection closes) and move to their next relay.
      const back = await allUp(workers, agents, true, at, FAILOVER_TIMEOUT_MS);
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
  const { agents, scaleAgents, phases } = opts;
  try {
    const compared = [
      await scenario({ processes: 1, agents, phases, kill: false }, engines, opts),
      await scenario({ processes: 2, agents, phases, kill: true }, engines, opts),
    ];
    const scale = [
      await scenario({ processes: 2, agents: scaleAgents, phases, kill: false }, engines, opts),
      // A survivor of two would need every agent's socket: more than one process may open here.
      await scenario({ processes: 3, agents: scaleAgents, phases: [], kill: true }, engines, opts),
    ];
    return { markdown: report(compared, scale, opts) };
  } finally {
    for (const c of children.splice(0)) c.kill();
    await engines.stop();
  }
}

const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${fmt(a / b, 2)}x` : '';

/** One row per measure, one column per scenario (and the ratio of the last to the first). */
function rows(
  results: ScenarioResult[],
  phases: ClusterBenchOptions['phases'],
  withRatio: boolean,
): string[][] {
  const first = results[0] as ScenarioResult;
  const last = results[results.length - 1] as ScenarioResult;
  const row = (label: string, cell: (r: ScenarioResult) => string, value?: (r: ScenarioResult) => number) => [
    label,
    ...results.map(cell),
    ...(withRatio ? [value ? ratio(value(last), value(first)) : ''] : []),
  ];
  const out = [
    row(
      'agents up, every hello acknowledged',
      (r) => `${fmt(r.connectMs, 0)} ms`,
      (r) => r.connectMs,
    ),
    row(
      'memory per connected agent (RSS growth of all processes / agents)',
      (r) => `${fmt(r.memPerAgentBytes / 1024, 1)} KB`,
      (r) => r.memPerAgentBytes,
    ),
  ];
  phases.forEach(({ rate }, i) => {
    const phase = (r: ScenarioResult) => r.phases[i];
    const shown = results.find(phase);
    if (!shown) return;
    const of = (f: (p: PhaseResult) => string) => (r: ScenarioResult) => {
      const p = phase(r);
      return p ? f(p) : '';
    };
    const num = (f: (p: PhaseResult) => number) => (r: ScenarioResult) => {
      const p = phase(r);
      return p ? f(p) : Number.NaN;
    };
    const p99 = (p: PhaseResult) => percentile(p.acceptLatency, 99);
    const toAgent = (p: PhaseResult) => percentile(p.toAgentFromSend, 99);
    out.push(
      row(`**${rate} orders/s**, ${(phase(shown) as PhaseResult).offered} offered`, () => ''),
      row(
        'accepted / failed / never received',
        of((p) => `${p.accepted} / ${p.failed} / ${p.lost}`),
      ),
      row(
        'accept throughput (201)',
        of((p) => `${fmt(p.acceptPerSecond, 0)}/s`),
        num((p) => p.acceptPerSecond),
      ),
      row(
        'order sent -> accepted, p50 / p99 ms',
        of((p) => `${fmt(percentile(p.acceptLatency, 50), 1)} / ${fmt(p99(p), 1)}`),
        num(p99),
      ),
      row(
        'order sent -> agent has it, p99 ms',
        of((p) => fmt(toAgent(p), 1)),
        num(toAgent),
      ),
      row(
        'CPU of all relay processes per 1,000 jobs',
        of((p) => `${fmt(p.cpuMsPer1000, 0)} ms`),
        num((p) => p.cpuMsPer1000),
      ),
      row('CPU of PostgreSQL / of Redis per 1,000 jobs', (r) => {
        const e = r.engines[i];
        return e ? `${fmt(e.postgresMsPer1000, 0)} ms / ${fmt(e.redisMsPer1000, 0)} ms` : '';
      }),
    );
  });
  if (results.some((r) => r.failoverMs !== null || r.problems.some((p) => p.startsWith('after the kill'))))
    out.push(
      row('kill -9 of one process: every agent back (hello acknowledged)', (r) =>
        r.failoverMs !== null
          ? `${fmt(r.failoverMs, 0)} ms (${Math.round(r.agents / r.processes).toLocaleString('en-US')} agents moved)`
          : r.problems.some((p) => p.startsWith('after the kill'))
            ? 'incomplete'
            : 'n/a',
      ),
    );
  return out;
}

function report(compared: ScenarioResult[], scale: ScenarioResult[], opts: ClusterBenchOptions): string {
  const problems = [...compared, ...scale].flatMap((r) =>
    r.problems.map((p) => `- ${r.processes} process(es), ${r.agents} agents: ${p}`),
  );
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    '### Relay cluster: one process against two (PostgreSQL and Redis)',
    '',
    `Simulated agents spread over the relay processes (each knowing the others as alternates), ` +
      `${opts.workers} agent worker processes; throwaway PostgreSQL and Redis on the same machine; orders to the processes' HTTP APIs in turn, ` +
      'open loop, latencies from the scheduled send. Each scenario on a fresh database and an empty Redis.',
    '',
    `${n(opts.agents)} agents:`,
    '',
    table(['', '1 relay process', '2 relay processes', '2 / 1'], rows(compared, opts.phases, true)),
    '',
    `${n(opts.scaleAgents)} agents. A process may open ${n(openFilesLimit() ?? Number.NaN)} files here (RLIMIT_NOFILE), ` +
      'one per agent connection: the kill is measured with three processes, ' +
      'so that the two survivors have room for the agents of the third.',
    '',
    table(['', '2 relay processes', '3 relay processes'], rows(scale, opts.phases, false)),
    ...(problems.length ? ['', ...problems] : []),
  ].join('\n');
}
