// Store agent footprint (issue #4): idle memory and CPU with three printers under status
// watch, receive-to-first-byte latency, recovery of 10,000 buffered jobs after kill -9, and
// bytes per second to a serial printer against the line rate.
//
// The agent measured is what the installers ship: the Linux single executable
// (dist/executables/linux-x64/printrelay, Node 22 with its built-in flags; built here when it is
// missing or older than the bundle), run from a copy of its folder outside the repository. Beside it, the same agent as Node 20 runs it from the bundle.
//
// Everything is measured from outside the agent, which runs as `printrelay agent` in its own
// process against `printrelay relay start` (another process): memory and CPU from /proc, times
// from taps in this process that every relay and printer byte passes through. Each figure has
// comparisons taken in the same run: the same agent under a V8 flag that caps its young
// generation, the benchmark's light agent (bench/light-agent.ts) and a bare Node process for idle
// and latency, plus the SQLite commit the agent waits for; an agent with an empty database and
// `node -e 0` for recovery; 9,600 and 115,200 baud lines side by side, and a pty alone.
//
// `npm run bench -- --only agent [--quick]` runs it alone.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentPrinterConfig } from '../agent/config.js';
import { renderTicket } from '../escpos/encoder.js';
import { getProfile } from '../escpos/profiles/index.js';
import { NodeChild } from '../harness/child.js';
import { waitFor } from '../harness/wait.js';
import type { AgentEvent } from '../protocol/messages.js';
import { parseTicket, type Ticket } from '../protocol/ticket.js';
import { parseStoreTopic } from '../protocol/topics.js';
import type { AgentCredentials } from '../relay/admin.js';
import { openDatabase } from '../shared/sqlite.js';
import { startVirtualPrinter, type VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import {
  type AgentChild,
  agentStatus,
  HOST,
  MqttTap,
  PrinterTap,
  type ProcUsage,
  postJob,
  procUsage,
  type Relay,
  Stamps,
  startAgentChild,
  startRelay,
  writeAgentConfig,
} from './agent-rig.js';
import { type LineFigures, SerialLine } from './agent-serial-line.js';
import { LIGHT_PRINTER } from './light-agent.js';
import { REPO_ROOT } from './repo.js';
import { fmt, median, nowMs, percentile, table, verdict } from './stats.js';

export interface AgentFootprintOptions {
  quick: boolean;
  log?: (line: string) => void;
}

/** The figures the targets are about, and the Markdown section that reports them. */
export interface Figures {
  markdown: string;
  /** Highest RSS of the agent in its idle windows. */
  idleRssBytes: number;
  /** CPU of the agent idle in the steady state (the window after the jobs), in % of one core. */
  idleCpuPercent: number;
  firstByteP99Ms: number;
  /** Slowest restart with 10,000 queued jobs: process start to hello with all their ids sent. */
  recoveryMs: number;
  /** Bytes per second on the wire over the line rate, per baud rate. */
  serial: { baud: number; share: number }[];
}

const TARGET = {
  idleRssBytes: 60 * 2 ** 20,
  idleCpuPercent: 1,
  firstByteP99Ms: 5,
  recoveryMs: 1000,
  serialShare: 0.95,
};
const STORE = {
  agent: 'bench-agent',
  variant: 'bench-agent-node20',
  light: 'bench-light',
  empty: 'bench-empty',
  serial: 'bench-serial',
};
const EXECUTABLE = join(REPO_ROOT, 'dist/executables/linux-x64/printrelay');
/** How the agent ran before the executables: Node 20 (this one) on the bundle. */
const NODE20 = '`node bin/printrelay.js agent` (Node 20, the bundle)';

let installed: string | undefined;

/**
 * The shipped Linux executable, (re)built when it is missing or older than the bundle it is made
 * of, and run from a copy of its folder outside the repository, as installed: from inside, Node's
 * module resolution climbs into the repository's node_modules and loads packages the installed
 * agent never has (better-sqlite3 among them), which adds 15 MB of file-backed memory.
 */
function agentExecutable(): string {
  if (installed) return installed;
  const bundle = join(REPO_ROOT, 'dist/printrelay.mjs');
  if (!existsSync(EXECUTABLE) || statSync(EXECUTABLE).mtimeMs < statSync(bundle).mtimeMs) {
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'scripts/build-executables.js'), join(REPO_ROOT, 'dist/executables'), 'linux-x64'],
      {
        stdio: 'ignore',
      },
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-bench-install-'));
  cpSync(dirname(EXECUTABLE), dir, { recursive: true });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  installed = join(dir, basename(EXECUTABLE));
  return installed;
}
const BUFFERED_JOBS = 10_000;
const PRINTERS = [
  // One of each kind of status watch: ASB with GS ( H, ASB with GS r, DLE EOT polling only.
  { id: 'p1', profile: 'epson-tm-t88' },
  { id: 'p2', profile: 'xprinter-80' },
  { id: 'p3', profile: 'gprinter-58' },
];
const SERIAL_PROFILE = 'epson-tm-t88';

type Cleanups = (() => unknown)[];

const credsOf = (relay: Relay, storeId: string): AgentCredentials => {
  const creds = relay.creds.get(storeId);
  if (!creds) throw new Error(`no credentials for store ${storeId}`);
  return creds;
};

const loadTicket = (name: string): Ticket =>
  parseTicket(JSON.parse(readFileSync(join(REPO_ROOT, `test/fixtures/tickets/${name}.json`), 'utf8')));

/** Monotonic-ms stamps the MQTT tap collects: job published to an agent, printed, hellos. */
class RelayWatch {
  readonly published = new Stamps();
  readonly printed = new Stamps();
  #helloWaiters: { storeId: string; resolve: (h: { at: number; jobIds: number }) => void }[] = [];

  constructor(tap: MqttTap) {
    tap.on('down', (p) => {
      const topic = parseStoreTopic(p.topic);
      if (topic?.direction === 'down' && topic.channel === 'jobs') {
        this.published.set((JSON.parse(p.payload.toString()) as { jobId: string }).jobId, p.at);
      }
    });
    tap.on('up', (p) => {
      const topic = parseStoreTopic(p.topic);
      if (topic?.direction !== 'up' || topic.channel !== 'events') return;
      for (const e of (JSON.parse(p.payload.toString()) as { events: AgentEvent[] }).events) {
        if (e.type === 'job-state' && e.state === 'printed') this.printed.set(e.jobId, p.at);
        if (e.type === 'hello') {
          this.#helloWaiters = this.#helloWaiters.filter((w) => {
            if (w.storeId !== topic.storeId) return true;
            w.resolve({ at: p.at, jobIds: e.jobIds.length });
            return false;
          });
        }
      }
    });
  }

  /** The next hello of that store from now on. */
  nextHello(storeId: string): Promise<{ at: number; jobIds: number }> {
    return new Promise((resolve) => this.#helloWaiters.push({ storeId, resolve }));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs jobs through `fn` with at most `parallel` at a time. */
async function inParallel(count: number, parallel: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function waitAgentReady(agent: AgentChild, printers: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const s = await agentStatus(agent);
      return s.relay.connected && s.printers.filter((p) => p.ready).length === printers;
    },
    'the agent connected to the relay with every printer ready',
    timeoutMs,
  );
}

async function queued(agent: AgentChild): Promise<number> {
  return (await agentStatus(agent)).printers.reduce((n, p) => n + p.queueDepth, 0);
}

// ---- idle ----------------------------------------------------------------------------------

type IdleKey = 'agent' | 'variant' | 'light' | 'node';

interface IdleFigures {
  key: IdleKey;
  name: string;
  rssMaxBytes: number;
  last: ProcUsage;
  cpuPercent: number;
}

/** RSS every second and CPU over the window, for all processes at once. */
async function idleWindow(
  procs: { key: IdleKey; name: string; pid: number }[],
  seconds: number,
): Promise<IdleFigures[]> {
  const first = procs.map((p) => procUsage(p.pid));
  const t0 = nowMs();
  const rssMax = first.map((u) => u.rssBytes);
  for (let s = 0; s < seconds; s++) {
    await sleep(1000);
    procs.forEach((p, i) => {
      rssMax[i] = Math.max(rssMax[i] as number, procUsage(p.pid).rssBytes);
    });
  }
  const elapsed = nowMs() - t0;
  return procs.map((p, i) => {
    const last = procUsage(p.pid);
    return {
      key: p.key,
      name: p.name,
      rssMaxBytes: Math.max(rssMax[i] as number, last.rssBytes),
      last,
      cpuPercent: ((last.cpuMs - (first[i] as ProcUsage).cpuMs) * 100) / elapsed,
    };
  });
}

// ---- the footprint run: idle, latency, recovery ---------------------------------------------

type Who = 'agent' | 'variant' | 'light';

interface LatencyFigures {
  /** PUBLISH at the agent -> first byte at the printer, per process. */
  firstByte: Record<Who, number[]>;
  /** POST /v1/jobs sent -> PUBLISH at the agent, for the store agent's jobs. */
  relayHop: number[];
  /** One SQLite commit as the agent makes them, on the same disk (it makes one before a job's first byte). */
  commit: number[];
  failures: string[];
}

interface RecoveryRound {
  /** From spawn: startAgent() resolved (printed by the CLI), and the hello with all job ids sent. */
  full: { startedMs: number; helloMs: number; jobIds: number; queued: number; rssBytes: number };
  empty: { startedMs: number; helloMs: number; rssBytes: number };
  nodeMs: number;
}

interface FootprintResult {
  idle: { label: string; figures: IdleFigures[] }[];
  latency: LatencyFigures;
  jobs: number;
  fillMs: number;
  rounds: RecoveryRound[];
}

/** A store agent child with three virtual printers of its own, each behind a tap. */
interface StoreAgent {
  agent: AgentChild;
  printers: VirtualPrinter[];
  taps: PrinterTap[];
  config: string;
  printerConfig: AgentPrinterConfig[];
}

async function startStoreAgent(
  dir: string,
  relay: Relay,
  storeId: string,
  tap: MqttTap,
  executable: string | undefined,
  cleanups: Cleanups,
): Promise<StoreAgent> {
  const printers: VirtualPrinter[] = [];
  const taps: PrinterTap[] = [];
  for (const _ of PRINTERS) {
    // Fast heads, so that a latency round is not spent waiting for paper; the latency ends at the first byte.
    const vp = await startVirtualPrinter({ listen: `tcp://${HOST}:0`, linesPerSecond: 2000 });
    cleanups.push(() => vp.close());
    const t = await PrinterTap.start(Number(new URL(vp.uri).port));
    cleanups.push(() => t.close());
    printers.push(vp);
    taps.push(t);
  }
  const printerConfig = PRINTERS.map((p, i) => ({ ...p, uri: (taps[i] as PrinterTap).uri }));
  mkdirSync(dir);
  const config = writeAgentConfig(dir, credsOf(relay, storeId), tap.url, printerConfig);
  const s: StoreAgent = {
    agent: await startAgentChild(config, [], executable),
    printers,
    taps,
    config,
    printerConfig,
  };
  cleanups.push(() => s.agent.child.kill());
  await waitAgentReady(s.agent, PRINTERS.length);
  return s;
}

/** The light agent (bench/agent-bare.ts) and the "printer" socket where it stamps the jobs it has. */
async function startLight(relay: Relay, tap: MqttTap, cleanups: Cleanups) {
  const firstByte = new Stamps();
  const sink = net.createServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => {
      const at = nowMs();
      text += chunk.toString('latin1');
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        firstByte.set(text.slice(2, nl), at); // after ESC @
        text = text.slice(nl + 1);
      }
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, HOST, resolve));
  cleanups.push(() => new Promise<void>((resolve) => sink.close(() => resolve())));
  const child = new NodeChild('light agent', [
    join(import.meta.dirname, 'agent-bare.js'),
    JSON.stringify({
      creds: credsOf(relay, STORE.light),
      mqttPort: Number(new URL(tap.url).port),
      printerPort: (sink.address() as AddressInfo).port,
    }),
  ]);
  cleanups.push(() => child.kill());
  await child.waitForOutput(/^up$/m, 20_000);
  return { child, firstByte };
}

async function runFootprint(
  root: string,
  relay: Relay,
  tap: MqttTap,
  watch: RelayWatch,
  opts: AgentFootprintOptions,
  cleanups: Cleanups,
): Promise<FootprintResult> {
  const log = opts.log ?? (() => {});
  const idleSeconds = opts.quick ? 10 : 30;
  const jobs = opts.quick ? 200 : 500;
  const rounds = opts.quick ? 2 : 5;

  const main = await startStoreAgent(
    join(root, 'agent'),
    relay,
    STORE.agent,
    tap,
    agentExecutable(),
    cleanups,
  );
  const variant = await startStoreAgent(
    join(root, 'variant'),
    relay,
    STORE.variant,
    tap,
    undefined,
    cleanups,
  );
  const light = await startLight(relay, tap, cleanups);
  const bareNode = new NodeChild('bare node', ['-e', 'setInterval(() => {}, 1 << 30)']);
  cleanups.push(() => bareNode.kill());

  const idleProcs = (): { key: IdleKey; name: string; pid: number }[] => [
    { key: 'agent', name: 'store agent (the Linux executable, 3 printers)', pid: main.agent.child.pid },
    { key: 'variant', name: `the same agent as ${NODE20}`, pid: variant.agent.child.pid },
    {
      key: 'light',
      name: 'light agent (bench/light-agent.ts: MQTT link, protocol module)',
      pid: light.child.pid,
    },
    { key: 'node', name: 'bare Node (an empty event loop)', pid: bareNode.pid },
  ];
  const idle: FootprintResult['idle'] = [];
  log(`  idle, fresh: ${idleSeconds} s`);
  await sleep(5000); // the starts, connects and first status rounds are not idle yet
  idle.push({ label: 'just started', figures: await idleWindow(idleProcs(), idleSeconds) });

  log(`  receive to first byte: ${jobs} jobs each to both agents and the light agent`);
  const kitchen = loadTicket('kitchen-ticket');
  const latency: LatencyFigures = {
    firstByte: { agent: [], variant: [], light: [] },
    relayHop: [],
    commit: [],
    failures: [],
  };
  const probe = openDatabase(join(root, 'commit-probe.db'), ['CREATE TABLE t (x INTEGER)'], 'commit probe');
  cleanups.push(() => {
    probe.close();
  });
  const insert = probe.prepare('INSERT INTO t (x) VALUES (?)');
  /** One job; resolves with PUBLISH at the agent -> first byte at its printer, once it has printed. */
  const agentJob = async (s: StoreAgent, storeId: string, i: number, key: string): Promise<number> => {
    const p = i % PRINTERS.length;
    const firstByte = (s.taps[p] as PrinterTap).nextJobStart();
    const printer = (PRINTERS[p] as { id: string }).id;
    const job = await postJob(relay, { storeId, printer, ticket: kitchen }, key);
    const published = await watch.published.wait(job.jobId, 10_000, `PUBLISH of ${job.jobId}`);
    const byte = await withTimeout(firstByte, 10_000, `first byte of ${job.jobId}`);
    // The next job finds the agent done with this one (printed and reported).
    await watch.printed.wait(job.jobId, 10_000, `job-state printed of ${job.jobId}`);
    if (storeId === STORE.agent) latency.relayHop.push(published - job.sentAt);
    return byte - published;
  };
  const run: Record<Who, (i: number) => Promise<number>> = {
    agent: (i) => agentJob(main, STORE.agent, i, `latency-agent-${i}`),
    variant: (i) => agentJob(variant, STORE.variant, i, `latency-variant-${i}`),
    light: async (i) => {
      const job = await postJob(
        relay,
        { storeId: STORE.light, printer: LIGHT_PRINTER, ticket: kitchen },
        `latency-light-${i}`,
      );
      const published = await watch.published.wait(job.jobId, 10_000, `PUBLISH of ${job.jobId}`);
      return (
        (await light.firstByte.wait(job.jobId, 10_000, `light agent's byte of ${job.jobId}`)) - published
      );
    },
  };
  const who: Who[] = ['agent', 'variant', 'light'];
  for (let i = 0; i < jobs; i++) {
    for (let k = 0; k < who.length; k++) {
      const w = who[(i + k) % who.length] as Who; // who goes first rotates
      try {
        latency.firstByte[w].push(await run[w](i));
      } catch (err) {
        latency.failures.push(`${w} #${i}: ${(err as Error).message}`);
        if (latency.failures.length > 10) throw new Error(`latency: ${latency.failures.join('; ')}`);
      }
      await sleep(5 + Math.random() * 10);
    }
    // Between jobs, so that it never competes with the agents' own commits.
    const t = nowMs();
    insert.run(i);
    latency.commit.push(nowMs() - t);
  }

  log(`  idle, after ${jobs} jobs: ${idleSeconds} s`);
  await sleep(2000);
  idle.push({ label: `after ${jobs} jobs`, figures: await idleWindow(idleProcs(), idleSeconds) });
  await variant.agent.child.kill();
  await light.child.kill();
  await bareNode.kill();

  // 10,000 jobs buffered the way a store gets them: sent by the relay while the printers are out.
  log(`  ${BUFFERED_JOBS} jobs to the agent with every printer's cover open`);
  for (const vp of main.printers) vp.setFault('cover-open', true);
  await waitFor(
    async () => (await agentStatus(main.agent)).printers.every((p) => !p.ready),
    'every printer not ready',
    10_000,
  );
  const fillStart = nowMs();
  await inParallel(BUFFERED_JOBS, 32, async (i) => {
    const printer = (PRINTERS[i % PRINTERS.length] as { id: string }).id;
    await postJob(relay, { storeId: STORE.agent, printer, ticket: kitchen }, `buffered-${i}`);
  });
  await waitFor(
    async () => (await queued(main.agent)) === BUFFERED_JOBS,
    `${BUFFERED_JOBS} jobs queued`,
    600_000,
  );
  const fillMs = nowMs() - fillStart;
  // Killed once the relay has every job-received: a restart's hello must not wait behind a backlog of events.
  await waitFor(async () => (await agentStatus(main.agent)).outboxDepth === 0, 'the outbox sent', 120_000);
  log(`  ${BUFFERED_JOBS} jobs queued in ${fmt(fillMs / 1000, 1)} s; restarts after kill -9`);
  await main.agent.child.kill();

  const emptyDir = join(root, 'empty');
  mkdirSync(emptyDir);
  const emptyConfig = writeAgentConfig(emptyDir, credsOf(relay, STORE.empty), tap.url, main.printerConfig);
  /** Starts an agent, waits for its hello and reads its memory then; the agent is left running. */
  const restart = async (config: string, storeId: string) => {
    const hello = watch.nextHello(storeId);
    const started = await startAgentChild(config, [], agentExecutable());
    const h = await withTimeout(hello, 60_000, `hello from ${storeId}`);
    const rssBytes = procUsage(started.child.pid).rssBytes;
    return {
      agent: started,
      startedMs: started.startedAt - started.child.spawnedAt,
      helloMs: h.at - started.child.spawnedAt,
      jobIds: h.jobIds,
      rssBytes,
    };
  };
  // Once before measuring, so that the empty agent's database exists as the full one's does.
  const first = await restart(emptyConfig, STORE.empty);
  await first.agent.child.kill();

  const result: RecoveryRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const round: Partial<RecoveryRound> = {};
    const steps = {
      full: async () => {
        const s = await restart(main.config, STORE.agent);
        main.agent = s.agent;
        const depth = await queued(s.agent);
        await s.agent.child.kill();
        round.full = { ...s, queued: depth };
      },
      empty: async () => {
        const s = await restart(emptyConfig, STORE.empty);
        await s.agent.child.kill();
        round.empty = s;
      },
      node: async () => {
        const node = new NodeChild('node -e 0', ['-e', '0']);
        await node.exited;
        round.nodeMs = nowMs() - node.spawnedAt;
      },
    };
    // Who goes first rotates, so that none always finds a cold or a warm cache.
    const names = ['full', 'empty', 'node'] as const;
    for (let k = 0; k < names.length; k++)
      await steps[names[(k + r) % names.length] as (typeof names)[number]]();
    result.push(round as RecoveryRound);
    log(
      `  restart ${r + 1}: hello with ${round.full?.jobIds} job ids ${fmt(round.full?.helloMs ?? Number.NaN, 0)} ms after spawn`,
    );
  }
  return { idle, latency, jobs, fillMs, rounds: result };
}

// ---- serial --------------------------------------------------------------------------------

interface SerialRow {
  label: string;
  baud: number;
  throttled: boolean;
  jobs: number;
  jobBytes: number;
  figures: LineFigures | null;
}

async function runSerial(
  root: string,
  relay: Relay,
  tap: MqttTap,
  watch: RelayWatch,
  opts: AgentFootprintOptions,
  cleanups: Cleanups,
): Promise<SerialRow[]> {
  const log = opts.log ?? (() => {});
  const profile = getProfile(SERIAL_PROFILE);
  const receipt = loadTicket('meituan-receipt');
  const jobBytes = renderTicket(receipt, profile).bytes.length;
  const lineSeconds = opts.quick ? 6 : 20;
  const jobsFor = (baud: number) => Math.max(3, Math.ceil((lineSeconds * baud) / 10 / jobBytes));
  const lines = [
    { id: 's9600', baud: 9600, throttled: true },
    { id: 's115200', baud: 115_200, throttled: true },
    // The same pty without the emulated line: what a pty makes of a baud rate.
    { id: 'pty', baud: 115_200, throttled: false },
  ];
  const rigs: { id: string; baud: number; throttled: boolean; vp: VirtualPrinter; line: SerialLine }[] = [];
  for (const l of lines) {
    // A head faster than any of these lines, so that the printer is not what is measured.
    const vp = await startVirtualPrinter({ listen: 'pty', linesPerSecond: 100_000 });
    cleanups.push(() => vp.close());
    const line = await SerialLine.open(vp.uri, l.baud, l.throttled);
    cleanups.push(() => line.close());
    rigs.push({ ...l, vp, line });
  }
  const dir = join(root, 'serial');
  mkdirSync(dir);
  const config = writeAgentConfig(
    dir,
    credsOf(relay, STORE.serial),
    tap.url,
    rigs.map((r) => ({ id: r.id, uri: r.line.uri, profile: SERIAL_PROFILE })),
  );
  const agent = await startAgentChild(config, [], agentExecutable());
  cleanups.push(() => agent.child.kill());
  await waitAgentReady(agent, rigs.length);

  const rows: SerialRow[] = [];
  /** Queues the jobs with the covers open, then closes them together and measures the drain. */
  const phase = async (group: typeof rigs) => {
    for (const r of group) r.vp.setFault('cover-open', true);
    const ids = new Set(group.map((r) => r.id));
    await waitFor(
      async () => (await agentStatus(agent)).printers.every((p) => !ids.has(p.id) || !p.ready),
      'the serial printers not ready',
      10_000,
    );
    const jobIds: string[] = [];
    for (const r of group) {
      const n = r.throttled ? jobsFor(r.baud) : opts.quick ? 20 : 50;
      await inParallel(n, 8, async (i) => {
        const job = await postJob(
          relay,
          { storeId: STORE.serial, printer: r.id, ticket: receipt },
          `serial-${r.id}-${i}`,
        );
        jobIds.push(job.jobId);
      });
    }
    await waitFor(async () => (await queued(agent)) === jobIds.length, 'the serial jobs queued', 60_000);
    log(`  serial: ${group.map((r) => `${r.id}`).join(', ')}: ${jobIds.length} jobs`);
    const since = nowMs();
    for (const r of group) r.vp.setFault('cover-open', false);
    const slowest = Math.max(...group.map((r) => (r.throttled ? (lineSeconds * 2 + 30) * 1000 : 60_000)));
    for (const jobId of jobIds) await watch.printed.wait(jobId, slowest, `printed of serial job ${jobId}`);
    for (const r of group) {
      const jobs = r.throttled ? jobsFor(r.baud) : opts.quick ? 20 : 50;
      rows.push({
        label: r.throttled ? `${r.baud.toLocaleString('en-US')} baud line` : `pty alone, baud=${r.baud} set`,
        baud: r.baud,
        throttled: r.throttled,
        jobs,
        jobBytes,
        figures: r.line.measure(since, jobs, profile),
      });
    }
  };
  await phase(rigs.filter((r) => r.throttled));
  await phase(rigs.filter((r) => !r.throttled));
  await agent.child.kill();
  return rows;
}

// ---- report --------------------------------------------------------------------------------

const mb = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MB`;
const ms = (v: number, digits = 1) => (Number.isFinite(v) ? `${fmt(v, digits)} ms` : 'n/a');
const pcts = (v: number[]) => [50, 90, 99].map((p) => fmt(percentile(v, p), 2)).join(' / ');
const thousands = (n: number) => n.toLocaleString('en-US');

function report(f: FootprintResult, serial: SerialRow[], quick: boolean): Figures {
  const of = (key: IdleKey) => f.idle.map((w) => w.figures.find((p) => p.key === key) as IdleFigures);
  const idleRssBytes = Math.max(...of('agent').map((a) => a.rssMaxBytes));
  // The last window is the steady state; the first one may hold V8's one full collection after start.
  const idleCpuPercent = (of('agent')[f.idle.length - 1] as IdleFigures).cpuPercent;
  const startCpuPercent = (of('agent')[0] as IdleFigures).cpuPercent;
  const variantRss = Math.max(...of('variant').map((a) => a.rssMaxBytes));
  const nodeRss = Math.max(...of('node').map((a) => a.rssMaxBytes));
  const lastAgent = of('agent')[f.idle.length - 1] as IdleFigures;
  const fb = f.latency.firstByte;
  const firstByteP99Ms = percentile(fb.agent, 99);
  const recoveryMs = Math.max(...f.rounds.map((r) => r.full.helloMs));
  const full = f.rounds.map((r) => r.full.helloMs);
  const empty = f.rounds.map((r) => r.empty.helloMs);
  const node = f.rounds.map((r) => r.nodeMs);
  const throttled = serial.filter((s) => s.throttled);
  const share = (s: SerialRow) => (s.figures ? s.figures.bytesPerSecond / (s.baud / 10) : Number.NaN);
  const idlePerJob = (s: SerialRow) =>
    s.figures ? s.figures.gapsMs.reduce((a, b) => a + b, 0) / Math.max(1, s.jobs - 1) : Number.NaN;
  const turnaround = (s: SerialRow) =>
    s.figures && s.figures.turnaroundMs.length > 0 ? median(s.figures.turnaroundMs) : Number.NaN;
  const latencyRow = (name: string, v: number[]) => [name, String(v.length), pcts(v), ms(Math.max(...v), 2)];

  const idleTable = table(
    ['window', 'process', 'RSS, highest', '... anon / file', 'CPU, % of one core'],
    f.idle.flatMap((w) =>
      w.figures.map((p) => [
        w.label,
        p.name,
        mb(p.rssMaxBytes),
        `${mb(p.last.anonBytes)} / ${mb(p.last.fileBytes)}`,
        `${fmt(p.cpuPercent, 2)} %`,
      ]),
    ),
  );
  const latencyTable = table(
    ['path', 'samples', 'p50 / p90 / p99 ms', 'max'],
    [
      latencyRow('store agent: job PUBLISH at the agent -> first byte at the printer', fb.agent),
      latencyRow(`the same agent as ${NODE20}`, fb.variant),
      latencyRow('light agent (no database, no rendering), same span', fb.light),
      latencyRow('relay hop: POST /v1/jobs sent -> PUBLISH at the store agent', f.latency.relayHop),
      latencyRow(
        'one SQLite commit as the agent makes them (WAL, synchronous=FULL), same disk',
        f.latency.commit,
      ),
    ],
  );
  const recoveryTable = table(
    [
      'round',
      '10,000 queued: startAgent resolved',
      '... hello with every job id sent',
      'job ids / queued',
      'RSS then',
      'empty database: resolved / hello',
      'RSS then',
      '`node -e 0` exits',
    ],
    f.rounds.map((r, i) => [
      String(i + 1),
      ms(r.full.startedMs, 0),
      ms(r.full.helloMs, 0),
      `${r.full.jobIds} / ${r.full.queued}`,
      mb(r.full.rssBytes),
      `${ms(r.empty.startedMs, 0)} / ${ms(r.empty.helloMs, 0)}`,
      mb(r.empty.rssBytes),
      ms(r.nodeMs, 0),
    ]),
  );
  const serialTable = table(
    [
      'line',
      'jobs (bytes each)',
      'bytes on the wire',
      'time',
      'bytes/s',
      'line rate (8N1)',
      'share of line rate',
      'line idle per job: mean / longest',
      "agent's turnaround per job: median",
    ],
    serial.map((s) => {
      const g = s.figures;
      if (!g) return [s.label, `${s.jobs} (${s.jobBytes})`, 'n/a', '', '', '', '', '', ''];
      return [
        s.label,
        `${s.jobs} (${s.jobBytes})`,
        thousands(g.bytes),
        ms(g.ms, 0),
        fmt(g.bytesPerSecond, 0),
        fmt(s.baud / 10, 0),
        `${fmt(share(s) * 100, 1)} %`,
        s.throttled ? `${ms(idlePerJob(s))} / ${ms(Math.max(0, ...g.gapsMs))}` : '(no wire)',
        ms(turnaround(s)),
      ];
    }),
  );

  const markdown = [
    '### Store agent footprint',
    '',
    '`printrelay agent` (the Linux single executable the installers ship) in its own process, connected to `printrelay relay start` (another process) and to virtual ' +
      'printers, all on loopback, measured from outside the agent: memory and CPU from /proc/PID, times at taps in the ' +
      'benchmark process that every relay and printer byte passes through (an MQTT proxy that stamps when the last byte ' +
      'of a PUBLISH was written to the agent, a TCP proxy that stamps when the first byte of a job, ESC @, arrived from ' +
      'the agent). Three printers under status watch: epson-tm-t88 (ASB, GS ( H), xprinter-80 (ASB, GS r), gprinter-58 ' +
      `(no ASB: DLE EOT every second). Next to it, in the same windows and on the same jobs: the same agent as ${NODE20}, ` +
      'how it ran before the executables, with three printers of its own, the light agent of the fan-out ' +
      'benchmark (bench/light-agent.ts in its own process: the same protocol, no database, no rendering; it writes ESC @ and ' +
      'the job id to a socket as soon as it has parsed the PUBLISH), and a Node process that does nothing.' +
      (f.latency.failures.length > 0 ? ` Failed samples: ${f.latency.failures.join('; ')}.` : ''),
    '',
    `#### Idle (windows of ${quick ? 10 : 30} s; RSS read every second)`,
    '',
    idleTable,
    '',
    '#### Receive to first byte',
    '',
    `Closed loop: ${thousands(f.jobs)} jobs each, one at a time, to the three printers in turn (kitchen ticket, 486 bytes), ` +
      'the next one only after the agent reported it printed; the three receivers take turns, who goes first rotating. ' +
      'One SQLite commit is timed in the benchmark process after each turn, on the disk the agents write to.',
    '',
    latencyTable,
    '',
    `#### ${thousands(BUFFERED_JOBS)} buffered jobs recovered after kill -9`,
    '',
    `The relay sent ${thousands(BUFFERED_JOBS)} jobs while every printer's cover was open ` +
      `(${fmt(f.fillMs / 1000, 1)} s until the agent had them all queued; it was killed once it had reported them all). ` +
      'Then restarts, each ended with kill -9 again. Times from the spawn of `printrelay agent`: "startAgent resolved" is ' +
      'when the CLI printed that it was up (jobs loaded, printers and relay link started); "hello" is when the hello listing ' +
      'every open job id reached the relay connection (from then on the relay knows what the agent holds). The queue depth is ' +
      'read from the local API right after. An agent with an empty database and a Node process that exits at once are ' +
      'started in the same rounds, the order rotating. The database is in the page cache (a warm restart, not a cold boot).',
    '',
    recoveryTable,
    '',
    `Median hello: ${ms(median(full), 0)} with ${thousands(BUFFERED_JOBS)} jobs, ${ms(median(empty), 0)} with none; ` +
      `\`node -e 0\` ${ms(median(node), 0)}.`,
    '',
    '#### Serial throughput',
    '',
    `A pty does not honour the baud rate: bytes cross it as fast as they are written (the "pty alone" row). ` +
      "So the agent's serial printers sit at the end of an emulated cable (bench/agent-serial-line.ts): the agent opens a " +
      "pty of its own, and the benchmark carries its bytes to the virtual printer's pty and back one after the other at " +
      'baud/10 bytes/s per direction, as a UART does, holding the agent back while 100 ms of line time waits. Bytes/s are ' +
      "taken on that wire from the first byte of the first job to the last byte of the last one's confirmation request, so " +
      'every moment the agent leaves the line idle counts against it. The jobs (meituan receipt, epson-tm-t88 profile) were ' +
      'queued with the covers open and the covers of the two lines closed together, so both lines drain their queues side ' +
      'by side; the virtual printers print faster than any line, so the printer is not what is measured. Between two jobs ' +
      "the line waits for the driver's rule of one job at a time: a job's confirmation must come back before the next job " +
      "is sent. The agent's turnaround is the time from that confirmation reaching the agent's pty to the next job's first " +
      'byte coming out of it; the rest of a gap is the line carrying the last bytes and the answer, the printer, and timer ' +
      'delays of the emulation.',
    '',
    serialTable,
    '',
    'Targets:',
    '',
    `- idle RSS at most 60 MB: ${mb(idleRssBytes)}, ${verdict(idleRssBytes, TARGET.idleRssBytes, 'lower')}. ` +
      `A Node process doing nothing is ${mb(nodeRss)} here. Of the agent's RSS at the end, ${mb(lastAgent.last.anonBytes)} is ` +
      `anonymous (V8 heaps, SQLite, buffers) and ${mb(lastAgent.last.fileBytes)} file-backed (the node binary and native ` +
      `modules, shared between processes). As ${NODE20} the same agent stays at ${mb(variantRss)}, ` +
      `${verdict(variantRss, TARGET.idleRssBytes, 'lower')}`,
    `- idle CPU under 1% of a core: ${fmt(idleCpuPercent, 2)} % in the steady state (the window after the jobs), ` +
      `${verdict(idleCpuPercent, TARGET.idleCpuPercent, 'lower')}; in the window right after start ${fmt(startCpuPercent, 2)} %, ` +
      `${verdict(startCpuPercent, TARGET.idleCpuPercent, 'lower')}: that window may hold V8's full collections of the ` +
      'start-up garbage, which come once, about 30 s after start',
    `- receive-to-first-byte p99 at most 5 ms: ${ms(firstByteP99Ms, 2)}, ${verdict(firstByteP99Ms, TARGET.firstByteP99Ms, 'lower')}; ` +
      `p50 ${ms(percentile(fb.agent, 50), 2)}. On the same path the light agent's p99 is ${ms(percentile(fb.light, 99), 2)}; ` +
      'the SQLite commit the agent makes before the first byte (the job received and, its printer being idle, ' +
      `started, in one transaction) takes ${ms(percentile(f.latency.commit, 50), 2)} at its median on this disk, ` +
      `${ms(percentile(f.latency.commit, 99), 2)} at p99`,
    `- ${thousands(BUFFERED_JOBS)} jobs recovered in under 1 s: slowest restart ${ms(recoveryMs, 0)} from spawn to the hello, ` +
      `${verdict(recoveryMs, TARGET.recoveryMs, 'lower')}; all ${thousands(BUFFERED_JOBS)} queued every time: ` +
      `${f.rounds.every((r) => r.full.queued === BUFFERED_JOBS && r.full.jobIds === BUFFERED_JOBS) ? 'yes' : '**no**'}. ` +
      `The same agent with an empty database takes ${ms(median(empty), 0)} (median), so the jobs themselves add ` +
      `${ms(median(full) - median(empty), 0)}; the rest is starting Node (${ms(median(node), 0)} for \`node -e 0\`) and loading the agent`,
    ...throttled.map(
      (s) =>
        `- serial at ${thousands(s.baud)} baud, 95% of line rate or better: ${fmt(share(s) * 100, 1)} %, ` +
        `${verdict(share(s), TARGET.serialShare, 'higher')}; the line stands idle ${ms(idlePerJob(s))} per job of ` +
        `${ms((s.jobBytes * 10_000) / s.baud, 0)} line time, of which the agent's own turnaround is ${ms(turnaround(s))} (median)`,
    ),
  ].join('\n');

  return {
    markdown,
    idleRssBytes,
    idleCpuPercent,
    firstByteP99Ms,
    recoveryMs,
    serial: throttled.map((s) => ({ baud: s.baud, share: share(s) })),
  };
}

export async function runAgentFootprint(opts: AgentFootprintOptions): Promise<Figures> {
  const root = mkdtempSync(join(tmpdir(), 'printrelay-bench-agent-'));
  const cleanups: Cleanups = [];
  try {
    const relay = await startRelay(join(root, 'relay'), Object.values(STORE));
    cleanups.push(() => relay.child.kill());
    const tap = await MqttTap.start(relay.mqttPort);
    cleanups.push(() => tap.close());
    const watch = new RelayWatch(tap);
    const footprint = await runFootprint(root, relay, tap, watch, opts, cleanups);
    const serial = await runSerial(root, relay, tap, watch, opts, cleanups);
    return report(footprint, serial, opts.quick);
  } finally {
    for (const c of cleanups.reverse()) await c();
    rmSync(root, { recursive: true, force: true });
  }
}
