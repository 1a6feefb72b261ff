import { describe, expect, it } from 'vitest';
import { type PrinterStatus, unknownPrinterStatus } from '../protocol/status.js';
import {
  CONDITION_TEXT,
  LANGS,
  type PrinterCondition,
  printerCondition,
  SEVERITY_RANK,
  severity,
} from '../shared/printer-state.js';

const ready: PrinterStatus = {
  ...unknownPrinterStatus(),
  connected: true,
  online: true,
  paper: 'ok',
  source: 'asb',
};

describe('printer condition for people', () => {
  it.each<[string, Partial<PrinterStatus>, PrinterCondition]>([
    ['ready', {}, 'ready'],
    ['paper near end still prints', { paper: 'near-end' }, 'near-end'],
    ['paper out', { paper: 'out', online: false }, 'paper-out'],
    [
      'cover open before paper out: the cover is opened to load paper',
      { coverOpen: true, paper: 'out', online: false },
      'cover-open',
    ],
    ['cutter error', { cutterError: true, online: false }, 'cutter-error'],
    ['jam', { mechanicalError: true, online: false }, 'jam'],
    ['overheat', { overheat: true, online: false }, 'overheat'],
    ['unrecoverable', { unrecoverableError: true, online: false }, 'fault'],
    ['not answering', { online: false }, 'offline'],
    ['disconnected', { connected: false, online: false }, 'offline'],
  ])('%s', (_name, change, expected) => {
    expect(printerCondition({ ...ready, ...change })).toBe(expected);
  });

  it('a printer nothing is known of is unknown, never ready', () => {
    expect(printerCondition(null)).toBe('unknown');
    expect(severity('unknown')).toBe('unknown');
  });

  it('ranks errors worst and ready last', () => {
    const order = (['ok', 'warning', 'error', 'unknown'] as const)
      .slice()
      .sort((a, b) => SEVERITY_RANK[a] - SEVERITY_RANK[b]);
    expect(order).toEqual(['error', 'unknown', 'warning', 'ok']);
    expect(severity('paper-out')).toBe('error');
    expect(severity('near-end')).toBe('warning');
    expect(severity('ready')).toBe('ok');
  });

  it('has a label and an action in every language for every condition', () => {
    const conditions = Object.keys(CONDITION_TEXT.en) as PrinterCondition[];
    for (const lang of LANGS) {
      expect(Object.keys(CONDITION_TEXT[lang]).sort()).toEqual([...conditions].sort());
      for (const c of conditions) {
        expect(CONDITION_TEXT[lang][c].label.length).toBeGreaterThan(0);
        expect(CONDITION_TEXT[lang][c].action.length).toBeGreaterThan(0);
      }
    }
    expect(CONDITION_TEXT['zh-CN']['paper-out'].action).toBe('缺纸：请装纸，装好后自动继续打印');
  });
});
