// The virtual printer's command processor: decodes the ESC/POS byte stream one command at
// a time into what lands on the paper (PrintedItem) and what the device must do besides
// (answer a query, switch ASB, initialize). It knows the length of every command it meets,
// so a command it does not model is skipped whole, with a marker, instead of printing its
// parameters as text and losing step with the stream.
//
// Layout is rough on purpose: one text line per printed line, alignment shown as leading
// spaces (one per font-A cell). Where a line is full is decided in dots by charDots, the
// width model the agent lays tickets out with, on the paper of the printer's profile
// (80 mm, 576 dots by default).
import iconv from 'iconv-lite';
import { barcodeText } from '../escpos/barcode.js';
import { marker } from '../escpos/markers.js';
import { cellDots, charDots, type PaperMetrics } from '../protocol/profile.js';
import { DC4_PARAM_BYTES, eotParamBytes } from './realtime-commands.js';

export type Align = 'left' | 'center' | 'right';

/** What came out of the printer: one item per printed line or marker, in paper order. */
export type PrintedItem =
  /** One printed line as laid out: alignment shows as leading spaces; '' is a blank line. */
  | { kind: 'text'; text: string; align: Align }
  | { kind: 'cut'; mode: 'full' | 'partial' }
  | { kind: 'qr'; data: string }
  | { kind: 'barcode'; symbology: string; data: string }
  | { kind: 'image'; widthDots: number; heightDots: number }
  | { kind: 'drawer'; pin: 2 | 5; onMs: number; offMs: number }
  | { kind: 'beep'; times: number }
  /** A command this printer does not model, skipped whole; `head` is its first bytes. */
  | { kind: 'unknown'; length: number; head: number[] }
  /** A command a real printer ignores here, e.g. a cut that is not at the start of a line. */
  | { kind: 'ignored'; command: string; reason: string };

/** How an item shows in the print-out, using the markers previews use. */
export function formatPrintedItem(item: PrintedItem): string {
  switch (item.kind) {
    case 'text':
      return item.text;
    case 'cut':
      return marker.cut(item.mode);
    case 'qr':
      return marker.qr(item.data);
    case 'barcode':
      return marker.barcode(item.symbology, item.data);
    case 'image':
      return marker.image(item.widthDots, item.heightDots);
    case 'drawer':
      return marker.drawer(item.pin, item.onMs, item.offMs);
    case 'beep':
      return marker.beep(item.times);
    case 'unknown':
      return marker.raw(item.length);
    case 'ignored':
      return `[IGNORED ${item.command}: ${item.reason}]`;
  }
}

/** What the command processor asks of the device, in stream order. */
export type DeviceEffect =
  | { kind: 'status-request'; what: 'paper' | 'drawer' } // GS r 1 / 2
  | { kind: 'print-confirmation'; token: string } // GS ( H fn 48
  | { kind: 'identify'; n: number } // GS I n
  | { kind: 'asb'; mask: number } // GS a n
  | { kind: 'initialize' }; // ESC @

/** `lines` is the paper the item takes, in text lines: it sets print time and paper use. */
export type Effect = { kind: 'print'; item: PrintedItem; lines: number } | DeviceEffect;

export interface Step {
  /**
   * Bytes the command takes. For bulk data (images, downloads) this may be more than were
   * given: the header is enough to decode it, and the caller drops the rest as it arrives.
   */
  length: number;
  effects: Effect[];
}

/**
 * Longest command decoded only once complete (QR data is at most 7,089 bytes). Longer ones
 * are skipped as unknown, so a receive buffer bigger than this can never wait forever.
 */
export const MAX_COMPLETE_COMMAND = 16 * 1024;

const HT = 0x09;
const LF = 0x0a;
const DLE = 0x10;
const ESC = 0x1b;
const FS = 0x1c;
const GS = 0x1d;

/** An 80 mm roll, as on an Epson TM-T88: the paper when none is given. */
const DEFAULT_PAPER: PaperMetrics = { widthMm: 80, dots: 576, columnsFontA: 48, columnsFontB: 64 };
/** ESC 2 line spacing (about 1/6 inch), in the same units as ESC 3 and ESC J. */
const DEFAULT_LINE_SPACING = 30;
/** Dots a text line is tall: converts images and barcodes into lines of paper. */
const LINE_DOTS = 24;
const DEFAULT_TABS = Array.from({ length: 32 }, (_, i) => (i + 1) * 8);

/** ESC t n, Epson numbering (vendors differ above 19). */
const CODE_PAGES: ReadonlyMap<number, string> = new Map([
  [0, 'cp437'],
  [2, 'cp850'],
  [3, 'cp860'],
  [4, 'cp863'],
  [5, 'cp865'],
  [13, 'cp857'],
  [14, 'cp737'],
  [15, 'iso-8859-7'],
  [16, 'cp1252'],
  [17, 'cp866'],
  [18, 'cp852'],
  [19, 'cp858'],
]);

const BARCODES_A: readonly string[] = ['UPC-A', 'UPC-E', 'EAN13', 'EAN8', 'CODE39', 'ITF', 'CODABAR'];
const BARCODES_B: readonly string[] = [
  ...BARCODES_A,
  'CODE93',
  'CODE128',
  'GS1-128',
  'GS1-DATABAR-OMNIDIRECTIONAL',
  'GS1-DATABAR-TRUNCATED',
  'GS1-DATABAR-LIMITED',
  'GS1-DATABAR-EXPANDED',
  'CODE128-AUTO',
];
/** GS ( k cn values whose symbols are stored with fn 80 and printed with fn 81. */
const SYMBOLS: ReadonlyMap<number, string> = new Map([
  [48, 'PDF417'],
  [49, 'QR'],
  [50, 'MAXICODE'],
  [53, 'AZTEC'],
  [54, 'DATAMATRIX'],
]);

interface Dims {
  width: number;
  height: number;
}

interface Modes {
  align: Align;
  fontB: boolean;
  widthMul: number;
  heightMul: number;
  /** Two-byte (GB18030) text: FS & on, FS . off. */
  chinese: boolean;
  codePage: number;
  rightSpacing: number;
  lineSpacing: number;
  tabs: number[];
  leftMargin: number;
  areaWidth: number;
  barcodeHeight: number;
  hri: number;
}

/**
 * Power-on modes. Chinese-market printers (this one reports "CHINA GB18030") start in
 * two-byte mode and return to it after ESC @: senders must send FS . before code-page text.
 */
const defaultModes = (paper: PaperMetrics): Modes => ({
  align: 'left',
  fontB: false,
  widthMul: 1,
  heightMul: 1,
  chinese: true,
  codePage: 0,
  rightSpacing: 0,
  lineSpacing: DEFAULT_LINE_SPACING,
  tabs: DEFAULT_TABS,
  leftMargin: 0,
  areaWidth: paper.dots,
  barcodeHeight: 162,
  hri: 0,
});

const at = (buf: Uint8Array, i: number): number => buf[i] ?? 0;
const u16 = (buf: Uint8Array, i: number): number => at(buf, i) + at(buf, i + 1) * 256;
const print = (item: PrintedItem, lines = 0): Effect => ({ kind: 'print', item, lines });
const ignored = (command: string, reason: string): Effect => print({ kind: 'ignored', command, reason });
/** GS v 0 / GS / / FS p / GS ( L scale parameter: bit 0 doubles width, bit 1 height. */
const scaled = (d: Dims, m: number): Dims => ({
  width: d.width * (m & 1 ? 2 : 1),
  height: d.height * (m & 2 ? 2 : 1),
});

const decodeTables = new Map<string, string[]>();
function decodeTable(codePage: string): string[] {
  let table = decodeTables.get(codePage);
  if (!table) {
    table = Array.from(iconv.decode(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), codePage));
    decodeTables.set(codePage, table);
  }
  return table;
}

/** Bytes in the GB18030 character starting at `i`; 1 for an invalid byte; undefined if cut short. */
function gb18030Length(buf: Uint8Array, i: number): number | undefined {
  const b = at(buf, i);
  if (b < 0x81 || b === 0xff) return 1;
  if (i + 1 >= buf.length) return undefined;
  const b2 = at(buf, i + 1);
  if (b2 >= 0x30 && b2 <= 0x39) {
    if (i + 3 >= buf.length) return undefined;
    const b3 = at(buf, i + 2);
    const b4 = at(buf, i + 3);
    return b3 >= 0x81 && b3 <= 0xfe && b4 >= 0x30 && b4 <= 0x39 ? 4 : 1;
  }
  return b2 >= 0x40 && b2 <= 0xfe && b2 !== 0x7f ? 2 : 1;
}

export class EscPosInterpreter {
  readonly #paper: PaperMetrics;
  /** Dots of a font-A cell: leading spaces and moves are shown in these. */
  readonly #cell: number;
  #m: Modes;
  // The print buffer: the line being built.
  #line = '';
  #lineDots = 0;
  #lineHeight = 1;
  #lineGraphics = false;
  // Graphics and symbols defined by one command and printed by a later one.
  #symbolData = new Map<number, Uint8Array>();
  #bufferGraphics: Dims | undefined;
  #downloadBitImage: Dims | undefined;
  #downloadGraphics = new Map<string, Dims>();
  /** NV (non-volatile) graphics survive ESC @ and power-off, like the printer's flash. */
  readonly #nvGraphics = new Map<string, Dims>();
  #nvBitImages: Dims[] = [];

  constructor(paper: PaperMetrics = DEFAULT_PAPER) {
    this.#paper = paper;
    this.#cell = cellDots(paper, 'A');
    this.#m = defaultModes(paper);
  }

  /** ESC @: modes back to power-on values, the unprinted line discarded. */
  initialize(): void {
    this.#m = defaultModes(this.#paper);
    this.#clearLine();
    this.#symbolData.clear();
    this.#bufferGraphics = undefined;
  }

  /** DLE ENQ 2 / DLE DC4 8: the line being built is dropped; modes stay. */
  clearPrintBuffer(): void {
    this.#clearLine();
  }

  /** Power-on: as ESC @, and downloaded (RAM) graphics are gone. */
  powerOn(): void {
    this.initialize();
    this.#downloadBitImage = undefined;
    this.#downloadGraphics.clear();
  }

  /** Decodes the command at the start of `buf`; undefined when more bytes are needed. */
  step(buf: Uint8Array): Step | undefined {
    const b0 = buf[0];
    if (b0 === undefined) return undefined;
    if (b0 >= 0x20) return this.#text(buf);
    switch (b0) {
      case LF:
        return this.#fixed(buf, 1, (_, e) => this.#printLine(e));
      case HT:
        return this.#fixed(buf, 1, () => this.#tab());
      case DLE:
        return this.#dle(buf);
      case ESC:
        return this.#esc(buf);
      case FS:
        return this.#fs(buf);
      case GS:
        return this.#gs(buf);
      default:
        // CR (auto line feed is off), NUL, FF, CAN and other control bytes: no action in
        // standard mode.
        return { length: 1, effects: [] };
    }
  }

  /** A command of `n` bytes: waits for all of them, then runs `act`. */
  #fixed(buf: Uint8Array, n: number, act?: (cmd: Uint8Array, effects: Effect[]) => void): Step | undefined {
    if (buf.length < n) return undefined;
    const effects: Effect[] = [];
    act?.(buf.subarray(0, n), effects);
    return { length: n, effects };
  }

  /** A command whose length is only known from its contents, decoded once complete. */
  #complete(
    buf: Uint8Array,
    length: number,
    act: (cmd: Uint8Array, effects: Effect[]) => void,
  ): Step | undefined {
    if (length > MAX_COMPLETE_COMMAND) return this.#unknown(buf, length);
    return this.#fixed(buf, length, act);
  }

  #unknown(buf: Uint8Array, length: number): Step {
    const head = Array.from(buf.subarray(0, Math.min(length, 8)));
    return { length, effects: [print({ kind: 'unknown', length, head })] };
  }

  #text(buf: Uint8Array): Step | undefined {
    const effects: Effect[] = [];
    const table = decodeTable(CODE_PAGES.get(this.#m.codePage) ?? 'cp437');
    let i = 0;
    while (i < buf.length && at(buf, i) >= 0x20) {
      const b = at(buf, i);
      if (this.#m.chinese && b >= 0x80) {
        const n = gb18030Length(buf, i);
        if (n === undefined) break;
        const ch = n === 1 ? '?' : iconv.decode(Buffer.from(buf.subarray(i, i + n)), 'gb18030');
        this.#addChar(ch, n > 1, effects);
        i += n;
      } else {
        this.#addChar(table[b] ?? '?', false, effects);
        i++;
      }
    }
    return i === 0 ? undefined : { length: i, effects };
  }

  #charDots(wide: boolean): number {
    const m = this.#m;
    // ESC SP right-side spacing applies to one-byte characters (FS S sets two-byte spacing).
    return (
      charDots(this.#paper, m.fontB ? 'B' : 'A', wide, m.widthMul) + (wide ? 0 : m.rightSpacing * m.widthMul)
    );
  }

  #area(): number {
    return Math.min(this.#m.areaWidth, this.#paper.dots - this.#m.leftMargin);
  }

  #addChar(ch: string, wide: boolean, effects: Effect[]): void {
    const dots = this.#charDots(wide);
    // A full line prints by itself and the character starts the next one.
    if (this.#lineDots > 0 && this.#lineDots + dots > this.#area()) this.#printLine(effects);
    this.#line += ch;
    this.#lineDots += dots;
    this.#lineHeight = Math.max(this.#lineHeight, this.#m.heightMul);
  }

  #atLineStart(): boolean {
    return this.#lineDots === 0 && !this.#lineGraphics;
  }

  #clearLine(): void {
    this.#line = '';
    this.#lineDots = 0;
    this.#lineHeight = 1;
    this.#lineGraphics = false;
  }

  /** Prints the line buffer (a blank line when empty) and feeds one line. */
  #printLine(effects: Effect[]): void {
    if (this.#line === '' && this.#lineGraphics) {
      // The line held only bit-image data, already shown as an image.
      this.#clearLine();
      return;
    }
    const m = this.#m;
    const free = Math.max(0, this.#area() - this.#lineDots);
    const offset = m.leftMargin + (m.align === 'center' ? free / 2 : m.align === 'right' ? free : 0);
    const text = ' '.repeat(Math.round(offset / this.#cell)) + this.#line;
    effects.push(print({ kind: 'text', text: text.trimEnd(), align: m.align }, this.#lineHeight));
    this.#clearLine();
  }

  /** Prints what the line holds, if anything, before a barcode, image or cut. */
  #finishLine(effects: Effect[]): void {
    if (!this.#atLineStart()) this.#printLine(effects);
  }

  #feedLines(n: number, effects: Effect[]): void {
    for (let i = 0; i < n; i++) effects.push(print({ kind: 'text', text: '', align: this.#m.align }, 1));
  }

  #moveTo(dots: number): void {
    if (dots <= this.#lineDots || dots > this.#area()) return;
    this.#line += ' '.repeat(Math.max(1, Math.round((dots - this.#lineDots) / this.#cell)));
    this.#lineDots = dots;
  }

  #tab(): void {
    const cell = this.#charDots(false);
    const next = this.#m.tabs.map((col) => col * cell).find((dots) => dots > this.#lineDots);
    if (next !== undefined) this.#moveTo(next);
  }

  #image(d: Dims, effects: Effect[]): void {
    this.#finishLine(effects);
    effects.push(
      print({ kind: 'image', widthDots: d.width, heightDots: d.height }, Math.ceil(d.height / LINE_DOTS)),
    );
  }

  #cut(mode: 'full' | 'partial', feedLines: number, command: string, effects: Effect[]): void {
    // A cut is only executed at the start of a line (docs/escpos.md).
    if (!this.#atLineStart()) {
      effects.push(ignored(command, 'not at the beginning of a line'));
      return;
    }
    effects.push(print({ kind: 'cut', mode }, 1 + feedLines));
  }

  #dle(buf: Uint8Array): Step | undefined {
    // Real-time commands were executed as they arrived (realtime-commands.ts); here they
    // are only stepped over.
    if (buf.length < 2) return undefined;
    const kind = at(buf, 1);
    if (kind === 0x04) {
      if (buf.length < 3) return undefined;
      return this.#fixed(buf, 3 + eotParamBytes(at(buf, 2)));
    }
    if (kind === 0x05) return this.#fixed(buf, 3);
    if (kind === 0x14) {
      if (buf.length < 3) return undefined;
      const params = DC4_PARAM_BYTES.get(at(buf, 2));
      return params === undefined ? this.#unknown(buf, 3) : this.#fixed(buf, 3 + params);
    }
    return { length: 1, effects: [] }; // a lone DLE is no command
  }

  #esc(buf: Uint8Array): Step | undefined {
    if (buf.length < 2) return undefined;
    const c = at(buf, 1);
    const m = this.#m;
    switch (c) {
      case 0x0c: // ESC FF: print in page mode
      case 0x3c: // ESC <: return home
      case 0x53: // ESC S: standard mode
      case 0x76: // ESC v: paper sensor status (obsolete; not answered)
        return this.#fixed(buf, 2);
      case 0x4c: // ESC L
        return this.#fixed(buf, 2, (_, e) =>
          e.push(ignored('ESC L', 'page mode is not modelled: data prints as in standard mode')),
        );
      case 0x32: // ESC 2
        return this.#fixed(buf, 2, () => {
          m.lineSpacing = DEFAULT_LINE_SPACING;
        });
      case 0x40: // ESC @
        return this.#fixed(buf, 2, (_, e) => {
          this.initialize();
          e.push({ kind: 'initialize' });
        });
      case 0x69: // ESC i: partial cut, one point left
      case 0x6d: // ESC m: partial cut, three points left
        return this.#fixed(buf, 2, (_, e) => this.#cut('partial', 0, c === 0x69 ? 'ESC i' : 'ESC m', e));
      case 0x25: // ESC %: user-defined characters on/off
      case 0x2d: // ESC -: underline
      case 0x3d: // ESC =: peripheral device
      case 0x3f: // ESC ?: cancel user-defined character
      case 0x45: // ESC E: emphasized
      case 0x47: // ESC G: double-strike
      case 0x4b: // ESC K: print and reverse feed
      case 0x52: // ESC R: international character set
      case 0x54: // ESC T: page mode direction
      case 0x55: // ESC U: unidirectional printing
      case 0x56: // ESC V: 90 degree rotation
      case 0x65: // ESC e: reverse feed
      case 0x72: // ESC r: colour
      case 0x75: // ESC u: peripheral status (obsolete; not answered)
      case 0x7b: // ESC {: upside down
        return this.#fixed(buf, 3);
      case 0x20: // ESC SP n: right-side character spacing
        return this.#fixed(buf, 3, (cmd) => {
          m.rightSpacing = at(cmd, 2);
        });
      case 0x21: // ESC ! n: print mode
        return this.#fixed(buf, 3, (cmd) => {
          const n = at(cmd, 2);
          m.fontB = (n & 0x01) !== 0;
          m.heightMul = n & 0x10 ? 2 : 1;
          m.widthMul = n & 0x20 ? 2 : 1;
        });
      case 0x33: // ESC 3 n: line spacing
        return this.#fixed(buf, 3, (cmd) => {
          m.lineSpacing = at(cmd, 2);
        });
      case 0x4a: // ESC J n: print and feed n units
        return this.#fixed(buf, 3, (cmd, e) => {
          const hadLine = !this.#atLineStart();
          if (hadLine) this.#printLine(e);
          const lines = m.lineSpacing > 0 ? Math.round(at(cmd, 2) / m.lineSpacing) : 0;
          this.#feedLines(Math.max(0, lines - (hadLine ? 1 : 0)), e);
        });
      case 0x4d: // ESC M n: font
        return this.#fixed(buf, 3, (cmd) => {
          const n = at(cmd, 2);
          m.fontB = n === 1 || n === 2 || n === 49 || n === 50;
        });
      case 0x61: // ESC a n: justification
        return this.#fixed(buf, 3, (cmd, e) => {
          const n = at(cmd, 2) % 48;
          // Epson: only processed at the beginning of a line.
          if (!this.#atLineStart()) e.push(ignored('ESC a', 'not at the beginning of a line'));
          else if (n <= 2) m.align = (['left', 'center', 'right'] as const)[n] ?? 'left';
        });
      case 0x64: // ESC d n: print and feed n lines
        return this.#fixed(buf, 3, (cmd, e) => {
          const n = at(cmd, 2);
          const hadLine = !this.#atLineStart();
          if (hadLine) this.#printLine(e);
          this.#feedLines(Math.max(0, n - (hadLine ? 1 : 0)), e);
        });
      case 0x74: // ESC t n: code page
        return this.#fixed(buf, 3, (cmd, e) => {
          const n = at(cmd, 2);
          if (CODE_PAGES.has(n)) m.codePage = n;
          else
            e.push(
              ignored(`ESC t ${n}`, `code page ${n} is not modelled; text stays in ${this.#codePageName()}`),
            );
        });
      case 0x24: // ESC $ nL nH: absolute position
        return this.#fixed(buf, 4, (cmd) => this.#moveTo(u16(cmd, 2)));
      case 0x5c: // ESC \ nL nH: relative position
        return this.#fixed(buf, 4, (cmd) => {
          const n = u16(cmd, 2);
          this.#moveTo(this.#lineDots + (n >= 0x8000 ? n - 0x10000 : n));
        });
      case 0x63: // ESC c 3/4/5 n: paper sensors, panel buttons
        return this.#fixed(buf, 4);
      case 0x42: // ESC B n t: buzzer (Chinese clones), n beeps of t x 50 ms
        return this.#fixed(buf, 4, (cmd, e) => {
          const times = at(cmd, 2);
          if (times > 0) e.push(print({ kind: 'beep', times }));
        });
      case 0x70: // ESC p m t1 t2: drawer kick-out pulse of t1 x 2 ms on, t2 x 2 ms off
        return this.#fixed(buf, 5, (cmd, e) => {
          const pin = at(cmd, 2) % 48;
          if (pin <= 1) {
            e.push(
              print({ kind: 'drawer', pin: pin === 0 ? 2 : 5, onMs: at(cmd, 3) * 2, offMs: at(cmd, 4) * 2 }),
            );
          }
        });
      case 0x57: // ESC W: page mode print area
        return this.#fixed(buf, 10);
      case 0x44: // ESC D n1..nk NUL: tab positions
        return this.#tabPositions(buf);
      case 0x26: // ESC & y c1 c2 [x d1..d(y*x)]...: user-defined characters
        return this.#userCharacters(buf);
      case 0x2a: // ESC * m nL nH d1..dk: bit image on the current line
        return this.#bitImage(buf);
      case 0x28: // ESC ( x pL pH ...: not modelled (beeper and others)
        if (buf.length < 5) return undefined;
        return this.#unknown(buf, 5 + u16(buf, 3));
      default:
        return this.#unknown(buf, 2);
    }
  }

  #codePageName(): string {
    return CODE_PAGES.get(this.#m.codePage) ?? 'cp437';
  }

  #tabPositions(buf: Uint8Array): Step | undefined {
    // Ends at NUL, after 32 positions, or at a position not greater than the one before
    // (that byte is then ordinary data).
    const tabs: number[] = [];
    for (let i = 2; ; i++) {
      if (i >= buf.length) return undefined;
      const n = at(buf, i);
      if (n === 0 || tabs.length === 32 || n <= (tabs.at(-1) ?? 0)) {
        this.#m.tabs = tabs;
        return { length: n === 0 ? i + 1 : i, effects: [] };
      }
      tabs.push(n);
    }
  }

  #userCharacters(buf: Uint8Array): Step | undefined {
    if (buf.length < 5) return undefined;
    const y = at(buf, 2);
    const count = at(buf, 4) - at(buf, 3) + 1;
    let length = 5;
    for (let k = 0; k < count; k++) {
      if (length >= buf.length) return length > MAX_COMPLETE_COMMAND ? this.#unknown(buf, 5) : undefined;
      length += 1 + y * at(buf, length);
    }
    return { length, effects: [] };
  }

  #bitImage(buf: Uint8Array): Step | undefined {
    if (buf.length < 5) return undefined;
    const mode = at(buf, 2);
    const n = u16(buf, 3);
    const eightDot = mode === 0 || mode === 1;
    if (!eightDot && mode !== 32 && mode !== 33) return this.#unknown(buf, 3);
    const length = 5 + (eightDot ? n : 3 * n);
    // Modes 0 and 32 are single density: each column is printed twice as wide.
    const width = mode % 2 === 0 ? 2 * n : n;
    this.#lineGraphics = true;
    return {
      length,
      effects: [print({ kind: 'image', widthDots: width, heightDots: eightDot ? 8 : 24 }, 1)],
    };
  }

  #fs(buf: Uint8Array): Step | undefined {
    if (buf.length < 2) return undefined;
    const c = at(buf, 1);
    switch (c) {
      case 0x26: // FS &: two-byte (Chinese) mode on
      case 0x2e: // FS .: off
        return this.#fixed(buf, 2, () => {
          this.#m.chinese = c === 0x26;
        });
      case 0x21: // FS !: two-byte character print mode
      case 0x2d: // FS -: two-byte underline
      case 0x43: // FS C: two-byte code system
      case 0x57: // FS W: quadruple size
        return this.#fixed(buf, 3);
      case 0x3f: // FS ? c1 c2: cancel user-defined two-byte character
      case 0x53: // FS S n1 n2: two-byte character spacing
        return this.#fixed(buf, 4);
      case 0x32: // FS 2 c1 c2 d1..d72: define a 24x24 two-byte character
        return { length: 76, effects: [] };
      case 0x70: // FS p n m: print NV bit image n
        return this.#fixed(buf, 4, (cmd, e) => {
          const n = at(cmd, 2);
          const image = this.#nvBitImages[n - 1];
          if (image) this.#image(scaled(image, at(cmd, 3)), e);
          else e.push(ignored(`FS p ${n}`, `NV bit image ${n} is not defined`));
        });
      case 0x71: // FS q n [xL xH yL yH d1..dk]1..n: define NV bit images
        return this.#defineNvBitImages(buf);
      case 0x28: // FS ( x pL pH ...
        if (buf.length < 5) return undefined;
        return this.#unknown(buf, 5 + u16(buf, 3));
      default:
        return this.#unknown(buf, 2);
    }
  }

  #defineNvBitImages(buf: Uint8Array): Step | undefined {
    if (buf.length < 3) return undefined;
    const images: Dims[] = [];
    let length = 3;
    for (let k = 0; k < at(buf, 2); k++) {
      if (length + 4 > buf.length) return length > MAX_COMPLETE_COMMAND ? this.#unknown(buf, 3) : undefined;
      const x = u16(buf, length);
      const y = u16(buf, length + 2);
      images.push({ width: x * 8, height: y * 8 });
      length += 4 + x * y * 8;
    }
    this.#nvBitImages = images;
    return { length, effects: [] };
  }

  #gs(buf: Uint8Array): Step | undefined {
    if (buf.length < 2) return undefined;
    const c = at(buf, 1);
    const m = this.#m;
    switch (c) {
      case 0x3a: // GS :: macro definition start/end
      case 0x63: // GS c: print counter (obsolete)
        return this.#fixed(buf, 2);
      case 0x42: // GS B: reverse printing
      case 0x54: // GS T: print position to line start
      case 0x62: // GS b: smoothing
      case 0x66: // GS f: HRI font
      case 0x6a: // GS j: ink ASB
      case 0x77: // GS w: barcode module width
        return this.#fixed(buf, 3);
      case 0x21: // GS ! n: character size
        return this.#fixed(buf, 3, (cmd) => {
          const n = at(cmd, 2);
          m.widthMul = ((n >> 4) & 7) + 1;
          m.heightMul = (n & 7) + 1;
        });
      case 0x48: // GS H n: HRI position
        return this.#fixed(buf, 3, (cmd) => {
          m.hri = at(cmd, 2) % 48;
        });
      case 0x68: // GS h n: barcode height
        return this.#fixed(buf, 3, (cmd) => {
          m.barcodeHeight = at(cmd, 2);
        });
      case 0x2f: // GS / m: print downloaded bit image
        return this.#fixed(buf, 3, (cmd, e) => {
          if (this.#downloadBitImage) this.#image(scaled(this.#downloadBitImage, at(cmd, 2)), e);
          else e.push(ignored('GS /', 'no downloaded bit image is defined'));
        });
      case 0x49: // GS I n: printer ID
        return this.#fixed(buf, 3, (cmd, e) => e.push({ kind: 'identify', n: at(cmd, 2) }));
      case 0x61: // GS a n: Automatic Status Back
        return this.#fixed(buf, 3, (cmd, e) => e.push({ kind: 'asb', mask: at(cmd, 2) }));
      case 0x72: // GS r n: transmit status
        return this.#fixed(buf, 3, (cmd, e) => {
          const n = at(cmd, 2);
          if (n === 1 || n === 49) e.push({ kind: 'status-request', what: 'paper' });
          else if (n === 2 || n === 50) e.push({ kind: 'status-request', what: 'drawer' });
        });
      case 0x24: // GS $: page mode vertical position
      case 0x50: // GS P: motion units
      case 0x5c: // GS \: page mode relative vertical position
        return this.#fixed(buf, 4);
      case 0x4c: // GS L nL nH: left margin (at line start)
        return this.#fixed(buf, 4, (cmd) => {
          if (this.#atLineStart()) m.leftMargin = Math.min(u16(cmd, 2), this.#paper.dots - this.#cell);
        });
      case 0x57: // GS W nL nH: print area width (at line start)
        return this.#fixed(buf, 4, (cmd) => {
          if (this.#atLineStart()) m.areaWidth = Math.max(this.#cell, u16(cmd, 2));
        });
      case 0x5e: // GS ^ r t m: execute macro
      case 0x7a: // GS z 0 t1 t2: online recovery wait time
        return this.#fixed(buf, 5);
      case 0x67: // GS g 0|2 m nL nH: maintenance counter
        return this.#fixed(buf, 6);
      case 0x56: // GS V: cut
        return this.#gsCut(buf);
      case 0x6b: // GS k: barcode
        return this.#barcode(buf);
      case 0x76: // GS v 0: raster image
        return this.#raster(buf);
      case 0x2a: {
        // GS * x y d1..d(x*y*8): define downloaded bit image
        if (buf.length < 4) return undefined;
        const x = at(buf, 2);
        const y = at(buf, 3);
        this.#downloadBitImage = { width: x * 8, height: y * 8 };
        return { length: 4 + x * y * 8, effects: [] };
      }
      case 0x28: // GS ( x pL pH ...
        return this.#gsParen(buf);
      case 0x38: // GS 8 L p1 p2 p3 p4 m fn ...: graphics with a 32-bit length
        if (buf.length < 7) return undefined;
        if (at(buf, 2) !== 0x4c) return this.#unknown(buf, 3);
        return this.#graphics(buf, 7, 7 + u16(buf, 3) + u16(buf, 5) * 0x10000);
      default:
        return this.#unknown(buf, 2);
    }
  }

  #gsCut(buf: Uint8Array): Step | undefined {
    if (buf.length < 3) return undefined;
    const m = at(buf, 2);
    if (m === 0 || m === 1 || m === 48 || m === 49) {
      return this.#fixed(buf, 3, (_, e) => this.#cut(m % 48 === 0 ? 'full' : 'partial', 0, `GS V ${m}`, e));
    }
    // 65/66: feed to the cutter plus n units and cut; 97/98 and 103/104: the same at a
    // set position. Odd m is a full cut, even a partial one.
    if ([65, 66, 97, 98, 103, 104].includes(m)) {
      return this.#fixed(buf, 4, (cmd, e) => {
        const feed = this.#m.lineSpacing > 0 ? Math.round(at(cmd, 3) / this.#m.lineSpacing) : 0;
        this.#cut(m % 2 === 1 ? 'full' : 'partial', feed, `GS V ${m}`, e);
      });
    }
    return this.#unknown(buf, 3);
  }

  #barcode(buf: Uint8Array): Step | undefined {
    if (buf.length < 3) return undefined;
    const type = at(buf, 2);
    const emit = (data: Uint8Array, effects: Effect[]): void => {
      const symbology = (type < 65 ? BARCODES_A[type] : BARCODES_B[type - 65]) ?? `GS k ${type}`;
      const text = barcodeText(symbology, data);
      this.#finishLine(effects);
      const hriLines = (this.#m.hri & 1 ? 1 : 0) + (this.#m.hri & 2 ? 1 : 0);
      const lines = Math.ceil(this.#m.barcodeHeight / LINE_DOTS) + hriLines;
      effects.push(print({ kind: 'barcode', symbology, data: text }, lines));
    };
    if (type <= 6) {
      // GS k m d1..dk NUL
      const end = buf.indexOf(0, 3);
      if (end < 0) return buf.length > 3 + 255 ? this.#unknown(buf, 3) : undefined;
      return this.#fixed(buf, end + 1, (cmd, e) => emit(cmd.subarray(3, end), e));
    }
    if (type >= 65 && type <= 79) {
      // GS k m n d1..dn
      if (buf.length < 4) return undefined;
      return this.#fixed(buf, 4 + at(buf, 3), (cmd, e) => emit(cmd.subarray(4), e));
    }
    return this.#unknown(buf, 3);
  }

  #raster(buf: Uint8Array): Step | undefined {
    if (buf.length < 8) return undefined;
    if (at(buf, 2) !== 0x30) return this.#unknown(buf, 3);
    const widthBytes = u16(buf, 4);
    const height = u16(buf, 6);
    const effects: Effect[] = [];
    this.#image(scaled({ width: widthBytes * 8, height }, at(buf, 3)), effects);
    return { length: 8 + widthBytes * height, effects };
  }

  #gsParen(buf: Uint8Array): Step | undefined {
    if (buf.length < 5) return undefined;
    const length = 5 + u16(buf, 3);
    switch (at(buf, 2)) {
      case 0x6b: // GS ( k: 2D symbols
        return this.#complete(buf, length, (cmd, e) => this.#symbol(cmd, e));
      case 0x48: // GS ( H: process ID response
        return this.#complete(buf, length, (cmd, e) => {
          // pL pH = 6 0, fn = 48, m = 48, then d1..d4 in 0x20-0x7E.
          const token = cmd.subarray(7, 11);
          if (
            cmd.length === 11 &&
            at(cmd, 5) === 48 &&
            at(cmd, 6) === 48 &&
            token.every((d) => d >= 0x20 && d <= 0x7e)
          ) {
            e.push({ kind: 'print-confirmation', token: String.fromCharCode(...token) });
          }
        });
      case 0x4c: // GS ( L: graphics
        return this.#graphics(buf, 5, length);
      default:
        return this.#unknown(buf, length);
    }
  }

  #symbol(cmd: Uint8Array, effects: Effect[]): void {
    // pL pH cn fn [m d1..dk]
    const cn = at(cmd, 5);
    const fn = at(cmd, 6);
    const name = SYMBOLS.get(cn);
    if (name === undefined) return; // size, error level and model settings need no action
    if (fn === 80) {
      this.#symbolData.set(cn, cmd.slice(8));
    } else if (fn === 81) {
      const data = this.#symbolData.get(cn);
      if (!data) {
        effects.push(ignored(`GS ( k ${name} print`, 'no symbol data stored'));
        return;
      }
      const text = new TextDecoder().decode(data);
      this.#finishLine(effects);
      // Rough size: a QR version grows with the data; modules of about 6 dots.
      const dots = (21 + 4 * Math.floor(data.length / 20)) * 6;
      const lines = Math.ceil(dots / LINE_DOTS);
      effects.push(
        print(
          cn === 49 ? { kind: 'qr', data: text } : { kind: 'barcode', symbology: name, data: text },
          lines,
        ),
      );
    }
  }

  /** GS ( L and GS 8 L; `p` is where m fn start, `length` the whole command. */
  #graphics(buf: Uint8Array, p: number, length: number): Step | undefined {
    const need = Math.min(length, p + 10);
    if (buf.length < need) return undefined;
    const fn = at(buf, p + 1);
    const key = String.fromCharCode(at(buf, p + 2), at(buf, p + 3));
    const definedKey = String.fromCharCode(at(buf, p + 3), at(buf, p + 4));
    const dims = (): Dims => ({ width: u16(buf, p + 6), height: u16(buf, p + 8) });
    const effects: Effect[] = [];
    const printStored = (name: string, d: Dims | undefined, what: string): void => {
      if (d) this.#image(scaled(d, (at(buf, p + 4) === 2 ? 1 : 0) | (at(buf, p + 5) === 2 ? 2 : 0)), effects);
      else effects.push(ignored(name, `${what} ${JSON.stringify(key)} is not defined`));
    };
    switch (fn) {
      case 112: {
        // m fn a bx by c xL xH yL yH d...: store raster graphics in the print buffer
        const d = dims();
        this.#bufferGraphics = {
          width: d.width * Math.max(1, at(buf, p + 3)),
          height: d.height * Math.max(1, at(buf, p + 4)),
        };
        break;
      }
      case 2:
      case 50: // print the buffered graphics
        if (this.#bufferGraphics) this.#image(this.#bufferGraphics, effects);
        this.#bufferGraphics = undefined;
        break;
      case 67: // m fn a kc1 kc2 b xL xH yL yH ...: define NV graphics
        this.#nvGraphics.set(definedKey, dims());
        break;
      case 83: // the same for download (RAM) graphics
        this.#downloadGraphics.set(definedKey, dims());
        break;
      case 69: // m fn kc1 kc2 x y: print NV graphics
        printStored('GS ( L print NV graphics', this.#nvGraphics.get(key), 'NV graphics');
        break;
      case 85: // print download graphics
        printStored('GS ( L print download graphics', this.#downloadGraphics.get(key), 'download graphics');
        break;
      case 65: // delete all NV graphics
        this.#nvGraphics.clear();
        break;
      case 66: // delete the NV graphics kc1 kc2
        this.#nvGraphics.delete(key);
        break;
      default:
        // Capacity queries, key lists and the like: no effect on the paper.
        break;
    }
    return { length, effects };
  }
}
