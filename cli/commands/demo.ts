// `printrelay demo order`: sends the sample 美团 order (examples/orders/) to the demo store that
// `printrelay start` runs, then follows the job until it is final, printing its timeline.
// Also the demo's shared pieces: the sample orders and .data/demo.json, where `start` keeps
// the demo store's agent password and API key (the relay itself keeps only their hashes).
import { randomInt } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { type Command, InvalidArgumentError, Option } from 'commander';
import kitchenOrder from '../../examples/orders/meituan-kitchen.json' with { type: 'json' };
import sampleOrder from '../../examples/orders/meituan-order.json' with { type: 'json' };
import receiptOrder from '../../examples/orders/meituan-receipt.json' with { type: 'json' };
import { isFinalJobState, type JobRequest, type JobView, parseJobRequest } from '../../protocol/job.js';
import { type OrderRequest, parseOrderRequest } from '../../protocol/order.js';
import { validator } from '../../protocol/validate.js';
import { readJsonFile } from '../../shared/json-file.js';
import { positiveInteger } from '../options.js';

export const DEMO_DATA_DIR = '.data';
export const DEMO_STORE_ID = 'demo';
export const DEMO_PRINTERS = ['receipt', 'kitchen'] as const;
export type DemoPrinter = (typeof DEMO_PRINTERS)[number];
/** The order number in examples/orders/*.json; demoOrder() puts another one in its place. */
export const SAMPLE_ORDER_NO = '1702339812345678901';
const DEFAULT_RELAY_URL = 'http://127.0.0.1:8080';

const DemoState = Type.Object({
  storeId: Type.String(),
  agent: Type.Object({ username: Type.String(), password: Type.String(), clientId: Type.String() }),
  apiKey: Type.Object({ id: Type.String(), key: Type.String() }),
  /** The demo's HQ dashboard sign-in (an admin). */
  dashboard: Type.Optional(Type.Object({ user: Type.String(), password: Type.String() })),
  relayUrl: Type.String({ description: 'HTTP API of the last `printrelay start`.' }),
});
export type DemoState = Static<typeof DemoState>;
const parseDemoState = validator(DemoState, 'demo state');

export function demoStateFile(dataDir: string): string {
  return join(resolve(dataDir), 'demo.json');
}

export function readDemoState(dataDir: string): DemoState | null {
  const file = demoStateFile(dataDir);
  return existsSync(file) ? readJsonFile(file, 'demo state', parseDemoState) : null;
}

export function writeDemoState(dataDir: string, state: DemoState): void {
  const file = demoStateFile(dataDir);
  // It holds a password and an API key: owner-only, and never half-written.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The sample order for one printer, with `orderNo` in the order reference and on the ticket. */
export function demoOrder(printer: DemoPrinter, orderNo = SAMPLE_ORDER_NO): JobRequest {
  const sample = printer === 'receipt' ? receiptOrder : kitchenOrder;
  return parseJobRequest(JSON.parse(JSON.stringify(sample).replaceAll(SAMPLE_ORDER_NO, orderNo)));
}

/** The sample order as its data (POST /v1/orders): the relay lays out its tickets. */
export function demoOrderData(): OrderRequest {
  return parseOrderRequest(sampleOrder);
}

/** One key per order and printer: sending the same order again is a replay, never a second ticket. */
export function demoIdempotencyKey(printer: DemoPrinter, orderNo = SAMPLE_ORDER_NO): string {
  return `meituan-${orderNo}-${printer}`;
}

function orderNumber(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value))
    throw new InvalidArgumentError(`"${value}" is not an order number: use 1-64 letters, digits, - and _`);
  return value;
}

interface OrderOptions {
  relay?: string;
  key?: string;
  printer: DemoPrinter;
  orderNo?: string;
  dataDir: string;
  timeout: number;
}

/** fetch, with "the relay is not there" said plainly. */
async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `cannot reach the relay at ${new URL(url).origin} (${cause?.code ?? cause?.message ?? String(err)}): ` +
        'is `npm start` running? Give another address with --relay.',
    );
  }
}

async function failure(res: Response, what: string): Promise<Error> {
  const text = await res.text();
  let message = text;
  try {
    const body = JSON.parse(text) as { error?: string; issues?: { path: string; message: string }[] };
    message = [body.error, ...(body.issues ?? []).map((i) => `  ${i.path}: ${i.message}`)].join('\n');
  } catch {
    // not JSON: show it as it came
  }
  return new Error(`${what}: the relay answered ${res.status}: ${message}`);
}

function clock(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

async function order(opts: OrderOptions): Promise<void> {
  const state = opts.relay === undefined || opts.key === undefined ? readDemoState(opts.dataDir) : null;
  const relay = (opts.relay ?? state?.relayUrl ?? DEFAULT_RELAY_URL).replace(/\/+$/, '');
  const key = opts.key ?? state?.apiKey.key;
  if (key === undefined) {
    throw new Error(
      `no API key: ${demoStateFile(opts.dataDir)} does not exist yet. Run \`npm start\` first, or give --key.`,
    );
  }
  const orderNo = opts.orderNo ?? `${Date.now()}${randomInt(100_000, 1_000_000)}`;
  const body = demoOrder(opts.printer, orderNo);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const idempotencyKey = demoIdempotencyKey(opts.printer, orderNo);

  const created = await call(`${relay}/v1/jobs`, {
    method: 'POST',
    headers: { ...headers, 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  });
  if (created.status !== 201) throw await failure(created, 'the order was not accepted');
  const { jobId } = (await created.json()) as { jobId: string };
  console.log(`美团 order ${orderNo} -> store ${body.storeId}, printer ${body.printer}: job ${jobId}`);
  if (created.headers.get('idempotent-replayed') === 'true') {
    console.log(`(Idempotency-Key ${idempotencyKey} was used before: the same job, nothing prints twice)`);
  }

  const deadline = Date.now() + opts.timeout * 1000;
  let shown = 0;
  for (;;) {
    const res = await call(`${relay}/v1/jobs/${encodeURIComponent(jobId)}`, { headers });
    if (res.status !== 200) throw await failure(res, `cannot read job ${jobId}`);
    const job = (await res.json()) as JobView;
    for (const entry of job.timeline.slice(shown)) {
      console.log(`  ${clock(entry.at)}  ${entry.state}${entry.detail ? `  (${entry.detail})` : ''}`);
    }
    shown = job.timeline.length;
    if (isFinalJobState(job.state)) {
      const where = job.printerId ? ` on printer ${job.printerId}` : '';
      console.log(`Job ${jobId}: ${job.state}${where}.`);
      if (job.state !== 'printed') process.exitCode = 1;
      return;
    }
    if (Date.now() > deadline) {
      process.exitCode = 1;
      const hint: Partial<Record<typeof job.state, string>> = {
        accepted: ': is the store agent connected?',
        delivered: ': the agent has it; is the printer ready (paper, cover)?',
        printing: ': is the printer ready (paper, cover)?',
      };
      console.error(`Job ${jobId} is still ${job.state} after ${opts.timeout} s${hint[job.state] ?? '.'}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function registerDemo(program: Command): void {
  const demo = program.command('demo').description('Try out the system that `printrelay start` runs.');
  demo
    .command('order')
    .description('Send the sample 美团 order to the demo store and follow the job until it is printed.')
    .option(
      '--relay <url>',
      `relay HTTP API (default: the one \`start\` recorded, else ${DEFAULT_RELAY_URL})`,
    )
    .option('--key <key>', 'API key (default: the demo key in <data-dir>/demo.json)')
    .addOption(
      new Option('--printer <role>', 'which ticket, for which printer')
        .choices(DEMO_PRINTERS)
        .default('receipt'),
    )
    .option('--order-no <n>', 'order number, also in the Idempotency-Key (default: a new one)', orderNumber)
    .option('--data-dir <dir>', 'where `printrelay start` keeps its data', DEMO_DATA_DIR)
    .option('--timeout <seconds>', 'give up following the job after this long', positiveInteger, 60)
    .action((opts: OrderOptions) => order(opts));
}
