// The printer status model: one shape for every printer brand and transport.
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './schema.js';

export const PaperState = StringEnum(['ok', 'near-end', 'out', 'unknown']);

export const PrinterStatus = Type.Object(
  {
    connected: Type.Boolean({
      description: 'The transport (socket, serial port, USB) is open and answering.',
    }),
    online: Type.Boolean({ description: 'Connected and the printer says it can print now.' }),
    paper: PaperState,
    coverOpen: Type.Boolean(),
    cutterError: Type.Boolean(),
    mechanicalError: Type.Boolean({ description: 'Recoverable error, e.g. a paper jam.' }),
    unrecoverableError: Type.Boolean(),
    overheat: Type.Boolean({ description: 'Auto-recoverable error (head temperature).' }),
    drawerOpen: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'null when the drawer is not known.',
    }),
    source: StringEnum(['asb', 'dle-eot', 'port-status', 'none'], {
      description:
        'Where the last status came from: ASB frames, DLE EOT answers, the USB printer class port status of a one-way printer, or nothing (while connected: a one-way printer whose status cannot be read).',
    }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'PrinterStatus', additionalProperties: false },
);

export type PrinterStatus = Static<typeof PrinterStatus>;
export type PaperState = Static<typeof PaperState>;

/** Before a printer ever answered: disconnected, nothing known. */
export function unknownPrinterStatus(at = new Date()): PrinterStatus {
  return {
    connected: false,
    online: false,
    paper: 'unknown',
    coverOpen: false,
    cutterError: false,
    mechanicalError: false,
    unrecoverableError: false,
    overheat: false,
    drawerOpen: null,
    source: 'none',
    updatedAt: at.toISOString(),
  };
}

/**
 * Why a printer cannot print right now, most important first; empty when it is ready.
 * Paper near end does not stop printing and is therefore not a reason.
 */
export function notReadyReasons(s: PrinterStatus): string[] {
  const reasons: string[] = [];
  if (!s.connected) return ['disconnected'];
  // Connected with nothing ever read (no source, paper unknown): a one-way printer that never
  // answers. Never "ready".
  if (s.source === 'none' && s.paper === 'unknown') return ['status-unknown'];
  if (s.unrecoverableError) reasons.push('unrecoverable-error');
  if (s.mechanicalError) reasons.push('mechanical-error');
  if (s.cutterError) reasons.push('cutter-error');
  if (s.overheat) reasons.push('overheat');
  if (s.coverOpen) reasons.push('cover-open');
  if (s.paper === 'out') reasons.push('paper-out');
  if (!s.online && reasons.length === 0) reasons.push('offline');
  return reasons;
}

export function isReady(s: PrinterStatus): boolean {
  return notReadyReasons(s).length === 0;
}
