// Rendering benchmark: tickets per second for the same Chinese and Latin tickets through our
// renderer, receiptline and @point-of-sale/receipt-printer-encoder, measured side by side:
// short time slices, the renderers taking turns in every round, medians over the rounds,
// so that a noisy machine slows all of them alike.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderTicket } from '../escpos/encoder.js';
import { getProfile } from '../escpos/profiles/index.js';
import type { PrinterProfile } from '../protocol/profile.js';
import { parseTicket, type Ticket } from '../protocol/ticket.js';
import {
  type EncoderInput,
  encoderRenderer,
  receiptlineRenderer,
  toEncoderInput,
  toReceiptline,
} from './render-adapters.js';
import { REPO_ROOT } from './repo.js';
import { fmt, median, nowMs, table, verdict } from './stats.js';

export interface RenderOptions {
  rounds: number;
  sliceMs: number;
}

interface TicketCase {
  name: string;
  script: 'Chinese' | 'Latin';
  profile: PrinterProfile;
  /** Variants differing like real orders do (the QR code carries the order), beyond any cache. */
  variants: Ticket[];
}

const VARIANTS = 256;

function loadCases(): TicketCase[] {
  const chinese = getProfile('xprinter-80');
  const latin = getProfile('epson-tm-t20-latin');
  const files: [string, string, 'Chinese' | 'Latin', PrinterProfile][] = [
    ['meituan-receipt', 'test/fixtures/tickets/meituan-receipt.json', 'Chinese', chinese],
    ['kitchen-ticket', 'test/fixtures/tickets/kitchen-ticket.json', 'Chinese', chinese],
    ['pickup-qr-barcode', 'test/fixtures/tickets/pickup-qr-barcode.json', 'Chinese', chinese],
    ['latin-receipt', 'bench/tickets/latin-receipt.json', 'Latin', latin],
    ['latin-kitchen', 'bench/tickets/latin-kitchen.json', 'Latin', latin],
  ];
  return files.map(([name, file, script, profile]) => {
    const ticket = parseTicket(JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')));
    const variants = Array.from({ length: VARIANTS }, (_, k) => ({
      ...ticket,
      blocks: ticket.blocks.map((b) => (b.type === 'qr' ? { ...b, data: `${b.data}&n=${k}` } : b)),
    }));
    return { name, script, profile, variants };
  });
}

/** One renderer prepared for one ticket: its inputs (outside the timing) and the timed call. */
type Prepared = { inputs: unknown[]; render: (input: unknown) => Uint8Array };

interface Renderer {
  name: string;
  prepare(c: TicketCase): Prepared;
}

const renderers: Renderer[] = [
  {
    // What the agent does with a job: JSON text in, validated, rendered.
    name: 'printrelay (JSON text -> parseTicket -> renderTicket)',
    prepare: (c) => ({
      inputs: c.variants.map((t) => JSON.stringify(t)),
      render: (json) => renderTicket(parseTicket(JSON.parse(json as string)), c.profile).bytes,
    }),
  },
  {
    name: 'printrelay renderTicket only',
    prepare: (c) => ({ inputs: c.variants, render: (t) => renderTicket(t as Ticket, c.profile).bytes }),
  },
  {
    name: 'receiptline 4 (markdown text -> bytes)',
    prepare: (c) => {
      const render = receiptlineRenderer(c.profile);
      return { inputs: c.variants.map(toReceiptline), render: (doc) => render(doc as string) };
    },
  },
  {
    name: '@point-of-sale/receipt-printer-encoder 4',
    prepare: (c) => {
      const render = encoderRenderer(c.profile);
      return { inputs: c.variants.map(toEncoderInput), render: (input) => render(input as EncoderInput) };
    },
  },
];

/** Renders for `sliceMs`, cycling through the variants; returns tickets per second. */
function slice(p: Prepared, sliceMs: number, start: number): number {
  let n = 0;
  const t0 = nowMs();
  let t = t0;
  while (t - t0 < sliceMs) {
    for (let i = 0; i < 8; i++) p.render(p.inputs[(start + n++) % p.inputs.length]);
    t = nowMs();
  }
  return (n * 1000) / (t - t0);
}

export interface RenderResult {
  markdown: string;
  /** Ours (the whole JSON-to-bytes path) over the faster library, for the whole set. */
  ratio: number;
}

export function runRenderBench(opts: RenderOptions): RenderResult {
  const cases = loadCases();
  const prepared = renderers.map((r) => cases.map((c) => r.prepare(c)));
  const sizes = prepared.map((row) => row.map((p) => p.render(p.inputs[0]).length));
  const rates = renderers.map(() => cases.map((): number[] => []));
  // Round 0 warms the JIT and is not counted.
  for (let round = 0; round <= opts.rounds; round++) {
    for (let k = 0; k < renderers.length; k++) {
      const r = (k + round) % renderers.length; // rotate who goes first
      for (const [c, p] of (prepared[r] as Prepared[]).entries()) {
        const rate = slice(p, opts.sliceMs, round * 31);
        if (round > 0) rates[r]?.[c]?.push(rate);
      }
    }
  }
  const med = rates.map((row) => row.map(median));
  /** Tickets per second over a set: one of each ticket, back to back. */
  const setRate = (r: number, which: (c: TicketCase) => boolean) => {
    const picked = cases.map((c, i) => [c, med[r]?.[i] ?? 0] as const).filter(([c]) => which(c));
    return picked.length / picked.reduce((s, [, rate]) => s + 1 / rate, 0);
  };
  const all = renderers.map((_, r) => setRate(r, () => true));
  const zh = renderers.map((_, r) => setRate(r, (c) => c.script === 'Chinese'));
  const latin = renderers.map((_, r) => setRate(r, (c) => c.script === 'Latin'));
  const fasterLibrary = Math.max(all[2] ?? 0, all[3] ?? 0);
  const ratio = (all[0] ?? 0) / fasterLibrary;

  const perTicket = table(
    ['ticket', 'script', 'profile', ...renderers.map((r) => r.name)],
    cases.map((c, i) => [
      c.name,
      c.script,
      c.profile.name,
      ...renderers.map((_, r) => `${fmt(med[r]?.[i] ?? Number.NaN, 0)}/s (${sizes[r]?.[i]} B)`),
    ]),
  );
  const summary = table(
    ['renderer', 'all 5 tickets', 'Chinese 3', 'Latin 2', 'vs faster library'],
    renderers.map((r, i) => [
      r.name,
      `${fmt(all[i] ?? Number.NaN, 0)}/s`,
      `${fmt(zh[i] ?? Number.NaN, 0)}/s`,
      `${fmt(latin[i] ?? Number.NaN, 0)}/s`,
      `${fmt((all[i] ?? 0) / fasterLibrary, 2)}x`,
    ]),
  );
  const markdown = [
    '### Rendering',
    '',
    `Median of ${opts.rounds} interleaved rounds of ${opts.sliceMs} ms per renderer and ticket; ` +
      `${VARIANTS} variants of each ticket (QR data differs per order). Tickets per second, one core.`,
    '',
    summary,
    '',
    'Per ticket (bytes produced in parentheses):',
    '',
    perTicket,
    '',
    `Target: at least 2x the faster of receiptline and receipt-printer-encoder (whole JSON-to-bytes path, ` +
      `all tickets): ${fmt(ratio, 2)}x, ${verdict(ratio, 2, 'higher')}.`,
  ].join('\n');
  return { markdown, ratio };
}
