// One chaos run: a real relay and one real agent per store as child processes, virtual
// printers in this process, a cuttable TCP hop between each agent and the relay. With
// `cluster`, two relay processes on throwaway PostgreSQL and Redis (docs/scaling.md) instead:
// each agent has a hop to each relay (its store's network, cut as one), orders go to the relays
// in turn, and relay kills strike one process at a time. Orders
// stream in while faults strike at seeded moments; then every fault is undone, the system
// drains, and the ledger check compares what the relay says with what came out on paper.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentConfig } from '../agent/config.js';
import type { LocalJobView } from '../agent/views.js';
import { percentile } from '../bench/stats.js';
import type { NodeChild } from '../harness/child.js';
import { type ClusterMember, startClusterEngines } from '../harness/cluster-engines.js';
import { freePort } from '../harness/ports.js';
import { waitFor } from '../harness/wait.js';
import type { JobState, JobView, TimelineEntry } from '../protocol/job.js';
import { startVirtualPrinter, type VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import {
  FAULT_KINDS,
  FaultInjector,
  type FaultKind,
  type FaultRecord,
  planFaults,
  restart,
  type StoreLink,
} from './faults.js';
import { checkLedger, type Violation } from './ledger.js';
import { LinkProxy } from './link-proxy.js';
import { OrderSource, type StoreTargets } from './orders.js';
import { PaperTally } from './paper.js';
import { AgentProcess, RelayProcess } from './processes.js';
import { markdownSummary } from './report.js';
import { Rng } from './rng.js';

export interface ChaosOptions {
  /** bin/printrelay.js of the build under test. */
  cliPath: string;
  /** How long orders arrive and faults strike; the drain comes after. */
  durationMs: number;
  stores: number;
  printersPerStore: number;
  ordersPerSecond: number;
  seed: number;
  /** chaos-report.json or .md: both are written, side by side. */
  reportFile: string;
  /** Mean gap between faults (default 4000 ms). */
  faultEveryMs?: number;
  /** How long the drain may take before what is still open counts as lost (default 120 s). */
  drainTimeoutMs?: number;
  /** Keep the logs and databases of a run that passed too (one that fails always keeps them). */
  keepWorkDir?: boolean;
  /** Two relay processes on PostgreSQL and Redis instead of one on SQLite. */
  cluster?: boolean;
  log?: (line: string) => void;
}

export interface LatencyStats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SlowJob {
  jobId: string;
  marker: string;
  storeId: string;
  /** From the 201 to the final state. */
  ms: number;
  timeline: TimelineEntry[];
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  startedAt: string;
  options: Omit<ChaosOptions, 'cliPath' | 'log'>;
  /** How long each phase took, ms. */
  phases: { setup: number; chaos: number; settle: number; drain: number; ledger: number };
  /** The system went quiet within drainTimeoutMs. */
  drained: boolean;
  orders: {
    placed: number;
    accepted: number;
    refused: number;
    /** POSTs that got no 201 and were sent again (relay down, killed mid-request). */
    retries: number;
    copies: number;
    withTtl: number;
    /** Cancels sent, by HTTP status (200 cancelled at once, 202 forwarded, 409 too late). */
    cancels: Record<string, number>;
  };
  /** Accepted jobs by their state at the relay after the drain. */
  states: Partial<Record<JobState | 'unknown', number>>;
  /** Why jobs ended other than printed, with how many ("state: detail"). */
  reasons: Record<string, number>;
  paper: { plainPrints: number; reprintMarkedPrints: number };
  faults: { planned: number; injected: number; byKind: Record<FaultKind, number>; log: FaultRecord[] };
  latencyMs: {
    /** From the 201 to the first copy on paper, printed jobs. */
    acceptedToPaper: LatencyStats;
    /** From the 201 to the relay's final state, every accepted job. */
    acceptedToFinal: LatencyStats;
  };
  /** The jobs that took longest from the 201 to their final state, with their timelines. */
  slowest: SlowJob[];
  violations: Violation[];
  /** What went wrong with the run itself (a process that would not restart, a drain that timed out). */
  errors: string[];
  /** Logs and databases of the run, kept when it is not ok. */
  workDir: string | null;
  reportFiles: string[];
}

const NON_FINAL_RELAY: readonly JobState[] = ['accepted', 'sent', 'delivered', 'held', 'printing'];
const NON_FINAL_LOCAL = ['queued', 'held', 'printing', 'waiting'] as const;
const PROFILES = ['epson-tm-t88', 'xprinter-80', 'gprinter-58'] as const;
/** Virtual printer features matching each profile, so the driver meets what it expects. */
const PRINTER_FEATURES: Record<(typeof PROFILES)[number], { asb: boolean; gsH: boolean }> = {
  'epson-tm-t88': { asb: true, gsH: true },
  'xprinter-80': { asb: true, gsH: false },
  'gprinter-58': { asb: false, gsH: false },
};
const SLOWEST_LISTED = 5;
/** Nothing printed for this long (and nothing buffered): the printers are done. */
const PAPER_QUIET_MS = 1500;

interface Store {
  storeId: string;
  agent: AgentProcess;
  link: StoreLink;
  printers: Map<string, VirtualPrinter>;
  refs: string[];
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  checkOptions(opts);
  const log = opts.log ?? (() => {});
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'printrelay-chaos-'));
  mkdirSync(join(workDir, 'logs'));
  const cleanups: (() => Promise<void> | void)[] = [];
  const errors: string[] = [];
  let keepWorkDir = true;
  try {
    // ---- setup ----------------------------------------------------------------------------
    const tSetup = Date.now();
    let member: ClusterMember | undefined;
    if (opts.cluster) {
      const engines = await startClusterEngines();
      cleanups.push(() => engines.stop());
      member = await engines.cluster('relay');
    }
    const relays = new Map<string, RelayProcess>();
    for (const name of opts.cluster ? ['relay-a', 'relay-b'] : ['relay']) {
      const dataDir = join(workDir, name);
      const logFile = join(workDir, 'logs', `${name}.log`);
      const relay = new RelayProcess(
        opts.cliPath,
        dataDir,
        await freePort(),
        await freePort(),
        logFile,
        member,
      );
      mkdirSync(relay.dataDir);
      cleanups.push(() => relay.kill9());
      relays.set(name, relay);
    }
    const relay = relays.values().next().value as RelayProcess;
    const apiKey = await relay.addKey('all');
    const tally = new PaperTally((text) => text.startsWith(`CHAOS-${opts.seed}-`));
    const stores: Store[] = [];
    let lastPrintAt = 0;
    for (let s = 1; s <= opts.stores; s++) {
      const store = await setUpStore(opts, [...relays.values()], `s${s}`, s, workDir, cleanups);
      for (const [id, printer] of store.printers) {
        tally.watch(`${store.storeId}/${id}`, printer);
        printer.on('printed', () => {
          lastPrintAt = Date.now();
        });
      }
      stores.push(store);
    }
    for (const r of relays.values()) await r.start();
    await Promise.all(stores.map((s) => s.agent.start()));
    const api = (path: string) =>
      fetch(`${relay.httpUrl}${path}`, {
        headers: { authorization: `Bearer ${apiKey}` },
        signal: AbortSignal.timeout(10_000),
      });
    await waitFor(
      async () => {
        for (const s of stores) {
          const res = await api(`/v1/stores/${s.storeId}`);
          if (!((await res.json()) as { online: boolean }).online) return false;
        }
        return true;
      },
      'every store online',
      { timeoutMs: 30_000, intervalMs: 250, ignoreErrors: true },
    );
    const setupMs = Date.now() - tSetup;
    log(
      `setup: ${relays.size} relay process(es) and ${stores.length} agents up in ${setupMs} ms; work dir ${workDir}`,
    );

    // ---- chaos: orders and faults -----------------------------------------------------------
    const planRng = new Rng(opts.seed);
    const orderRng = new Rng(opts.seed ^ 0x9e3779b9);
    const plan = planFaults(planRng, {
      durationMs: opts.durationMs,
      meanGapMs: opts.faultEveryMs ?? 4000,
      relays: [...relays.keys()],
      stores: stores.map((s) => s.storeId),
      printers: stores.flatMap((s) => [...s.printers.keys()].map((id) => `${s.storeId}/${id}`)),
    });
    const tChaos = Date.now();
    const injector = new FaultInjector(
      {
        relays,
        agents: new Map(stores.map((s) => [s.storeId, s.agent])),
        links: new Map(stores.map((s) => [s.storeId, s.link])),
        printers: new Map(
          stores.flatMap((s) => [...s.printers].map(([id, p]) => [`${s.storeId}/${id}`, p] as const)),
        ),
      },
      tChaos,
      log,
    );
    const chaosEnd = tChaos + opts.durationMs;
    const source = new OrderSource({
      httpUrls: [...relays.values()].map((r) => r.httpUrl),
      apiKey,
      stores: stores.map((s): StoreTargets => ({ storeId: s.storeId, refs: s.refs })),
      rng: orderRng,
      runId: String(opts.seed),
      giveUpAt: () => chaosEnd + 60_000,
    });
    // A relay or agent that exits without being killed is a finding: it is noted and, as a
    // service manager would, started again (when no fault holds it).
    const watched = [
      ...[...relays].map(([name, child]) => ({ name, target: name, child })),
      ...stores.map((s) => ({ name: `agent ${s.storeId}`, target: s.storeId, child: s.agent })),
    ];
    const crashed = new Set<NodeChild>();
    const watchdog = setInterval(() => {
      for (const { name, target, child } of watched) {
        const proc = child.proc;
        if (!proc || proc.running || proc.proc.signalCode === 'SIGKILL' || crashed.has(proc)) continue;
        crashed.add(proc);
        const how = proc.proc.signalCode ?? `exit code ${proc.proc.exitCode}`;
        errors.push(`${name} exited by itself (${how}); its last output:\n${proc.output.slice(-3000)}`);
        log(`${name} exited by itself (${how}); starting it again`);
        injector
          .exclusive(target, () => restart(name, child))
          .catch((err: Error) => errors.push(err.message));
      }
    }, 1000);
    cleanups.push(() => clearInterval(watchdog));
    const faulting = injector.run(plan);
    const progress = setInterval(() => {
      const accepted = source.orders.filter((o) => o.jobId !== null).length;
      log(
        `t=${Math.round((Date.now() - tChaos) / 1000)}s: ${source.orders.length} orders, ${accepted} accepted, ` +
          `${injector.records.length} faults, ${tally.count} prints`,
      );
    }, 10_000);
    try {
      for (let at = tChaos + orderRng.exponential(1000 / opts.ordersPerSecond); at < chaosEnd; ) {
        const wait = at - Date.now();
        if (wait > 0) await sleep(wait);
        source.place();
        at += orderRng.exponential(1000 / opts.ordersPerSecond);
      }
      await faulting;
    } finally {
      clearInterval(progress);
    }
    const chaosMs = Date.now() - tChaos;

    // ---- settle: faults undone, every order answered ----------------------------------------
    const tSettle = Date.now();
    await injector.settle();
    for (const r of injector.records) if (r.error) errors.push(`fault ${r.kind} ${r.target}: ${r.error}`);
    // A process that did not come back is started once more, so the drain can still tell what is lost.
    for (const { name, child } of watched) {
      if (!child.proc?.running) await restart(name, child).catch((e: Error) => errors.push(e.message));
    }
    await source.settled();
    const settleMs = Date.now() - tSettle;
    log(`chaos over: ${source.orders.length} orders, ${injector.records.length} faults; draining`);

    // ---- drain -----------------------------------------------------------------------------
    const tDrain = Date.now();
    const drainTimeoutMs = opts.drainTimeoutMs ?? 120_000;
    let busy: string | null = 'not looked yet';
    let lastSaid = 0;
    const drained = await waitFor(
      async () => {
        busy = await stillBusy(api, stores, () => lastPrintAt);
        if (busy && Date.now() - lastSaid >= 5000) {
          lastSaid = Date.now();
          log(`drain: ${busy}`);
        }
        return busy === null;
      },
      'the system to drain',
      { timeoutMs: drainTimeoutMs, intervalMs: 250, ignoreErrors: true },
    ).then(
      () => true,
      () => false,
    );
    if (!drained) errors.push(`the system did not drain within ${drainTimeoutMs} ms: ${busy}`);
    const drainMs = Date.now() - tDrain;
    log(`drain: ${drained ? 'done' : 'timed out'} in ${drainMs} ms; checking the ledger`);

    // ---- ledger ----------------------------------------------------------------------------
    const tLedger = Date.now();
    const { views, unanswered } = await jobViews(
      api,
      source.orders.flatMap((o) => o.jobId ?? []),
    );
    if (unanswered > 0) errors.push(`the relay did not answer GET /v1/jobs/{id} for ${unanswered} job(s)`);
    const ledger = checkLedger({
      orders: source.orders,
      views,
      prints: (marker) => tally.prints(marker),
      markersOnPaper: tally.markers(),
      faults: injector.records,
      t0: tChaos,
    });
    const ledgerMs = Date.now() - tLedger;

    const accepted = source.orders.filter((o) => o.jobId !== null);
    const toPaper: number[] = [];
    const toFinal: number[] = [];
    const slowest: SlowJob[] = [];
    for (const o of accepted) {
      const view = views.get(o.jobId as string);
      const first = tally.prints(o.marker)[0];
      if (view?.state === 'printed' && first) toPaper.push(first.at - (o.acceptedAt as number));
      const last = view?.timeline[view.timeline.length - 1];
      if (!view || !last) continue;
      const ms = Date.parse(last.at) - (o.acceptedAt as number);
      toFinal.push(ms);
      slowest.push({ jobId: view.jobId, marker: o.marker, storeId: o.storeId, ms, timeline: view.timeline });
    }
    slowest.sort((a, b) => b.ms - a.ms).splice(SLOWEST_LISTED);
    const byKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
    for (const r of injector.records) if (r.startedMs !== null) byKind[r.kind]++;
    const cancels: Record<string, number> = {};
    for (const o of source.orders)
      if (o.cancel) cancels[o.cancel.status] = (cancels[o.cancel.status] ?? 0) + 1;

    const ok = ledger.violations.length === 0 && errors.length === 0;
    keepWorkDir = !ok || opts.keepWorkDir === true;
    const { cliPath: _cli, log: _log, ...options } = opts;
    const base = opts.reportFile.replace(/\.(json|md)$/i, '');
    const report: ChaosReport = {
      ok,
      seed: opts.seed,
      startedAt: startedAt.toISOString(),
      options,
      phases: { setup: setupMs, chaos: chaosMs, settle: settleMs, drain: drainMs, ledger: ledgerMs },
      drained,
      orders: {
        placed: source.orders.length,
        accepted: accepted.length,
        refused: source.orders.filter((o) => o.refused !== null).length,
        retries: source.retries,
        copies: accepted.reduce((n, o) => n + o.copies, 0),
        withTtl: accepted.filter((o) => o.ttlSeconds !== null).length,
        cancels,
      },
      states: ledger.states,
      reasons: ledger.reasons,
      paper: { plainPrints: ledger.plainPrints, reprintMarkedPrints: ledger.reprintMarkedPrints },
      faults: {
        planned: plan.length,
        injected: injector.records.filter((r) => r.startedMs !== null).length,
        byKind,
        log: injector.records,
      },
      latencyMs: { acceptedToPaper: stats(toPaper), acceptedToFinal: stats(toFinal) },
      slowest,
      violations: ledger.violations,
      errors,
      workDir: keepWorkDir ? workDir : null,
      reportFiles: [`${base}.json`, `${base}.md`],
    };
    mkdirSync(dirname(base), { recursive: true });
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, markdownSummary(report));
    log(markdownSummary(report));
    return report;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  }
}

function checkOptions(opts: ChaosOptions): void {
  const whole = (name: keyof ChaosOptions, min: number) => {
    const v = opts[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new Error(`chaos option ${name} must be a whole number of at least ${min}, got ${String(v)}`);
  };
  whole('durationMs', 5000);
  whole('stores', 1);
  whole('printersPerStore', 1);
  whole('seed', 0);
  if (!(opts.ordersPerSecond > 0))
    throw new Error(`chaos option ordersPerSecond must be above 0, got ${opts.ordersPerSecond}`);
  if (!/\.(json|md)$/i.test(opts.reportFile))
    throw new Error(
      `chaos option reportFile must end in .json or .md, got ${JSON.stringify(opts.reportFile)}`,
    );
}

/** A store: its printers, the hop to the relay, and its agent (configured, not started). */
async function setUpStore(
  opts: ChaosOptions,
  relays: readonly RelayProcess[],
  storeId: string,
  index: number,
  workDir: string,
  cleanups: (() => Promise<void> | void)[],
): Promise<Store> {
  const creds = await (relays[0] as RelayProcess).addStore(storeId);
  const printers = new Map<string, VirtualPrinter>();
  const configs: AgentConfig['printers'] = [];
  const n = opts.printersPerStore;
  for (let i = 1; i <= n; i++) {
    const profile = PROFILES[(i - 1) % PROFILES.length] as (typeof PROFILES)[number];
    // Slow enough that faults often catch a ticket half printed.
    const printer = await startVirtualPrinter({
      listen: 'tcp://127.0.0.1:0',
      linesPerSecond: 100,
      ...PRINTER_FEATURES[profile],
    });
    cleanups.push(() => printer.close());
    const id = `p${i}`;
    printers.set(id, printer);
    configs.push({
      id,
      uri: printer.uri,
      profile,
      roles: [i === 1 ? 'receipt' : i === 2 ? 'kitchen' : `station${i}`],
      ...(n > 1 ? { backup: `p${(i % n) + 1}` } : {}),
    });
  }
  // A hop to each relay; on a cluster the stores start on different relays, the others as alternates.
  const hops: LinkProxy[] = [];
  for (let r = 0; r < relays.length; r++) {
    const hop = await LinkProxy.start((relays[(index + r) % relays.length] as RelayProcess).mqttPort);
    cleanups.push(() => hop.close());
    hops.push(hop);
  }
  const link: StoreLink = {
    cutFor: async (ms, mode) => {
      await Promise.all(hops.map((h) => h.cutFor(ms, mode)));
    },
  };
  const dir = join(workDir, storeId);
  mkdirSync(dir);
  const localApiPort = await freePort();
  const config: AgentConfig = {
    storeId,
    relay: {
      url: (hops[0] as LinkProxy).url,
      ...(hops.length > 1 ? { alternateUrls: hops.slice(1).map((h) => h.url) } : {}),
      password: creds.password,
      clientId: creds.clientId,
    },
    dataDir: 'data',
    printers: configs,
    failover: { enabled: true, afterSeconds: 3 },
    // Half the stores reprint what a crash cut off (marked REPRINT), half only report it.
    uncertainJobs: index % 2 === 0 ? 'reprint-marked' : 'report',
    localApi: { port: localApiPort },
  };
  const configFile = join(dir, 'agent.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const agent = new AgentProcess(
    opts.cliPath,
    configFile,
    localApiPort,
    join(workDir, 'logs', `agent-${storeId}.log`),
  );
  cleanups.push(() => agent.kill9());
  return {
    storeId,
    agent,
    link,
    printers,
    refs: [...configs.flatMap((c) => c.roles ?? []), ...configs.map((c) => c.id)],
  };
}

/** What is still going on (an open job, an unsent event, paper moving), or null once nothing is. */
async function stillBusy(
  api: (path: string) => Promise<Response>,
  stores: readonly Store[],
  lastPrintAt: () => number,
): Promise<string | null> {
  for (const state of NON_FINAL_RELAY) {
    const res = await api(`/v1/jobs?state=${state}&limit=1`);
    const [job] = ((await res.json()) as { jobs: JobView[] }).jobs;
    if (job) return `job ${job.jobId} (${job.storeId}) is ${state} at the relay`;
  }
  for (const s of stores) {
    const status = await s.agent.status();
    if (!status.relay.connected) return `agent ${s.storeId} is not connected (${status.relay.lastError})`;
    if (status.outboxDepth > 0) return `agent ${s.storeId} has ${status.outboxDepth} event(s) to send`;
    for (const state of NON_FINAL_LOCAL) {
      const res = await fetch(`${s.agent.localApiUrl}/v1/jobs?state=${state}&limit=1`);
      const [job] = ((await res.json()) as { jobs: LocalJobView[] }).jobs;
      if (job) return `job ${job.jobId} is ${state} at agent ${s.storeId}`;
    }
    for (const [id, p] of s.printers) {
      if (p.status.bufferedBytes > 0) return `printer ${s.storeId}/${id} has data to print`;
    }
  }
  return Date.now() - lastPrintAt() > PAPER_QUIET_MS ? null : 'paper is still moving';
}

/** The relay's view of each job, a few requests at a time; a job it cannot show stays out (the ledger counts it lost). */
async function jobViews(
  api: (path: string) => Promise<Response>,
  jobIds: readonly string[],
): Promise<{ views: Map<string, JobView>; unanswered: number }> {
  const views = new Map<string, JobView>();
  let unanswered = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobIds.length; i = next++) {
      const jobId = jobIds[i] as string;
      try {
        const res = await api(`/v1/jobs/${jobId}`);
        if (res.status === 200) views.set(jobId, (await res.json()) as JobView);
        else await res.body?.cancel();
      } catch {
        unanswered++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { views, unanswered };
}

function stats(values: readonly number[]): LatencyStats {
  const round = (n: number) => (Number.isFinite(n) ? Math.round(n) : 0);
  return {
    count: values.length,
    p50: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    p99: round(percentile(values, 99)),
    max: round(percentile(values, 100)),
  };
}
