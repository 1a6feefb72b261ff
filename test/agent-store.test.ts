// The agent's SQLite store on real files in a temp dir: idempotent job commits, cancels for
// jobs not seen yet, the outbox, what a restart does to a job that was printing, expiry and
// held jobs, and forgetting old jobs after 7 days (with a clock the test moves).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentStore, type Route } from '../agent/store/agent-store.js';
import type { AgentEvent, JobMessage } from '../protocol/messages.js';
import { unknownPrinterStatus } from '../protocol/status.js';

const DAY = 24 * 3600_000;
const dirs: string[] = [];
const stores: AgentStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-agent-store-'));
  dirs.push(dir);
  return dir;
}

/** A store on `dir` with a clock the test controls. */
function open(dir: string, clock = { now: Date.parse('2025-01-10T12:00:00Z') }) {
  const store = AgentStore.open(dir, { now: () => clock.now });
  stores.push(store);
  return { store, clock };
}

function reopen(dir: string, store: AgentStore, clock?: { now: number }) {
  store.close();
  return open(dir, clock);
}

function job(jobId: string, extra: Partial<JobMessage> = {}): JobMessage {
  return {
    v: 1,
    jobId,
    printer: 'kitchen',
    ticket: { blocks: [{ type: 'text', text: `宫保鸡丁 ${jobId}` }, { type: 'cut' }] },
    copies: 1,
    onExpiry: 'expire',
    createdAt: '2025-01-10T11:59:00Z',
    ...extra,
  };
}

function stored(store: AgentStore, jobId: string) {
  const found = store.getJob(jobId);
  if (!found) throw new Error(`job ${jobId} is not in the store`);
  return found;
}

const toKitchen = (): Route => ({ printerId: 'k1' });
type Summary = { type: string; jobId?: string; state?: string; detail?: string };
const summary = (events: AgentEvent[]): Summary[] =>
  events.map((e) => {
    const s: Summary = { type: e.type };
    if ('jobId' in e) s.jobId = e.jobId;
    if (e.type === 'job-state') {
      s.state = e.state;
      if (e.detail !== undefined) s.detail = e.detail;
    }
    return s;
  });

describe('agent store', () => {
  it('finds the waiting jobs whose printer is no longer configured', () => {
    const { store } = open(tempDir());
    store.receiveJob(job('on-k1'), toKitchen);
    store.receiveJob(job('on-old'), () => ({ printerId: 'old' }));
    store.receiveJob(job('unrouted', { printer: 'bar' }), () => ({ printerId: 'old' }));
    expect(store.waitingElsewhere(['k1']).map((j) => j.jobId)).toEqual(['on-old', 'unrouted']);
    expect(store.waitingElsewhere(['k1', 'old'])).toEqual([]);
  });

  it('commits a job once; a duplicate only gets job-received again', () => {
    const { store } = open(tempDir());
    let routed = 0;
    const route = (): Route => {
      routed++;
      return { printerId: 'k1' };
    };
    const first = store.receiveJob(job('j1', { copies: 2 }), route);
    const again = store.receiveJob(job('j1', { copies: 5 }), route);
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(routed).toBe(1);
    expect(store.getJob('j1')).toMatchObject({
      state: 'queued',
      printerId: 'k1',
      copies: 2,
      source: 'relay',
    });
    expect(store.listJobs()).toHaveLength(1);
    expect(summary(store.pending(10))).toEqual([
      { type: 'job-received', jobId: 'j1' },
      { type: 'job-received', jobId: 'j1' },
    ]);
  });

  it('fails a job whose printer ref matches nothing, with the reason for the relay', () => {
    const { store } = open(tempDir());
    store.receiveJob(job('j1', { printer: 'bar' }), () => ({ failed: 'no printer with id or role bar' }));
    expect(store.getJob('j1')).toMatchObject({ state: 'failed', printerId: null });
    expect(summary(store.pending(10))).toEqual([
      { type: 'job-received', jobId: 'j1' },
      { type: 'job-state', jobId: 'j1', state: 'failed', detail: 'no printer with id or role bar' },
    ]);
  });

  it('remembers a cancel for a job it has not seen, and never queues that job', () => {
    const { store } = open(tempDir());
    expect(store.cancel('j1')).toBe('remembered');
    store.receiveJob(job('j1'), toKitchen);
    expect(store.getJob('j1')?.state).toBe('cancelled');
    expect(store.nextQueued('k1')).toBeUndefined();
    // The remembered cancel is used up: another job is not affected by it.
    store.receiveJob(job('j2'), toKitchen);
    expect(store.getJob('j2')?.state).toBe('queued');
    expect(summary(store.pending(10))).toEqual([
      { type: 'job-received', jobId: 'j1' },
      { type: 'job-state', jobId: 'j1', state: 'cancelled', detail: 'cancelled before it reached the store' },
      { type: 'job-received', jobId: 'j2' },
    ]);
  });

  it('cancels a queued job, leaves a started one alone, and remembers the cancel across a restart', () => {
    const dir = tempDir();
    const { store } = open(dir);
    store.receiveJob(job('queued'), toKitchen);
    store.receiveJob(job('started'), toKitchen);
    expect(store.startJob('started', 'k1')?.state).toBe('printing');
    expect(store.cancel('queued')).toBe('cancelled');
    expect(store.cancel('started')).toBe('started');
    expect(store.cancel('later')).toBe('remembered');
    expect(store.getJob('started')?.state).toBe('printing');
    const { store: again } = reopen(dir, store);
    again.receiveJob(job('later'), toKitchen);
    expect(again.getJob('later')?.state).toBe('cancelled');
  });

  it('hands out the outbox oldest first and deletes what the relay acknowledged', () => {
    const { store } = open(tempDir());
    const ids = ['a', 'b', 'c', 'd'].map((jobId) => store.queueEvent({ type: 'job-received', jobId }).id);
    expect(store.pending(2).map((e) => e.id)).toEqual(ids.slice(0, 2));
    store.acknowledge([ids[1] as string, 'not-an-outbox-id']);
    expect(store.pending(10).map((e) => e.id)).toEqual([ids[0], ids[2], ids[3]]);
    store.acknowledge([ids[0] as string, ids[2] as string, ids[3] as string]);
    expect(store.outboxDepth()).toBe(0);
  });

  it('keeps only the newest unsent health report and hello', () => {
    const { store } = open(tempDir());
    const health = (heldJobs: number) =>
      store.queueEvent({
        type: 'health',
        agentVersion: 't',
        uptimeSeconds: 1,
        memoryRssBytes: 1,
        heldJobs,
        printers: [],
      });
    const hello = (jobIds: string[]) =>
      store.queueEvent({ type: 'hello', agentVersion: 't', instanceId: 'i', printers: [], jobIds });
    health(1);
    hello([]);
    store.queueEvent({ type: 'job-received', jobId: 'j1' });
    const newestHello = hello(['j1']);
    const newestHealth = health(2);
    expect(store.pending(10)).toEqual([
      expect.objectContaining({ type: 'job-received' }),
      newestHello,
      newestHealth,
    ]);
  });

  it("keeps only each printer's newest unsent status", () => {
    const { store } = open(tempDir());
    const status = (printerId: string, paper: 'ok' | 'near-end' | 'out') =>
      store.queueEvent({ type: 'printer-status', printerId, status: { ...unknownPrinterStatus(), paper } });
    status('kitchen', 'out');
    status('counter', 'near-end');
    store.queueEvent({ type: 'job-received', jobId: 'j1' });
    // A printer flapping for hours while the store is offline leaves one event, not thousands.
    for (let i = 0; i < 50; i++) status('kitchen', i % 2 === 0 ? 'ok' : 'out');
    const newestKitchen = status('kitchen', 'ok');
    expect(store.pending(100)).toEqual([
      expect.objectContaining({ type: 'printer-status', printerId: 'counter' }),
      expect.objectContaining({ type: 'job-received' }),
      newestKitchen,
    ]);
  });

  it('keeps the outbox, the jobs and the instance id across a restart', () => {
    const dir = tempDir();
    const { store } = open(dir);
    store.receiveJob(job('j1'), toKitchen);
    const { instanceId } = store;
    const { store: again } = reopen(dir, store);
    expect(again.instanceId).toBe(instanceId);
    expect(summary(again.pending(10))).toEqual([{ type: 'job-received', jobId: 'j1' }]);
    expect(again.nextQueued('k1')?.jobId).toBe('j1');
    // A new database is a new instance: the relay then knows the old jobs are gone.
    expect(open(tempDir()).store.instanceId).not.toBe(instanceId);
  });

  it('after a restart, reports a job that was printing as uncertain and leaves queued jobs queued', () => {
    const dir = tempDir();
    const { store } = open(dir);
    store.receiveJob(job('mid', { copies: 3 }), toKitchen);
    store.receiveJob(job('next'), toKitchen);
    store.startJob('mid', 'k1');
    store.copyPrinted('mid', 10);
    store.setWaiting('mid', 'paper-out');
    store.acknowledge(store.pending(100).map((e) => e.id));
    const { store: again } = reopen(dir, store);
    const { uncertain, reprints } = again.recoverInterrupted(false);
    expect(uncertain.map((j) => j.jobId)).toEqual(['mid']);
    expect(reprints).toEqual([]);
    expect(again.getJob('mid')).toMatchObject({ state: 'uncertain', copiesPrinted: 1 });
    expect(again.getJob('next')?.state).toBe('queued');
    expect(summary(again.pending(10))).toEqual([
      {
        type: 'job-state',
        jobId: 'mid',
        state: 'uncertain',
        detail: 'the agent stopped while printing copy 2 of 3',
      },
    ]);
    // Once only: a second start finds nothing to recover.
    expect(again.recoverInterrupted(false).uncertain).toEqual([]);
  });

  it('with reprint-marked, queues the remaining copies as a local job with the REPRINT mark', () => {
    const dir = tempDir();
    const { store } = open(dir);
    store.receiveJob(job('mid', { copies: 3, orderRef: { source: 'pos', orderNo: 'A-7' } }), toKitchen);
    store.startJob('mid', 'k1');
    store.copyPrinted('mid', 10);
    store.acknowledge(store.pending(100).map((e) => e.id));
    const { store: again } = reopen(dir, store);
    const { reprints } = again.recoverInterrupted(true);
    expect(reprints).toHaveLength(1);
    const copy = reprints[0];
    expect(copy).toMatchObject({
      source: 'local',
      state: 'queued',
      printerId: 'k1',
      copies: 2,
      reprintOf: 'mid',
      reprintMark: 1,
    });
    expect(copy?.jobId).toMatch(/^local-/);
    expect(copy?.message.ticket).toEqual(job('mid').ticket);
    expect(copy?.message.orderRef).toEqual({ source: 'pos', orderNo: 'A-7' });
    const events = summary(again.pending(10));
    // Local jobs are never reported: the only event is the original's uncertain.
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toBe(
      `the agent stopped while printing copy 2 of 3; reprinting 2 copies with a REPRINT mark as job ${copy?.jobId}`,
    );
    // The next reprint of the same job carries the next number.
    expect(again.addReprint(stored(again, 'mid'), { copies: 1, printerId: 'k1' }).reprintMark).toBe(2);
  });

  it('numbers reprints made here after those the relay sent, and prints a relay reprint as it is', () => {
    const { store } = open(tempDir());
    store.receiveJob(job('j1'), toKitchen);
    store.receiveJob(job('r1', { reprintOf: 'j1', reprintCount: 1 }), toKitchen);
    // The relay's reprint already carries its mark: a copy of it gets no second one.
    expect(store.addReprint(stored(store, 'r1'), { copies: 1, printerId: 'k1' }).reprintMark).toBe(0);
    expect(store.addReprint(stored(store, 'j1'), { copies: 1, printerId: 'k1' }).reprintMark).toBe(2);
  });

  it('never starts a job past its expiry: expired, or held for a person who may print it', () => {
    const { store, clock } = open(tempDir());
    const soon = new Date(clock.now + 60_000).toISOString();
    store.receiveJob(job('exp', { expiresAt: soon }), toKitchen);
    store.receiveJob(job('hold', { expiresAt: soon, onExpiry: 'hold' }), toKitchen);
    store.receiveJob(job('fresh'), toKitchen);
    expect(store.nextExpiry()).toBe(clock.now + 60_000);
    store.acknowledge(store.pending(100).map((e) => e.id));
    clock.now += 60_000;
    expect(store.startJob('exp', 'k1')).toBeNull();
    expect(store.expireDue().map((j) => [j.jobId, j.state])).toEqual([['hold', 'held']]);
    expect(store.getJob('exp')?.state).toBe('expired');
    expect(store.nextExpiry()).toBeNull();
    expect(store.heldCount()).toBe(1);
    expect(summary(store.pending(10)).map((e) => [e.jobId, e.state])).toEqual([
      ['exp', 'expired'],
      ['hold', 'held'],
    ]);
    expect(store.decideHeld('exp', 'print')).toBeNull();
    expect(store.decideHeld('hold', 'print')?.state).toBe('queued');
    expect(store.startJob('hold', 'k1')?.state).toBe('printing');
  });

  it('counts printed jobs and paper per printer, and prints a job when its last copy is confirmed', () => {
    const dir = tempDir();
    const { store } = open(dir);
    store.receiveJob(job('j1', { copies: 2 }), toKitchen);
    store.startJob('j1', 'k1');
    expect(store.copyPrinted('j1', 30).state).toBe('printing');
    expect(store.copyPrinted('j1', 30)).toMatchObject({ state: 'printed', copiesPrinted: 2 });
    const { store: again } = reopen(dir, store);
    expect(again.counters('k1')).toEqual({ printedJobs: 1, paperUsedMm: 60 });
    expect(again.counters('other')).toEqual({ printedJobs: 0, paperUsedMm: 0 });
    expect(summary(again.pending(10)).map((e) => e.state ?? e.type)).toEqual([
      'job-received',
      'printing',
      'printed',
    ]);
  });

  it('moves jobs not started to a backup printer, never the one printing', () => {
    const { store } = open(tempDir());
    for (const id of ['a', 'b', 'c']) store.receiveJob(job(id), toKitchen);
    store.startJob('a', 'k1');
    expect(store.moveQueued('k1', 'k2', 'moved to backup printer k2')).toEqual(['b', 'c']);
    expect(store.getJob('a')?.printerId).toBe('k1');
    expect(store.nextQueued('k2')).toMatchObject({ jobId: 'b', detail: 'moved to backup printer k2' });
    expect(store.startJob('b', 'k1')).toBeNull();
  });

  it('remembers job ids and cancels for 7 days after the job ended, then forgets them', () => {
    const dir = tempDir();
    const { store, clock } = open(dir);
    store.receiveJob(job('done'), toKitchen);
    store.startJob('done', 'k1');
    store.copyPrinted('done', 5);
    store.receiveJob(job('waiting'), toKitchen);
    store.cancel('never-came');
    const ended = clock.now;

    clock.now = ended + 7 * DAY - 1;
    expect(store.prune()).toEqual({ jobs: 0, cancels: 0 });
    expect(store.receiveJob(job('done'), toKitchen).duplicate).toBe(true);

    clock.now = ended + 7 * DAY + 1;
    expect(store.prune()).toEqual({ jobs: 1, cancels: 1 });
    expect(store.getJob('done')).toBeUndefined();
    // A job still waiting is never forgotten, however old.
    expect(store.getJob('waiting')?.state).toBe('queued');
    store.receiveJob(job('never-came'), toKitchen);
    expect(store.getJob('never-came')?.state).toBe('queued');
  });
});
