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
    source: StringEnum(['asb', 'dle-eot', 'port-status', 'unreadable', 'none'], {
      description:
        "Where the last status came from: ASB, DLE EOT, USB GET_PORT_STATUS (paper and online only); 'unreadable' = a one-way printer that cannot say, so only `connected` is known; 'none' = nothing yet.",
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

/** The reason for a connected printer whose status cannot be read (one-way): never ready, never known to be faulty. */
export const STATUS_UNKNOWN = 'status-unknown';

/**
 * Why a printer cannot print right now, most important first; empty when it is ready.
 * Paper near end does not stop printing and is therefore not a reason.
 */
export function notReadyReasons(s: PrinterStatus): string[] {
  const reasons: string[] = [];
  if (!s.connected) return ['disconnected'];
  if (s.source === 'unreadable') return [STATUS_UNKNOWN];
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
