// Ticket + profile -> a list of print operations with everything decided: text wrapped and
// padded by its width on paper in dots (charDots, the one width model), tables laid out,
// characters the printer cannot print replaced, cuts, QR codes, barcodes and pictures fitted
// to the paper. The byte encoder and the text preview both read this, so that what the
// preview shows is what the bytes print.
import QRCode from 'qrcode';
import { charDots, type PrinterProfile } from '../protocol/profile.js';
import type { Align, BarcodeBlock, Block, Font, QrBlock, TableBlock, Ticket } from '../protocol/ticket.js';
import { barcodeData } from './barcode.js';
import { base64PngSize, type Dither, scaledSize } from './image.js';
import { alignOffset, type CharSize, codecFor, type TextCodec, wrapText } from './text.js';

/** Something in the ticket that cannot be printed on this printer at all. */
export class RenderError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'RenderError';
  }
}

export interface Style {
  bold: boolean;
  underline: boolean;
  invert: boolean;
  width: number;
  height: number;
  font: Font;
}

export type QrErrorLevel = NonNullable<QrBlock['errorLevel']>;

export type LayoutOp =
  /** Lines to print with one style; each is already wrapped (and, for tables and rules, padded). */
  | { kind: 'lines'; style: Style; align: Align; lines: string[] }
  | { kind: 'feed'; lines: number }
  | {
      kind: 'qr';
      data: string;
      bytes: Uint8Array;
      errorLevel: QrErrorLevel;
      moduleDots: number;
      align: Align;
      /** The module matrix when the QR code is sent as a picture. */
      matrix?: { size: number; data: Uint8Array };
    }
  | {
      kind: 'barcode';
      symbology: BarcodeBlock['symbology'];
      payload: Uint8Array;
      text: string;
      height: number;
      moduleWidth: number;
      hri: NonNullable<BarcodeBlock['hri']>;
      align: Align;
    }
  | {
      kind: 'image';
      path: string;
      /** The PNG file, base64 as in the ticket (decoded only when printing). */
      png: string;
      width: number;
      height: number;
      dither: Dither;
      align: Align;
    }
  /** mode null: the printer has no cutter, the paper is only fed. */
  | { kind: 'cut'; feedLines: number; mode: 'full' | 'partial' | null }
  | { kind: 'drawer'; pin: 2 | 5; onUnits: number; offUnits: number }
  | { kind: 'beep'; times: number; units50ms: number }
  | { kind: 'raw'; bytes: Uint8Array };

export interface Layout {
  ops: LayoutOp[];
  warnings: string[];
}

/** Blank modules around a QR code drawn as a picture (the standard asks for 4). */
export const QR_QUIET_MODULES = 4;
const QR_BYTE_CAPACITY_ERROR = 'The amount of data is too big to be stored in a QR Code';

/**
 * Columns of the given font on this paper. Most Chinese printers have no small Han font, so
 * Han characters in font B lines stay 24 dots wide (charDots): font B suits Latin-only lines best.
 */
export const fontColumns = (profile: PrinterProfile, font: Font) =>
  font === 'B' ? profile.paper.columnsFontB : profile.paper.columnsFontA;

/** Dots of a narrow and of a wide character in this style on this printer. */
export const charSize = (profile: PrinterProfile, style: Pick<Style, 'font' | 'width'>): CharSize => ({
  narrow: charDots(profile.paper, style.font, false, style.width),
  wide: charDots(profile.paper, style.font, true, style.width),
});

function styleOf(block: {
  bold?: boolean;
  underline?: boolean;
  invert?: boolean;
  width?: number;
  height?: number;
  font?: Font;
}): Style {
  return {
    bold: block.bold ?? false,
    underline: block.underline ?? false,
    invert: block.invert ?? false,
    width: block.width ?? 1,
    height: block.height ?? 1,
    font: block.font ?? 'A',
  };
}

/** Lays a ticket out for a printer. Throws RenderError for what cannot be printed at all. */
export function layoutTicket(ticket: Ticket, profile: PrinterProfile): Layout {
  const codec = codecFor(profile.text.encoding);
  const ops: LayoutOp[] = [];
  const warnings: string[] = [];
  ticket.blocks.forEach((block, i) => {
    const path = `/blocks/${i}`;
    const unprintable = new Set<string>();
    try {
      ops.push(...layoutBlock(block, profile, codec, unprintable, path, warnings));
    } catch (err) {
      if (err instanceof RenderError) throw err;
      throw new RenderError(path, err instanceof Error ? err.message : String(err));
    }
    if (unprintable.size > 0) {
      warnings.push(
        `${path}: ${[...unprintable].join(' ')} cannot be printed with ${profile.text.encoding} on ${profile.name} (printed as ?)`,
      );
    }
  });
  return { ops, warnings };
}

function layoutBlock(
  block: Block,
  profile: PrinterProfile,
  codec: TextCodec,
  unprintable: Set<string>,
  path: string,
  warnings: string[],
): LayoutOp[] {
  switch (block.type) {
    case 'text': {
      const style = styleOf(block);
      const size = charSize(profile, style);
      const lines = wrapText(codec.prepare(block.text, unprintable), profile.paper.dots, codec, size);
      return [{ kind: 'lines', style, align: block.align ?? 'left', lines }];
    }
    case 'table': {
      const style = styleOf(block);
      return [
        {
          kind: 'lines',
          style,
          align: 'left',
          lines: tableLines(block, profile, charSize(profile, style), codec, unprintable, path, warnings),
        },
      ];
    }
    case 'rule': {
      const style = styleOf(block);
      const wanted = block.char ?? '-';
      const missing = new Set<string>();
      let char = codec.prepare(wanted, missing);
      if (missing.size > 0 || char === '') {
        // A line of '?' reads as an error on paper; a plain dash rule does the same job.
        warnings.push(
          `${path}: rule character ${wanted} cannot be printed with ${profile.text.encoding} on ${profile.name} (drawn with -)`,
        );
        char = '-';
      }
      const line = char.repeat(Math.floor(profile.paper.dots / codec.width(char, charSize(profile, style))));
      return [{ kind: 'lines', style, align: 'left', lines: [line] }];
    }
    case 'feed':
      return [{ kind: 'feed', lines: block.lines ?? 1 }];
    case 'qr':
      return [layoutQr(block, profile, path, warnings)];
    case 'barcode':
      return [layoutBarcode(block, profile, codec, path, warnings)];
    case 'image': {
      const png = block.png;
      const size = scaledSize(base64PngSize(png), profile.paper.dots, block.width);
      return [
        {
          kind: 'image',
          path,
          png,
          ...size,
          dither: block.dither ?? 'floyd-steinberg',
          align: block.align ?? 'center',
        },
      ];
    }
    case 'cut': {
      const wanted = block.mode ?? 'partial';
      const mode = profile.cutter === 'none' ? null : profile.cutter === 'partial-only' ? 'partial' : wanted;
      if (wanted === 'full' && mode === 'partial') {
        warnings.push(`${path}: full cut made as a partial cut: ${profile.name} has no full cut`);
      }
      return [{ kind: 'cut', feedLines: profile.cutFeedLines, mode }];
    }
    case 'drawer': {
      // ESC p pulse times are in 2 ms units.
      const units = (ms: number) => Math.min(255, Math.max(1, Math.round(ms / 2)));
      return [
        {
          kind: 'drawer',
          pin: block.pin ?? 2,
          onUnits: units(block.onMs ?? 100),
          offUnits: units(block.offMs ?? 200),
        },
      ];
    }
    case 'beep':
      if (profile.buzzer === 'none') {
        warnings.push(`${path}: beep skipped: ${profile.name} has no buzzer`);
        return [];
      }
      // ESC B n t: t in 50 ms units.
      return [
        {
          kind: 'beep',
          times: block.times ?? 1,
          units50ms: Math.max(1, Math.round((block.durationMs ?? 100) / 50)),
        },
      ];
    case 'raw':
      return [{ kind: 'raw', bytes: Buffer.from(block.base64, 'base64') }];
  }
}

/**
 * A barcode at the widest bars that fit the paper (narrower than asked, down to the
 * profile's narrowest, with a warning). When even those do not fit, its human-readable
 * text is printed instead, with a warning: a barcode too long for the paper does not stop
 * the order from printing. (Data its symbology cannot encode is still a RenderError.)
 */
function layoutBarcode(
  block: BarcodeBlock,
  profile: PrinterProfile,
  codec: TextCodec,
  path: string,
  warnings: string[],
): LayoutOp {
  const data = barcodeData(block.symbology, block.data);
  const wanted = block.moduleWidth ?? 2;
  const narrowest = Math.min(wanted, profile.barcodeMinModuleWidth ?? 2);
  const { dots } = profile.paper;
  let moduleWidth = wanted;
  while (moduleWidth >= narrowest && data.modules * moduleWidth > dots) moduleWidth--;
  const align = block.align ?? 'center';
  if (moduleWidth < narrowest) {
    warnings.push(
      `${path}: ${block.symbology} ${JSON.stringify(block.data)} is ${data.modules * narrowest} dots wide at the narrowest bars, the paper has ${dots}: printed as text instead of bars`,
    );
    const style = styleOf({ bold: true });
    return { kind: 'lines', style, align, lines: wrapText(data.text, dots, codec, charSize(profile, style)) };
  }
  if (moduleWidth < wanted) {
    warnings.push(`${path}: barcode bars narrowed to ${moduleWidth} dots to fit ${dots} dots`);
  }
  return {
    kind: 'barcode',
    symbology: block.symbology,
    payload: data.payload,
    text: data.text,
    height: block.height ?? 80,
    moduleWidth,
    hri: block.hri ?? 'below',
    align,
  };
}

/**
 * Widths of the table's columns in character cells of its font, fitted to `available`.
 * `hanCells` is how many cells a wide character takes (2 in font A, 3 in font B).
 */
function columnWidths(
  block: TableBlock,
  available: number,
  hanCells: number,
  path: string,
  warnings: string[],
): number[] {
  const gap = block.gap ?? 1;
  const n = block.columns.length;
  const content = available - gap * (n - 1);
  if (content < n) {
    throw new RenderError(path, `${n} columns with gap ${gap} do not fit in ${available} columns`);
  }
  const widths = block.columns.map((c) => c.width ?? 0);
  const flexible = block.columns.filter((c) => c.width === undefined).length;
  // A flexible column gets room for at least one Han character when there is any.
  const minFlexible = content - n >= flexible * (hanCells - 1) ? hanCells : 1;
  let leftover = content - widths.reduce((a, b) => a + b, 0);
  if (leftover < flexible * minFlexible) {
    while (leftover < flexible * minFlexible) {
      const widest = widths.reduce((best, w, i) => (w > (widths[best] ?? 0) ? i : best), 0);
      widths[widest] = (widths[widest] ?? 1) - 1;
      leftover++;
    }
    warnings.push(`${path}: fixed column widths narrowed to fit ${available} columns`);
  }
  if (flexible > 0) {
    const share = Math.floor(leftover / flexible);
    let extra = leftover - share * flexible; // to the first flexible columns, usually the item name
    block.columns.forEach((c, i) => {
      if (c.width !== undefined) return;
      widths[i] = share + (extra > 0 ? 1 : 0);
      if (extra > 0) extra--;
    });
  }
  return widths;
}

/**
 * A table's printed lines. Cells are placed by dots, not by characters: a wide character in
 * font B is 24 dots, not a whole number of 9-dot cells, so each cell is padded with as many
 * spaces as bring it nearest its column's start without passing it, and no line is wider
 * than the paper.
 */
function tableLines(
  block: TableBlock,
  profile: PrinterProfile,
  size: CharSize,
  codec: TextCodec,
  unprintable: Set<string>,
  path: string,
  warnings: string[],
): string[] {
  const { narrow } = size;
  const hanCells = Math.ceil(size.wide / narrow);
  const widths = columnWidths(block, Math.floor(profile.paper.dots / narrow), hanCells, path, warnings);
  const gap = block.gap ?? 1;
  const lines: string[] = [];
  block.rows.forEach((row, r) => {
    if (row.length > widths.length) {
      throw new RenderError(
        `${path}/rows/${r}`,
        `has ${row.length} cells but the table has ${widths.length} columns`,
      );
    }
    // Each cell wraps within its column; the row is as tall as its tallest cell.
    const cells = widths.map((w, c) =>
      wrapText(codec.prepare(row[c] ?? '', unprintable), w * narrow, codec, size),
    );
    const height = Math.max(...cells.map((c) => c.length));
    for (let l = 0; l < height; l++) {
      let line = '';
      let pos = 0; // dots printed so far
      let start = 0; // where the column starts, in dots
      const padTo = (dots: number) => {
        const spaces = Math.max(0, Math.floor((dots - pos) / narrow));
        line += ' '.repeat(spaces);
        pos += spaces * narrow;
      };
      widths.forEach((w, c) => {
        const text = cells[c]?.[l] ?? '';
        const dots = codec.width(text, size);
        padTo(start + alignOffset(w * narrow - dots, block.columns[c]?.align ?? 'left'));
        line += text;
        pos += dots;
        start += (w + gap) * narrow;
      });
      padTo(start - gap * narrow);
      // Only a wide character in a fixed column narrower than it can push a line this far:
      // wrapped here rather than by the printer, so the preview shows what the paper does.
      lines.push(
        ...(pos > profile.paper.dots ? wrapText(line.trimEnd(), profile.paper.dots, codec, size) : [line]),
      );
    }
  });
  return lines;
}

/** QR symbols are computed once per (level, data) for a while: reprints and benchmarks repeat them. */
const qrCache = new Map<string, { size: number; data: Uint8Array }>();
const QR_CACHE_SIZE = 64;

function qrMatrix(bytes: Uint8Array, level: QrErrorLevel, data: string): { size: number; data: Uint8Array } {
  const key = `${level}\u0000${data}`;
  let matrix = qrCache.get(key);
  if (!matrix) {
    try {
      // Byte mode, as the printer stores it: the size check below is then never optimistic.
      matrix = QRCode.create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: level }).modules;
    } catch (err) {
      const tooBig = err instanceof Error && err.message === QR_BYTE_CAPACITY_ERROR;
      throw new Error(
        tooBig
          ? `QR data is too long (${bytes.length} bytes) for error level ${level}`
          : `QR code cannot be made: ${String(err)}`,
      );
    }
    if (qrCache.size >= QR_CACHE_SIZE) qrCache.delete(qrCache.keys().next().value ?? '');
    qrCache.set(key, matrix);
  }
  return matrix;
}

function layoutQr(block: QrBlock, profile: PrinterProfile, path: string, warnings: string[]): LayoutOp {
  const errorLevel = block.errorLevel ?? 'M';
  // Phone scanners (WeChat, Alipay) read QR bytes as UTF-8.
  const bytes = Buffer.from(block.data, 'utf8');
  const matrix = qrMatrix(bytes, errorLevel, block.data);
  const native = profile.qr === 'native';
  const modules = matrix.size + (native ? 0 : 2 * QR_QUIET_MODULES);
  const wanted = block.size ?? 6;
  const moduleDots = Math.min(wanted, Math.floor(profile.paper.dots / modules));
  if (moduleDots < 1)
    throw new Error(`QR code of ${modules} modules does not fit ${profile.paper.dots} dots`);
  if (moduleDots < wanted)
    warnings.push(`${path}: QR module size reduced to ${moduleDots} dots to fit the paper`);
  return {
    kind: 'qr',
    data: block.data,
    bytes,
    errorLevel,
    moduleDots,
    align: block.align ?? 'center',
    ...(native ? {} : { matrix }),
  };
}
