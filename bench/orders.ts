// Orders benchmark (issue #14): orders/s the relay accepts and, per order, the time from sending
// POST /v1/orders to the last of its tickets reaching the store agent, beside the same number of
// tickets sent as separate POST /v1/jobs (the job path). `printrelay relay start` and
// `printrelay agent` run as processes; the agent's MQTT goes through a tap that stamps when the
// last byte of each job's PUBLISH was written to the agent. Open loop: orders go out on schedule
// whatever the answers, and latency counts from the scheduled send.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoOrderData } from '../cli/commands/demo.js';
import type { JobRequest } from '../protocol/job.js';
import type { OrderRequest } from '../protocol/order.js';
import { parseStoreTopic } from '../protocol/topics.js';
import { renderTemplate } from '../relay/orders/template.js';
import { BUILT_IN } from '../relay/orders/templates.js';
import { orderView } from '../relay/orders/view.js';
import { startVirtualPrinter, type VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import {
  MqttTap,
  postJob,
  type Relay,
  Stamps,
  startAgentChild,
  startRelay,
  writeAgentConfig,
} from './agent-rig.js';
import { fmt, nowMs, percentile, table } from './stats.js';

const STORE = 'bench-orders';
/** The sample order's stations have printers of their own here: five tickets an order. */
const PRINTERS: { id: string; roles: string[] }[] = [
  { id: 'counter', roles: ['receipt'] },
  { id: 'oven', roles: ['pizza'] },
  { id: 'bar', roles: ['drinks'] },
  { id: 'kitchen', roles: ['kitchen'] },
  { id: 'bags', roles: ['label'] },
];
const TICKETS_PER_ORDER = 5;

export interface OrdersBenchOptions {
  phases: { rate: number; seconds: number }[];
  log: (line: string) => void;
}

interface PhaseResult {
  path: string;
  rate: number;
  sent: number;
  accepted: number;
  acceptedPerSecond: number;
  /** ms from the scheduled send to the 201. */
  answer: number[];
  /** ms from the scheduled send to the last ticket at the agent. */
  allAtAgent: number[];
  missing: number;
}

export async function runOrdersBench(opts: OrdersBenchOptions): Promise<{ markdown: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-bench-orders-'));
  const cleanups: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const relay = await startRelay(join(dir, 'relay'), [STORE]);
    cleanups.push(() => relay.child.kill());
    const printers: VirtualPrinter[] = [];
    for (const _ of PRINTERS) {
      const p = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', linesPerSecond: 100_000 });
      cleanups.push(() => p.close());
      printers.push(p);
    }
    const tap = await MqttTap.start(relay.mqttPort);
    cleanups.push(() => tap.close());
    const atAgent = new Stamps();
    tap.on('down', (p) => {
      const topic = parseStoreTopic(p.topic);
      if (topic?.direction === 'down' && topic.channel === 'jobs') {
        atAgent.set((JSON.parse(p.payload.toString()) as { jobId: string }).jobId, p.at);
      }
    });
    const creds = relay.creds.get(STORE);
    if (!creds) throw new Error('no credentials for the bench store');
    const config = writeAgentConfig(
      dir,
      creds,
      tap.url,
      PRINTERS.map((p, i) => ({ ...p, uri: (printers[i] as VirtualPrinter).uri, profile: 'epson-tm-t88' })),
    );
    const agent = await startAgentChild(config);
    cleanups.push(() => agent.child.kill());
    await waitForPrinters(relay);

    const sample = demoOrderData();
    const results: PhaseResult[] = [];
    let n = 0;
    for (const phase of opts.phases) {
      opts.log(`  orders at ${phase.rate}/s for ${phase.seconds} s, then the same tickets as jobs`);
      results.push(
        await runPhase('orders', phase, (i) =>
          placeOrder(relay, { ...sample, storeId: STORE, orderNo: `B${n + i}` }),
        ),
      );
      n += phase.rate * phase.seconds;
      // The same tickets, one job each, at the same order rate: the job path beside it.
      const tickets = ticketsOf(sample);
      results.push(
        await runPhase('jobs', phase, async (i) => {
          const jobs = await Promise.all(
            tickets.map((t, k) =>
              postJob(relay, { ...t, orderRef: { source: 'bench', orderNo: `J${n + i}` } }, `J${n + i}-${k}`),
            ),
          );
          return jobs.map((j) => j.jobId);
        }),
      );
      n += phase.rate * phase.seconds;
    }

    async function runPhase(
      path: string,
      phase: { rate: number; seconds: number },
      send: (i: number) => Promise<string[]>,
    ): Promise<PhaseResult> {
      const count = phase.rate * phase.seconds;
      const start = nowMs() + 100;
      const result: PhaseResult = {
        path,
        rate: phase.rate,
        sent: count,
        accepted: 0,
        acceptedPerSecond: 0,
        answer: [],
        allAtAgent: [],
        missing: 0,
      };
      let lastAnswer = start;
      await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const due = start + (i * 1000) / phase.rate;
          await new Promise((r) => setTimeout(r, Math.max(0, due - nowMs())));
          const jobIds = await send(i).catch(() => null);
          if (!jobIds) return;
          const answered = nowMs();
          lastAnswer = Math.max(lastAnswer, answered);
          result.accepted++;
          result.answer.push(answered - due);
          try {
            const at = await Promise.all(
              jobIds.map((id) => atAgent.wait(id, 60_000, `job ${id} at the agent`)),
            );
            result.allAtAgent.push(Math.max(...at) - due);
          } catch {
            result.missing++;
          }
        }),
      );
      result.acceptedPerSecond = result.accepted / ((lastAnswer - start) / 1000);
      return result;
    }

    const rows = results.map((r) => [
      r.path === 'orders'
        ? `POST /v1/orders (${TICKETS_PER_ORDER} tickets each)`
        : `${TICKETS_PER_ORDER} x POST /v1/jobs`,
      `${r.rate}/s`,
      `${r.accepted} / ${r.sent}`,
      fmt(r.acceptedPerSecond, 0),
      `${fmt(percentile(r.answer, 50))} / ${fmt(percentile(r.answer, 99))}`,
      `${fmt(percentile(r.allAtAgent, 50))} / ${fmt(percentile(r.allAtAgent, 99))}`,
      String(r.missing),
    ]);
    const markdown = [
      '### Orders',
      '',
      `The relay and a store agent as processes, five virtual printers (receipt, pizza, drinks, kitchen, label), the sample order ` +
        `(examples/orders/meituan-order.json, ${TICKETS_PER_ORDER} tickets) sent open loop at each rate; beside it, the same ` +
        `${TICKETS_PER_ORDER} tickets an order sent as separate POST /v1/jobs, in parallel, at the same order rate. ` +
        '"At the agent": the last byte of the last ticket\'s PUBLISH written to the agent, from the scheduled send.',
      '',
      table(
        [
          'path',
          'orders/s offered',
          'accepted / sent',
          'accepted/s',
          'answer p50 / p99 ms',
          'all tickets at the agent p50 / p99 ms',
          'missing',
        ],
        rows,
      ),
    ].join('\n');
    return { markdown };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

async function placeOrder(relay: Relay, order: OrderRequest): Promise<string[]> {
  const res = await fetch(`${relay.httpUrl}/v1/orders`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${relay.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': `order-${order.orderNo}`,
    },
    body: JSON.stringify(order),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/orders answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { tickets: { jobId: string }[] }).tickets.map((t) => t.jobId);
}

/** The job requests of an order's tickets: the same documents the relay lays out for it. */
function ticketsOf(order: OrderRequest): JobRequest[] {
  const at = (station: string) => order.items.filter((i) => (i.station ?? 'kitchen') === station);
  const view = (items: OrderRequest['items'], station?: string) =>
    orderView(order, { storeName: 'Bench', items, ...(station ? { station } : {}) });
  return [
    ...['pizza', 'drinks', 'kitchen'].map((station) => ({
      storeId: STORE,
      printer: station,
      ticket: renderTemplate(BUILT_IN.kitchen, view(at(station), station)),
    })),
    { storeId: STORE, printer: 'receipt', ticket: renderTemplate(BUILT_IN.receipt, view(order.items)) },
    { storeId: STORE, printer: 'label', ticket: renderTemplate(BUILT_IN.label, view(order.items)) },
  ];
}

async function waitForPrinters(relay: Relay): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${relay.httpUrl}/v1/stores/${STORE}`, {
      headers: { authorization: `Bearer ${relay.apiKey}` },
    });
    const store = (await res.json()) as { online: boolean; printers: unknown[] };
    if (store.online && store.printers.length === PRINTERS.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the bench store never came online with its printers');
}
