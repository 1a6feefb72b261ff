import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type InboundEvent, InboundParser, MAX_BLOCK_DATA } from '../agent/printer/inbound-parser.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const block = (header: number, s: string): InboundEvent => ({
  kind: 'block',
  header,
  data: Uint8Array.from(ascii(s)),
});

/** Parses `bytes` delivered in chunks cut at `cuts` (sorted offsets). */
function parseSplit(bytes: readonly number[], cuts: readonly number[]): InboundEvent[] {
  const parser = new InboundParser();
  const events: InboundEvent[] = [];
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    events.push(...parser.push(Uint8Array.from(bytes.slice(start, end))));
    start = end;
  }
  return events;
}

/** Small seeded PRNG (mulberry32) so random cases are reproducible. */
function random(seed: number): (below: number) => number {
  let a = seed >>> 0;
  return (below) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

function randomCuts(rand: (below: number) => number, length: number): number[] {
  const cuts = new Set<number>();
  const count = rand(length + 1);
  for (let i = 0; i < count; i++) cuts.add(rand(length + 1));
  return [...cuts].sort((a, b) => a - b);
}

// A stream mixing every kind of reply, including flow control inside an ASB frame and a block reply.
const mixed: number[] = [
  ...[0x10, 0x00, 0x00, 0x00], // ASB all clear
  0x12, // DLE EOT 1: all clear
  0x1a, // DLE EOT 1: offline
  0x00, // GS r 1: paper ok
  ...[0x5f, ...ascii('EPSON'), 0x00], // GS I 66
  0x13, // XOFF
  ...[0x37, 0x22, ...ascii('A1b~'), 0x00], // GS ( H fn 48 answer
  0x11, // XON
  ...[0x38, 0x00, 0x13, 0x0c, 0x00], // ASB cover open + offline + paper end, XOFF inside
  0x0c, // GS r 1: paper end
  0x7e, // DLE EOT 4: paper end
  ...[0x5f, ...ascii('TM'), 0x11, ...ascii('-T20'), 0x00], // GS I 67 with XON inside
  0x02, // GS I 2
];
const mixedEvents: InboundEvent[] = [
  { kind: 'asb', bytes: [0x10, 0x00, 0x00, 0x00] },
  { kind: 'realtime-status', byte: 0x12 },
  { kind: 'realtime-status', byte: 0x1a },
  { kind: 'answer', byte: 0x00 },
  block(0x5f, 'EPSON'),
  { kind: 'xoff' },
  { kind: 'print-confirmed', token: 'A1b~' },
  { kind: 'xon' },
  { kind: 'xoff' },
  { kind: 'asb', bytes: [0x38, 0x00, 0x0c, 0x00] },
  { kind: 'answer', byte: 0x0c },
  { kind: 'realtime-status', byte: 0x7e },
  { kind: 'xon' },
  block(0x5f, 'TM-T20'),
  { kind: 'answer', byte: 0x02 },
];

describe('InboundParser', () => {
  it('separates a mixed stream read in one chunk', () => {
    expect(parseSplit(mixed, [])).toEqual(mixedEvents);
  });

  it('gives the same events whatever two points the stream is cut at', () => {
    for (let i = 0; i <= mixed.length; i++) {
      for (let j = i; j <= mixed.length; j++) {
        expect(parseSplit(mixed, [i, j]), `cut at ${i} and ${j}`).toEqual(mixedEvents);
      }
    }
  });

  it('gives the same events when read one byte at a time', () => {
    expect(
      parseSplit(
        mixed,
        mixed.map((_, i) => i),
      ),
    ).toEqual(mixedEvents);
  });

  it('emits XOFF at once when it arrives inside an ASB frame, then finishes the frame', () => {
    const parser = new InboundParser();
    expect(parser.push(Uint8Array.of(0x14, 0x04))).toEqual([]);
    expect(parser.push(Uint8Array.of(0x13))).toEqual([{ kind: 'xoff' }]);
    expect(parser.push(Uint8Array.of(0x03, 0x00))).toEqual([
      { kind: 'asb', bytes: [0x14, 0x04, 0x03, 0x00] },
    ]);
  });

  it('reads a block reply split byte by byte up to its NUL before classifying anything else', () => {
    const parser = new InboundParser();
    // '2' (0x32) and 'R' (0x52) look like DLE EOT answers, '0' (0x30) like an ASB start: inside a block they are text.
    const bytes = [0x5f, ...ascii('CHINA GB18030 R2'), 0x00, 0x12];
    const events = bytes.flatMap((b) => parser.push(Uint8Array.of(b)));
    expect(events).toEqual([block(0x5f, 'CHINA GB18030 R2'), { kind: 'realtime-status', byte: 0x12 }]);
  });

  it('reports a 37 22 reply of the wrong length as a plain block', () => {
    const events = parseSplit([0x37, 0x22, ...ascii('ABC'), 0x00, 0x3b, 0x00], []);
    expect(events).toEqual([block(0x37, '"ABC'), block(0x3b, '')]);
  });

  it('skips unclassifiable bytes and resyncs after a broken ASB frame', () => {
    const events = parseSplit([0x80, 0xff, 0x10, 0x00, 0x12, 0x10, 0x00, 0x00, 0x00, 0x03], []);
    expect(events).toEqual([
      { kind: 'garbage', byte: 0x80 },
      { kind: 'garbage', byte: 0xff },
      // The broken frame is dropped whole; the byte that broke it is classified afresh.
      { kind: 'garbage', byte: 0x10 },
      { kind: 'garbage', byte: 0x00 },
      { kind: 'realtime-status', byte: 0x12 },
      { kind: 'asb', bytes: [0x10, 0x00, 0x00, 0x00] },
      { kind: 'answer', byte: 0x03 },
    ]);
  });

  it('accepts a block reply of the maximum size and gives up one byte longer', () => {
    const full = new Array<number>(MAX_BLOCK_DATA).fill(0x78);
    const parser = new InboundParser();
    const fits = parser.push(Uint8Array.from([0x35, ...full, 0x00]));
    expect(fits).toEqual([{ kind: 'block', header: 0x35, data: Uint8Array.from(full) }]);

    const events = parser.push(Uint8Array.from([0x35, ...full, 0x12, 0x10, 0x00, 0x00, 0x00]));
    expect(events).toEqual([
      { kind: 'garbage', byte: 0x35 },
      ...full.map((byte) => ({ kind: 'garbage', byte })),
      { kind: 'realtime-status', byte: 0x12 },
      { kind: 'asb', bytes: [0x10, 0x00, 0x00, 0x00] },
    ]);
  });

  it('forgets a half-read reply on reset', () => {
    const parser = new InboundParser();
    expect(parser.push(Uint8Array.of(0x5f, 0x41))).toEqual([]);
    parser.reset();
    expect(parser.push(Uint8Array.of(0x00, 0x10, 0x00))).toEqual([{ kind: 'answer', byte: 0x00 }]);
    parser.reset();
    expect(parser.push(Uint8Array.of(0x00, 0x12))).toEqual([
      { kind: 'answer', byte: 0x00 },
      { kind: 'realtime-status', byte: 0x12 },
    ]);
  });

  it('parses random streams of replies the same under random splits', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = random(seed);
      const bytes: number[] = [];
      const expected: InboundEvent[] = [];
      // Flow control may interleave with any multi-byte reply: emitted where it arrives.
      const flow = (): void => {
        if (rand(4) !== 0) return;
        const xon = rand(2) === 0;
        bytes.push(xon ? 0x11 : 0x13);
        expected.push({ kind: xon ? 'xon' : 'xoff' });
      };
      for (let n = rand(30); n > 0; n--) {
        switch (rand(7)) {
          case 0: {
            const frame = [0x10 | (rand(256) & 0x6c), rand(256) & 0x6f, rand(256) & 0x6f, rand(256) & 0x6f];
            for (const [i, b] of frame.entries()) {
              if (i > 0) flow();
              bytes.push(b);
            }
            expected.push({ kind: 'asb', bytes: frame as [number, number, number, number] });
            break;
          }
          case 1: {
            const b = 0x12 | (rand(256) & 0x6c);
            bytes.push(b);
            expected.push({ kind: 'realtime-status', byte: b });
            break;
          }
          case 2: {
            const b = rand(256) & 0x6f;
            bytes.push(b);
            expected.push({ kind: 'answer', byte: b });
            break;
          }
          case 3: {
            const header = [0x35, 0x37, 0x3b, 0x3d, 0x5f][rand(5)] ?? 0x5f;
            const data = Array.from({ length: rand(40) }, () => 0x20 + rand(0x5f));
            if (header === 0x37 && data[0] === 0x22) data[0] = 0x21; // would be a print confirmation
            bytes.push(header);
            for (const b of data) {
              flow();
              bytes.push(b);
            }
            flow();
            bytes.push(0x00);
            expected.push({ kind: 'block', header, data: Uint8Array.from(data) });
            break;
          }
          case 4: {
            const token = Array.from({ length: 4 }, () => 0x20 + rand(0x5f));
            bytes.push(0x37, 0x22, ...token, 0x00);
            expected.push({ kind: 'print-confirmed', token: String.fromCharCode(...token) });
            break;
          }
          case 5:
            flow();
            break;
          default: {
            const b = 0x80 + rand(0x80);
            bytes.push(b);
            expected.push({ kind: 'garbage', byte: b });
          }
        }
      }
      expect(parseSplit(bytes, randomCuts(rand, bytes.length)), `seed ${seed}`).toEqual(expected);
    }
  });

  it('never throws on arbitrary bytes and does not depend on how they are split', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = random(seed * 7919);
      const bytes = Array.from({ length: rand(2000) }, () => rand(256));
      const whole = parseSplit(bytes, []);
      expect(parseSplit(bytes, randomCuts(rand, bytes.length)), `seed ${seed}`).toEqual(whole);
    }
  });

  // fast-check properties: shrunk counterexamples, and split points chosen adversarially.
  const cutsOf = (length: number) =>
    fc.uniqueArray(fc.nat({ max: length }), { maxLength: 40 }).map((c) => c.sort((a, b) => a - b));
  const noise = fc.uint8Array({ maxLength: 3000 }).map((b) => [...b]);
  /** How many stream bytes an event stands for. */
  const size = (e: InboundEvent): number => {
    switch (e.kind) {
      case 'asb':
        return 4;
      case 'print-confirmed':
        return 7; // 37 22 t1 t2 t3 t4 00
      case 'block':
        return e.data.length + 2; // header ... NUL
      default:
        return 1;
    }
  };
  // Four NULs end any half-read reply (a block at its first, an ASB frame by the fourth).
  const FLUSH = [0x00, 0x00, 0x00, 0x00];

  it('loses no byte: every byte read is in exactly one event once four NULs followed (fast-check)', () => {
    fc.assert(
      fc.property(
        noise.chain((bytes) => fc.tuple(fc.constant([...bytes, ...FLUSH]), cutsOf(bytes.length + 4))),
        ([bytes, cuts]) => {
          const events = parseSplit(bytes, cuts);
          expect(events.reduce((n, e) => n + size(e), 0)).toBe(bytes.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is back in step after any noise and four NULs, however the stream is cut (fast-check)', () => {
    fc.assert(
      fc.property(
        noise.chain((prefix) => {
          const bytes = [...prefix, ...FLUSH, ...mixed];
          return fc.tuple(fc.constant(bytes), cutsOf(bytes.length));
        }),
        ([bytes, cuts]) => {
          const events = parseSplit(bytes, cuts);
          expect(events.slice(events.length - mixedEvents.length)).toEqual(mixedEvents);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps up with megabytes of the worst input, block headers whose NUL never comes', () => {
    const bytes = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 1000 === 0 ? 0x5f : 0x41;
    const parser = new InboundParser();
    let n = 0;
    for (let off = 0; off < bytes.length; off += 4096) {
      for (const e of parser.push(bytes.subarray(off, off + 4096))) n += size(e);
    }
    for (const e of parser.push(Uint8Array.from(FLUSH))) n += size(e);
    expect(n).toBe(bytes.length + FLUSH.length);
  });
});
