// The end-to-end harness: the relay and the store agent run as CHILD processes of the test
// build (so a kill -9 is a real one), virtual printers run in the test process (so a test can
// read what came out on paper and pull the paper), and everything is on loopback ports with
// temp data dirs. One E2e per test; close() ends whatever it started.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobRequest, JobState, JobView } from '../../protocol/job.js';
import type { Ticket } from '../../protocol/ticket.js';
import { type AgentCredentials, addApiKey, addStore } from '../../relay/admin.js';
import type { StoreScope } from '../../relay/store/job-store.js';
import { SqliteStore } from '../../relay/store/sqlite.js';
import {
  startVirtualPrinter,
  type VirtualPrinter,
  type VirtualPrinterOptions,
} from '../../virtual-printer/virtual-printer.js';
import { waitFor } from '../relay-helpers.js';
import { CLI_PATH } from './build.js';

export { waitFor };

/** A port that was free a moment ago: children get fixed ports so a restart comes back on them. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A child `node CLI_PATH ...`, with its output kept to explain a failure. */
export class CliProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      // The newest output explains a failure; a long run must not grow without bound.
      this.output = (this.output + chunk.toString('utf8')).slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `text` shows in the output; rejects (with the output) if the process exits first. */
  async waitForOutput(text: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const found = () => (typeof text === 'string' ? this.output.includes(text) : text.test(this.output));
    const deadline = Date.now() + timeoutMs;
    while (!found()) {
      if (!this.running)
        throw new Error(`${this.name} exited (${this.child.exitCode}) before "${text}":\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: no "${text}" within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}

/** The relay as `printrelay relay start`, on fixed loopback ports, data in `dataDir`. */
export class RelayProcess {
  proc: CliProcess | undefined;
  readonly httpUrl: string;
  readonly mqttUrl: string;

  constructor(
    readonly dataDir: string,
    readonly httpPort: number,
    readonly mqttPort: number,
  ) {
    this.httpUrl = `http://127.0.0.1:${httpPort}`;
    this.mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  }

  async start(): Promise<void> {
    const args = ['relay', 'start', '--data-dir', this.dataDir, '--host', '127.0.0.1'];
    args.push('--http-port', String(this.httpPort), '--mqtt-port', String(this.mqttPort), '--no-ws');
    this.proc = new CliProcess('relay', args);
    await this.proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
  }

  /** kill -9: no goodbye to anyone, SQLite left as the crash left it. */
  async kill9(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }

  /** Management through the relay's database, as `printrelay relay stores add` does (WAL allows it). */
  private async withStore<T>(fn: (store: SqliteStore) => Promise<T>): Promise<T> {
    const store = SqliteStore.open(this.dataDir);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  async addStore(id: string): Promise<AgentCredentials> {
    return (await this.withStore((s) => addStore(s, id, `Store ${id}`))).credentials;
  }

  async addKey(stores: StoreScope = 'all'): Promise<string> {
    return (await this.withStore((s) => addApiKey(s, 'e2e', stores))).key;
  }
}

/** The HTTP API as an order source uses it. */
export class ApiClient {
  constructor(
    readonly relay: RelayProcess,
    readonly key: string,
  ) {}

  request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const { json, headers, ...rest } = init;
    const h = new Headers(headers);
    h.set('authorization', `Bearer ${this.key}`);
    if (json !== undefined) h.set('content-type', 'application/json');
    return fetch(`${this.relay.httpUrl}${path}`, {
      ...rest,
      headers: h,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  }

  /** POST /v1/jobs; resolves to the response so tests can look at the status. */
  postJob(body: JobRequest, idempotencyKey: string): Promise<Response> {
    return this.request('/v1/jobs', {
      method: 'POST',
      json: body,
      headers: { 'idempotency-key': idempotencyKey },
    });
  }

  /** POST /v1/jobs that must answer 201; the job id. */
  async submit(body: JobRequest, idempotencyKey: string): Promise<string> {
    const res = await this.postJob(body, idempotencyKey);
    const text = await res.text();
    if (res.status !== 201) throw new Error(`POST /v1/jobs answered ${res.status}: ${text}`);
    return (JSON.parse(text) as { jobId: string }).jobId;
  }

  async job(jobId: string): Promise<JobView> {
    const res = await this.request(`/v1/jobs/${jobId}`);
    if (res.status !== 200)
      throw new Error(`GET /v1/jobs/${jobId} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as JobView;
  }

  /** Waits until the job is in one of `states`; fails at once if it ends in another final state. */
  async waitForState(jobId: string, states: JobState | JobState[], timeoutMs = 20_000): Promise<JobView> {
    const wanted = Array.isArray(states) ? states : [states];
    let last: JobView | undefined;
    try {
      return await waitFor(
        async () => {
          last = await this.job(jobId);
          return wanted.includes(last.state) ? last : null;
        },
        `job ${jobId} to be ${wanted.join('|')}`,
        timeoutMs,
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; it is ${JSON.stringify(last?.state)}: ${JSON.stringify(last?.timeline)}`,
      );
    }
  }

  async storeOnline(storeId: string): Promise<boolean> {
    const res = await this.request(`/v1/stores/${storeId}`);
    if (res.status !== 200)
      throw new Error(`GET /v1/stores/${storeId} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { online: boolean }).online;
  }
}

export interface AgentPrinter {
  id: string;
  uri: string;
  profile?: string;
  roles?: string[];
}

/** The store agent as `printrelay agent --config F`, its database in a dir that outlives a kill. */
export class AgentProcess {
  proc: CliProcess | undefined;
  readonly localApiUrl: string;

  constructor(
    readonly configFile: string,
    readonly localApiPort: number,
  ) {
    this.localApiUrl = `http://127.0.0.1:${localApiPort}`;
  }

  async start(): Promise<void> {
    this.proc = new CliProcess('agent', ['agent', '--config', this.configFile]);
    // `printrelay agent` says this once the agent and its local API are up, relay or not.
    await this.proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
  }

  async status(): Promise<
    { relay: { connected: boolean; lastError: string | null } } & Record<string, unknown>
  > {
    const res = await fetch(`${this.localApiUrl}/v1/status`);
    if (res.status !== 200) throw new Error(`agent GET /v1/status answered ${res.status}`);
    return (await res.json()) as { relay: { connected: boolean; lastError: string | null } };
  }

  async localJob(jobId: string): Promise<{ state: string } & Record<string, unknown>> {
    const res = await fetch(`${this.localApiUrl}/v1/jobs/${jobId}`);
    if (res.status !== 200)
      throw new Error(`agent GET /v1/jobs/${jobId} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { state: string };
  }

  async kill9(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }

  /** A clean stop (SIGTERM): presence offline, printers closed. */
  async stop(): Promise<void> {
    const code = await this.proc?.kill('SIGTERM');
    if (code !== 0 && code !== null)
      throw new Error(`the agent exited with ${code} on SIGTERM:\n${this.proc?.output}`);
  }
}

/** A ticket whose first line is `marker`: ticketsWith() counts it on paper. */
export function markedTicket(marker: string, extraLines = 0): Ticket {
  const lines = Array.from({ length: extraLines }, (_, i) => `宫保鸡丁 第${i + 1}行`);
  return {
    blocks: [
      { type: 'text', text: marker },
      { type: 'text', text: `美团外卖 #${marker}`, bold: true },
      ...lines.map((text) => ({ type: 'text' as const, text })),
      { type: 'cut' },
    ],
  };
}

export function markedJob(storeId: string, marker: string, extra: Partial<JobRequest> = {}): JobRequest {
  return {
    storeId,
    printer: 'receipt',
    ticket: markedTicket(marker),
    orderRef: { source: 'meituan', orderNo: marker },
    ...extra,
  };
}

/** How many tickets with this marker came out of the printer. */
export function ticketsWith(printer: VirtualPrinter, marker: string): number {
  return printer.printed.filter((i) => i.kind === 'text' && i.text.trim() === marker).length;
}

/** Owns everything one test starts, and ends it all in close(). */
export class E2e {
  readonly #cleanups: (() => Promise<void> | void)[] = [];

  /** Something else to end in close(), after what was started later and before what came earlier. */
  onClose(cleanup: () => Promise<void> | void): void {
    this.#cleanups.push(cleanup);
  }

  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'printrelay-e2e-'));
    this.#cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A relay child with a fresh data dir and an API key for all stores. */
  async relay(): Promise<{ relay: RelayProcess; api: ApiClient }> {
    const relay = new RelayProcess(this.tempDir(), await freePort(), await freePort());
    this.#cleanups.push(() => relay.kill9());
    await relay.start();
    return { relay, api: new ApiClient(relay, await relay.addKey('all')) };
  }

  async printer(opts: Partial<VirtualPrinterOptions> = {}): Promise<VirtualPrinter> {
    const printer = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', ...opts });
    this.#cleanups.push(() => printer.close());
    return printer;
  }

  /** Writes an agent config for `creds` and these printers; start() runs it (and again after a kill). */
  async agent(relay: RelayProcess, creds: AgentCredentials, printers: AgentPrinter[]): Promise<AgentProcess> {
    const dir = this.tempDir();
    const localApiPort = await freePort();
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        storeId: creds.storeId,
        relay: { url: relay.mqttUrl, password: creds.password, clientId: creds.clientId },
        dataDir: 'data',
        printers: printers.map((p) => ({ profile: 'epson-tm-t88', roles: [], ...p })),
        localApi: { port: localApiPort },
      }),
    );
    const agent = new AgentProcess(file, localApiPort);
    this.#cleanups.push(() => agent.kill9());
    return agent;
  }

  /** Ends everything, newest first. */
  async close(): Promise<void> {
    for (const c of this.#cleanups.splice(0).reverse()) await c();
  }
}
