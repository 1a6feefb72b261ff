// The ticket picture the dashboard shows: drawn from the renderer's layout, so Chinese text
// sits on the printer's columns (a Han character two columns wide), tables line up, sizes
// scale, and QR codes and images are drawn.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { ticketPicture } from '../escpos/picture.js';
import { getProfile } from '../escpos/profiles/index.js';
import type { Ticket } from '../protocol/ticket.js';
import { REPO_ROOT } from './support/repo.js';

const xprinter = getProfile('xprinter-80'); // 576 dots, 48 columns of font A: 12 dots a column
const gprinter = getProfile('gprinter-58');

/** Each <text> run: its x, textLength and text. */
function runs(svg: string) {
  return [...svg.matchAll(/<text x="([\d.]+)"[^>]*textLength="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    length: Number(m[2]),
    text: m[3] as string,
  }));
}

describe('ticket picture', () => {
  it('puts Chinese and Latin text on the paper columns, two columns for a Han character', () => {
    const { svg, width } = ticketPicture(
      {
        blocks: [
          { type: 'text', text: '宫保鸡丁 x2' },
          { type: 'text', text: '总计', width: 2, align: 'right' },
        ],
      },
      xprinter,
    );
    expect(width).toBe(576 + 32);
    expect(runs(svg)).toEqual([
      { x: 0, length: 4 * 2 * 12, text: '宫保鸡丁' },
      { x: 96, length: 3 * 12, text: ' x2' },
      // Width 2: 2 characters x 2 columns x 2 = 8 columns, right-aligned in 48.
      { x: 40 * 12, length: 8 * 12, text: '总计' },
    ]);
  });

  it('lines table columns up as the printer does, on a 58 mm printer too', () => {
    const ticket: Ticket = {
      blocks: [
        {
          type: 'table',
          columns: [{}, { width: 4, align: 'right' }, { width: 8, align: 'right' }],
          rows: [
            ['超级至尊披萨', '1', '¥109.00'],
            ['可乐', '3', '¥27.00'],
          ],
        },
      ],
    };
    const { svg } = ticketPicture(ticket, gprinter);
    const columnDots = gprinter.paper.dots / gprinter.paper.columnsFontA;
    const prices = runs(svg).filter((r) => r.text.includes('.00'));
    // Both prices end at the right edge of the paper.
    for (const p of prices) expect(p.x + p.length).toBeCloseTo(gprinter.paper.columnsFontA * columnDots);
  });

  it('draws the QR code module for module, and images', () => {
    const png = new PNG({ width: 40, height: 20 });
    png.data.fill(0);
    const { svg } = ticketPicture(
      {
        blocks: [
          { type: 'qr', data: 'https://example.com/o/1', size: 4 },
          { type: 'image', png: PNG.sync.write(png).toString('base64'), width: 200 },
        ],
      },
      xprinter,
    );
    const modules = QRCode.create('https://example.com/o/1', { errorCorrectionLevel: 'M' }).modules;
    let dark = 0;
    for (let i = 0; i < modules.size * modules.size; i++) dark += modules.data[i] ? 1 : 0;
    expect(svg.match(/M\d+ \d+h4v4h-4z/g)).toHaveLength(dark);
    expect(svg).toMatch(/<image x="\d+" y="\d+" width="200" height="100" href="data:image\/png;base64,/);
  });

  it('draws the sample 美团 receipt with every line of its text', () => {
    const ticket = JSON.parse(
      readFileSync(join(REPO_ROOT, 'test/fixtures/tickets/meituan-receipt.json'), 'utf8'),
    ) as Ticket;
    const text = runs(ticketPicture(ticket, xprinter).svg)
      .map((r) => r.text)
      .join('');
    for (const expected of ['美团外卖', '超级至尊披萨', '实付', '谢谢惠顾']) expect(text).toContain(expected);
  });
});
