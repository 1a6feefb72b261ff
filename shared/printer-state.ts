// How a printer's state reads to a person, in one place for every screen that shows it (HQ
// dashboard, the store page, the tray app): the condition that matters most, how bad it is,
// and in Chinese and English, its name and what a cashier should do about it.
import { notReadyReasons, type PrinterStatus, STATUS_UNKNOWN } from '../protocol/status.js';

export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

export type PrinterCondition =
  | 'ready'
  | 'near-end'
  | 'paper-out'
  | 'cover-open'
  | 'cutter-error'
  | 'jam'
  | 'overheat'
  | 'fault'
  | 'offline'
  | 'unknown';

export type Severity = 'ok' | 'warning' | 'error' | 'unknown';

const REASON_CONDITION: Record<string, PrinterCondition> = {
  disconnected: 'offline',
  'unrecoverable-error': 'fault',
  'mechanical-error': 'jam',
  'cutter-error': 'cutter-error',
  overheat: 'overheat',
  'cover-open': 'cover-open',
  'paper-out': 'paper-out',
  offline: 'offline',
  [STATUS_UNKNOWN]: 'unknown',
};

/**
 * The one condition to show for a printer: the most important reason it cannot print, else
 * paper near end, else ready. `null` (nothing reported, or the report is stale because the
 * store is offline) is unknown: never shown as ready.
 */
export function printerCondition(status: PrinterStatus | null): PrinterCondition {
  if (status === null) return 'unknown';
  const reason = notReadyReasons(status)[0];
  if (reason !== undefined) return REASON_CONDITION[reason] ?? 'fault';
  return status.paper === 'near-end' ? 'near-end' : 'ready';
}

export function severity(condition: PrinterCondition): Severity {
  switch (condition) {
    case 'ready':
      return 'ok';
    case 'near-end':
      return 'warning';
    case 'unknown':
      return 'unknown';
    default:
      return 'error';
  }
}

/** Orders severities worst first (for "worst first" lists and the tray icon's colour). */
export const SEVERITY_RANK: Record<Severity, number> = { error: 0, unknown: 1, warning: 2, ok: 3 };

export interface ConditionText {
  /** A word or two, for a badge: 缺纸 / Paper out. */
  label: string;
  /** What to do, in plain words for a cashier. */
  action: string;
}

export const CONDITION_TEXT: Record<Lang, Record<PrinterCondition, ConditionText>> = {
  'zh-CN': {
    ready: { label: '正常', action: '打印机正常' },
    'near-end': { label: '纸将尽', action: '纸快用完了：请准备新纸卷' },
    'paper-out': { label: '缺纸', action: '缺纸：请装纸，装好后自动继续打印' },
    'cover-open': { label: '开盖', action: '开盖：请合上打印机盖，合上后自动继续打印' },
    'cutter-error': { label: '切刀错误', action: '切刀错误：请关闭打印机电源，清除切刀处的纸后再开机' },
    jam: { label: '卡纸/机械错误', action: '卡纸：请打开盖子取出卡住的纸，再合上' },
    overheat: { label: '过热', action: '打印头过热：请稍等，冷却后自动继续打印' },
    fault: { label: '故障', action: '打印机故障：请关闭电源再打开；仍不行请联系维修' },
    offline: { label: '离线', action: '离线：请检查打印机电源和连接线' },
    unknown: { label: '状态未知', action: '状态未知：读不到打印机的状态，请看一眼打印机' },
  },
  en: {
    ready: { label: 'Ready', action: 'The printer is ready' },
    'near-end': { label: 'Paper near end', action: 'Paper is running low: have a new roll ready' },
    'paper-out': { label: 'Paper out', action: 'Paper out: load paper; printing resumes by itself' },
    'cover-open': {
      label: 'Cover open',
      action: 'Cover open: close the printer cover; printing resumes by itself',
    },
    'cutter-error': {
      label: 'Cutter error',
      action: 'Cutter error: switch the printer off, clear the paper from the cutter, switch it on',
    },
    jam: { label: 'Jam', action: 'Paper jam: open the cover, remove the jammed paper, close it' },
    overheat: { label: 'Overheating', action: 'Print head too hot: wait; printing resumes when it cools' },
    fault: {
      label: 'Printer fault',
      action: 'Printer fault: switch it off and on; if it stays, call support',
    },
    offline: { label: 'Offline', action: "Offline: check the printer's power and cable" },
    unknown: {
      label: 'Status unknown',
      action: "Status unknown: the printer's state cannot be read; check it by eye",
    },
  },
};
