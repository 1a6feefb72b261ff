// The end-to-end harness: the relay and the store agent run as CHILD processes of the test
// build (so a kill -9 is a real one), virtual printers run in the test process (so a test can
// read what came out on paper and pull the paper), and everything is on loopback ports with
// temp data dirs. One E2e per test; close() ends whatever it started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markedTicket, ticketsWith } from '../../chaos/paper.js';
import { AgentProcess as ChildAgent, RelayProcess as ChildRelay } from '../../chaos/processes.js';
import { NodeChild, type NodeChildOptions } from '../../harness/child.js';
import { freePort } from '../../harness/ports.js';
import { waitFor } from '../../harness/wait.js';
import type { JobRequest, JobState, JobView } from '../../protocol/job.js';
import type { AgentCredentials } from '../../relay/admin.js';
import {
  startVirtualPrinter,
  type VirtualPrinter,
  type VirtualPrinterOptions,
} from '../../virtual-printer/virtual-printer.js';
import { CLI_PATH } from './build.js';

export { freePort, markedTicket, ticketsWith, waitFor };

/** A child `node CLI_PATH ...` of the test build, with its output kept to explain a failure. */
export class CliProcess extends NodeChild {
  constructor(name: string, args: string[], opts: NodeChildOptions = {}) {
    super(name, [CLI_PATH, ...args], opts);
  }
}

/** The relay of the test build (or `cliPath`) as `printrelay relay start`, on fixed loopback ports, data in `dataDir`. */
export class RelayProcess extends ChildRelay {
  constructor(dataDir: string, httpPort: number, mqttPort: number, cliPath = CLI_PATH) {
    super(cliPath, dataDir, httpPort, mqttPort);
  }
}

/** The HTTP API as an order source uses it. */
export class ApiClient {
  constructor(
    readonly relay: { httpUrl: string },
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

/** The store agent of the test build as `printrelay agent --config F`, its database in a dir that outlives a kill. */
export class AgentProcess extends ChildAgent {
  constructor(configFile: string, localApiPort: number, cliPath = CLI_PATH) {
    super(cliPath, configFile, localApiPort);
  }
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

/** Owns everything one test starts, and ends it all in close(). */
export class E2e {
  readonly #cleanups: (() => Promise<void> | void)[] = [];

  /** `cliPath`: what runs the relay and the agents, the test build unless a single executable is tested. */
  constructor(readonly cliPath = CLI_PATH) {}

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
    const relay = new RelayProcess(this.tempDir(), await freePort(), await freePort(), this.cliPath);
    this.#cleanups.push(() => relay.kill9());
    await relay.start();
    return { relay, api: new ApiClient(relay, await relay.addKey('all')) };
  }

  async printer(opts: Partial<VirtualPrinterOptions> = {}): Promise<VirtualPrinter> {
    const printer = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', ...opts });
    this.#cleanups.push(() => printer.close());
    return printer;
  }

  /** A store with one receipt printer ('counter') and its agent, started and online at the relay. */
  async store(
    relay: RelayProcess,
    api: ApiClient,
    storeId: string,
    printerOpts: Partial<VirtualPrinterOptions> = {},
  ): Promise<{ printer: VirtualPrinter; agent: AgentProcess }> {
    const creds = await relay.addStore(storeId);
    const printer = await this.printer(printerOpts);
    const agent = await this.agent(relay, creds, [{ id: 'counter', uri: printer.uri, roles: ['receipt'] }]);
    await agent.start();
    await waitFor(() => api.storeOnline(storeId), `store ${storeId} online`, 15_000);
    return { printer, agent };
  }

  /**
   * Writes an agent config for `creds` and these printers; start() runs it (and again after a
   * kill). `alternates`: other relay processes of a cluster, tried in turn when `relay` is lost.
   */
  async agent(
    relay: { mqttUrl: string },
    creds: AgentCredentials,
    printers: AgentPrinter[],
    alternates: { mqttUrl: string }[] = [],
  ): Promise<AgentProcess> {
    const dir = this.tempDir();
    const localApiPort = await freePort();
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        storeId: creds.storeId,
        relay: {
          url: relay.mqttUrl,
          ...(alternates.length > 0 ? { alternateUrls: alternates.map((r) => r.mqttUrl) } : {}),
          password: creds.password,
          clientId: creds.clientId,
        },
        dataDir: 'data',
        printers: printers.map((p) => ({ profile: 'epson-tm-t88', roles: [], ...p })),
        localApi: { port: localApiPort },
      }),
    );
    const agent = new AgentProcess(file, localApiPort, this.cliPath);
    this.#cleanups.push(() => agent.kill9());
    return agent;
  }

  /** Ends everything, newest first. */
  async close(): Promise<void> {
    for (const c of this.#cleanups.splice(0).reverse()) await c();
  }
}
