// The ticket document: what order sources send and the agent renders for each printer.
// The schema is the source of truth; the TypeScript types below are derived from it.
import { type Static, Type } from '@sinclair/typebox';
import { Base64, IntegerEnum, StringEnum, TaggedUnion } from './schema.js';
import { validator } from './validate.js';

export const TICKET_VERSION = 1;

const Align = StringEnum(['left', 'center', 'right'], {
  description: 'Horizontal alignment on the paper (or within a column).',
});
const Font = StringEnum(['A', 'B'], {
  description: 'Printer font: A is the normal 12x24 font, B the smaller 9x17 font.',
});
const Multiplier = Type.Integer({ minimum: 1, maximum: 8, description: 'Character size multiplier, 1-8.' });

/** Character styling shared by text, table and rule blocks. */
const TextStyle = {
  bold: Type.Optional(Type.Boolean()),
  underline: Type.Optional(Type.Boolean()),
  invert: Type.Optional(Type.Boolean({ description: 'White on black.' })),
  width: Type.Optional(Multiplier),
  height: Type.Optional(Multiplier),
  font: Type.Optional(Font),
};

export const TextBlock = Type.Object(
  {
    type: Type.Literal('text'),
    text: Type.String({ maxLength: 20_000, description: 'Text; "\\n" starts a new line; long lines wrap.' }),
    align: Type.Optional(Align),
    ...TextStyle,
  },
  { additionalProperties: false },
);

export const TableColumn = Type.Object(
  {
    width: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 255,
        description: 'Width in display columns (a Han character takes 2). Omitted: share what is left.',
      }),
    ),
    align: Type.Optional(Align),
  },
  { additionalProperties: false },
);

export const TableBlock = Type.Object(
  {
    type: Type.Literal('table'),
    columns: Type.Array(TableColumn, { minItems: 1, maxItems: 16 }),
    rows: Type.Array(Type.Array(Type.String({ maxLength: 2_000 }), { maxItems: 16 }), { maxItems: 1_000 }),
    gap: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 8, description: 'Spaces between columns (default 1).' }),
    ),
    ...TextStyle,
  },
  { additionalProperties: false },
);

export const RuleBlock = Type.Object(
  {
    type: Type.Literal('rule'),
    char: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1, description: 'Character to repeat (default "-").' }),
    ),
    ...TextStyle,
  },
  { additionalProperties: false },
);

export const FeedBlock = Type.Object(
  {
    type: Type.Literal('feed'),
    lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, description: 'Blank lines (default 1).' })),
  },
  { additionalProperties: false },
);

export const QrBlock = Type.Object(
  {
    type: Type.Literal('qr'),
    data: Type.String({ minLength: 1, maxLength: 2_000 }),
    size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 16, description: 'Module size in dots (default 6).' }),
    ),
    errorLevel: Type.Optional(
      StringEnum(['L', 'M', 'Q', 'H'], {
        description: 'Error correction level (default M).',
      }),
    ),
    align: Type.Optional(Align),
  },
  { additionalProperties: false },
);

export const BarcodeBlock = Type.Object(
  {
    type: Type.Literal('barcode'),
    symbology: StringEnum(['CODE128', 'EAN13', 'CODE39']),
    data: Type.String({ minLength: 1, maxLength: 255 }),
    height: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 255, description: 'Bar height in dots (default 80).' }),
    ),
    moduleWidth: Type.Optional(
      Type.Integer({ minimum: 2, maximum: 6, description: 'Narrow bar width (default 2).' }),
    ),
    hri: Type.Optional(
      StringEnum(['none', 'above', 'below', 'both'], {
        description: 'Human-readable text position (default below).',
      }),
    ),
    align: Type.Optional(Align),
  },
  { additionalProperties: false },
);

export const ImageBlock = Type.Object(
  {
    type: Type.Literal('image'),
    png: Base64({ maxLength: 2_000_000, description: 'PNG file, base64.' }),
    width: Type.Optional(
      Type.Integer({
        minimum: 8,
        maximum: 4096,
        description: 'Target width in dots; never wider than the paper.',
      }),
    ),
    dither: Type.Optional(
      StringEnum(['floyd-steinberg', 'threshold'], {
        description: 'How grey becomes 1-bit (default floyd-steinberg).',
      }),
    ),
    align: Type.Optional(Align),
  },
  { additionalProperties: false },
);

export const CutBlock = Type.Object(
  {
    type: Type.Literal('cut'),
    mode: Type.Optional(StringEnum(['full', 'partial'], { description: 'Default partial.' })),
  },
  { additionalProperties: false },
);

export const DrawerBlock = Type.Object(
  {
    type: Type.Literal('drawer'),
    pin: Type.Optional(IntegerEnum([2, 5], { description: 'Connector pin (default 2).' })),
    onMs: Type.Optional(
      Type.Integer({ minimum: 2, maximum: 510, description: 'Pulse on time (default 100 ms).' }),
    ),
    offMs: Type.Optional(
      Type.Integer({ minimum: 2, maximum: 510, description: 'Pulse off time (default 200 ms).' }),
    ),
  },
  { additionalProperties: false },
);

export const BeepBlock = Type.Object(
  {
    type: Type.Literal('beep'),
    times: Type.Optional(Type.Integer({ minimum: 1, maximum: 9, description: 'Default 1.' })),
    durationMs: Type.Optional(
      Type.Integer({
        minimum: 50,
        maximum: 900,
        description: 'Each beep, rounded to 50 ms steps (default 100).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RawBlock = Type.Object(
  {
    type: Type.Literal('raw'),
    base64: Base64({ maxLength: 2_000_000, description: 'Bytes sent as they are.' }),
  },
  { additionalProperties: false },
);

export const Block = TaggedUnion([
  TextBlock,
  TableBlock,
  RuleBlock,
  FeedBlock,
  QrBlock,
  BarcodeBlock,
  ImageBlock,
  CutBlock,
  DrawerBlock,
  BeepBlock,
  RawBlock,
]);

export const Ticket = Type.Object(
  {
    version: Type.Optional(
      Type.Literal(TICKET_VERSION, { description: 'Document format version (default 1).' }),
    ),
    blocks: Type.Array(Block, { minItems: 1, maxItems: 2_000 }),
  },
  { $id: 'Ticket', additionalProperties: false },
);

export type Ticket = Static<typeof Ticket>;
export type Block = Static<typeof Block>;
export type TextBlock = Static<typeof TextBlock>;
export type TableBlock = Static<typeof TableBlock>;
export type TableColumn = Static<typeof TableColumn>;
export type RuleBlock = Static<typeof RuleBlock>;
export type FeedBlock = Static<typeof FeedBlock>;
export type QrBlock = Static<typeof QrBlock>;
export type BarcodeBlock = Static<typeof BarcodeBlock>;
export type ImageBlock = Static<typeof ImageBlock>;
export type CutBlock = Static<typeof CutBlock>;
export type DrawerBlock = Static<typeof DrawerBlock>;
export type BeepBlock = Static<typeof BeepBlock>;
export type RawBlock = Static<typeof RawBlock>;
export type Align = Static<typeof Align>;
export type Font = Static<typeof Font>;

export const parseTicket = validator(Ticket, 'ticket');
