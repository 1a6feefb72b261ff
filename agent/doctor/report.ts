// The doctor's report for a person (text, in their language) or for a support ticket (JSON
// with both the words and the machine-readable findings).
import { CONDITION_TEXT, type Lang } from '../../shared/printer-state.js';
import type { CheckResult, CheckStatus, Said } from './checks.js';
import { MESSAGES, printerTitle, TITLES } from './messages.js';

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

export interface Worded {
  id: string;
  status: CheckStatus;
  title: string;
  found: string;
  fix: string | null;
}

function say(lang: Lang, said: Said): string {
  return MESSAGES[lang][said.key](said.params ?? {});
}

export function word(lang: Lang, r: CheckResult): Worded {
  const title = r.printer
    ? printerTitle(lang, r.printer.id, r.printer.name)
    : (TITLES[lang][r.id.replace(/-.*/, '')] ?? r.id);
  const condition = r.condition ? CONDITION_TEXT[lang][r.condition] : undefined;
  const found = say(lang, {
    key: r.found.key,
    params: {
      ...(r.found.params ?? {}),
      ...(condition && r.printer ? { label: condition.label, uri: r.printer.uri } : {}),
    },
  });
  const fix = r.fix ? say(lang, r.fix) : condition && r.status !== 'ok' ? condition.action : null;
  return { id: r.id, status: r.status, title, found, fix };
}

export function summary(lang: Lang, results: readonly CheckResult[]): string {
  const fail = results.filter((r) => r.status === 'fail').length;
  const warn = results.filter((r) => r.status === 'warn').length;
  return fail + warn === 0
    ? say(lang, { key: 'summary.ok' })
    : say(lang, { key: 'summary.problems', params: { fail, warn } });
}

export function textReport(lang: Lang, heading: string, results: readonly CheckResult[]): string {
  const worded = results.map((r) => word(lang, r));
  // Han characters take two columns in a terminal.
  const columns = (s: string) => [...s].reduce((n, c) => n + (/[\u1100-\uffff]/.test(c) ? 2 : 1), 0);
  const width = Math.max(...worded.map((w) => columns(w.title)));
  const lines = [heading];
  for (const w of worded) {
    lines.push(`  ${MARK[w.status]} ${w.title}${' '.repeat(width - columns(w.title))}  ${w.found}`);
    if (w.fix) lines.push(`    ${' '.repeat(width)}  → ${w.fix}`);
  }
  lines.push(summary(lang, results));
  return `${lines.join('\n')}\n`;
}

export function jsonReport(lang: Lang, storeId: string | null, results: readonly CheckResult[]) {
  return {
    ok: !results.some((r) => r.status === 'fail'),
    storeId,
    lang,
    checkedAt: new Date().toISOString(),
    summary: summary(lang, results),
    checks: results.map((r) => ({
      ...word(lang, r),
      ...(r.condition ? { condition: r.condition } : {}),
      finding: r.found,
    })),
  };
}

/** --lang, else the system's language: Chinese for a Chinese system, English otherwise. */
export function systemLang(env: NodeJS.ProcessEnv = process.env): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || Intl.DateTimeFormat().resolvedOptions().locale;
  return /^zh/i.test(locale) ? 'zh-CN' : 'en';
}
