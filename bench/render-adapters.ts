// The same ticket document for the two libraries we compare the renderer with: a
// receiptline markdown text, and a list of @point-of-sale/receipt-printer-encoder calls.
// Each library gets its natural input, prepared outside the timed loop (the markdown text,
// decoded pictures); the timed part is what turns that input into printer bytes.
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';
import { PNG } from 'pngjs';
import receiptline from 'receiptline';
import type { PrinterProfile } from '../protocol/profile.js';
import type { Block, TableBlock, Ticket } from '../protocol/ticket.js';

// --- receiptline -------------------------------------------------------------------------

/** Escapes receiptline's special characters in text (see its README, "Escape sequences"). */
const escapeText = (s: string) => s.replace(/[\\|{}\-=~_"`^]/g, (c) => `\\${c}`);
const escapeProperty = (s: string) => s.replace(/[\\|{};]/g, (c) => `\\${c}`);

/** receiptline sizes: ^ double width, ^^ double height, ^^^ 2x, ^^^^ 3x ... (at most 6x). */
function sizeMark(width: number, height: number): string {
  if (width === 1 && height === 1) return '';
  if (width === height) return '^'.repeat(Math.min(width, 6) + 1);
  return width > height ? '^' : '^^';
}

function decorate(
  text: string,
  b: { bold?: boolean; underline?: boolean; invert?: boolean; width?: number; height?: number },
): string {
  let s = escapeText(text);
  if (b.bold) s = `"${s}"`;
  if (b.underline) s = `_${s}_`;
  if (b.invert) s = `\`${s}\``;
  return sizeMark(b.width ?? 1, b.height ?? 1) + s;
}

/** A column "is attracted to the pipe": |text | left, | text| right, | text | centre. */
function aligned(cell: string, align: 'left' | 'center' | 'right' | undefined): string {
  if (align === 'right') return ` ${cell}`;
  if (align === 'center') return ` ${cell} `;
  return `${cell} `;
}

function receiptlineTable(block: TableBlock): string[] {
  const widths = block.columns.map((c) => (c.width === undefined ? '*' : String(c.width))).join(' ');
  const border = (block.gap ?? 1) === 0 ? 'none' : 'space';
  const lines = [`{width: ${widths}; border: ${border}}`];
  for (const row of block.rows) {
    const cells = block.columns.map((c, i) => aligned(decorate(row[i] ?? '', block), c.align));
    lines.push(`|${cells.join('|')}|`);
  }
  lines.push('{width: auto}');
  return lines;
}

const deviceCommand = (bytes: number[]) =>
  `{command: ${bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}}`;

function receiptlineBlock(block: Block): string[] {
  switch (block.type) {
    case 'text':
      return block.text.split('\n').map((line) => {
        const s = decorate(line, block);
        if (block.align === 'right') return `${s}|`;
        if (block.align === 'center') return s;
        return `|${s}`;
      });
    case 'table':
      return receiptlineTable(block);
    case 'rule':
      return ['---'];
    case 'feed':
      return Array.from({ length: block.lines ?? 1 }, () => '');
    case 'qr': {
      const size = Math.min(8, Math.max(3, block.size ?? 6));
      return [
        `{code: ${escapeProperty(block.data)}; option: qrcode ${size} ${(block.errorLevel ?? 'M').toLowerCase()}}`,
      ];
    }
    case 'barcode': {
      const kind = { CODE128: 'code128', EAN13: 'ean', CODE39: 'code39' }[block.symbology];
      const height = Math.min(240, Math.max(24, block.height ?? 80));
      const hri = (block.hri ?? 'below') === 'none' ? 'nohri' : 'hri';
      return [
        `{code: ${escapeProperty(block.data)}; option: ${kind} ${block.moduleWidth ?? 2} ${height} ${hri}}`,
      ];
    }
    case 'image':
      return [`{image: ${block.png}}`];
    case 'cut':
      return ['='];
    // receiptline has no drawer or buzzer of its own: ESC p / ESC B as device commands.
    case 'drawer':
      return [
        deviceCommand([
          0x1b,
          0x70,
          block.pin === 5 ? 1 : 0,
          Math.round((block.onMs ?? 100) / 2),
          Math.round((block.offMs ?? 200) / 2),
        ]),
      ];
    case 'beep':
      return [deviceCommand([0x1b, 0x42, block.times ?? 1, Math.round((block.durationMs ?? 100) / 50)])];
    case 'raw':
      return [];
  }
}

export function toReceiptline(ticket: Ticket): string {
  return ticket.blocks.flatMap(receiptlineBlock).join('\n');
}

export function receiptlineRenderer(profile: PrinterProfile): (doc: string) => Uint8Array {
  const chinese = profile.text.chineseFont;
  const printer = {
    cpl: profile.paper.columnsFontA,
    encoding: chinese ? ('gb18030' as const) : ('cp858' as const),
    command: 'escpos' as const,
    // Pictures are logos, not photos: dither like text (our default is error diffusion either way).
    gradient: false,
    cutting: true,
  };
  // receiptline returns the bytes as a binary string.
  return (doc) => Buffer.from(receiptline.transform(doc, printer), 'binary');
}

// --- @point-of-sale/receipt-printer-encoder ----------------------------------------------

interface DecodedImage {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** Pictures decoded ahead of time (the library takes pixels, not PNG files), scaled by the printer. */
export interface EncoderInput {
  ticket: Ticket;
  images: Map<string, DecodedImage>;
}

export function toEncoderInput(ticket: Ticket): EncoderInput {
  const images = new Map<string, DecodedImage>();
  for (const block of ticket.blocks) {
    if (block.type !== 'image' || images.has(block.png)) continue;
    const png = PNG.sync.read(Buffer.from(block.png, 'base64'));
    // Its image() wants a width and height that are multiples of 8: crop to that.
    const width = png.width - (png.width % 8);
    const height = png.height - (png.height % 8);
    const data = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      data.set(png.data.subarray(y * png.width * 4, (y * png.width + width) * 4), y * width * 4);
    }
    images.set(block.png, { data, width, height });
  }
  return { ticket, images };
}

type Encoder = InstanceType<typeof ReceiptPrinterEncoder>;

function styled(
  e: Encoder,
  b: { bold?: boolean; underline?: boolean; invert?: boolean; width?: number; height?: number },
  write: () => void,
): void {
  e.bold(b.bold ?? false)
    .underline(b.underline ?? false)
    .invert(b.invert ?? false)
    .size(b.width ?? 1, b.height ?? 1);
  write();
  e.bold(false).underline(false).invert(false).size(1, 1);
}

function encodeBlock(e: Encoder, block: Block, images: EncoderInput['images']): void {
  switch (block.type) {
    case 'text':
      e.align(block.align ?? 'left');
      styled(e, block, () => {
        for (const line of block.text.split('\n')) e.line(line);
      });
      e.align('left');
      return;
    case 'table':
      styled(e, block, () => {
        e.table(
          block.columns.map((c, i) => ({
            width: c.width ?? 'auto',
            align: c.align ?? 'left',
            ...(i > 0 ? { marginLeft: block.gap ?? 1 } : {}),
          })),
          block.rows,
        );
      });
      return;
    case 'rule':
      e.rule({ style: block.char === '=' ? 'double' : 'single' });
      return;
    case 'feed':
      e.newline(block.lines ?? 1);
      return;
    case 'qr':
      e.align(block.align ?? 'left')
        .qrcode(block.data, {
          model: 2,
          size: Math.min(8, block.size ?? 6),
          errorlevel: (block.errorLevel ?? 'M').toLowerCase() as 'l' | 'm' | 'q' | 'h',
        })
        .align('left');
      return;
    case 'barcode': {
      const symbology = ({ CODE128: 'code128', EAN13: 'ean13', CODE39: 'code39' } as const)[block.symbology];
      e.align(block.align ?? 'center')
        .barcode(block.data, symbology, {
          height: block.height ?? 80,
          width: block.moduleWidth ?? 2,
          text: block.hri ?? 'below',
        })
        .align('left');
      return;
    }
    case 'image': {
      const img = images.get(block.png);
      if (!img) throw new Error('picture was not decoded ahead');
      e.align(block.align ?? 'center')
        .image(img, img.width, img.height, block.dither === 'threshold' ? 'threshold' : 'floydsteinberg')
        .align('left');
      return;
    }
    case 'cut':
      e.cut(block.mode ?? 'partial');
      return;
    case 'drawer':
      e.pulse(block.pin === 5 ? 1 : 0, block.onMs ?? 100, block.offMs ?? 200);
      return;
    case 'beep':
      e.raw([0x1b, 0x42, block.times ?? 1, Math.round((block.durationMs ?? 100) / 50)]);
      return;
    case 'raw':
      e.raw(Buffer.from(block.base64, 'base64'));
      return;
  }
}

export function encoderRenderer(profile: PrinterProfile): (input: EncoderInput) => Uint8Array {
  return ({ ticket, images }) => {
    const e = new ReceiptPrinterEncoder({
      language: 'esc-pos',
      columns: profile.paper.columnsFontA as 32 | 42 | 48,
      // It has no Chinese code page: Han characters become "?" instead of an exception.
      errors: 'relaxed',
      ...(profile.text.chineseFont ? {} : { codepageCandidates: ['cp858'] }),
    });
    e.initialize();
    for (const block of ticket.blocks) encodeBlock(e, block, images);
    return e.encode();
  };
}
