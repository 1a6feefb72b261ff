// Ticket + profile -> a picture of the paper (SVG), for a person checking what a ticket looked
// like: drawn from the same layout as the bytes, so wrapping, table columns, sizes, QR codes
// and images sit where the printer put them. One printer dot is one SVG unit, and each
// character takes the dots the shared width model gives it.
import QRCode from 'qrcode';
import { charDots, type PrinterProfile } from '../protocol/profile.js';
import type { Ticket } from '../protocol/ticket.js';
import { type LayoutOp, layoutTicket, type Style } from './layout.js';
import { type CharSize, codecFor, type TextCodec } from './text.js';

/** Printed height of a font A / font B line in dots, with the default line spacing. */
const LINE_DOTS = { A: 30, B: 22 } as const;
const GLYPH_DOTS = { A: 24, B: 17 } as const;
const MARGIN = 16;
const FONT = "'Noto Sans Mono CJK SC','Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',monospace";

const escapeXml = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

export interface TicketPicture {
  svg: string;
  width: number;
  height: number;
}

/** Draws `ticket` as `profile`'s printer would print it. Throws RenderError like the renderer. */
export function ticketPicture(ticket: Ticket, profile: PrinterProfile): TicketPicture {
  const codec = codecFor(profile.text.encoding);
  const dots = profile.paper.dots;
  const parts: string[] = [];
  let y = MARGIN;
  for (const op of layoutTicket(ticket, profile).ops) y = drawOp(op, profile, codec, parts, y);
  const width = dots + 2 * MARGIN;
  const height = y + MARGIN;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="${escapeXml(FONT)}">` +
    `<rect width="${width}" height="${height}" fill="#fffef8"/>` +
    `<g transform="translate(${MARGIN} 0)">${parts.join('')}</g></svg>`;
  return { svg, width, height };
}

function alignOffset(used: number, available: number, align: 'left' | 'center' | 'right'): number {
  const free = Math.max(0, available - used);
  return align === 'left' ? 0 : align === 'right' ? free : Math.floor(free / 2);
}

/** One line of text: runs of same-width characters, each stretched to exactly the dots the printer gives them. */
function drawLine(line: string, style: Style, x0: number, y: number, size: CharSize, codec: TextCodec) {
  const lineDots = LINE_DOTS[style.font] * style.height;
  const glyph = GLYPH_DOTS[style.font] * style.height;
  const baseline = y + lineDots - (LINE_DOTS[style.font] - GLYPH_DOTS[style.font]) / 2 - glyph * 0.14;
  const out: string[] = [];
  const attrs = `${style.bold ? ' font-weight="bold"' : ''}${style.underline ? ' text-decoration="underline"' : ''} fill="${style.invert ? '#fff' : '#111'}" font-size="${glyph}"`;
  let x = x0;
  let i = 0;
  if (style.invert) {
    out.push(
      `<rect x="${x0}" y="${y}" width="${codec.width(line, size)}" height="${lineDots}" fill="#111"/>`,
    );
  }
  while (i < line.length) {
    const wide = codec.isWide(line.charCodeAt(i));
    let j = i + 1;
    while (j < line.length && codec.isWide(line.charCodeAt(j)) === wide) j++;
    const run = line.slice(i, j);
    const runDots = (j - i) * (wide ? size.wide : size.narrow);
    if (run.trim()) {
      out.push(
        `<text x="${x}" y="${baseline.toFixed(1)}" textLength="${runDots}" lengthAdjust="spacingAndGlyphs" xml:space="preserve"${attrs}>${escapeXml(run)}</text>`,
      );
    }
    x += runDots;
    i = j;
  }
  return out.join('');
}

function note(text: string, y: number, dots: number): string {
  return `<text x="${dots / 2}" y="${y + 18}" text-anchor="middle" font-size="16" fill="#888">${escapeXml(text)}</text>`;
}

function drawOp(op: LayoutOp, profile: PrinterProfile, codec: TextCodec, out: string[], y: number): number {
  const dots = profile.paper.dots;
  switch (op.kind) {
    case 'lines': {
      // The width model the layout and the printer use (protocol/profile.ts charDots).
      const size: CharSize = {
        narrow: charDots(profile.paper, op.style.font, false, op.style.width),
        wide: charDots(profile.paper, op.style.font, true, op.style.width),
      };
      for (const line of op.lines) {
        const x = alignOffset(codec.width(line, size), dots, op.align);
        out.push(drawLine(line, op.style, x, y, size, codec));
        y += LINE_DOTS[op.style.font] * op.style.height;
      }
      return y;
    }
    case 'feed':
      return y + op.lines * LINE_DOTS.A;
    case 'qr': {
      const qr = QRCode.create(op.data, { errorCorrectionLevel: op.errorLevel });
      const n = qr.modules.size;
      const size = n * op.moduleDots;
      const x = alignOffset(size, dots, op.align);
      let path = '';
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < n; c++) {
          if (qr.modules.get(r, c))
            path += `M${x + c * op.moduleDots} ${y + r * op.moduleDots}h${op.moduleDots}v${op.moduleDots}h-${op.moduleDots}z`;
        }
      }
      out.push(`<path d="${path}" fill="#111"/>`);
      return y + size + 8;
    }
    case 'barcode': {
      // The bars are left to the printer: the picture shows where the code is and its number.
      const height = Math.min(op.height, 120);
      const width = Math.min(dots, 320);
      const x = alignOffset(width, dots, op.align);
      out.push(
        `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="#eee" stroke="#999"/>`,
        `<text x="${x + width / 2}" y="${y + height / 2 + 8}" text-anchor="middle" font-size="20" fill="#555">${escapeXml(`条码 ${op.symbology} ${op.text}`)}</text>`,
      );
      return y + height + 8;
    }
    case 'image': {
      const x = alignOffset(op.width, dots, op.align);
      out.push(
        `<image x="${x}" y="${y}" width="${op.width}" height="${op.height}" href="data:image/png;base64,${op.png}" style="filter:grayscale(1) contrast(1.6)"/>`,
      );
      return y + op.height + 4;
    }
    case 'cut': {
      y += op.feedLines * LINE_DOTS.A * 0.5;
      out.push(
        `<line x1="0" y1="${y}" x2="${dots}" y2="${y}" stroke="#999" stroke-width="2" stroke-dasharray="10 6"/>`,
        note(op.mode === null ? '— 撕纸 tear here —' : '✂ 切纸 cut', y, dots),
      );
      return y + 28;
    }
    case 'drawer':
      out.push(note('钱箱 cash drawer opened', y, dots));
      return y + 26;
    case 'beep':
      out.push(note(`蜂鸣 beep ×${op.times}`, y, dots));
      return y + 26;
    case 'raw':
      out.push(note(`原始字节 raw bytes (${op.bytes.length})`, y, dots));
      return y + 26;
  }
}
