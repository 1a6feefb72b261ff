// One-dimensional barcode data: what each symbology accepts, what GS k gets, what the
// human-readable line says, and how wide the symbol is; and the way back, GS k data to the
// text a person reads (the virtual printer prints that). Errors are thrown as plain
// messages; the caller adds where in the ticket they come from.
import type { BarcodeBlock } from '../protocol/ticket.js';

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

/** CODE128 code sets used here: B holds all of printable ASCII, C holds digit pairs. */
type CodeSet = 'B' | 'C';

const isDigit = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
};

/**
 * The code set of each symbol that makes the narrowest CODE128 symbol: for each position and
 * set, the fewest symbols that encode the rest (dynamic programming; a code set switch is one
 * symbol, a digit pair in set C one, any character in set B one). Set A is never narrower:
 * for printable ASCII it holds nothing B does not.
 */
function code128Runs(data: string): { set: CodeSet; text: string }[] {
  const n = data.length;
  // rest[s][i]: symbols for data[i..] when set s is in force at i (switches included).
  const rest = { B: new Array<number>(n + 1).fill(0), C: new Array<number>(n + 1).fill(0) };
  const pair = (i: number) => i + 1 < n && isDigit(data, i) && isDigit(data, i + 1);
  const left = (s: CodeSet, i: number) => rest[s][i] ?? 0;
  const stay = (s: CodeSet, i: number) =>
    s === 'B' ? 1 + left('B', i + 1) : pair(i) ? 1 + left('C', i + 2) : Number.POSITIVE_INFINITY;
  for (let i = n - 1; i >= 0; i--) {
    const b = stay('B', i);
    const c = stay('C', i);
    rest.B[i] = Math.min(b, 1 + c);
    rest.C[i] = Math.min(c, 1 + b);
  }
  const runs: { set: CodeSet; text: string }[] = [];
  let set: CodeSet = stay('C', 0) < stay('B', 0) ? 'C' : 'B';
  for (let i = 0; i < n; ) {
    if (stay(set, i) > left(set, i)) set = set === 'B' ? 'C' : 'B';
    const take = set === 'C' ? 2 : 1;
    const last = runs.at(-1);
    if (last?.set === set) last.text += data.slice(i, i + take);
    else runs.push({ set, text: data.slice(i, i + take) });
    i += take;
  }
  return runs;
}

function code128(data: string): BarcodeData {
  const bad = [...data].find((c) => c < ' ' || c > '~');
  if (bad !== undefined) throw new Error(`CODE128 cannot encode ${JSON.stringify(bad)}; use ASCII 0x20-0x7E`);
  // GS k 73 data: "{B" / "{C" select a code set (also mid-symbol); in set B a literal "{" is
  // "{{"; in set C each byte is a digit pair's value, 0-99.
  const bytes: number[] = [];
  const runs = code128Runs(data);
  for (const run of runs) {
    bytes.push(0x7b, run.set.charCodeAt(0));
    if (run.set === 'C')
      for (let i = 0; i < run.text.length; i += 2) bytes.push(Number(run.text.slice(i, i + 2)));
    else for (const ch of run.text.replaceAll('{', '{{')) bytes.push(ch.charCodeAt(0));
  }
  if (bytes.length > 255) throw new Error(`CODE128 data is too long (${data.length} characters)`);
  // Symbols: start, one per set switch, one per set-C pair or set-B character, the check
  // symbol; 11 modules each, and the stop symbol 13.
  const symbols = runs.reduce((sum, r) => sum + (r.set === 'C' ? r.text.length / 2 : r.text.length), 0);
  return {
    payload: Uint8Array.from(bytes),
    text: data,
    modules: (1 + (runs.length - 1) + symbols + 1) * 11 + 13,
  };
}

/** CODE128 GS k data as people read it: the {A {B {C code-set selectors and {1..{4, {S removed. */
function code128Text(data: Uint8Array): string {
  let out = '';
  let setC = false;
  for (let i = 0; i < data.length; i++) {
    const b = data[i] ?? 0;
    if (b === 0x7b && i + 1 < data.length) {
      const c = String.fromCharCode(data[++i] ?? 0);
      if (c === '{') out += '{';
      else if (c === 'A' || c === 'B' || c === 'C') setC = c === 'C';
      continue;
    }
    out += setC ? String(b).padStart(2, '0') : String.fromCharCode(b);
  }
  return out;
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

/**
 * GS k data (function B) as a person reads it under the bars; `symbology` is the printer's
 * name for the GS k type. Previews show barcodes by the same text.
 */
export function barcodeText(symbology: string, data: Uint8Array): string {
  const raw = String.fromCharCode(...data);
  if (symbology === 'CODE128') return code128Text(data);
  // Given 12 digits, the printer adds the EAN-13 check digit itself.
  if (symbology === 'EAN13' && /^\d{12}$/.test(raw)) return raw + ean13CheckDigit(raw);
  // The * start/stop characters of CODE39 are not data.
  if (symbology === 'CODE39') return raw.replace(/^\*(.*)\*$/, '$1');
  return raw;
}
