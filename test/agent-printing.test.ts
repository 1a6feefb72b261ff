// The store agent with everything real: the relay (its HTTP API and MQTT broker), the agent
// connected to it with its SQLite store, and virtual printers on TCP. Jobs go in through
// POST /v1/jobs; what came out on paper is read from the virtual printers.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../agent/agent.js';
import type { AgentConfig, AgentPrinterConfig } from '../agent/config.js';
import { AgentRequestError } from '../agent/request-error.js';
import type { JobView } from '../protocol/job.js';
import { consoleLog, silentLog } from '../shared/log.js';
import {
  startVirtualPrinter,
  type VirtualPrinter,
  type VirtualPrinterOptions,
} from '../virtual-printer/virtual-printer.js';
import { startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';
import { fifoPrinter } from './support/fifo-printer.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface PrinterSpec extends Omit<AgentPrinterConfig, 'uri' | 'profile'> {
  vp?: Partial<VirtualPrinterOptions>;
  /** A printer other than a virtual one on TCP (then no virtual printer is started). */
  uri?: string;
}

interface Setup {
  relay: TestRelay;
  agent: Agent;
  vps: Map<string, VirtualPrinter>;
  /** Starts the agent again on the same database (after agent.close()). */
  restart(extra?: Partial<AgentConfig>): Promise<Agent>;
}

async function setup(printers: PrinterSpec[], extra: Partial<AgentConfig> = {}): Promise<Setup> {
  const relay = await startTestRelay();
  cleanups.push(() => relay.close());
  const creds = await relay.store('s001');
  const vps = new Map<string, VirtualPrinter>();
  for (const p of printers) {
    if (p.uri) continue;
    const vp = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', ...p.vp });
    cleanups.push(() => vp.close());
    vps.set(p.id, vp);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'printrelay-agent-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const config: AgentConfig = {
    storeId: 's001',
    relay: { url: relay.relay.urls.mqtt, password: creds.password, clientId: creds.clientId },
    dataDir,
    printers: printers.map(({ vp: _, uri, ...p }) => ({
      ...p,
      uri: uri ?? vps.get(p.id)?.uri ?? '',
      profile: 'epson-tm-t88',
    })),
    failover: { enabled: true, afterSeconds: 0.3 },
    localApi: { port: null },
    printerOptions: { pollIntervalMs: 100 },
    ...extra,
  };
  const start = async (more: Partial<AgentConfig> = {}) => {
    const agent = await startAgent({
      config: { ...config, ...more },
      // AGENT_TEST_LOG=1 shows what the agent logs, when a test needs explaining.
      log: process.env.AGENT_TEST_LOG ? consoleLog : silentLog,
      healthIntervalMs: 200,
      outboxResendMs: 500,
      reconnect: { minMs: 50, maxMs: 200 },
    });
    cleanups.push(() => agent.close());
    return agent;
  };
  const agent = await start();
  await waitFor(
    async () => (await relayJson<{ online: boolean }>(relay, '/v1/stores/s001')).online,
    'store online',
  );
  return { relay, agent, vps, restart: start };
}

async function relayJson<T>(
  relay: TestRelay,
  path: string,
  init?: Parameters<TestRelay['api']>[1],
): Promise<T> {
  const res = await relay.api(path, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A ticket whose first line is `marker`, so that its print-outs can be counted. */
function ticket(marker: string, extraLines = 0) {
  const lines = Array.from({ length: extraLines }, (_, i) => ({
    type: 'text',
    text: `麻婆豆腐 第${i + 1}行`,
  }));
  return {
    blocks: [
      { type: 'text', text: marker },
      { type: 'text', text: '宫保鸡丁 x1' },
      ...lines,
      { type: 'cut' },
    ],
  };
}

/** Posts a job with ticket(marker, lines) to the relay; its job id. */
async function postJob(
  relay: TestRelay,
  marker: string,
  { lines = 0, ...extra }: Record<string, unknown> & { lines?: number } = {},
): Promise<string> {
  const body = { storeId: 's001', printer: 'kitchen', ticket: ticket(marker, lines), ...extra };
  const created = await relayJson<{ jobId: string }>(relay, '/v1/jobs', {
    method: 'POST',
    json: body,
    headers: { 'idempotency-key': randomUUID() },
  });
  return created.jobId;
}

async function relayState(relay: TestRelay, jobId: string, state: JobView['state'], timeoutMs = 10_000) {
  let last: JobView | undefined;
  try {
    return await waitFor(
      async () => {
        last = await relayJson<JobView>(relay, `/v1/jobs/${jobId}`);
        return last.state === state ? last : null;
      },
      `job ${jobId} to be ${state} at the relay`,
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; it is ${last?.state}: ${JSON.stringify(last?.timeline)}`);
  }
}

function agentState(agent: Agent, jobId: string, state: string) {
  return waitFor(() => {
    const job = agent.getJob(jobId);
    return job?.state === state ? job : null;
  }, `job ${jobId} to be ${state} at the agent`);
}

/** How many print-outs start with `marker`. */
const printed = (vp: VirtualPrinter | undefined, marker: string): number =>
  (vp?.printedText() ?? '').split('\n').filter((l) => l.trim() === marker).length;

describe('store agent printing', () => {
  it('prints a job once per copy, and the relay follows it to printed', async () => {
    const { relay, agent, vps } = await setup([{ id: 'k1', roles: ['kitchen'] }]);
    const jobId = await postJob(relay, 'ORDER-COPIES', { copies: 2 });
    const done = await relayState(relay, jobId, 'printed');
    expect(done.printerId).toBe('k1');
    expect(done.timeline.map((t) => t.state)).toEqual([
      'accepted',
      'sent',
      'delivered',
      'printing',
      'printed',
    ]);
    expect(printed(vps.get('k1'), 'ORDER-COPIES')).toBe(2);
    expect(agent.getJob(jobId)).toMatchObject({
      state: 'printed',
      copies: 2,
      copiesPrinted: 2,
      source: 'relay',
    });
    const status = agent.view();
    expect(status.printers[0]).toMatchObject({ id: 'k1', ready: true, queueDepth: 0, printedJobs: 1 });
    expect(status.relay.connected).toBe(true);
    // The agent's hello, printer-status and health reports reach the relay.
    await waitFor(async () => {
      const store = await relayJson<{ printers: { printerId: string; ready: boolean; health: unknown }[] }>(
        relay,
        '/v1/stores/s001',
      );
      const k1 = store.printers.find((p) => p.printerId === 'k1');
      return k1?.ready && (k1.health as { printedJobs?: number } | null)?.printedJobs === 1;
    }, 'printer k1 ready with printedJobs 1 at the relay');
  });

  it('prints to a one-way printer (usblp FIFO) with status unknown, and the timeline says it could not confirm', async () => {
    const lp = fifoPrinter();
    cleanups.push(() => lp.close());
    const { relay, agent } = await setup([{ id: 'k1', roles: ['kitchen'], uri: lp.uri }]);
    const jobId = await postJob(relay, 'ORDER-ONE-WAY', { copies: 2 });
    const done = await relayState(relay, jobId, 'printed');
    expect(done.timeline.at(-1)).toMatchObject({
      state: 'printed',
      detail: '2 copies; sent to a printer that cannot confirm printing',
    });
    expect(agent.getJob(jobId)).toMatchObject({
      state: 'printed',
      detail: 'sent to a printer that cannot confirm printing',
    });
    expect(lp.received().toString('latin1').split('ORDER-ONE-WAY').length - 1).toBe(2);
    // Never 'ready', at the store and at the relay: its status cannot be read.
    expect(agent.view().printers[0]).toMatchObject({ ready: false, notReadyReasons: ['status-unknown'] });
    await waitFor(async () => {
      const store = await relayJson<{ printers: { printerId: string; ready: boolean; reasons: string[] }[] }>(
        relay,
        '/v1/stores/s001',
      );
      const k1 = store.printers.find((p) => p.printerId === 'k1');
      return k1?.ready === false && k1.reasons.join() === 'status-unknown';
    }, 'printer k1 status-unknown at the relay');
  });

  it('prints a burst of jobs on one printer once each, in the order they arrived', async () => {
    const { relay, agent, vps } = await setup([{ id: 'k1', roles: ['kitchen'] }]);
    // The first starts in the commit that receives it (idle printer); the rest queue behind it
    // and each starts in the commit that records the one before it as printed.
    const markers = Array.from({ length: 12 }, (_, i) => `BURST-${i + 1}`);
    const jobIds: string[] = [];
    for (const m of markers) jobIds.push(await postJob(relay, m));
    for (const id of jobIds) await relayState(relay, id, 'printed');
    const lines = (vps.get('k1')?.printedText() ?? '').split('\n').map((l) => l.trim());
    expect(lines.filter((l) => l.startsWith('BURST-'))).toEqual(markers);
    expect(jobIds.map((id) => agent.getJob(id)?.state)).toEqual(jobIds.map(() => 'printed'));
  });

  it('prints a job the relay delivers twice only once', async () => {
    const { relay, agent, vps } = await setup([{ id: 'k1', roles: ['kitchen'] }]);
    const jobId = await postJob(relay, 'TWICE');
    await relayState(relay, jobId, 'printed');
    const record = await relay.relay.store.getJob(jobId);
    if (!record) throw new Error(`job ${jobId} is not in the relay`);
    // The relay's own resend path, as after a lost PUBACK.
    await relay.relay.dispatcher.send(record);
    // Messages on down/jobs arrive in order: once the next job printed, the resend was handled.
    const next = await postJob(relay, 'NEXT');
    await relayState(relay, next, 'printed');
    expect(printed(vps.get('k1'), 'TWICE')).toBe(1);
    expect(agent.getJob(jobId)?.state).toBe('printed');
  });

  it('fails a job whose printer ref matches no printer (any more)', async () => {
    // The relay refuses a ref the store does not have; one it accepted can still meet an agent
    // whose printers changed since.
    const { relay, agent, vps, restart } = await setup([
      { id: 'k1', roles: ['kitchen'] },
      { id: 'b1', roles: ['bar'] },
    ]);
    await agent.close();
    const jobId = await postJob(relay, 'NOWHERE', { printer: 'bar' });
    const uri = vps.get('k1')?.uri ?? '';
    await restart({ printers: [{ id: 'k1', roles: ['kitchen'], uri, profile: 'epson-tm-t88' }] });
    const failed = await relayState(relay, jobId, 'failed');
    expect(failed.timeline.at(-1)?.detail).toBe('no printer with id or role bar');
  });

  it('never prints a job whose expiry passed while the printer was out of paper', async () => {
    const { relay, agent, vps } = await setup([
      { id: 'k1', roles: ['kitchen'], vp: { faults: ['paper-out'] } },
    ]);
    const jobId = await postJob(relay, 'TOO-LATE', { ttlSeconds: 1 });
    const expired = await relayState(relay, jobId, 'expired');
    // The agent had it (delivered) and decided: not the relay's own expiry of undelivered jobs.
    expect(expired.timeline.map((t) => t.state)).toEqual(['accepted', 'sent', 'delivered', 'expired']);
    expect(agent.getJob(jobId)?.state).toBe('expired');
    vps.get('k1')?.refill();
    const next = await postJob(relay, 'AFTER-REFILL');
    await relayState(relay, next, 'printed');
    expect(printed(vps.get('k1'), 'TOO-LATE')).toBe(0);
    expect(printed(vps.get('k1'), 'AFTER-REFILL')).toBe(1);
  });

  it('holds an expired job with onExpiry hold until a person decides to print it', async () => {
    const { relay, agent, vps } = await setup([
      { id: 'k1', roles: ['kitchen'], vp: { faults: ['paper-out'] } },
    ]);
    const jobId = await postJob(relay, 'HELD', { ttlSeconds: 1, onExpiry: 'hold' });
    await relayState(relay, jobId, 'held');
    expect(agent.view().heldJobs).toBe(1);
    expect(agent.listJobs({ state: 'held' }).map((j) => j.jobId)).toEqual([jobId]);
    vps.get('k1')?.refill();
    // Held means held: a ready printer does not print it by itself.
    const other = await postJob(relay, 'OTHER');
    await relayState(relay, other, 'printed');
    expect(printed(vps.get('k1'), 'HELD')).toBe(0);
    expect(agent.decide(jobId, 'print').state).toBe('queued');
    await relayState(relay, jobId, 'printed');
    expect(printed(vps.get('k1'), 'HELD')).toBe(1);
    expect(() => agent.decide(jobId, 'discard')).toThrow(AgentRequestError);
    expect(() => agent.decide('no-such-job', 'print')).toThrow(/no job no-such-job/);
  });

  it('discards a held job as cancelled', async () => {
    const { relay, agent } = await setup([{ id: 'k1', roles: ['kitchen'], vp: { faults: ['cover-open'] } }]);
    const jobId = await postJob(relay, 'DISCARD', { ttlSeconds: 1, onExpiry: 'hold' });
    await relayState(relay, jobId, 'held');
    agent.decide(jobId, 'discard');
    const cancelled = await relayState(relay, jobId, 'cancelled');
    expect(cancelled.timeline.at(-1)?.detail).toBe('discarded by a person at the store');
  });

  it('does not print a job cancelled through the relay before its turn', async () => {
    const { relay, agent, vps } = await setup([
      { id: 'k1', roles: ['kitchen'], vp: { faults: ['paper-out'] } },
    ]);
    const jobId = await postJob(relay, 'CANCEL-ME');
    await agentState(agent, jobId, 'queued');
    const res = await relay.api(`/v1/jobs/${jobId}/cancel`, { method: 'POST' });
    expect(res.status).toBe(202);
    await relayState(relay, jobId, 'cancelled');
    vps.get('k1')?.refill();
    const next = await postJob(relay, 'AFTER-CANCEL');
    await relayState(relay, next, 'printed');
    expect(printed(vps.get('k1'), 'CANCEL-ME')).toBe(0);
  });

  it('sends the jobs of a primary out of paper to its backup, marked with where they belong', async () => {
    const { relay, agent, vps } = await setup([
      {
        id: 'front',
        name: '收银台 Counter',
        roles: ['receipt'],
        backup: 'back',
        vp: { faults: ['paper-out'] },
      },
      { id: 'back', name: '后厨 Kitchen', roles: ['kitchen'] },
    ]);
    const jobId = await postJob(relay, 'FAILOVER', { printer: 'receipt' });
    const done = await relayState(relay, jobId, 'printed');
    expect(done.printerId).toBe('back');
    expect(done.timeline.find((t) => t.state === 'printing')?.detail).toMatch(
      /backup printer back: printer front not ready \(paper-out\)/,
    );
    expect(printed(vps.get('back'), 'FAILOVER')).toBe(1);
    expect(printed(vps.get('front'), 'FAILOVER')).toBe(0);
    expect(agent.getJob(jobId)?.printerRef).toBe('receipt');
    // The mark is on paper above the ticket, Chinese first (lines wrap on 80 mm: compare unspaced).
    const paper = (vps.get('back')?.printedText() ?? '').replace(/\s+/g, '');
    const mark =
      '【转单】收银台Counter的单→转至后厨Kitchen打印receiptticketfor收银台Counter,printedat后厨Kitchen';
    expect(paper).toContain(`${mark}FAILOVER`);
  });

  it('prints a job whose ticket its printer can only print differently, and says how in the timeline', async () => {
    const { relay, vps } = await setup([{ id: 'k1', roles: ['kitchen'] }]);
    const data = 'PICKUP-ORDER-A057-SHANGHAI-XUHUI'; // 774 dots at the narrowest bars; the paper has 576
    const jobId = await postJob(relay, 'TOO-WIDE', {
      ticket: {
        blocks: [
          { type: 'text', text: 'TOO-WIDE' },
          { type: 'barcode', symbology: 'CODE128', data },
        ],
      },
    });
    const done = await relayState(relay, jobId, 'printed');
    expect(done.timeline.find((t) => t.state === 'printing')?.detail).toBe(
      `/blocks/1: CODE128 "${data}" is 774 dots wide at the narrowest bars, the paper has 576: printed as text instead of bars`,
    );
    expect(vps.get('k1')?.printedText()).toContain(data);
  });

  it('keeps a job that started on the primary there, and moves the ones behind it', async () => {
    // The roll (30 lines) ends in the middle of the first ticket (40 lines): it has started,
    // so it stays and finishes on the next roll; the job behind it moves to the backup.
    const { relay, agent, vps } = await setup([
      { id: 'front', roles: ['receipt'], backup: 'back', vp: { paperLines: 30 } },
      { id: 'back', roles: ['kitchen'] },
    ]);
    const first = await postJob(relay, 'STARTED', { printer: 'receipt', lines: 40 });
    await agentState(agent, first, 'waiting');
    const second = await postJob(relay, 'BEHIND', { printer: 'receipt' });
    const moved = await relayState(relay, second, 'printed');
    expect(moved.printerId).toBe('back');
    expect(agent.getJob(first)).toMatchObject({
      state: 'waiting',
      printerId: 'front',
      detail: 'waiting: paper-out',
    });
    vps.get('front')?.refill();
    const done = await relayState(relay, first, 'printed');
    expect(done.printerId).toBe('front');
    expect(printed(vps.get('front'), 'STARTED')).toBe(1);
    expect(printed(vps.get('back'), 'STARTED')).toBe(0);
    expect(printed(vps.get('front'), 'BEHIND')).toBe(0);
  });

  it('prints a test page and a marked reprint on request at the store, without telling the relay', async () => {
    const { relay, agent, vps } = await setup([{ id: 'k1', roles: ['kitchen'] }]);
    const test = agent.testPrint('k1');
    expect(test).toMatchObject({ source: 'local', printerId: 'k1', state: 'queued' });
    await agentState(agent, test.jobId, 'printed');
    expect(vps.get('k1')?.printedText()).toContain('中文打印正常');
    expect(() => agent.testPrint('nope')).toThrow(/no printer nope/);

    const jobId = await postJob(relay, 'ORIGINAL');
    await relayState(relay, jobId, 'printed');
    const copy = agent.reprint(jobId);
    expect(copy).toMatchObject({ source: 'local', reprintOf: jobId });
    await agentState(agent, copy.jobId, 'printed');
    expect(printed(vps.get('k1'), 'ORIGINAL')).toBe(2);
    expect(vps.get('k1')?.printedText()).toContain('REPRINT #1');
    // A reprint of the reprint is the original's second reprint.
    const again = agent.reprint(copy.jobId);
    await agentState(agent, again.jobId, 'printed');
    expect(vps.get('k1')?.printedText()).toContain('REPRINT #2');
    expect((await relayJson<JobView>(relay, `/v1/jobs/${jobId}`)).timeline.at(-1)?.state).toBe('printed');
    expect(agent.listJobs().map((j) => j.jobId)).toEqual([again.jobId, copy.jobId, jobId, test.jobId]);
  });

  it('reports a job it stopped in the middle of as uncertain when it starts again', async () => {
    const s = await setup([{ id: 'k1', roles: ['kitchen'], vp: { paperLines: 30 } }], {
      uncertainJobs: 'reprint-marked',
    });
    const jobId = await postJob(s.relay, 'INTERRUPTED', { copies: 2, lines: 40 });
    await agentState(s.agent, jobId, 'waiting');
    await s.agent.close();
    expect(printed(s.vps.get('k1'), 'INTERRUPTED')).toBe(1);
    // The store puts in a new printer (the old one is out of paper for good).
    const vp = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0' });
    cleanups.push(() => vp.close());
    const agent = await s.restart({
      printers: [{ id: 'k1', roles: ['kitchen'], uri: vp.uri, profile: 'epson-tm-t88' }],
    });
    const uncertain = await relayState(s.relay, jobId, 'uncertain');
    const detail = uncertain.timeline.at(-1)?.detail ?? '';
    expect(detail).toMatch(
      /^the agent stopped while printing copy 1 of 2; reprinting 2 copies with a REPRINT mark as job local-/,
    );
    const reprintId = /job (local-[0-9a-f-]+)/.exec(detail)?.[1] ?? '';
    await agentState(agent, reprintId, 'printed');
    expect(printed(vp, 'INTERRUPTED')).toBe(2);
    expect(vp.printedText().split('REPRINT #1').length - 1).toBe(2);
  });
});
