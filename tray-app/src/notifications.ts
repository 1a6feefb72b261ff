// Which desktop notifications the tray shows: one when a printer runs out of paper, has its
// cover open or goes offline, or the cloud goes offline; one when that clears; nothing while
// a condition lasts. While the agent cannot be reached nothing is known, so nothing is
// raised or cleared (an agent restart does not make every alert fire again).
import type { AgentView } from '../../agent/views.js';
import {
  CONDITION_TEXT,
  type Lang,
  type PrinterCondition,
  printerCondition,
} from '../../shared/printer-state.js';
import { TRAY_MESSAGES } from './messages.js';
import { printerLabel } from './tray-state.js';

/** The printer conditions a cashier is told about as they happen. */
export const NOTIFIED_CONDITIONS: readonly PrinterCondition[] = ['paper-out', 'cover-open', 'offline'];

export interface TrayNotification {
  /** What it is about: "printer:ID:paper-out" or "cloud". */
  key: string;
  kind: 'raised' | 'cleared';
  title: string;
  body: string;
}

interface Alert {
  key: string;
  raised(lang: Lang): { title: string; body: string };
  cleared(lang: Lang): { title: string; body: string };
}

function alertsOf(view: AgentView): Map<string, Alert> {
  const alerts = new Map<string, Alert>();
  for (const p of view.printers) {
    const condition = printerCondition(p.status);
    if (!NOTIFIED_CONDITIONS.includes(condition)) continue;
    const key = `printer:${p.id}:${condition}`;
    const name = printerLabel(p);
    alerts.set(key, {
      key,
      raised: (lang) => ({
        title: TRAY_MESSAGES[lang].printerIs(name, CONDITION_TEXT[lang][condition].label),
        body: CONDITION_TEXT[lang][condition].action,
      }),
      cleared: (lang) => ({
        title: TRAY_MESSAGES[lang].printerBack(name),
        body: TRAY_MESSAGES[lang].printerBackBody,
      }),
    });
  }
  if (!view.relay.connected) {
    alerts.set('cloud', {
      key: 'cloud',
      raised: (lang) => ({
        title: TRAY_MESSAGES[lang].cloudOffline,
        body: TRAY_MESSAGES[lang].cloudOfflineHelp,
      }),
      cleared: (lang) => ({ title: TRAY_MESSAGES[lang].cloudBack, body: '' }),
    });
  }
  return alerts;
}

/** Remembers what is going on and says what changed since the last view. */
export class NotificationTracker {
  #active = new Map<string, Alert>();

  update(view: AgentView | null, lang: Lang): TrayNotification[] {
    if (view === null) return [];
    const now = alertsOf(view);
    const out: TrayNotification[] = [];
    for (const [key, alert] of this.#active) {
      if (!now.has(key)) out.push({ key, kind: 'cleared', ...alert.cleared(lang) });
    }
    for (const [key, alert] of now) {
      if (!this.#active.has(key)) out.push({ key, kind: 'raised', ...alert.raised(lang) });
    }
    this.#active = now;
    return out;
  }
}
