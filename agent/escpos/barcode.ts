// One-dimensional barcode data: what each symbology accepts, what GS k gets, what the
// human-readable line says, and how wide the symbol is. Errors are thrown as plain messages;
// the caller adds where in the ticket they come from.
import type { BarcodeBlock } from '../../protocol/ticket.js';

export type Symbology = BarcodeBlock['symbology'];

export interface BarcodeData {
  /** The d1..dn bytes of GS k (function B). */
  payload: Uint8Array;
  /** The digits/characters a person reads under the bars. */
  text: string;
  /** Symbol width in narrow-bar modules, without quiet zones. */
  modules: number;
}

/** EAN-13 check digit of the first 12 digits: weights 1, 3, 1, 3, ... from the left. */
export function ean13CheckDigit(first12: string): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function ean13(data: string): BarcodeData {
  if (!/^\d{12,13}$/.test(data)) throw new Error(`EAN13 needs 12 or 13 digits, got ${JSON.stringify(data)}`);
  const check = ean13CheckDigit(data);
  if (data.length === 13 && Number(data[12]) !== check) {
    throw new Error(`EAN13 check digit of ${data} is wrong: expected ${check}, got ${data[12]}`);
  }
  // The printer computes the check digit itself from 12 digits; every model accepts that form.
  return { payload: ascii(data.slice(0, 12)), text: data.slice(0, 12) + check, modules: 95 };
}

function code128(data: string): BarcodeData {
  const bad = [...data].find((c) => c < ' ' || c > '~');
  if (bad !== undefined)
    throw new Error(`CODE128 (code set B) cannot encode ${JSON.stringify(bad)}; use ASCII 0x20-0x7E`);
  // "{B" selects code set B; a literal "{" is sent as "{{".
  const payload = ascii(`{B${data.replaceAll('{', '{{')}`);
  if (payload.length > 255) throw new Error(`CODE128 data is too long (${data.length} characters)`);
  // start + data + check symbol at 11 modules each, stop 13.
  return { payload, text: data, modules: (data.length + 2) * 11 + 13 };
}

const CODE39_CHARS = /^[0-9A-Z $%+\-./]+$/;
function code39(data: string): BarcodeData {
  const bare = data.replace(/^\*(.*)\*$/, '$1'); // start/stop characters are added here
  if (!CODE39_CHARS.test(bare)) {
    throw new Error(`CODE39 cannot encode ${JSON.stringify(data)}; allowed: 0-9 A-Z space $ % + - . /`);
  }
  if (bare.length + 2 > 255) throw new Error(`CODE39 data is too long (${bare.length} characters)`);
  // Sent with explicit * start/stop so that printers which do not add them still print a valid symbol.
  // Each character is 9 elements (3 wide at about 3:1) plus a gap: about 16 modules.
  return { payload: ascii(`*${bare}*`), text: bare, modules: (bare.length + 2) * 16 };
}

/** Checks and converts barcode data for GS k; throws an Error describing what is wrong. */
export function barcodeData(symbology: Symbology, data: string): BarcodeData {
  switch (symbology) {
    case 'EAN13':
      return ean13(data);
    case 'CODE128':
      return code128(data);
    case 'CODE39':
      return code39(data);
  }
}
