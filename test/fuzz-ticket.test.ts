// Property-based tests of ticket documents: parseTicket + renderTicket (and the preview) on
// every shipped profile. Valid documents render; content a printer cannot print fails with a
// RenderError naming the block; invalid documents fail with a ValidationError naming the path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { confirmationRequest } from '../escpos/commands.js';
import { DEFAULT_CONFIRM_TOKEN, renderTicket } from '../escpos/encoder.js';
import { RenderError } from '../escpos/layout.js';
import { previewTicket } from '../escpos/preview.js';
import { listProfiles } from '../escpos/profiles/index.js';
import { type Block, parseTicket, type Ticket } from '../protocol/ticket.js';
import { ValidationError } from '../protocol/validate.js';
import { anyBlock, printableBlock, ticketOf } from './support/fuzz-arbitraries.js';

const profiles = listProfiles();
const RUNS = { numRuns: 150 };

/** Kinds of block whose content may not be printable on some printer (see layout.ts). */
const MAY_NOT_PRINT: readonly Block['type'][] = ['table', 'qr', 'barcode', 'image'];

const endsWith = (bytes: Uint8Array, tail: Uint8Array) =>
  Buffer.from(bytes.subarray(bytes.length - tail.length)).equals(Buffer.from(tail));

describe('ticket documents (fast-check)', () => {
  it('renders every printable document on every profile, ESC @ first and the confirmation last', () => {
    fc.assert(
      fc.property(ticketOf(printableBlock), (ticket) => {
        expect(parseTicket(ticket)).toBe(ticket);
        for (const profile of profiles) {
          const { bytes, warnings } = renderTicket(ticket, profile);
          expect([...bytes.subarray(0, 2)]).toEqual([0x1b, 0x40]);
          expect(endsWith(bytes, confirmationRequest(profile, DEFAULT_CONFIRM_TOKEN))).toBe(true);
          for (const w of warnings) expect(w).toMatch(/^\/blocks\/\d+/);
          expect(typeof previewTicket(ticket, profile)).toBe('string');
        }
      }),
      RUNS,
    );
  });

  it('renders any schema-valid document or refuses it with a RenderError naming the block', () => {
    fc.assert(
      fc.property(ticketOf(anyBlock), (ticket) => {
        parseTicket(ticket);
        for (const profile of profiles) {
          try {
            expect(renderTicket(ticket, profile).bytes.length).toBeGreaterThan(2);
          } catch (err) {
            if (!(err instanceof RenderError)) throw err;
            const m = /^\/blocks\/(\d+)(\/|$)/.exec(err.path);
            expect(m, `path ${err.path}`).not.toBeNull();
            const block = ticket.blocks[Number(m?.[1])];
            expect(MAY_NOT_PRINT).toContain(block?.type);
            expect(err.detail.length).toBeGreaterThan(0);
            // The preview lays the ticket out the same way, so it refuses the same block.
            expect(() => previewTicket(ticket, profile)).toThrow(RenderError);
          }
        }
      }),
      RUNS,
    );
  });

  /** Breaks one rule of the schema in a block of one of `types` (any when omitted): sets `key` to `value`, or removes it. */
  type Mutation = { name: string; types?: string[]; key: string; value?: unknown };
  const mutations: Mutation[] = [
    { name: 'unknown property', key: 'colour', value: 'red' },
    { name: 'unknown block type', key: 'type', value: 'marquee' },
    { name: 'bad alignment', types: ['text', 'qr', 'barcode', 'image'], key: 'align', value: 'middle' },
    { name: 'size out of range', types: ['text', 'table', 'rule'], key: 'width', value: 9 },
    { name: 'wrong type', types: ['text'], key: 'text', value: 42 },
    { name: 'missing required property', types: ['qr'], key: 'data' },
    { name: 'not base64', types: ['raw'], key: 'base64', value: 'not base64!' },
  ];

  it('refuses a document with one broken block with a ValidationError pointing at it', () => {
    fc.assert(
      fc.property(
        ticketOf(anyBlock),
        fc.nat(),
        fc.constantFrom(...mutations),
        (ticket: Ticket, at, mutation) => {
          const i = at % ticket.blocks.length;
          const broken = structuredClone(ticket) as { blocks: Record<string, unknown>[] };
          const block = broken.blocks[i] as Record<string, unknown>;
          fc.pre(!mutation.types || mutation.types.includes(block.type as string));
          if ('value' in mutation) block[mutation.key] = mutation.value;
          else delete block[mutation.key];
          const path = `/blocks/${i}/${mutation.key}`;
          let error: unknown;
          try {
            parseTicket(broken);
          } catch (err) {
            error = err;
          }
          expect(error, mutation.name).toBeInstanceOf(ValidationError);
          const issues = (error as ValidationError).issues;
          expect(
            issues.map((x) => x.path),
            mutation.name,
          ).toContain(path);
          expect((error as Error).message).toContain(path);
          for (const issue of issues) expect(issue.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers arbitrary JSON with a ticket or a ValidationError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ blocks: fc.array(fc.jsonValue(), { maxLength: 4 }) }),
          fc.record({
            blocks: fc.array(
              fc.dictionary(fc.constantFrom('type', 'text', 'data', 'rows', 'columns'), fc.jsonValue()),
            ),
          }),
        ),
        (value) => {
          try {
            parseTicket(value);
          } catch (err) {
            expect(err).toBeInstanceOf(ValidationError);
            expect((err as ValidationError).issues.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
