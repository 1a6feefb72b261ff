// Slow hashes (scrypt for enrolment codes) run on the libuv pool one at a time, so that the
// relay's WAL fsyncs, which wait for the same pool, always find a thread. The real scrypt runs;
// the wrapper only counts how many are in flight at once.
import type * as Crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

const inFlight = { now: 0, max: 0 };
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof Crypto>();
  const scrypt = (...args: unknown[]) => {
    const done = args.pop() as (err: Error | null, key: Buffer) => void;
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    (crypto.scrypt as (...a: unknown[]) => void)(...args, (err: Error | null, key: Buffer) => {
      inFlight.now--;
      done(err, key);
    });
  };
  return { ...crypto, default: { ...crypto, scrypt }, scrypt };
});

const { hashSlow, slowHashMatches } = await import('../relay/credentials.js');

describe('slow hashes', () => {
  it('run one at a time however many are asked for at once, and each still answers', async () => {
    const stored = await hashSlow('ABCDEFGH');
    inFlight.max = 0;
    const results = await Promise.all([
      slowHashMatches('ABCDEFGH', stored),
      slowHashMatches('WRONG123', stored),
      slowHashMatches('ABCDEFGH', stored),
      hashSlow('another'),
      slowHashMatches('WRONG456', stored),
    ]);
    expect(results.slice(0, 3)).toEqual([true, false, true]);
    expect(results[4]).toBe(false);
    expect(inFlight.max).toBe(1);
  });
});
