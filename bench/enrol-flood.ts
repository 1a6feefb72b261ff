// What a flood of enrolment attempts does to order intake. Each attempt costs an scrypt on
// the libuv pool, which the relay's WAL fsyncs share: without a limit, ~18 attempts/s
// stretched POST /v1/jobs from ~20 ms to seconds. This runs a relay (in this process, on
// loopback) and offers orders open loop while a flooder sends enrolment codes whose first
// group exists, with the shipped limits and with limits lifted, and prints the figures.
// `npm run bench -- --only enrol [--quick]` runs it alone.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addApiKey, addStore } from '../relay/admin.js';
import type { HttpLimits } from '../relay/api/app.js';
import { startRelay } from '../relay/relay.js';
import { silentLog } from '../shared/log.js';
import { fmt, median, nowMs, percentile, table } from './stats.js';

export interface EnrolFloodOptions {
  seconds: number;
  orderRate: number;
  floodRate: number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function post(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; ms: number }> {
  const started = nowMs();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: nowMs() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Offers `count` calls of `fn`, `rate` a second, without waiting for answers; resolves with all answers. */
async function openLoop<T>(rate: number, seconds: number, fn: () => Promise<T>): Promise<T[]> {
  const pending: Promise<T>[] = [];
  const start = nowMs();
  const count = Math.round(rate * seconds);
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    pending.push(fn());
  }
  return Promise.all(pending);
}

interface Scenario {
  name: string;
  flood: boolean;
  limits?: Partial<HttpLimits>;
}

const LIFTED: Partial<HttpLimits> = {
  enrolPerAddress: { max: 1_000_000, windowMs: 60_000 },
  enrolGlobal: { max: 1_000_000, windowMs: 60_000 },
};

export async function runEnrolFloodBench(opts: EnrolFloodOptions): Promise<{ markdown: string }> {
  const scenarios: Scenario[] = [
    { name: 'no flood', flood: false },
    { name: 'flood, shipped limits', flood: true },
    { name: 'flood, limits lifted', flood: true, limits: LIFTED },
  ];
  const rows: string[][] = [];
  let refusal = { known: Number.NaN, unknown: Number.NaN };
  for (const s of scenarios) {
    opts.log(`  ${s.name} ...`);
    const dir = mkdtempSync(join(tmpdir(), 'printrelay-bench-enrol-'));
    const relay = await startRelay({
      dataDir: dir,
      host: '127.0.0.1',
      httpPort: 0,
      mqttPort: 0,
      wsPort: null,
      log: silentLog,
      ...(s.limits ? { httpLimits: s.limits } : {}),
    });
    // Separate connection pools: orders must not queue behind the flood on the client side.
    const orderAgent = new Agent({ keepAlive: true, maxSockets: 64 });
    const floodAgent = new Agent({ keepAlive: true });
    try {
      const { enrolment } = await addStore(relay.store, 's1', 'Bench');
      const { key } = await addApiKey(relay.store, 'bench', 'all');
      const known = `${enrolment.code.slice(0, 4)}-2222-2222`;
      const unknown = `${enrolment.code.startsWith('ZZZZ') ? 'YYYY' : 'ZZZZ'}-2222-2222`;
      const enrol = (code: string) =>
        post(floodAgent, `${relay.urls.http}/v1/enrol`, {}, JSON.stringify({ code }));
      const order = () =>
        post(
          orderAgent,
          `${relay.urls.http}/v1/jobs`,
          { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID() },
          JSON.stringify({
            storeId: 's1',
            printer: 'kitchen',
            ticket: { blocks: [{ type: 'text', text: '宫保鸡丁 x1' }] },
          }),
        );
      const [orders, flood] = await Promise.all([
        openLoop(opts.orderRate, opts.seconds, order),
        s.flood ? openLoop(opts.floodRate, opts.seconds, () => enrol(known)) : Promise.resolve([]),
      ]);
      const ms = orders.filter((o) => o.status === 201).map((o) => o.ms);
      rows.push([
        s.name,
        s.flood ? fmt(opts.floodRate, 0) : '0',
        String(flood.filter((f) => f.status === 404).length),
        String(flood.filter((f) => f.status === 429).length),
        `${ms.length}/${orders.length}`,
        fmt(median(ms)),
        fmt(percentile(ms, 99)),
        fmt(Math.max(...ms)),
      ]);
      if (s.limits === LIFTED) {
        const k: number[] = [];
        const u: number[] = [];
        for (let i = 0; i < 10; i++) {
          k.push((await enrol(known)).ms);
          u.push((await enrol(unknown)).ms);
        }
        refusal = { known: median(k), unknown: median(u) };
      }
    } finally {
      orderAgent.destroy();
      floodAgent.destroy();
      await relay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const markdown = [
    '### Enrolment flood and order intake',
    '',
    `Orders offered open loop at ${opts.orderRate}/s for ${opts.seconds} s while enrolment codes whose first group ` +
      `exists are offered at the rate shown, from one address. Latency of POST /v1/jobs (201) in ms.`,
    '',
    table(
      [
        'scenario',
        'enrol/s offered',
        'enrol refused (404)',
        'enrol limited (429)',
        'orders 201',
        'p50',
        'p99',
        'max',
      ],
      rows,
    ),
    '',
    `One refused enrolment (limits lifted, sequential, median of 10): first group exists ${fmt(refusal.known)} ms, ` +
      `unknown first group ${fmt(refusal.unknown)} ms (both run one scrypt).`,
  ].join('\n');
  return { markdown };
}
