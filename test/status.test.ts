import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAsb, decodeRealtimeStatus, type StatusPatch } from '../agent/printer/status-decoder.js';
import { type StatusChange, StatusTracker } from '../agent/printer/status-tracker.js';
import { isReady, notReadyReasons } from '../protocol/status.js';

const SETTLE_MS = 50;
const allClear = decodeAsb([0x10, 0x00, 0x00, 0x00]);

describe('decodeRealtimeStatus', () => {
  it('decodes the typical paper-out answers to paper out and offline', () => {
    const n1 = decodeRealtimeStatus(1, 0x1a);
    const n2 = decodeRealtimeStatus(2, 0x32);
    const n4 = decodeRealtimeStatus(4, 0x7e);
    expect(n1).toEqual({ drawerPin3High: false, online: false });
    expect(n2).toEqual({ coverOpen: false, paper: 'out' });
    expect(n4).toEqual({ paper: 'out' });
  });

  it('decodes all-clear answers for every request', () => {
    expect(decodeRealtimeStatus(1, 0x12)).toEqual({ drawerPin3High: false, online: true });
    // n=2 without the paper-end stop bit says nothing about the paper level.
    expect(decodeRealtimeStatus(2, 0x12)).toEqual({ coverOpen: false });
    expect(decodeRealtimeStatus(3, 0x12)).toEqual({
      mechanicalError: false,
      cutterError: false,
      unrecoverableError: false,
      overheat: false,
    });
    expect(decodeRealtimeStatus(4, 0x12)).toEqual({ paper: 'ok' });
  });

  it('decodes near end, cover open, drawer and each error bit', () => {
    expect(decodeRealtimeStatus(4, 0x12 | 0x0c)).toEqual({ paper: 'near-end' });
    expect(decodeRealtimeStatus(2, 0x12 | 0x04 | 0x40)).toEqual({ coverOpen: true });
    expect(decodeRealtimeStatus(1, 0x12 | 0x04)).toEqual({ drawerPin3High: true, online: true });
    expect(decodeRealtimeStatus(3, 0x12 | 0x04)).toMatchObject({ mechanicalError: true, cutterError: false });
    expect(decodeRealtimeStatus(3, 0x12 | 0x08)).toMatchObject({ cutterError: true, mechanicalError: false });
    expect(decodeRealtimeStatus(3, 0x12 | 0x20)).toMatchObject({ unrecoverableError: true, overheat: false });
    expect(decodeRealtimeStatus(3, 0x12 | 0x40)).toMatchObject({ overheat: true, unrecoverableError: false });
  });

  it('rejects bytes that are not DLE EOT answers and unknown requests', () => {
    expect(() => decodeRealtimeStatus(1, 0x10)).toThrow(
      'DLE EOT 1 answer 0x10 is not a real-time status byte',
    );
    expect(() => decodeRealtimeStatus(2, 300)).toThrow('answer 300 is not');
    expect(() => decodeRealtimeStatus(5 as 1, 0x12)).toThrow('DLE EOT n must be 1, 2, 3 or 4, got 5');
  });
});

describe('decodeAsb', () => {
  it('decodes the all-clear frame', () => {
    expect(allClear).toEqual({
      drawerPin3High: false,
      online: true,
      coverOpen: false,
      mechanicalError: false,
      cutterError: false,
      unrecoverableError: false,
      overheat: false,
      paper: 'ok',
    });
  });

  it('decodes cover open, errors and paper', () => {
    expect(decodeAsb([0x10 | 0x20 | 0x08, 0x00, 0x00, 0x00])).toMatchObject({
      coverOpen: true,
      online: false,
    });
    expect(decodeAsb([0x14, 0x04, 0x03, 0x00])).toMatchObject({
      drawerPin3High: true,
      mechanicalError: true,
      paper: 'near-end',
    });
    expect(decodeAsb([0x18, 0x08 | 0x20 | 0x40, 0x0c, 0x00])).toMatchObject({
      cutterError: true,
      unrecoverableError: true,
      overheat: true,
      paper: 'out',
    });
  });

  it('rejects frames of the wrong length or form', () => {
    expect(() => decodeAsb([0x10, 0x00, 0x00])).toThrow('ASB frame [0x10 0x00 0x00] is not 4 bytes');
    expect(() => decodeAsb([0x12, 0x00, 0x00, 0x00])).toThrow('ASB frame [0x12 0x00 0x00 0x00]');
    expect(() => decodeAsb([0x10, 0x10, 0x00, 0x00])).toThrow('is not 4 bytes of the form');
  });
});

describe('StatusTracker', () => {
  const trackers: StatusTracker[] = [];
  const tracker = (opts: ConstructorParameters<typeof StatusTracker>[0] = {}): StatusTracker => {
    const t = new StatusTracker({ settleMs: SETTLE_MS, ...opts });
    trackers.push(t);
    return t;
  };
  afterEach(() => {
    for (const t of trackers.splice(0)) t.dispose();
  });
  const nextChange = async (t: StatusTracker): Promise<StatusChange> => {
    const [change] = (await once(t, 'change')) as [StatusChange];
    return change;
  };
  /** A tracker that is connected with an all-clear printer, published. */
  const readyTracker = async (opts: ConstructorParameters<typeof StatusTracker>[0] = {}) => {
    const t = tracker(opts);
    t.setConnected(true);
    await nextChange(t);
    t.apply(allClear, 'asb');
    await nextChange(t);
    expect(isReady(t.status)).toBe(true);
    return t;
  };

  it('starts disconnected with nothing known', () => {
    const { updatedAt, ...rest } = tracker().status;
    expect(rest).toEqual({
      connected: false,
      online: false,
      paper: 'unknown',
      coverOpen: false,
      cutterError: false,
      mechanicalError: false,
      unrecoverableError: false,
      overheat: false,
      drawerOpen: null,
      source: 'none',
    });
    expect(Number.isNaN(Date.parse(updatedAt))).toBe(false);
  });

  it('publishes the fields of one report together, after they held for settleMs', async () => {
    const t = tracker();
    t.setConnected(true);
    expect(t.status.connected).toBe(false); // not yet settled
    expect((await nextChange(t)).changed).toEqual(['connected']);
    const started = performance.now();
    t.apply(allClear, 'asb');
    const change = await nextChange(t);
    // Timers may fire up to a millisecond early against performance.now().
    expect(performance.now() - started).toBeGreaterThanOrEqual(SETTLE_MS - 1);
    expect(change.changed).toEqual(['online', 'paper', 'drawerOpen']);
    expect(change.previous).toMatchObject({ connected: true, online: false, paper: 'unknown' });
    expect(change.status).toMatchObject({
      connected: true,
      online: true,
      paper: 'ok',
      drawerOpen: false,
      source: 'asb',
    });
    expect(t.status).toEqual(change.status);
  });

  it('merges the typical paper-out answers into paper out and not ready', async () => {
    const t = await readyTracker();
    // One poll round, merged in request order so that n=4 has the last word on paper.
    const round: StatusPatch = {
      ...decodeRealtimeStatus(1, 0x1a),
      ...decodeRealtimeStatus(2, 0x32),
      ...decodeRealtimeStatus(3, 0x12),
      ...decodeRealtimeStatus(4, 0x7e),
    };
    t.apply(round, 'dle-eot');
    const change = await nextChange(t);
    expect(change.changed).toEqual(['online', 'paper']);
    expect(change.status).toMatchObject({ online: false, paper: 'out', source: 'dle-eot' });
    expect(notReadyReasons(change.status)).toEqual(['paper-out']);
  });

  it('never publishes a change that reverts within the settle window', async () => {
    const t = await readyTracker();
    const changes: StatusChange[] = [];
    t.on('change', (c) => changes.push(c));
    t.apply(decodeAsb([0x38, 0x00, 0x00, 0x00]), 'asb'); // cover open
    t.apply(allClear, 'asb'); // closed again at once
    // A later change settles after the reverted one would have: its event comes first and alone.
    t.apply(decodeAsb([0x10, 0x00, 0x03, 0x00]), 'asb');
    await nextChange(t);
    expect(changes.map((c) => c.changed)).toEqual([['paper']]);
    expect(t.status).toMatchObject({ coverOpen: false, online: true, paper: 'near-end' });
  });

  it('publishes a held change once, even when reported again while settling', async () => {
    const t = await readyTracker();
    const changes: StatusChange[] = [];
    t.on('change', (c) => changes.push(c));
    const coverOpen = decodeAsb([0x38, 0x00, 0x00, 0x00]);
    t.apply(coverOpen, 'asb');
    // Repeating the same value must not restart its settle window (a fast poll would starve it).
    const change = await new Promise<StatusChange>((resolve, reject) => {
      let repeats = 0;
      const timer = setInterval(() => {
        if (++repeats > 20) {
          clearInterval(timer);
          reject(new Error('re-reporting the same value kept it from being published'));
        }
        t.apply(coverOpen, 'asb');
      }, SETTLE_MS / 5);
      t.once('change', (c) => {
        clearInterval(timer);
        resolve(c);
      });
    });
    expect(change.changed).toEqual(['online', 'coverOpen']);
    expect(notReadyReasons(change.status)).toEqual(['cover-open']);
    t.apply(coverOpen, 'asb'); // no change: must not publish anything
    t.apply(decodeRealtimeStatus(4, 0x1e), 'dle-eot');
    await nextChange(t);
    expect(changes.map((c) => c.changed)).toEqual([['online', 'coverOpen'], ['paper']]);
  });

  it('publishes only the latest value when a field changes again before settling', async () => {
    const t = await readyTracker();
    t.apply(decodeRealtimeStatus(4, 0x1e), 'dle-eot'); // near end
    t.apply(decodeRealtimeStatus(4, 0x7e), 'dle-eot'); // out
    const change = await nextChange(t);
    expect(change.changed).toEqual(['paper']);
    expect(change.previous.paper).toBe('ok');
    expect(change.status.paper).toBe('out');
  });

  it('publishes a disconnect at once and keeps the rest of the last known status', async () => {
    const t = await readyTracker();
    t.apply(decodeRealtimeStatus(4, 0x1e), 'dle-eot');
    const changes: StatusChange[] = [];
    t.on('change', (c) => changes.push(c));
    t.setConnected(false);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.changed).toEqual(['connected', 'online']);
    expect(t.status).toMatchObject({ connected: false, online: false, paper: 'ok' });
    expect(notReadyReasons(t.status)).toEqual(['disconnected']);
    // The near-end report from before the disconnect was real and still settles.
    await nextChange(t);
    expect(t.status).toMatchObject({ connected: false, online: false, paper: 'near-end' });
    t.setConnected(false);
    expect(changes).toHaveLength(2);
  });

  it('keeps a reconnected printer offline until it reports online', async () => {
    const t = await readyTracker();
    t.setConnected(false);
    t.setConnected(true);
    const change = await nextChange(t);
    expect(change.changed).toEqual(['connected']);
    expect(change.status.online).toBe(false);
    t.apply(decodeRealtimeStatus(1, 0x12), 'dle-eot');
    expect((await nextChange(t)).changed).toEqual(['online']);
    expect(isReady(t.status)).toBe(true);
  });

  it('publishes nothing when the connection flaps within the settle window', async () => {
    const t = tracker();
    const changes: StatusChange[] = [];
    t.on('change', (c) => changes.push(c));
    t.setConnected(true);
    t.setConnected(false);
    t.apply({ paper: 'near-end' }, 'asb');
    await nextChange(t);
    expect(changes.map((c) => c.changed)).toEqual([['paper']]);
    expect(t.status).toMatchObject({ connected: false, online: false });
  });

  it('maps drawer pin 3 per drawer', async () => {
    const high = decodeRealtimeStatus(1, 0x16);
    const opensHigh = tracker({ drawerPin3HighMeans: 'open' });
    const closesHigh = tracker({ drawerPin3HighMeans: 'closed' });
    opensHigh.apply(high, 'dle-eot');
    closesHigh.apply(high, 'dle-eot');
    const [a, b] = await Promise.all([nextChange(opensHigh), nextChange(closesHigh)]);
    expect(a.status.drawerOpen).toBe(true);
    expect(b.status.drawerOpen).toBe(false);
  });

  it('updates updatedAt and source on every report, without an event when nothing changed', async () => {
    const t = await readyTracker();
    const changes: StatusChange[] = [];
    t.on('change', (c) => changes.push(c));
    const before = t.status;
    t.apply(decodeRealtimeStatus(1, 0x12), 'dle-eot');
    expect(t.status.source).toBe('dle-eot');
    expect(Date.parse(t.status.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    t.apply({ paper: 'near-end' }, 'dle-eot');
    await nextChange(t);
    expect(changes.map((c) => c.changed)).toEqual([['paper']]);
  });

  it('publishes nothing after dispose', async () => {
    const disposed = tracker();
    const changes: StatusChange[] = [];
    disposed.on('change', (c) => changes.push(c));
    disposed.apply(allClear, 'asb');
    disposed.dispose();
    disposed.apply(allClear, 'asb');
    // A tracker started later settles later: once it has published, the disposed one would have too.
    const witness = tracker();
    witness.apply(allClear, 'asb');
    await nextChange(witness);
    expect(changes).toEqual([]);
  });

  it('rejects bad options', () => {
    expect(() => new StatusTracker({ settleMs: -1 })).toThrow(
      'settleMs must be a number of milliseconds >= 0, got -1',
    );
    expect(() => new StatusTracker({ drawerPin3HighMeans: 'ajar' as 'open' })).toThrow(
      "drawerPin3HighMeans must be 'open' or 'closed', got ajar",
    );
  });
});
