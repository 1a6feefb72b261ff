// Turns the printer's status bytes (DLE EOT n answers, ASB frames) into a partial PrinterStatus.
// Each decoder returns only the fields its byte actually tells; the tracker merges them.
// Bit meanings: docs/escpos.md.
import type { PrinterStatus } from '../../protocol/status.js';
import { isAsbFirstByte, isPlainAnswerByte, isRealtimeStatusByte } from './inbound-parser.js';

export type RealtimeRequest = 1 | 2 | 3 | 4;
export type StatusPatch = Partial<Omit<PrinterStatus, 'updatedAt' | 'source' | 'connected'>> & {
  /** Drawer kick-out connector pin 3; whether high means open depends on the drawer. */
  drawerPin3High?: boolean;
};

const has = (byte: number, mask: number): boolean => (byte & mask) !== 0;
const isByte = (b: number): boolean => Number.isInteger(b) && b >= 0 && b <= 0xff;
const show = (b: number): string => (isByte(b) ? `0x${b.toString(16).padStart(2, '0')}` : String(b));

/**
 * Paper from the two-bit sensor fields (n=4 bits 0x0C/0x60, ASB byte 3 bits 0x03/0x0C).
 * Printers set both bits of a pair; either one is taken as set.
 */
function paperLevel(byte: number, nearEndBits: number, endBits: number): PrinterStatus['paper'] {
  if (has(byte, endBits)) return 'out';
  return has(byte, nearEndBits) ? 'near-end' : 'ok';
}

/**
 * Decodes the answer to DLE EOT n. Paper comes from two requests, combined like this:
 * n=4 reads the roll sensors and is the authority on the level (ok, near-end, out); it is
 * what clears 'out' after a refill. n=2 bit 0x20 ("printing stopped: paper end") can only
 * confirm 'out': when clear it cannot tell ok from near-end, so it leaves paper alone.
 * n=2 bit 0x40 ("error occurred") is not mapped: n=3 names the error.
 */
export function decodeRealtimeStatus(n: RealtimeRequest, byte: number): StatusPatch {
  if (!isByte(byte) || !isRealtimeStatusByte(byte)) {
    throw new RangeError(`DLE EOT ${n} answer ${show(byte)} is not a real-time status byte (0xx1xx10)`);
  }
  switch (n) {
    case 1:
      return { drawerPin3High: has(byte, 0x04), online: !has(byte, 0x08) };
    case 2:
      return has(byte, 0x20) ? { coverOpen: has(byte, 0x04), paper: 'out' } : { coverOpen: has(byte, 0x04) };
    case 3:
      return {
        mechanicalError: has(byte, 0x04),
        cutterError: has(byte, 0x08),
        unrecoverableError: has(byte, 0x20),
        overheat: has(byte, 0x40),
      };
    case 4:
      return { paper: paperLevel(byte, 0x0c, 0x60) };
    default:
      throw new RangeError(`DLE EOT n must be 1, 2, 3 or 4, got ${String(n)}`);
  }
}

/** Decodes a 4-byte Automatic Status Back frame. */
export function decodeAsb(bytes: readonly number[]): StatusPatch {
  const [b1 = -1, b2 = -1, b3 = -1] = bytes;
  if (
    bytes.length !== 4 ||
    !bytes.every(isByte) ||
    !isAsbFirstByte(b1) ||
    !bytes.slice(1).every(isPlainAnswerByte)
  ) {
    throw new RangeError(
      `ASB frame [${bytes.map(show).join(' ')}] is not 4 bytes of the form 0xx1xx00 0xx0xxxx 0xx0xxxx 0xx0xxxx`,
    );
  }
  return {
    drawerPin3High: has(b1, 0x04),
    online: !has(b1, 0x08),
    coverOpen: has(b1, 0x20),
    mechanicalError: has(b2, 0x04),
    cutterError: has(b2, 0x08),
    unrecoverableError: has(b2, 0x20),
    overheat: has(b2, 0x40),
    paper: paperLevel(b3, 0x03, 0x0c),
  };
}
