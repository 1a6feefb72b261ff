// What the tray shows for the agent's state, as plain data the Electron shell draws: the
// icon's colour (the worst printer state), a one-line tooltip, and the menu. `view` null: the
// agent's local API cannot be reached.
import type { AgentPrinterView, AgentView } from '../../agent/views.js';
import {
  CONDITION_TEXT,
  LANGS,
  type Lang,
  printerCondition,
  SEVERITY_RANK,
  type Severity,
  severity,
} from '../../shared/printer-state.js';
import { LANGUAGE_NAMES, TRAY_MESSAGES } from './messages.js';

export type IconColour = 'green' | 'amber' | 'red' | 'grey';

const COLOUR: Record<Severity, IconColour> = { ok: 'green', warning: 'amber', error: 'red', unknown: 'grey' };

export const printerLabel = (p: AgentPrinterView) => p.name ?? p.id;

function printerSeverity(p: AgentPrinterView): Severity {
  return severity(printerCondition(p.status));
}

function worst(severities: Severity[]): Severity {
  return severities.reduce<Severity>((w, s) => (SEVERITY_RANK[s] < SEVERITY_RANK[w] ? s : w), 'ok');
}

/**
 * The worst printer state's colour. Nothing prints without the agent, so an unreachable agent
 * is red; the cloud offline or printing paused make it at least amber (orders are not coming
 * in, or not coming out).
 */
export function iconColour(view: AgentView | null): IconColour {
  if (view === null) return 'red';
  const states = view.printers.map(printerSeverity);
  if (!view.relay.connected || view.printingPaused) states.push('warning');
  return COLOUR[worst(states)];
}

/** One line: "2 台打印机正常 / 厨房打印机缺纸", then the cloud and pause if they matter. */
export function tooltip(view: AgentView | null, lang: Lang): string {
  const m = TRAY_MESSAGES[lang];
  if (view === null) return `${m.appName}: ${m.agentUnreachable}`;
  const ready = view.printers.filter((p) => printerSeverity(p) === 'ok').length;
  const parts: string[] = [];
  if (ready > 0) parts.push(m.printersReady(ready));
  const others = [...view.printers]
    .filter((p) => printerSeverity(p) !== 'ok')
    .sort((a, b) => SEVERITY_RANK[printerSeverity(a)] - SEVERITY_RANK[printerSeverity(b)]);
  for (const p of others) {
    parts.push(m.printerIs(printerLabel(p), CONDITION_TEXT[lang][printerCondition(p.status)].label));
  }
  if (view.printers.length === 0) parts.push(m.noPrinters);
  if (view.printingPaused) parts.push(m.paused);
  if (!view.relay.connected) parts.push(m.cloudOffline);
  return parts.join(' / ');
}

export type TrayAction =
  | { type: 'test-print'; printerId: string }
  | { type: 'reprint-last' }
  | { type: 'open-page' }
  | { type: 'set-paused'; paused: boolean }
  | { type: 'set-lang'; lang: Lang }
  | { type: 'quit' };

export type MenuItem =
  | { type: 'separator' }
  | { type: 'item'; label: string; enabled: boolean; action?: TrayAction; checked?: boolean }
  | { type: 'submenu'; label: string; enabled: boolean; items: MenuItem[] };

const item = (label: string, action?: TrayAction, enabled = action !== undefined): MenuItem => ({
  type: 'item',
  label,
  enabled,
  ...(action ? { action } : {}),
});
const separator: MenuItem = { type: 'separator' };

/** The tray menu: each printer and its state, then what a cashier can do. */
export function trayMenu(view: AgentView | null, lang: Lang): MenuItem[] {
  const m = TRAY_MESSAGES[lang];
  const up = view !== null;
  const printers = view?.printers ?? [];
  const status: MenuItem[] =
    view === null
      ? [item(m.agentUnreachable)]
      : [
          ...printers.map((p) => {
            const text = CONDITION_TEXT[lang][printerCondition(p.status)];
            return item(
              m.printerLine(printerLabel(p), printerSeverity(p) === 'ok' ? text.label : text.action),
            );
          }),
          ...(view.relay.connected ? [] : [item(m.printerLine(m.cloudOffline, m.cloudOfflineHelp))]),
        ];
  const testPrint: MenuItem =
    printers.length === 1 && printers[0]
      ? item(m.testPrint, { type: 'test-print', printerId: printers[0].id })
      : {
          type: 'submenu',
          label: m.testPrint,
          enabled: printers.length > 0,
          items: printers.map((p) => item(printerLabel(p), { type: 'test-print', printerId: p.id })),
        };
  return [
    ...status,
    separator,
    testPrint,
    item(m.reprintLast, { type: 'reprint-last' }, up && view.lastTicket !== null),
    item(m.openPage, { type: 'open-page' }, up),
    view?.printingPaused
      ? item(m.resume, { type: 'set-paused', paused: false }, up)
      : item(m.pause, { type: 'set-paused', paused: true }, up),
    separator,
    {
      type: 'submenu',
      label: m.language,
      enabled: true,
      items: LANGS.map((l) => ({
        ...item(LANGUAGE_NAMES[l], { type: 'set-lang', lang: l }),
        checked: l === lang,
      })),
    },
    item(m.quit, { type: 'quit' }),
  ];
}
