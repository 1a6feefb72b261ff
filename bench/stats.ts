// Small statistics and formatting shared by the benchmarks.
import { readFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';

/** Nearest-rank percentile of unsorted values (p in 0..100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export const median = (values: readonly number[]) => percentile(values, 50);

// The harness's clock, also its child processes' spawn and output times.
export { nowMs } from '../harness/clock.js';

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): string {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  const os = (() => {
    try {
      return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  })();
  return [
    `- date: ${new Date().toISOString()}`,
    `- os: ${os ?? platform()} (kernel ${release()})`,
    `- cpu: ${model ?? 'unknown'}, ${cpus().length} cores`,
    `- memory: ${fmt(totalmem() / 2 ** 30, 0)} GiB`,
    `- node: ${process.version}`,
  ].join('\n');
}

/** "met" / "missed" with the ratio to the target, for RESULTS.md. */
export function verdict(value: number, target: number, better: 'lower' | 'higher'): string {
  if (!Number.isFinite(value)) return 'not measured';
  const ok = better === 'lower' ? value <= target : value >= target;
  const ratio = value / target;
  return `${ok ? 'met' : '**missed**'} (${fmt(ratio, 2)}x the target)`;
}
