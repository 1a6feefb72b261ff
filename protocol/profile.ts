// Printer profiles: what a printer model can do, as data (see escpos/profiles/*.json).
// The renderer and the driver read capabilities from here instead of branching on brands.
import { type Static, Type } from '@sinclair/typebox';
import { IntegerEnum, StringEnum } from './schema.js';
import type { Font } from './ticket.js';
import { validator } from './validate.js';

export const TextEncoding = StringEnum(['gb18030', 'gbk', 'cp437', 'cp858', 'cp1252'], {
  description: 'How text is encoded for this printer. gb18030/gbk use two-byte Chinese mode (FS &).',
});

export const PrinterProfile = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'Profile id used on the command line and in configs.',
    }),
    description: Type.String(),
    paper: Type.Object(
      {
        widthMm: IntegerEnum([58, 80], { description: 'Roll width.' }),
        dots: Type.Integer({ minimum: 128, maximum: 1024, description: 'Printable width in dots.' }),
        columnsFontA: Type.Integer({ minimum: 16, maximum: 80 }),
        columnsFontB: Type.Integer({ minimum: 16, maximum: 100 }),
      },
      { additionalProperties: false },
    ),
    text: Type.Object(
      {
        encoding: TextEncoding,
        codePage: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 255,
            description: 'ESC t n for single-byte encodings (vendor numbering).',
          }),
        ),
        chineseFont: Type.Boolean({ description: 'Whether the printer has a Han font at all.' }),
      },
      { additionalProperties: false },
    ),
    cutter: StringEnum(['full-and-partial', 'partial-only', 'none'], {
      description: 'Which cuts the cutter can make.',
    }),
    cutFeedLines: Type.Integer({
      minimum: 0,
      maximum: 20,
      description: 'Lines fed before a cut so the last printed line clears the blade.',
    }),
    qr: StringEnum(['native', 'raster'], { description: 'native: GS ( k; raster: sent as an image.' }),
    barcodeMinModuleWidth: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 6,
        description:
          'Narrowest bar (GS w n) the printer accepts, in dots (default 2, the ESC/POS minimum; some clones print 1).',
      }),
    ),
    buzzer: StringEnum(['esc-b', 'none'], { description: 'esc-b: ESC B n t (common on Chinese clones).' }),
    drawer: Type.Object(
      {
        pin3HighMeans: StringEnum(['open', 'closed'], {
          description: 'What drawer sensor pin 3 high means.',
        }),
      },
      { additionalProperties: false },
    ),
    status: Type.Object(
      {
        asb: Type.Boolean({ description: 'Supports Automatic Status Back (GS a).' }),
        gsH: Type.Boolean({ description: 'Supports GS ( H fn 48 print confirmation.' }),
        identify: Type.Boolean({ description: 'Answers GS I 65-69 with block replies.' }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'PrinterProfile', additionalProperties: false },
);

export type PrinterProfile = Static<typeof PrinterProfile>;
export type TextEncoding = Static<typeof TextEncoding>;

export const parsePrinterProfile = validator(PrinterProfile, 'printer profile');

/** What the width model reads of a profile: its printable width and columns. */
export type PaperMetrics = PrinterProfile['paper'];

/**
 * Dots across one character cell of a font: the printable width over the font's columns
 * (12 for font A and 9 for font B on Epson-class printers, on 80 and 58 mm paper alike).
 */
export function cellDots(paper: PaperMetrics, font: Font): number {
  return Math.floor(paper.dots / (font === 'B' ? paper.columnsFontB : paper.columnsFontA));
}

/**
 * The width model: dots one character takes on paper. `wide` means a two-byte character in
 * Chinese mode (Han, full-width punctuation): its glyph is 24x24 dots, two font-A cells, in
 * font B too, since printers have no smaller Han font. `width` is the GS ! width multiplier.
 * The layout, the text preview and the virtual printer all measure with this one function
 * (see docs/escpos.md, "Character widths").
 */
export function charDots(paper: PaperMetrics, font: Font, wide: boolean, width = 1): number {
  return (wide ? 2 * cellDots(paper, 'A') : cellDots(paper, font)) * width;
}
