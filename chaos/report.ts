// The short Markdown summary of a chaos run; the JSON report beside it has every detail.
import type { ChaosReport } from './run.js';

/** Violations listed in full in the summary; the JSON report has them all. */
const LISTED = 20;

export function markdownSummary(r: ChaosReport): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const o = r.options;
  const lines = [
    `# Chaos run, seed ${r.seed}: ${r.ok ? 'PASS' : 'FAIL'}`,
    '',
    `- started ${r.startedAt}; ${o.stores} stores x ${o.printersPerStore} printers, ${o.ordersPerSecond} orders/s for ${s(o.durationMs)}`,
    `- phases: setup ${s(r.phases.setup)}, chaos ${s(r.phases.chaos)}, settle ${s(r.phases.settle)}, ` +
      `drain ${s(r.phases.drain)}${r.drained ? '' : ' (timed out)'}, ledger ${s(r.phases.ledger)}`,
    `- orders: ${r.orders.placed} placed, ${r.orders.accepted} accepted (${r.orders.copies} copies, ` +
      `${r.orders.withTtl} with a short expiry), ${r.orders.refused} never accepted, ${r.orders.retries} POSTs retried`,
    `- cancels: ${
      Object.entries(r.orders.cancels)
        .map(([status, n]) => `${n} answered ${status}`)
        .join(', ') || 'none'
    }`,
    `- on paper: ${r.paper.plainPrints} prints, ${r.paper.reprintMarkedPrints} REPRINT-marked`,
    '',
    '| final state | jobs |',
    '| --- | ---: |',
    ...Object.entries(r.states)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([state, n]) => `| ${state} | ${n} |`),
    '',
    '| why not printed | jobs |',
    '| --- | ---: |',
    ...Object.entries(r.reasons)
      .sort(([, a], [, b]) => b - a)
      .map(([reason, n]) => `| ${reason.replaceAll('|', '/')} | ${n} |`),
    '',
    `| fault (${r.faults.injected} injected of ${r.faults.planned} planned) | count |`,
    '| --- | ---: |',
    ...Object.entries(r.faults.byKind).map(([kind, n]) => `| ${kind} | ${n} |`),
    '',
    '| latency, ms | jobs | p50 | p90 | p99 | max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...Object.entries(r.latencyMs).map(
      ([name, l]) => `| ${name} | ${l.count} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} |`,
    ),
    '',
    `Violations: ${r.violations.length}${r.violations.length > LISTED ? ` (the first ${LISTED})` : ''}`,
    ...r.violations.slice(0, LISTED).map((v) => {
      const timeline = v.timeline.map((t) => `${t.state}${t.detail ? ` (${t.detail})` : ''}`).join(' > ');
      const faults = v.faults.map((f) => `${f.kind} ${f.target} @${f.startedMs} ms`).join(', ');
      return `- ${v.kind}: job ${v.jobId ?? '-'} ${v.marker} (${v.storeId ?? '-'}): ${v.message}; timeline: ${timeline || '-'}; faults: ${faults || '-'}`;
    }),
  ];
  if (r.errors.length > 0) lines.push('', 'Run errors:', ...r.errors.map((e) => `- ${e}`));
  if (r.workDir) lines.push('', `Logs and databases kept in ${r.workDir}`);
  return `${lines.join('\n')}\n`;
}
