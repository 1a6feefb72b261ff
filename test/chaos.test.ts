// The chaos suite, short: real relay and agents as child processes of the test build, virtual
// printers, a few hundred orders while every kind of fault strikes at least once; the ledger
// must hold. And the ledger check itself, on made-up outcomes, so that it is seen to catch
// what it is there to catch.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../chaos/faults.js';
import { checkLedger } from '../chaos/ledger.js';
import type { Order } from '../chaos/orders.js';
import type { PaperPrint } from '../chaos/paper.js';
import { type ChaosOptions, runChaos } from '../chaos/run.js';
import type { JobState, JobView } from '../protocol/job.js';
import { CLI_PATH } from './support/build.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A 45 s chaos run of the test build; its report, and the report's Markdown and log to explain a failure. */
async function chaosRun(seed: number, extra: Partial<ChaosOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-chaos-test-'));
  dirs.push(dir);
  const lines: string[] = [];
  const report = await runChaos({
    cliPath: CLI_PATH,
    durationMs: 45_000,
    stores: 3,
    printersPerStore: 2,
    ordersPerSecond: 6,
    seed,
    reportFile: join(dir, 'chaos-report.json'),
    faultEveryMs: 3000,
    // Generous: agents back off up to 30 s after repeated relay restarts, on a loaded machine.
    drainTimeoutMs: 120_000,
    log: (line) => lines.push(line),
    ...extra,
  });
  const explain = `${readFileSync(join(dir, 'chaos-report.md'), 'utf8')}\n${lines.join('\n')}`;
  return { dir, lines, report, explain };
}

describe('chaos', () => {
  it('loses no accepted job and prints none twice while the relay, agents, links and printers fail', {
    timeout: 300_000,
  }, async () => {
    const { dir, report, explain } = await chaosRun(20_261_201);

    expect(report.violations, explain).toEqual([]);
    expect(report.errors, explain).toEqual([]);
    expect(report.ok).toBe(true);
    for (const kind of FAULT_KINDS)
      expect(report.faults.byKind[kind], `${kind}\n${explain}`).toBeGreaterThan(0);
    expect(report.orders.placed).toBeGreaterThan(150);
    expect(report.orders.accepted).toBe(report.orders.placed);
    // The relay was down at times: some orders were only accepted on a retry with the same key.
    expect(report.orders.retries).toBeGreaterThan(0);
    expect(report.states.printed ?? 0).toBeGreaterThan(report.orders.accepted / 2);
    expect(JSON.parse(readFileSync(join(dir, 'chaos-report.json'), 'utf8')).seed).toBe(20_261_201);
    expect(readFileSync(join(dir, 'chaos-report.md'), 'utf8')).toMatch(/^# Chaos run, seed 20261201: PASS/);
    expect(report.workDir).toBeNull();
  });

  it('holds on a relay cluster too: two relay processes on PostgreSQL and Redis, killed one at a time', {
    timeout: 300_000,
  }, async () => {
    const { lines, report, explain } = await chaosRun(20_261_203, { cluster: true });

    expect(report.violations, explain).toEqual([]);
    expect(report.errors, explain).toEqual([]);
    expect(report.ok).toBe(true);
    expect(
      lines.some((l) => l.includes('2 relay process(es)')),
      explain,
    ).toBe(true);
    expect(report.faults.byKind['relay-kill'], explain).toBeGreaterThan(0);
    expect(report.orders.placed).toBeGreaterThan(150);
    expect(report.orders.accepted).toBe(report.orders.placed);
    expect(report.states.printed ?? 0).toBeGreaterThan(report.orders.accepted / 2);
  });

  describe('the ledger check', () => {
    const t0 = Date.parse('2026-12-01T10:00:00Z');
    let n = 0;
    function job(state: JobState, copies = 1, detail?: string): { order: Order; view: JobView } {
      n++;
      const marker = `CHAOS-1-${n}`;
      const at = new Date(t0 + 1000).toISOString();
      const order: Order = {
        n,
        marker,
        storeId: 's1',
        printer: 'receipt',
        copies,
        ttlSeconds: null,
        cancelAfterMs: null,
        placedAt: t0,
        attempts: 1,
        jobId: `job-${n}`,
        acceptedAt: t0,
        refused: null,
        cancel: null,
      };
      const view: JobView = {
        jobId: `job-${n}`,
        storeId: 's1',
        printer: 'receipt',
        printerId: 'p1',
        kind: 'ticket',
        state,
        copies,
        onExpiry: 'expire',
        expiresAt: at,
        createdAt: at,
        updatedAt: at,
        orderRef: null,
        reprintOf: null,
        reprintCount: 0,
        cancelRequested: false,
        timeline: [{ state, at, ...(detail ? { detail } : {}) }],
      };
      return { order, view };
    }
    const print = (reprintMarked = false): PaperPrint => ({ printer: 's1/p1', at: t0 + 2000, reprintMarked });

    function check(cases: { order: Order; view: JobView | null; paper: PaperPrint[] }[], extra = {}) {
      const prints = new Map<string, PaperPrint[]>(cases.map((c) => [c.order.marker, c.paper]));
      for (const [marker, paper] of Object.entries(extra)) prints.set(marker, paper as PaperPrint[]);
      return checkLedger({
        orders: cases.map((c) => c.order),
        views: new Map(cases.flatMap((c) => (c.view ? [[c.view.jobId, c.view] as const] : []))),
        prints: (m) => prints.get(m) ?? [],
        markersOnPaper: prints.keys(),
        faults: [],
        t0,
      });
    }

    it('passes every outcome the rules allow', () => {
      const uncertain = 'the agent stopped while printing copy 1 of 2';
      const result = check([
        { ...job('printed'), paper: [print()] },
        { ...job('printed', 3), paper: [print(), print(), print()] },
        { ...job('expired'), paper: [] },
        { ...job('cancelled'), paper: [] },
        { ...job('failed', 1, 'no printer with id or role bar'), paper: [] },
        { ...job('uncertain', 1, 'connection lost'), paper: [] },
        { ...job('uncertain', 2, uncertain), paper: [print(), print(true), print(true)] },
      ]);
      expect(result.violations).toEqual([]);
      expect(result.states).toEqual({ printed: 2, expired: 1, cancelled: 1, failed: 1, uncertain: 2 });
      expect([result.plainPrints, result.reprintMarkedPrints]).toEqual([5, 2]);
    });

    it('finds lost jobs, silent duplicates, missing and unexpected prints, and ghosts', () => {
      const lost = job('sent');
      const unknown = job('printed');
      const duplicate = job('printed', 2);
      const missing = job('printed');
      const expiredPrinted = job('expired');
      const uncertainTwice = job('uncertain', 1, 'connection lost');
      const reprinted = job('printed');
      const noReason = job('failed');
      const result = check(
        [
          { ...lost, paper: [] },
          { order: unknown.order, view: null, paper: [] },
          { ...duplicate, paper: [print(), print(), print()] },
          { ...missing, paper: [] },
          { ...expiredPrinted, paper: [print()] },
          { ...uncertainTwice, paper: [print(), print()] },
          { ...reprinted, paper: [print(), print(true)] },
          { ...noReason, paper: [] },
        ],
        { 'CHAOS-1-999': [print()] },
      );
      expect(result.violations.map((v) => [v.marker, v.kind])).toEqual([
        [lost.order.marker, 'lost'],
        [unknown.order.marker, 'lost'],
        [duplicate.order.marker, 'silent-duplicate'],
        [missing.order.marker, 'missing-print'],
        [expiredPrinted.order.marker, 'printed-but-final-without'],
        [uncertainTwice.order.marker, 'silent-duplicate'],
        [reprinted.order.marker, 'unexpected-reprint'],
        [noReason.order.marker, 'no-reason'],
        ['CHAOS-1-999', 'ghost'],
      ]);
      expect(result.violations[2]?.timeline.map((t) => t.state)).toEqual(['printed']);
      expect(result.violations[2]?.paper).toHaveLength(3);
    });
  });
});
