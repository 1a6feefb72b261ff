// The faults of a chaos run: planned from the seed up front (so a run can be repeated from
// its seed), then injected at their moments. Faults on one target (the relay, a store's
// agent, a store's link, a printer) take turns; faults on different targets overlap freely.
// Every fault undoes itself when its time is up: the process restarts, the link comes back,
// the paper is refilled, the cover closed, the power back on.
import { setTimeout as sleep } from 'node:timers/promises';
import type { VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import type { CutMode } from './link-proxy.js';
import type { AgentProcess, RelayProcess } from './processes.js';
import type { Rng } from './rng.js';

export const FAULT_KINDS = [
  'relay-kill', // kill -9 of the relay (of one relay process, on a cluster), restarted after the down time
  'agent-kill', // kill -9 of a store's agent, restarted after the down time
  'link-cut', // the store's link to the relay cut (reset or blackhole) for the duration
  'paper-out', // a printer runs out of paper; refilled after the duration
  'cover-open', // a printer's cover opened; closed after the duration
  'power-cycle', // a printer switched off for the duration and on again
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** When, in ms from the start of the chaos phase. */
  atMs: number;
  kind: FaultKind;
  /** A relay ('relay', or 'relay-a'... on a cluster), a store id (agent-kill, link-cut) or 'storeId/printerId'. */
  target: string;
  durationMs: number;
  mode?: CutMode;
}

export interface FaultRecord extends PlannedFault {
  /** When it actually began and ended (ms from the start of the chaos phase); a busy target delays it. */
  startedMs: number | null;
  endedMs: number | null;
  error?: string;
}

export interface FaultPlanOptions {
  durationMs: number;
  /** Mean gap between faults. */
  meanGapMs: number;
  /** The relay processes' names. */
  relays: readonly string[];
  stores: readonly string[];
  /** 'storeId/printerId' of every printer. */
  printers: readonly string[];
}

const WEIGHTS: Record<FaultKind, number> = {
  'relay-kill': 1,
  'agent-kill': 2,
  'link-cut': 3,
  'paper-out': 3,
  'cover-open': 2,
  'power-cycle': 2,
};

/** Down time or duration of each kind, ms. */
const DURATION: Record<FaultKind, [number, number]> = {
  'relay-kill': [200, 3000],
  'agent-kill': [200, 3000],
  'link-cut': [1000, 6000],
  'paper-out': [1000, 6000],
  'cover-open': [1000, 4000],
  'power-cycle': [300, 2500],
};

/** The faults of a run. The first ones are every kind once, in a seeded order, so a short run has each. */
export function planFaults(rng: Rng, opts: FaultPlanOptions): PlannedFault[] {
  const plan: PlannedFault[] = [];
  const first = rng.shuffle(FAULT_KINDS);
  // Each relay process is a target of its own: a cluster's processes are killed as often as a lone relay.
  const weights = { ...WEIGHTS, 'relay-kill': WEIGHTS['relay-kill'] * opts.relays.length };
  // The last few seconds are left quiet: a fault there would only overlap the drain.
  const end = opts.durationMs - 3000;
  for (let at = rng.exponential(opts.meanGapMs); at < end; at += rng.exponential(opts.meanGapMs)) {
    const kind = first.shift() ?? rng.weighted(weights);
    const [min, max] = DURATION[kind];
    const target =
      kind === 'relay-kill'
        ? // One relay: no draw, so that a seed plans what it planned before clusters.
          opts.relays.length === 1
          ? (opts.relays[0] as string)
          : rng.pick(opts.relays)
        : kind === 'agent-kill' || kind === 'link-cut'
          ? rng.pick(opts.stores)
          : rng.pick(opts.printers);
    plan.push({
      atMs: Math.round(at),
      kind,
      target,
      durationMs: Math.round(rng.between(min, max)),
      ...(kind === 'link-cut' ? { mode: rng.chance(0.6) ? ('reset' as const) : ('blackhole' as const) } : {}),
    });
  }
  return plan;
}

/** A store's network: every hop from its agent to a relay, cut together. */
export interface StoreLink {
  cutFor(durationMs: number, mode: CutMode): Promise<void>;
}

export interface FaultTargets {
  relays: ReadonlyMap<string, RelayProcess>;
  agents: ReadonlyMap<string, AgentProcess>;
  links: ReadonlyMap<string, StoreLink>;
  printers: ReadonlyMap<string, VirtualPrinter>;
}

const RESTART_ATTEMPTS = 3;

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  readonly #chains = new Map<string, Promise<void>>();
  #stopped = false;

  /** `t0`: Date.now() at the start of the chaos phase, which the plan's times count from. */
  constructor(
    private readonly targets: FaultTargets,
    private readonly t0: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Injects the plan at its moments; resolves once the last fault has had its moment (or settle() was called). */
  async run(plan: readonly PlannedFault[]): Promise<void> {
    for (const planned of plan) {
      const wait = this.t0 + planned.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.#stopped) return;
      const record: FaultRecord = { ...planned, startedMs: null, endedMs: null };
      this.records.push(record);
      void this.exclusive(planned.target, () => this.#inject(record));
    }
  }

  /** Runs `fn` on a target (the relay, a store, a printer) once no fault holds it, and holds it meanwhile. */
  exclusive(target: string, fn: () => Promise<void>): Promise<void> {
    const turn = (this.#chains.get(target) ?? Promise.resolve()).then(fn);
    this.#chains.set(
      target,
      turn.catch(() => {}),
    );
    return turn;
  }

  /** No more faults begin; resolves once every fault under way has been undone. */
  async settle(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#chains.values());
  }

  #ms(): number {
    return Date.now() - this.t0;
  }

  async #inject(record: FaultRecord): Promise<void> {
    // A fault whose turn came after the end is left out.
    if (this.#stopped) return;
    record.startedMs = this.#ms();
    const { kind, target, durationMs } = record;
    this.log(`fault ${kind} ${target} for ${durationMs} ms${record.mode ? ` (${record.mode})` : ''}`);
    try {
      switch (kind) {
        case 'relay-kill': {
          const relay = this.#get(this.targets.relays, target);
          await relay.kill9();
          await sleep(durationMs);
          await restart(target, relay);
          break;
        }
        case 'agent-kill': {
          const agent = this.#get(this.targets.agents, target);
          await agent.kill9();
          await sleep(durationMs);
          await restart(`agent ${target}`, agent);
          break;
        }
        case 'link-cut':
          await this.#get(this.targets.links, target).cutFor(durationMs, record.mode ?? 'reset');
          break;
        case 'paper-out': {
          const printer = this.#get(this.targets.printers, target);
          printer.setFault('paper-out', true);
          await sleep(durationMs);
          printer.refill();
          break;
        }
        case 'cover-open': {
          const printer = this.#get(this.targets.printers, target);
          printer.setFault('cover-open', true);
          await sleep(durationMs);
          printer.setFault('cover-open', false);
          break;
        }
        case 'power-cycle':
          await this.#get(this.targets.printers, target).powerCycle(durationMs);
          break;
      }
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
      this.log(`fault ${kind} ${target}: ${record.error}`);
    }
    record.endedMs = this.#ms();
  }

  #get<T>(map: ReadonlyMap<string, T>, key: string): T {
    const value = map.get(key);
    if (value === undefined) throw new Error(`no fault target ${key}`);
    return value;
  }
}

/** Starts a killed process again; a start that fails (say, its port not free yet) is tried again. */
export async function restart(what: string, child: RelayProcess | AgentProcess): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await child.start();
      return;
    } catch (err) {
      // What is left of a start that failed must not hold the ports for the next one.
      await child.kill9();
      if (attempt >= RESTART_ATTEMPTS)
        throw new Error(`${what} did not start again: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(500 * attempt);
    }
  }
}
