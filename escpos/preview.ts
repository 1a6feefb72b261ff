// Ticket + profile -> what the paper would show, as plain text. Built from the same layout
// as the bytes, so wrapping, table columns and '?' for unprintable characters match.
//
// Conventions (shared with the virtual printer through markers.ts):
// - One text line per printed line, padded with spaces to the column count of its font
//   (columnsFontA, or columnsFontB for font B lines). Each character is placed by its width
//   on paper in dots (charDots, the width model the layout and the virtual printer use), one
//   preview column per character cell of the line's font: a character is followed by spaces
//   while the paper is ahead of the screen. So Han characters take two columns in a terminal
//   as on paper in font A; in font B (24 dots in 9-dot cells) they get a space every so
//   often; characters the printer prints wide but terminals show narrow (GBK's “ ” · ═ and
//   the like) get a space after them; and double (or wider) text is widened proportionally,
//   so "总计" at width 2 reads "总  计  " and stays aligned with the rest of the receipt.
//   Height multipliers, bold, underline and invert are not shown.
// - Non-text output is one marker line, not padded: cut (after the profile's feed lines as
//   blank lines), QR with its data, barcode with its human-readable text, image with its
//   printed size in dots, drawer pulse, beep (only when the printer has a buzzer), raw.
import { cellDots, type PrinterProfile } from '../protocol/profile.js';
import type { Ticket } from '../protocol/ticket.js';
import { charSize, fontColumns, type LayoutOp, layoutTicket, type Style } from './layout.js';
import { marker } from './markers.js';
import { alignText, codecFor, type TextCodec } from './text.js';

/** East Asian Wide and Fullwidth ranges of the BMP: what terminals show two columns wide. */
const terminalWide = (c: number) =>
  (c >= 0x1100 && c <= 0x115f) ||
  (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
  (c >= 0xac00 && c <= 0xd7a3) ||
  (c >= 0xf900 && c <= 0xfaff) ||
  (c >= 0xfe30 && c <= 0xfe4f) ||
  (c >= 0xff00 && c <= 0xff60) ||
  (c >= 0xffe0 && c <= 0xffe6);

/**
 * A printed line as a terminal should show it, with its width in preview columns (character
 * cells of the line's font, whole ones): each character is followed by spaces while the paper
 * is ahead of the screen.
 */
function onScreen(
  line: string,
  style: Style,
  profile: PrinterProfile,
  codec: TextCodec,
): { text: string; columns: number } {
  const cell = cellDots(profile.paper, style.font);
  const size = charSize(profile, style);
  let out = '';
  let dots = 0;
  let columns = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    dots += codec.isWide(c) ? size.wide : size.narrow;
    columns += c >= 0x80 && terminalWide(c) ? 2 : 1;
    out += line[i];
    const behind = Math.floor(dots / cell) - columns;
    if (behind > 0) {
      out += ' '.repeat(behind);
      columns += behind;
    }
  }
  return { text: out, columns };
}

function previewOp(op: LayoutOp, profile: PrinterProfile, codec: TextCodec, out: string[]): void {
  const blank = ' '.repeat(profile.paper.columnsFontA);
  switch (op.kind) {
    case 'lines': {
      const columns = fontColumns(profile, op.style.font);
      for (const line of op.lines) {
        const shown = onScreen(line, op.style, profile, codec);
        out.push(alignText(shown.text, shown.columns, columns, op.align));
      }
      return;
    }
    case 'feed':
      for (let i = 0; i < op.lines; i++) out.push(blank);
      return;
    case 'qr':
      out.push(marker.qr(op.data));
      return;
    case 'barcode':
      out.push(marker.barcode(op.symbology, op.text));
      return;
    case 'image':
      out.push(marker.image(op.width, op.height));
      return;
    case 'cut':
      for (let i = 0; i < op.feedLines; i++) out.push(blank);
      if (op.mode) out.push(marker.cut(op.mode));
      return;
    case 'drawer':
      out.push(marker.drawer(op.pin, op.onUnits * 2, op.offUnits * 2));
      return;
    case 'beep':
      out.push(marker.beep(op.times));
      return;
    case 'raw':
      out.push(marker.raw(op.bytes.length));
      return;
  }
}

/** The preview text and the same warnings rendering would give. */
export function previewTicketWithWarnings(
  ticket: Ticket,
  profile: PrinterProfile,
): { text: string; warnings: string[] } {
  const { ops, warnings } = layoutTicket(ticket, profile);
  const codec = codecFor(profile.text.encoding);
  const out: string[] = [];
  for (const op of ops) previewOp(op, profile, codec, out);
  return { text: `${out.join('\n')}\n`, warnings };
}

/** The ticket as the paper would show it, one line per printed line, ending with a newline. */
export function previewTicket(ticket: Ticket, profile: PrinterProfile): string {
  return previewTicketWithWarnings(ticket, profile).text;
}
