// ESC/POS command bytes, one builder per command, named after what the command does.
// Byte values follow docs/escpos.md; parameters are range-checked here so that a
// bug elsewhere cannot turn into a stray byte that the printer reads as the start of another
// command.
import type { PrinterProfile } from '../protocol/profile.js';
import type { Align, Font } from '../protocol/ticket.js';

export const LF = 0x0a;
const ESC = 0x1b;
const FS = 0x1c;
const GS = 0x1d;

function byteParam(name: string, n: number, min = 0, max = 255): number {
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`${name} must be ${min}-${max}, got ${n}`);
  return n;
}

/** ESC @: resets modes and styles (and, on most printers, turns ASB off and Chinese mode on). */
export const initialize = Uint8Array.of(ESC, 0x40);
/** FS &: two-byte Chinese mode; text is then GB18030/GBK bytes. */
export const chineseModeOn = Uint8Array.of(FS, 0x26);
/** FS .: back to single-byte characters (needed before code-page text). */
export const chineseModeOff = Uint8Array.of(FS, 0x2e);
/** ESC t n: single-byte code page (numbering is vendor-specific above 19). */
export const selectCodePage = (n: number) => Uint8Array.of(ESC, 0x74, byteParam('code page', n));

/**
 * Automatic Status Back mask: drawer, online/offline (incl. cover), errors, roll paper.
 * Panel switch (0x40) is left out: a feed-button press is not a status change anyone acts on.
 */
export const ASB_MASK = 0x0f;
/** GS a n: send status now and on every change. ESC @ turns it off, so send after each ESC @. */
export const enableAsb = (mask: number = ASB_MASK) => Uint8Array.of(GS, 0x61, byteParam('ASB mask', mask));

const ALIGN: Record<Align, number> = { left: 0, center: 1, right: 2 };
/** ESC a n */
export const justify = (align: Align) => Uint8Array.of(ESC, 0x61, ALIGN[align]);
/** ESC E n */
export const emphasize = (on: boolean) => Uint8Array.of(ESC, 0x45, on ? 1 : 0);
/** ESC - n (one-dot underline for single-byte characters). */
export const underline = (on: boolean) => Uint8Array.of(ESC, 0x2d, on ? 1 : 0);
/** FS - n: underline for two-byte (Han) characters; in Chinese mode ESC - alone leaves them plain. */
export const underlineChinese = (on: boolean) => Uint8Array.of(FS, 0x2d, on ? 1 : 0);
/** GS B n: white on black. */
export const reverse = (on: boolean) => Uint8Array.of(GS, 0x42, on ? 1 : 0);
/** GS ! n: width and height multipliers 1-8, for single-byte and Han characters alike. */
export const characterSize = (width: number, height: number) =>
  Uint8Array.of(
    GS,
    0x21,
    ((byteParam('width', width, 1, 8) - 1) << 4) | (byteParam('height', height, 1, 8) - 1),
  );
/** ESC M n: font A (12x24) or B (9x17). */
export const selectFont = (font: Font) => Uint8Array.of(ESC, 0x4d, font === 'B' ? 1 : 0);
/** ESC d n: print the buffer and feed n lines. */
export const feedLines = (n: number) => Uint8Array.of(ESC, 0x64, byteParam('feed lines', n));
/** GS V 0 / GS V 1: cut at the current position (only valid at a line start). */
export const cutPaper = (mode: 'full' | 'partial') => Uint8Array.of(GS, 0x56, mode === 'full' ? 0 : 1);

// QR code, GS ( k with cn = 49 (0x31).
const QR_ERROR_LEVEL = { L: 48, M: 49, Q: 50, H: 51 } as const;
/** GS ( k fn 65: model 2. */
export const qrSelectModel2 = Uint8Array.of(GS, 0x28, 0x6b, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00);
/** GS ( k fn 67: module size in dots. */
export const qrModuleSize = (dots: number) =>
  Uint8Array.of(GS, 0x28, 0x6b, 0x03, 0x00, 0x31, 0x43, byteParam('QR module size', dots, 1, 16));
/** GS ( k fn 69: error correction level. */
export const qrErrorLevel = (level: keyof typeof QR_ERROR_LEVEL) =>
  Uint8Array.of(GS, 0x28, 0x6b, 0x03, 0x00, 0x31, 0x45, QR_ERROR_LEVEL[level]);
/** GS ( k fn 80: store the data; pL + 256 * pH = data length + 3. */
export function qrStore(data: Uint8Array): Uint8Array {
  const p = data.length + 3;
  if (p > 0xffff) throw new RangeError(`QR data too long: ${data.length} bytes`);
  const out = new Uint8Array(8 + data.length);
  out.set([GS, 0x28, 0x6b, p & 0xff, p >> 8, 0x31, 0x50, 0x30]);
  out.set(data, 8);
  return out;
}
/** GS ( k fn 81: print the stored symbol. */
export const qrPrint = Uint8Array.of(GS, 0x28, 0x6b, 0x03, 0x00, 0x31, 0x51, 0x30);

// One-dimensional barcodes.
const BARCODE_SYSTEM = { CODE39: 69, EAN13: 67, CODE128: 73 } as const;
const HRI_POSITION = { none: 0, above: 1, below: 2, both: 3 } as const;
/** GS h n: bar height in dots. */
export const barcodeHeight = (dots: number) => Uint8Array.of(GS, 0x68, byteParam('barcode height', dots, 1));
/** GS w n: narrow bar width in dots. */
export const barcodeModuleWidth = (dots: number) =>
  Uint8Array.of(GS, 0x77, byteParam('barcode module width', dots, 1, 6));
/** GS H n: where the human-readable digits go. */
export const barcodeHriPosition = (position: keyof typeof HRI_POSITION) =>
  Uint8Array.of(GS, 0x48, HRI_POSITION[position]);
/** GS k m n d1..dn (function B: length-prefixed data). */
export function barcode(system: keyof typeof BARCODE_SYSTEM, data: Uint8Array): Uint8Array {
  byteParam('barcode data length', data.length, 1);
  const out = new Uint8Array(4 + data.length);
  out.set([GS, 0x6b, BARCODE_SYSTEM[system], data.length]);
  out.set(data, 4);
  return out;
}

/** GS v 0 header (normal density): width in bytes, height in dots; the rows follow. */
export function rasterImageHeader(widthBytes: number, heightDots: number): Uint8Array {
  byteParam('raster width', widthBytes, 1, 0xffff);
  byteParam('raster height', heightDots, 1, 0xffff);
  return Uint8Array.of(
    GS,
    0x76,
    0x30,
    0,
    widthBytes & 0xff,
    widthBytes >> 8,
    heightDots & 0xff,
    heightDots >> 8,
  );
}

/** ESC p m t1 t2: drawer kick pulse; m 0 = pin 2, 1 = pin 5; on t1 x 2 ms, off t2 x 2 ms. */
export const drawerPulse = (pin: 2 | 5, onUnits: number, offUnits: number) =>
  Uint8Array.of(
    ESC,
    0x70,
    pin === 5 ? 1 : 0,
    byteParam('drawer on time', onUnits, 1),
    byteParam('drawer off time', offUnits, 1),
  );

/** ESC B n t: buzzer on Chinese clones; n beeps of t x 50 ms. */
export const buzzer = (times: number, units50ms: number) =>
  Uint8Array.of(
    ESC,
    0x42,
    byteParam('beep count', times, 1, 9),
    byteParam('beep duration', units50ms, 1, 18),
  );

/** GS r 1: paper sensor status; its answer comes only after everything before it was processed. */
export const paperStatusRequest = Uint8Array.of(GS, 0x72, 0x01);

const GS_H_PREFIX = [GS, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30] as const;
const isTokenByte = (b: number) => b >= 0x20 && b <= 0x7e;

/**
 * What to append to a job so that the printer says when it has really printed it:
 * GS ( H fn 48 with a 4-character token (answered `37 22 token 00` after printing) when the
 * profile supports it, else GS r 1 (answered after everything before it was processed).
 */
export function confirmationRequest(profile: PrinterProfile, token: string): Uint8Array {
  // Checked even when unused, so that a bad token shows up on every printer, not only on Epsons.
  if (token.length !== 4 || ![...token].every((c) => isTokenByte(c.charCodeAt(0)))) {
    throw new RangeError(`confirmation token must be 4 characters 0x20-0x7E, got ${JSON.stringify(token)}`);
  }
  if (!profile.status.gsH) return paperStatusRequest;
  const out = new Uint8Array(GS_H_PREFIX.length + 4);
  out.set(GS_H_PREFIX);
  for (let i = 0; i < 4; i++) out[GS_H_PREFIX.length + i] = token.charCodeAt(i);
  return out;
}

/**
 * Removes one trailing confirmation request (GS ( H fn 48 or GS r 1) that the renderer put at
 * the end of a job, so that a rendered file can go through the driver, which appends its own.
 */
export function stripTrailingConfirmation(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const gsHLength = GS_H_PREFIX.length + 4;
  if (n >= gsHLength) {
    const start = n - gsHLength;
    const prefixMatches = GS_H_PREFIX.every((b, i) => bytes[start + i] === b);
    if (prefixMatches && bytes.subarray(n - 4).every(isTokenByte)) return bytes.subarray(0, start);
  }
  if (n >= 3 && bytes[n - 3] === GS && bytes[n - 2] === 0x72 && bytes[n - 1] === 0x01)
    return bytes.subarray(0, n - 3);
  return bytes;
}
