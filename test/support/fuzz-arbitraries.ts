// fast-check generators shared by the fuzz suites: text as order sources send it (Chinese,
// Latin, full-width forms, emoji, control characters, lone surrogates), and ticket documents
// that are valid by the schema, with or without content a printer cannot print.
import fc from 'fast-check';
import { PNG } from 'pngjs';
import type { Block, Ticket } from '../../protocol/ticket.js';

export const textUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...'宫保鸡丁超级至尊披萨榴莲意面饿了么美团订单号备注不要香菜') },
  { weight: 2, arbitrary: fc.constantFrom(...'￥（）：，。、【】ＡＢ１２') },
  { weight: 2, arbitrary: fc.constantFrom(...'éèêëüöäßçñ€£¥©°±') },
  { weight: 4, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '\n',
      '\t',
      '\r',
      '\x1b',
      '\x00',
      '\x1d',
      '\u200b',
      '\u0301',
      '\ufeff',
      '😀',
      '\ud800',
      '\udfff',
    ),
  },
);

export const text = (maxLength = 60, minLength = 0) => fc.string({ unit: textUnit, minLength, maxLength });

const align = fc.constantFrom('left', 'center', 'right' as const);
const multiplier = fc.integer({ min: 1, max: 8 });
const style = {
  bold: fc.boolean(),
  underline: fc.boolean(),
  invert: fc.boolean(),
  width: multiplier,
  height: multiplier,
  font: fc.constantFrom('A', 'B' as const),
};

/** A real PNG of random pixels (noise is the hardest case for the dithering). */
export const pngBase64: fc.Arbitrary<string> = fc
  .record({
    width: fc.integer({ min: 1, max: 40 }),
    height: fc.integer({ min: 1, max: 40 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map(({ width, height, seed }) => {
    const png = new PNG({ width, height });
    let x = seed;
    for (let i = 0; i < png.data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      png.data[i] = x >>> 24;
    }
    return PNG.sync.write(png).toString('base64');
  });

const base64Bytes = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));

// One character by the schema (maxLength counts code points).
const ruleChar = fc.oneof(
  fc.constantFrom('-', '=', '*', '═', '—', '宫'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

const simpleBlocks: fc.Arbitrary<Block>[] = [
  fc.record(
    { type: fc.constant('text' as const), text: text(), align, ...style },
    { requiredKeys: ['type', 'text'] },
  ),
  fc.record({ type: fc.constant('rule' as const), char: ruleChar, ...style }, { requiredKeys: ['type'] }),
  fc.record(
    { type: fc.constant('feed' as const), lines: fc.integer({ min: 1, max: 255 }) },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    { type: fc.constant('cut' as const), mode: fc.constantFrom('full', 'partial' as const) },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('drawer' as const),
      pin: fc.constantFrom(2, 5 as const),
      onMs: fc.integer({ min: 2, max: 510 }),
      offMs: fc.integer({ min: 2, max: 510 }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('beep' as const),
      times: fc.integer({ min: 1, max: 9 }),
      durationMs: fc.integer({ min: 50, max: 900 }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('raw' as const), base64: base64Bytes }),
];

const qrOptions = {
  size: fc.integer({ min: 1, max: 16 }),
  errorLevel: fc.constantFrom('L', 'M', 'Q', 'H' as const),
  align,
};
const imageOptions = {
  width: fc.integer({ min: 8, max: 4096 }),
  dither: fc.constantFrom('floyd-steinberg', 'threshold' as const),
  align,
};
const barcodeOptions = {
  height: fc.integer({ min: 1, max: 255 }),
  moduleWidth: fc.integer({ min: 2, max: 6 }),
  hri: fc.constantFrom('none', 'above', 'below', 'both' as const),
  align,
};

/** Any block the schema accepts, including content no printer can print (bad barcodes, broken PNGs, tables too wide). */
export const anyBlock: fc.Arbitrary<Block> = fc.oneof(
  ...simpleBlocks,
  fc.record(
    {
      type: fc.constant('table' as const),
      columns: fc.array(fc.record({ width: fc.integer({ min: 1, max: 255 }), align }, { requiredKeys: [] }), {
        minLength: 1,
        maxLength: 16,
      }),
      rows: fc.array(fc.array(text(20), { maxLength: 16 }), { maxLength: 6 }),
      gap: fc.integer({ min: 0, max: 8 }),
      ...style,
    },
    { requiredKeys: ['type', 'columns', 'rows'] },
  ),
  fc.record(
    { type: fc.constant('qr' as const), data: text(300, 1), ...qrOptions },
    { requiredKeys: ['type', 'data'] },
  ),
  fc.record(
    {
      type: fc.constant('barcode' as const),
      symbology: fc.constantFrom('CODE128', 'EAN13', 'CODE39' as const),
      data: fc.oneof(
        text(40, 1),
        fc.stringMatching(/^\d{12,13}$/),
        fc.stringMatching(/^[0-9A-Z $%+\-./]{1,40}$/),
      ),
      ...barcodeOptions,
    },
    { requiredKeys: ['type', 'symbology', 'data'] },
  ),
  fc.record(
    { type: fc.constant('image' as const), png: fc.oneof(pngBase64, base64Bytes), ...imageOptions },
    { requiredKeys: ['type', 'png'] },
  ),
);

/** EAN-13 digits with a correct check digit. */
const ean13 = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 12 }).map((d) => {
  const sum = d.reduce((s, n, i) => s + n * (i % 2 === 0 ? 1 : 3), 0);
  return [...d, (10 - (sum % 10)) % 10].join('');
});

/**
 * Blocks every shipped profile can print: barcodes with data their symbology encodes and short
 * enough for 58 mm paper, real PNGs, QR codes that fit, tables that fit at their size.
 */
export const printableBlock: fc.Arbitrary<Block> = fc.oneof(
  ...simpleBlocks,
  fc
    .array(fc.record({ width: fc.integer({ min: 1, max: 255 }), align }, { requiredKeys: [] }), {
      minLength: 1,
      maxLength: 4,
    })
    .chain((columns) =>
      fc.record(
        {
          type: fc.constant('table' as const),
          columns: fc.constant(columns),
          // A row may have fewer cells than the table has columns, not more.
          rows: fc.array(fc.array(text(20), { maxLength: columns.length }), { maxLength: 6 }),
          gap: fc.integer({ min: 0, max: 1 }),
          bold: fc.boolean(),
          width: fc.integer({ min: 1, max: 2 }),
          height: multiplier,
          font: fc.constantFrom('A', 'B' as const),
        },
        { requiredKeys: ['type', 'columns', 'rows'] },
      ),
    ),
  fc.record(
    { type: fc.constant('qr' as const), data: text(50, 1), ...qrOptions },
    { requiredKeys: ['type', 'data'] },
  ),
  fc.oneof(
    fc.record({
      type: fc.constant('barcode' as const),
      symbology: fc.constant('CODE128' as const),
      data: fc.stringMatching(/^[ -~]{1,10}$/),
      ...barcodeOptions,
    }),
    fc.record({
      type: fc.constant('barcode' as const),
      symbology: fc.constant('EAN13' as const),
      data: ean13,
      ...barcodeOptions,
    }),
    fc.record({
      type: fc.constant('barcode' as const),
      symbology: fc.constant('CODE39' as const),
      data: fc.stringMatching(/^[0-9A-Z $%+\-./]{1,8}$/),
      ...barcodeOptions,
    }),
  ),
  // At most 192 dots wide: a 1x40 picture then stays under the 8000-dot height limit.
  fc.record(
    {
      type: fc.constant('image' as const),
      png: pngBase64,
      ...imageOptions,
      width: fc.integer({ min: 8, max: 192 }),
    },
    { requiredKeys: ['type', 'png'] },
  ),
);

export const ticketOf = (block: fc.Arbitrary<Block>, maxBlocks = 8): fc.Arbitrary<Ticket> =>
  fc.record(
    { version: fc.constant(1 as const), blocks: fc.array(block, { minLength: 1, maxLength: maxBlocks }) },
    { requiredKeys: ['blocks'] },
  );
