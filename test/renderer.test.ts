// The ESC/POS renderer, the text preview, the printer profiles and `printrelay render`.
// Byte expectations are written from docs/escpos.md, not copied from the output;
// the golden files under test/golden/ were checked by reading them (UPDATE_GOLDEN=1 rewrites).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { confirmationRequest, stripTrailingConfirmation } from '../escpos/commands.js';
import { DEFAULT_CONFIRM_TOKEN, RASTER_BAND_ROWS, renderTicket } from '../escpos/encoder.js';
import { RenderError } from '../escpos/layout.js';
import { marker } from '../escpos/markers.js';
import { previewTicket, previewTicketWithWarnings } from '../escpos/preview.js';
import { checkProfile, getProfile, listProfiles, loadProfileFile } from '../escpos/profiles/index.js';
import { codecFor, wrapText } from '../escpos/text.js';
import type { PrinterProfile } from '../protocol/profile.js';
import { type Block, parseTicket, type Ticket } from '../protocol/ticket.js';
import { ValidationError } from '../protocol/validate.js';
import { CLI_PATH } from './support/build.js';

const repo = join(import.meta.dirname, '..');
const fixtureDir = join(import.meta.dirname, 'fixtures', 'tickets');
const goldenDir = join(import.meta.dirname, 'golden');
const FIXTURES = ['meituan-receipt', 'kitchen-ticket', 'pickup-qr-barcode'] as const;

const tm88 = getProfile('epson-tm-t88');
const xp80 = getProfile('xprinter-80');
const gp58 = getProfile('gprinter-58');
const latin = getProfile('epson-tm-t20-latin');

const loadFixture = (name: string): Ticket =>
  parseTicket(JSON.parse(readFileSync(join(fixtureDir, `${name}.json`), 'utf8')));
const ticket = (...blocks: Block[]): Ticket => ({ version: 1, blocks });
/** Bytes without the trailing confirmation, so tests can look at what a block produced. */
const render = (profile: PrinterProfile, ...blocks: Block[]) =>
  renderTicket(ticket(...blocks), profile, { confirmToken: false });
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** "1b 40" -> "1b40", so expectations can be written with spaces between commands. */
const h = (spaced: string) => spaced.replace(/\s+/g, '');

/** xxd-style dump: offset, 16 bytes in hex, printable ASCII. */
function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = [...bytes.subarray(off, off + 16)];
    const hexPart = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hexPart.padEnd(47)}  ${ascii}`);
  }
  return `${lines.join('\n')}\n`;
}

function expectGolden(file: string, actual: string): void {
  const path = join(goldenDir, file);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path))
    throw new Error(`golden file ${file} is missing: run with UPDATE_GOLDEN=1 and review it`);
  expect(actual, `differs from test/golden/${file}`).toBe(readFileSync(path, 'utf8'));
}

/** Display width as a terminal counts it: East Asian wide/full-width characters take 2. */
const termWidth = (s: string) =>
  [...s].reduce(
    (w, c) =>
      w +
      (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(c)
        ? 2
        : 1),
    0,
  );

describe('golden files (Chinese receipts)', () => {
  const byteGoldens: [string, PrinterProfile][] = [
    ['meituan-receipt', tm88],
    ['meituan-receipt', xp80],
    ['meituan-receipt', gp58],
    ['meituan-receipt', latin],
    ['kitchen-ticket', xp80],
    ['pickup-qr-barcode', xp80],
  ];
  it.each(byteGoldens.map(([f, p]) => [f, p.name, p] as const))(
    'bytes of %s on %s',
    (fixture, name, profile) => {
      const { bytes } = renderTicket(loadFixture(fixture), profile);
      expectGolden(`${fixture}.${name}.hex`, hexDump(bytes));
    },
  );

  const previews = FIXTURES.flatMap((f) => listProfiles().map((p) => [f, p.name, p] as const));
  it.each(previews)('preview of %s on %s', (fixture, name, profile) => {
    expectGolden(`${fixture}.${name}.txt`, previewTicket(loadFixture(fixture), profile));
  });

  it('fixtures render on the Chinese profiles without warnings', () => {
    for (const f of FIXTURES) {
      expect(renderTicket(loadFixture(f), xp80).warnings).toEqual([]);
      expect(renderTicket(loadFixture(f), tm88).warnings.filter((w) => !w.includes('no buzzer'))).toEqual([]);
    }
  });
});

describe('start of a job', () => {
  it('puts FS & right after ESC @ and re-enables ASB on Chinese printers with ASB', () => {
    expect(hex(render(tm88, { type: 'feed' }).bytes)).toBe(h('1b40 1c26 1d610f 1b6401'));
    expect(hex(render(xp80, { type: 'feed' }).bytes)).toBe(h('1b40 1c26 1d610f 1b6401'));
  });

  it('does not send GS a to a printer without ASB', () => {
    expect(hex(render(gp58, { type: 'feed' }).bytes)).toBe(h('1b40 1c26 1b6401'));
  });

  it('leaves Chinese mode and selects the code page on a single-byte printer', () => {
    expect(hex(render(latin, { type: 'feed' }).bytes)).toBe(h('1b40 1c2e 1b7413 1d610f 1b6401'));
  });

  it('sends the setup again after raw bytes that contain ESC @', () => {
    const raw = Buffer.from([0x1b, 0x40, 0x41]).toString('base64');
    const out = hex(
      render(tm88, { type: 'raw', base64: raw }, { type: 'text', text: 'A', bold: true }).bytes,
    );
    expect(out).toBe(
      h('1b40 1c26 1d610f  1b4041  1c26 1d610f  1b6100 1b4d00 1b4501 1b2d00 1c2d00 1d4200 1d2100 41 0a'),
    );
  });
});

describe('text encoding', () => {
  it('encodes 宫保鸡丁 as b9ac b1a3 bca6 b6a1 with GB18030 and GBK', () => {
    for (const p of [tm88, gp58]) {
      expect(hex(render(p, { type: 'text', text: '宫保鸡丁' }).bytes)).toContain(h('b9ac b1a3 bca6 b6a1 0a'));
    }
  });

  it('prints ¥ (U+00A5) as full-width ￥ (A3 A4), never as the GB18030 four-byte 81 30 84 36', () => {
    for (const p of [tm88, xp80, gp58]) {
      const out = hex(render(p, { type: 'text', text: '¥38 ￥6' }).bytes);
      expect(out).toContain(h('a3a4 3338 20 a3a4 36 0a'));
      expect(out).not.toContain('81308436');
    }
  });

  it('prints both yen signs as the code page ¥ on the Latin printer (PC858 0xBE)', () => {
    const { bytes, warnings } = render(latin, { type: 'text', text: '¥38 ￥6' });
    expect(hex(bytes)).toContain(h('be 3338 20 be 36 0a'));
    expect(warnings).toEqual([]);
  });

  it('prints Han characters as ? on the Latin printer, with a warning naming them', () => {
    const { bytes, warnings } = render(latin, { type: 'text', text: 'Café 宫保鸡丁' });
    expect(hex(bytes)).toContain(h('436166 82 20 3f3f3f3f 0a')); // Caf, é = 0x82 in PC858, four ?
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^\/blocks\/0: 宫 保 鸡 丁 cannot be printed with cp858 on epson-tm-t20-latin/,
    );
  });

  it('replaces emoji and control characters, drops invisible ones, and warns', () => {
    const { bytes, warnings } = render(tm88, { type: 'text', text: '不要辣🌶️\u001b@' });
    // 不要辣 = b2bb d2aa c0b1; the pepper becomes ?, its variation selector vanishes, ESC becomes ?.
    expect(hex(bytes)).toContain(h('b2bb d2aa c0b1 3f 3f 40 0a'));
    expect(warnings).toEqual([
      '/blocks/0: 🌶 U+001B cannot be printed with gb18030 on epson-tm-t88 (printed as ?)',
    ]);
  });

  it('sends each style command when it changes (font, bold, underline for both fonts, invert, size)', () => {
    const style = { font: 'B', bold: true, underline: true, invert: true, width: 3, height: 2 } as const;
    const out = hex(
      render(tm88, { type: 'text', text: 'A', ...style }, { type: 'text', text: 'B', ...style }).bytes,
    );
    // ESC M 1, ESC E 1, ESC - 1 + FS - 1, GS B 1, GS ! ((3-1)<<4 | (2-1)) = 0x21; nothing again for "B".
    expect(out).toBe(h('1b40 1c26 1d610f  1b4d01 1b4501 1b2d01 1c2d01 1d4201 1d2121  41 0a  42 0a'));
  });

  it('aligns text blocks with ESC a and wraps them at the columns divided by the width multiplier', () => {
    // gprinter-58: 32 columns of font A; width 2 leaves 16, i.e. 8 Han characters a line.
    const { bytes } = render(gp58, { type: 'text', text: '超级至尊披萨榴莲披萨', width: 2, align: 'center' });
    const gbk = (s: string) => iconv.encode(s, 'gbk').toString('hex');
    expect(hex(bytes)).toBe(h(`1b40 1c26  1b6101 1d2110  ${gbk('超级至尊披萨榴莲')} 0a ${gbk('披萨')} 0a`));
  });
});

describe('tables and rules', () => {
  it('aligns mixed Chinese/Latin columns by display width', () => {
    // 48 columns: amount 9 right-aligned, gap 1, the name column gets the other 38.
    const { bytes } = render(tm88, {
      type: 'table',
      columns: [{}, { width: 9, align: 'right' }],
      rows: [
        ['宫保鸡丁', '￥38.00'],
        ['Coke 可乐', '￥6.00'],
      ],
    });
    const gb = (s: string) => iconv.encode(s, 'gb18030').toString('hex');
    const line1 = `宫保鸡丁${' '.repeat(30)} ${' '.repeat(2)}￥38.00`; // 宫保鸡丁 = 8 columns, ￥38.00 = 7
    const line2 = `Coke 可乐${' '.repeat(29)} ${' '.repeat(3)}￥6.00`; // Coke 可乐 = 9, ￥6.00 = 6
    expect(hex(bytes)).toBe(h(`1b40 1c26 1d610f ${gb(line1)} 0a ${gb(line2)} 0a`));
    const preview = previewTicket(
      ticket({
        type: 'table',
        columns: [{}, { width: 9, align: 'right' }],
        rows: [
          ['宫保鸡丁', '￥38.00'],
          ['Coke 可乐', '￥6.00'],
        ],
      }),
      tm88,
    ).split('\n');
    expect(preview.slice(0, 2).map(termWidth)).toEqual([48, 48]);
    expect(preview[0]?.endsWith(' ￥38.00')).toBe(true);
  });

  it('wraps long cells within their column and grows the row', () => {
    const block: Block = {
      type: 'table',
      columns: [{ width: 10 }, { width: 8, align: 'right' }],
      rows: [['超级至尊披萨 Super Supreme', '￥109.00']],
    };
    expect(previewTicket(ticket(block), gp58)).toBe(
      [
        // 超级至尊披 fills 10 columns; "萨 Super" is 8; "Supreme" moves down whole.
        `超级至尊披 ￥109.00${' '.repeat(13)}`,
        `萨 Super  ${' '.repeat(9)}${' '.repeat(13)}`,
        `Supreme   ${' '.repeat(9)}${' '.repeat(13)}`,
        '',
      ].join('\n'),
    );
  });

  it('shares what is left between columns without a width, first ones getting the odd column', () => {
    const lines = previewTicket(
      ticket({ type: 'table', columns: [{}, {}, { width: 5 }], gap: 2, rows: [['a', 'b', 'c']] }),
      gp58,
    );
    // 32 - 5 - 2*2 = 23 -> 12 + 11
    expect(lines).toBe(`${'a'.padEnd(12)}  ${'b'.padEnd(11)}  c    \n`);
  });

  it('rejects a row with more cells than columns, naming the row', () => {
    expect(() => render(tm88, { type: 'table', columns: [{}], rows: [['a'], ['b', 'c']] })).toThrow(
      /^\/blocks\/0\/rows\/1: has 2 cells but the table has 1 columns$/,
    );
  });

  it('narrows fixed columns that do not fit the paper and warns', () => {
    const { warnings } = render(gp58, {
      type: 'table',
      columns: [{ width: 30 }, { width: 10 }],
      rows: [['x', 'y']],
    });
    expect(warnings).toEqual(['/blocks/0: fixed column widths narrowed to fit 32 columns']);
  });

  it('repeats the rule character across the line by display width', () => {
    const gb = (s: string) => iconv.encode(s, 'gb18030').toString('hex');
    expect(hex(render(tm88, { type: 'rule' }).bytes)).toBe(h(`1b40 1c26 1d610f ${'2d'.repeat(48)} 0a`));
    // ═ is two columns in Chinese mode: 24 of them on 48 columns.
    expect(hex(render(tm88, { type: 'rule', char: '═' }).bytes)).toBe(
      h(`1b40 1c26 1d610f ${gb('═').repeat(24)} 0a`),
    );
    expect(hex(render(gp58, { type: 'rule', char: '=', width: 2 }).bytes)).toBe(
      h(`1b40 1c26 1d2110 ${'3d'.repeat(16)} 0a`),
    );
  });
});

describe('wrapping', () => {
  const codec = codecFor('gb18030');
  it('never starts a line with closing punctuation, keeps numbers with units and ￥ with amounts', () => {
    expect(wrapText('不要香菜，多放辣', 8, codec)).toEqual(['不要香', '菜，多放', '辣']);
    expect(wrapText('榴莲披萨 9寸', 10, codec)).toEqual(['榴莲披萨', '9寸']);
    expect(wrapText('实付￥308.00', 8, codec)).toEqual(['实付', '￥308.00']);
  });

  it('keeps Latin words whole and breaks words longer than a line', () => {
    expect(wrapText('Thank you for your order', 10, codec)).toEqual(['Thank you', 'for your', 'order']);
    expect(wrapText('1702339812345678901', 8, codec)).toEqual(['17023398', '12345678', '901']);
    expect(wrapText('a\n\nb', 8, codec)).toEqual(['a', '', 'b']);
  });
});

describe('QR codes', () => {
  it('uses GS ( k model 2 with module size, error level, store (pL pH = length + 3) and print', () => {
    const data = 'https://crustlab.cn/o/1';
    const out = hex(render(tm88, { type: 'qr', data, size: 5, errorLevel: 'Q', align: 'left' }).bytes);
    const n = data.length + 3; // 26 = 0x1a
    expect(n).toBe(0x1a);
    expect(out).toBe(
      h(`1b40 1c26 1d610f
        1d286b 0400 3141 3200
        1d286b 0300 3143 05
        1d286b 0300 3145 32
        1d286b 1a00 3150 30 ${Buffer.from(data).toString('hex')}
        1d286b 0300 3151 30`),
    );
  });

  it('puts the high byte of the length in pH for long data', () => {
    const data = 'A'.repeat(300); // 303 = 0x012f
    expect(hex(render(tm88, { type: 'qr', data, size: 2 }).bytes)).toContain(
      h(`1d286b 2f01 3150 30 ${'41'.repeat(300)}`),
    );
  });

  it('sends the QR code as a raster picture on a printer without native QR', () => {
    const { bytes } = render(gp58, { type: 'qr', data: 'hello', size: 4 });
    const out = hex(bytes);
    expect(out).not.toContain('1d286b');
    // Version 1 is 21 modules; with a 4-module quiet zone on each side: 29 x 4 = 116 dots,
    // 15 bytes a row. Centered with ESC a 1.
    expect(out.startsWith(h('1b40 1c26 1b6101 1d7630 00 0f00 7400'))).toBe(true);
    const raster = bytes.subarray(4 + 3 + 8);
    expect(raster.length).toBe(15 * 116);
    // The top-left finder pattern starts 16 dots in: a row of 7 x 4 = 28 black dots.
    const row = (y: number) =>
      [...raster.subarray(y * 15, y * 15 + 15)].map((b) => b.toString(2).padStart(8, '0')).join('');
    expect(row(16).slice(0, 48)).toBe(`${'0'.repeat(16)}${'1'.repeat(28)}0000`);
    expect(row(0)).toBe('0'.repeat(120));
  });

  it('shrinks modules that would make the code wider than the paper, and rejects data no QR code holds', () => {
    const { warnings, bytes } = render(gp58, { type: 'qr', data: 'x'.repeat(500), size: 16 });
    expect(warnings[0]).toMatch(/^\/blocks\/0: QR module size reduced to \d dots/);
    expect(bytes.length).toBeGreaterThan(0);
    expect(() => render(tm88, { type: 'qr', data: '字'.repeat(1000), errorLevel: 'H' })).toThrow(
      /^\/blocks\/0: QR data is too long \(3000 bytes\) for error level H$/,
    );
  });
});

describe('barcodes', () => {
  it('sends CODE128 with the {B code set prefix and height, module width and HRI position first', () => {
    const out = hex(
      render(tm88, {
        type: 'barcode',
        symbology: 'CODE128',
        data: 'A057{1',
        height: 60,
        moduleWidth: 3,
        hri: 'both',
      }).bytes,
    );
    const payload = Buffer.from('{BA057{{1'); // a literal { is doubled
    expect(out).toBe(
      h(
        `1b40 1c26 1d610f 1b6101 1d683c 1d7703 1d4803 1d6b49 ${payload.length.toString(16).padStart(2, '0')} ${payload.toString('hex')}`,
      ),
    );
  });

  it('checks the EAN13 check digit, and sends 12 digits for the printer to complete', () => {
    const out = hex(render(tm88, { type: 'barcode', symbology: 'EAN13', data: '6901234567892' }).bytes);
    expect(out).toContain(h(`1d6b43 0c ${Buffer.from('690123456789').toString('hex')}`));
    expect(() => render(tm88, { type: 'barcode', symbology: 'EAN13', data: '6901234567890' })).toThrow(
      /^\/blocks\/0: EAN13 check digit of 6901234567890 is wrong: expected 2, got 0$/,
    );
    expect(() => render(tm88, { type: 'barcode', symbology: 'EAN13', data: '69012345' })).toThrow(
      RenderError,
    );
    expect(previewTicket(ticket({ type: 'barcode', symbology: 'EAN13', data: '400638133393' }), tm88)).toBe(
      `${marker.barcode('EAN13', '4006381333931')}\n`,
    );
  });

  it('sends CODE39 between * start/stop characters and rejects characters it cannot encode', () => {
    expect(hex(render(tm88, { type: 'barcode', symbology: 'CODE39', data: 'SH-021' }).bytes)).toContain(
      h(`1d6b45 08 ${Buffer.from('*SH-021*').toString('hex')}`),
    );
    expect(() => render(tm88, { type: 'barcode', symbology: 'CODE39', data: 'sh021' })).toThrow(
      /CODE39 cannot encode "sh021"/,
    );
  });

  it('fits a 19-digit order number on 58 mm paper with code set C (it was refused in code set B)', () => {
    const { bytes, warnings } = render(gp58, {
      type: 'barcode',
      symbology: 'CODE128',
      data: '1702339812345678901',
    });
    expect(warnings).toEqual([]);
    // 1 in set B, then nine pairs in set C: 13 symbols, 156 modules, 312 dots at 2-dot bars.
    expect(hex(bytes)).toContain(h('1d7702 1d4802 1d6b49 0e 7b42 31 7b43 46 17 27 51 17 2d 43 59 01'));
  });
});

/** A PNG of `width` x `height` filled with one grey level and alpha. */
function solidPng(width: number, height: number, grey: number, alpha = 255): string {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) png.data.set([grey, grey, grey, alpha], i * 4);
  return PNG.sync.write(png).toString('base64');
}

/** The GS v 0 commands in `bytes`: consecutive, from the first one on. */
function rasterBands(bytes: Uint8Array): { widthBytes: number; rows: number; data: Uint8Array }[] {
  const bands = [];
  let i = hex(bytes).indexOf('1d7630') / 2;
  while (i >= 0 && bytes[i] === 0x1d && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x30) {
    const widthBytes = (bytes[i + 4] ?? 0) + 256 * (bytes[i + 5] ?? 0);
    const rows = (bytes[i + 6] ?? 0) + 256 * (bytes[i + 7] ?? 0);
    bands.push({ widthBytes, rows, data: bytes.subarray(i + 8, i + 8 + widthBytes * rows) });
    i += 8 + widthBytes * rows;
  }
  return bands;
}
const blackDots = (data: Uint8Array) =>
  [...data].reduce((n, b) => n + b.toString(2).replaceAll('0', '').length, 0);

describe('images', () => {
  it('scales to the requested width and sends GS v 0 with the width in bytes and the height in dots', () => {
    const { bytes } = render(tm88, { type: 'image', png: solidPng(100, 50, 0), width: 80 });
    expect(hex(bytes.subarray(0, 18))).toBe(h('1b40 1c26 1d610f 1b6101 1d7630 00 0a00 2800'));
    const [band] = rasterBands(bytes);
    expect(band?.data.length).toBe(10 * 40);
    expect(blackDots(band?.data ?? new Uint8Array())).toBe(80 * 40);
    expect(bytes.length).toBe(18 + 400);
  });

  it('never prints wider than the paper', () => {
    const bands = rasterBands(render(gp58, { type: 'image', png: solidPng(800, 100, 0), width: 1000 }).bytes);
    expect(bands.map((b) => [b.widthBytes, b.rows])).toEqual([[48, 48]]); // 384 dots, 100 * 384/800
    expect(previewTicket(ticket({ type: 'image', png: solidPng(800, 100, 0) }), gp58)).toBe(
      `${marker.image(384, 48)}\n`,
    );
  });

  it('dithers 50% grey to about half the dots with Floyd-Steinberg; threshold makes it all one colour', () => {
    const fs = rasterBands(render(tm88, { type: 'image', png: solidPng(64, 64, 127) }).bytes);
    const ratio = blackDots(fs[0]?.data ?? new Uint8Array()) / (64 * 64);
    expect(ratio).toBeGreaterThan(0.45);
    expect(ratio).toBeLessThan(0.55);
    const dark = rasterBands(
      render(tm88, { type: 'image', png: solidPng(64, 64, 127), dither: 'threshold' }).bytes,
    );
    expect(blackDots(dark[0]?.data ?? new Uint8Array())).toBe(64 * 64);
    const light = rasterBands(
      render(tm88, { type: 'image', png: solidPng(64, 64, 128), dither: 'threshold' }).bytes,
    );
    expect(blackDots(light[0]?.data ?? new Uint8Array())).toBe(0);
  });

  it('puts transparent pixels on white paper and pads rows to whole bytes with white', () => {
    const clear = rasterBands(render(tm88, { type: 'image', png: solidPng(20, 4, 0, 0) }).bytes);
    expect(blackDots(clear[0]?.data ?? new Uint8Array())).toBe(0);
    const black = rasterBands(render(tm88, { type: 'image', png: solidPng(20, 4, 0) }).bytes);
    // 20 dots = 3 bytes a row: ff ff f0
    expect(hex(black[0]?.data ?? new Uint8Array())).toBe('fffff0'.repeat(4));
  });

  it(`sends tall pictures in bands of at most ${RASTER_BAND_ROWS} rows`, () => {
    const bands = rasterBands(
      render(tm88, { type: 'image', png: solidPng(200, 600, 255), width: 576 }).bytes,
    );
    // 600 * 576/200 = 1728 rows = 6 x 255 + 198
    expect(bands.map((b) => b.rows)).toEqual([255, 255, 255, 255, 255, 255, 198]);
    expect(bands.every((b) => b.widthBytes === 72)).toBe(true);
  });

  it('rejects data that is not a PNG, naming the block', () => {
    expect(() =>
      render(tm88, { type: 'feed' }, { type: 'image', png: Buffer.from('GIF89a...').toString('base64') }),
    ).toThrow(/^\/blocks\/1: is not a PNG file$/);
    const broken = Buffer.from(solidPng(10, 10, 0), 'base64');
    broken.fill(0, 40); // header intact, pixel data destroyed
    expect(() => render(tm88, { type: 'image', png: broken.toString('base64') })).toThrow(
      /^\/blocks\/0: PNG cannot be decoded/,
    );
  });
});

describe('cut, drawer, beep, raw', () => {
  it('feeds the profile lines before cutting', () => {
    expect(hex(render(tm88, { type: 'cut', mode: 'full' }).bytes)).toBe(h('1b40 1c26 1d610f 1b6404 1d5600'));
    expect(hex(render(tm88, { type: 'cut' }).bytes)).toBe(h('1b40 1c26 1d610f 1b6404 1d5601'));
  });

  it('makes a full cut partial on a partial-only cutter and only feeds without a cutter', () => {
    expect(hex(render(gp58, { type: 'cut', mode: 'full' }).bytes)).toBe(h('1b40 1c26 1b6403 1d5601'));
    const noCutter = checkProfile({ ...gp58, name: 'no-cutter', cutter: 'none' }, 'test');
    expect(hex(render(noCutter, { type: 'cut', mode: 'full' }).bytes)).toBe(h('1b40 1c26 1b6403'));
    expect(previewTicket(ticket({ type: 'cut', mode: 'full' }), gp58)).toBe(
      `${`${' '.repeat(32)}\n`.repeat(3)}${marker.cut('partial')}\n`,
    );
  });

  it('kicks the drawer with ESC p m t1 t2 in 2 ms units', () => {
    expect(hex(render(tm88, { type: 'drawer' }).bytes)).toBe(h('1b40 1c26 1d610f 1b7000 3264'));
    expect(hex(render(tm88, { type: 'drawer', pin: 5, onMs: 120, offMs: 240 }).bytes)).toContain(
      h('1b7001 3c78'),
    );
    expect(previewTicket(ticket({ type: 'drawer', pin: 5, onMs: 120, offMs: 240 }), tm88)).toBe(
      `${marker.drawer(5, 120, 240)}\n`,
    );
  });

  it('beeps with ESC B n t where the profile has a buzzer, and warns where it has none', () => {
    expect(hex(render(xp80, { type: 'beep', times: 3, durationMs: 200 }).bytes)).toBe(
      h('1b40 1c26 1d610f 1b42 03 04'),
    );
    const { bytes, warnings } = render(tm88, { type: 'beep', times: 3 });
    expect(hex(bytes)).toBe(h('1b40 1c26 1d610f'));
    expect(warnings).toEqual(['/blocks/0: beep skipped: epson-tm-t88 has no buzzer']);
  });

  it('sends raw bytes as they are', () => {
    const raw = Uint8Array.of(0x1b, 0x21, 0x08, 0x00, 0xff);
    expect(hex(render(gp58, { type: 'raw', base64: Buffer.from(raw).toString('base64') }).bytes)).toBe(
      h('1b40 1c26 1b2108 00ff'),
    );
  });
});

describe('print confirmation', () => {
  const t = ticket({ type: 'text', text: 'x' });
  it('ends with GS ( H fn 48 and a token on GS ( H printers, GS r 1 on the others', () => {
    expect(
      hex(renderTicket(t, tm88).bytes).endsWith(
        h(`1d2848 0600 3030 ${Buffer.from(DEFAULT_CONFIRM_TOKEN).toString('hex')}`),
      ),
    ).toBe(true);
    expect(
      hex(renderTicket(t, tm88, { confirmToken: 'AB12' }).bytes).endsWith(h('1d2848 0600 3030 41423132')),
    ).toBe(true);
    expect(hex(renderTicket(t, xp80).bytes).endsWith(h('78 0a 1d7201'))).toBe(true);
    expect(hex(renderTicket(t, xp80, { confirmToken: false }).bytes).endsWith(h('78 0a'))).toBe(true);
  });

  it('confirmationRequest and stripTrailingConfirmation agree', () => {
    expect(hex(confirmationRequest(tm88, 'J 7~'))).toBe(h('1d2848 0600 3030 4a20377e'));
    expect(hex(confirmationRequest(xp80, 'J 7~'))).toBe('1d7201');
    expect(() => confirmationRequest(tm88, 'toolong')).toThrow(/4 characters/);
    expect(() => confirmationRequest(tm88, 'ab\nc')).toThrow(/4 characters/);
    for (const p of [tm88, xp80]) {
      const plain = renderTicket(t, p, { confirmToken: false }).bytes;
      expect(hex(stripTrailingConfirmation(renderTicket(t, p).bytes))).toBe(hex(plain));
      expect(hex(stripTrailingConfirmation(plain))).toBe(hex(plain));
    }
  });
});

describe('preview', () => {
  it('widens double-width text with spaces and aligns it on the paper', () => {
    expect(previewTicket(ticket({ type: 'text', text: '总计 12', width: 2, align: 'right' }), gp58)).toBe(
      `${' '.repeat(18)}总  计    1 2 \n`,
    );
  });

  it('adds a space after characters printed two columns wide that terminals show narrow', () => {
    // ═ and “ ” are two bytes (two columns) in GB18030 but one column in a terminal.
    expect(previewTicket(ticket({ type: 'rule', char: '═' }), tm88)).toBe(`${'═ '.repeat(24)}\n`);
    const line = previewTicket(ticket({ type: 'text', text: '“宫保”' }), gp58).split('\n')[0] ?? '';
    expect(line).toBe(`“ 宫保” ${' '.repeat(24)}`);
    expect(termWidth(line)).toBe(32);
  });

  it('pads font B lines to the font B column count', () => {
    expect(previewTicket(ticket({ type: 'text', text: 'x', font: 'B' }), tm88)).toBe(`x${' '.repeat(63)}\n`);
  });

  it('gives the same warnings as rendering', () => {
    const t = ticket({ type: 'text', text: '宫' }, { type: 'beep' });
    expect(previewTicketWithWarnings(t, latin).warnings).toEqual(renderTicket(t, latin).warnings);
  });

  it('shows QR data and raw byte counts with the shared markers', () => {
    const raw = Buffer.from([1, 2, 3]).toString('base64');
    expect(
      previewTicket(ticket({ type: 'qr', data: 'https://a.cn/1' }, { type: 'raw', base64: raw }), xp80),
    ).toBe(`${marker.qr('https://a.cn/1')}\n${marker.raw(3)}\n`);
  });
});

describe('ticket validation', () => {
  it('names the JSON path and the problem', () => {
    const bad = {
      blocks: [{ type: 'text', text: 'x' }, { type: 'text', text: 'y', align: 'middle' }, { type: 'qr' }],
    };
    try {
      parseTicket(bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const issues = (err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
      expect(issues).toContain('/blocks/1/align: must be one of left, center, right');
      expect(issues).toContain('/blocks/2/data: is required');
    }
    expect(() => parseTicket({ blocks: [{ type: 'sound' }] })).toThrow(
      /\/blocks\/0\/type: has unknown value "sound"/,
    );
    expect(() => parseTicket({ blocks: [{ type: 'text', text: 'x', width: 9 }] })).toThrow(
      /\/blocks\/0\/width/,
    );
  });
});

describe('profiles', () => {
  it('ships the four profiles, validated and frozen', () => {
    expect(listProfiles().map((p) => p.name)).toEqual([
      'epson-tm-t88',
      'xprinter-80',
      'gprinter-58',
      'epson-tm-t20-latin',
    ]);
    expect(gp58.paper).toEqual({ widthMm: 58, dots: 384, columnsFontA: 32, columnsFontB: 42 });
    expect([gp58.text.encoding, gp58.cutter, gp58.status.asb]).toEqual(['gbk', 'partial-only', false]);
    expect([xp80.status.gsH, xp80.buzzer, tm88.status.gsH, tm88.qr]).toEqual([
      false,
      'esc-b',
      true,
      'native',
    ]);
    expect(latin.text).toEqual({ encoding: 'cp858', codePage: 19, chineseFont: false });
    expect(Object.isFrozen(tm88.paper)).toBe(true);
  });

  it('lists the valid names for an unknown profile', () => {
    expect(() => getProfile('tm-t88')).toThrow(
      'unknown printer profile "tm-t88"; valid profiles: epson-tm-t88, xprinter-80, gprinter-58, epson-tm-t20-latin',
    );
  });

  it('reports what is wrong in a profile file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'printrelay-profile-'));
    try {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ ...gp58, paper: { ...gp58.paper, dots: 5 } }));
      expect(() => loadProfileFile(file)).toThrow(
        `${file}: invalid printer profile: /paper/dots: must be >= 128`,
      );
      writeFileSync(file, JSON.stringify({ ...latin, text: { encoding: 'cp858', chineseFont: false } }));
      expect(() => loadProfileFile(file)).toThrow(/\/text\/codePage: is required for encoding cp858/);
      writeFileSync(file, JSON.stringify({ ...xp80, text: { encoding: 'gbk', chineseFont: false } }));
      expect(() => loadProfileFile(file)).toThrow(
        /\/text\/encoding: gbk needs a printer with a Chinese font/,
      );
      writeFileSync(file, '{ "name": ');
      expect(() => loadProfileFile(file)).toThrow(`${file} is not valid JSON: Unexpected end of JSON input`);
      expect(loadProfileFile(join(repo, 'escpos/profiles/xprinter-80.json'))).toEqual(xp80);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('printrelay render (CLI)', () => {
  const work = mkdtempSync(join(tmpdir(), 'printrelay-render-cli-'));
  const receipt = join(fixtureDir, 'meituan-receipt.json');

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  function cli(...args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI_PATH, ...args], { encoding: 'buffer' }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      });
    });
  }

  it('writes the bytes to a pipe, and to a file with -o', async () => {
    const expected = renderTicket(loadFixture('meituan-receipt'), gp58).bytes;
    const piped = await cli('render', receipt, '--profile', 'gprinter-58');
    expect(piped.code).toBe(0);
    expect(hex(piped.stdout)).toBe(hex(expected));
    const out = join(work, 'receipt.bin');
    const toFile = await cli('render', receipt, '--profile', 'gprinter-58', '-o', out);
    expect(toFile.code).toBe(0);
    expect(toFile.stdout.length).toBe(0);
    expect(hex(readFileSync(out))).toBe(hex(expected));
  });

  it('prints the preview with --preview and warnings on stderr', async () => {
    const { code, stdout, stderr } = await cli(
      'render',
      receipt,
      '--profile',
      'epson-tm-t20-latin',
      '--preview',
    );
    expect(code).toBe(0);
    expect(stdout.toString('utf8')).toBe(previewTicket(loadFixture('meituan-receipt'), latin));
    expect(stderr).toMatch(/^warning: \/blocks\/0: 薄 饼 工 坊 cannot be printed with cp858/m);
  });

  it('says that an order file is a job request with its ticket under .ticket', async () => {
    const order = join(repo, 'examples', 'orders', 'meituan-kitchen.json');
    const { code, stderr } = await cli('render', order, '--profile', 'xprinter-80', '--preview');
    expect(code).not.toBe(0);
    expect(stderr.trim()).toBe(
      `printrelay: ${order}: this looks like a job request; its ticket is under .ticket (give that object alone, e.g. jq .ticket ${order} > ticket.json)`,
    );
  });

  it('refuses to write bytes to a terminal', async () => {
    // `script` (util-linux) gives the child a pty as stdout.
    const cmd = `${process.execPath} ${CLI_PATH} render ${receipt} --profile xprinter-80; echo "exit=$?"`;
    const out = await new Promise<string>((resolve) =>
      execFile('script', ['-qec', cmd, '/dev/null'], (_err, stdout) => resolve(stdout)),
    );
    expect(out).toContain(
      'not writing ESC/POS bytes to a terminal: use -o <file>, --preview, or redirect the output',
    );
    expect(out).toContain('exit=1');
  });

  it('names the file, JSON path and problem for an invalid ticket', async () => {
    const bad = join(work, 'bad-ticket.json');
    writeFileSync(
      bad,
      JSON.stringify({
        blocks: [
          { type: 'text', text: 'x' },
          { type: 'cut', mode: 'half' },
        ],
      }),
    );
    const r = await cli('render', bad, '--profile', 'xprinter-80', '--preview');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${bad} is not a valid ticket:\n  /blocks/1/mode: must be one of full, partial`,
    );
    writeFileSync(bad, '{\n  "blocks": [\n    { "type": "feed", }\n  ]\n}');
    const syntax = await cli('render', bad, '--profile', 'xprinter-80', '--preview');
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(new RegExp(`${bad} is not valid JSON: .*\\(line 3, column 23\\)`));
  });

  it('lists the valid profiles for an unknown one, and `printrelay profiles` lists them', async () => {
    const r = await cli('render', receipt, '--profile', 'tm88', '--preview');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('valid profiles: epson-tm-t88, xprinter-80, gprinter-58, epson-tm-t20-latin');
    const list = await cli('profiles');
    expect(list.code).toBe(0);
    expect(
      list.stdout
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(listProfiles().map((p) => p.name));
  });
});
