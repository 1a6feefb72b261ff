// The relay and the store agent as CHILD processes of a printrelay build (so a kill -9 is a
// real one), on fixed loopback ports so that a restart comes back on them. Used by the chaos
// suite (any build: `cliPath` is its bin/printrelay.js) and, bound to the test build, by the
// end-to-end tests (test/support/e2e.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import type { AgentView, LocalJobView } from '../agent/views.js';
import { type AgentCredentials, addApiKey, addStore } from '../relay/admin.js';
import type { RelayStore, StoreScope } from '../relay/store/job-store.js';
import { openRelayStore } from '../relay/store/open.js';

/** A port that was free a moment ago: children get fixed ports so a restart comes back on them. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface CliProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Also append everything the child writes to this file (a long run keeps all of it there). */
  logFile?: string;
}

/** A child `node cliPath ...`, with its output kept to explain a failure. */
export class CliProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    cliPath: string,
    readonly name: string,
    args: string[],
    opts: CliProcessOptions = {},
  ) {
    this.child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { logFile } = opts;
    const keep = (chunk: Buffer) => {
      // The newest output explains a failure; a long run must not grow without bound.
      this.output = (this.output + chunk.toString('utf8')).slice(-200_000);
      if (logFile) appendFileSync(logFile, chunk);
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
    readonly cliPath: string,
    readonly dataDir: string,
    readonly httpPort: number,
    readonly mqttPort: number,
    readonly logFile?: string,
  ) {
    this.httpUrl = `http://127.0.0.1:${httpPort}`;
    this.mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  }

  async start(): Promise<void> {
    const args = ['relay', 'start', '--data-dir', this.dataDir, '--host', '127.0.0.1'];
    args.push('--http-port', String(this.httpPort), '--mqtt-port', String(this.mqttPort), '--no-ws');
    this.proc = new CliProcess(this.cliPath, 'relay', args, this.logFile ? { logFile: this.logFile } : {});
    await this.proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
  }

  /** kill -9: no goodbye to anyone, SQLite left as the crash left it. */
  async kill9(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }

  /** Management through the relay's database, as `printrelay relay stores add` does (WAL allows it). */
  private async withStore<T>(fn: (store: RelayStore) => Promise<T>): Promise<T> {
    const store = openRelayStore(this.dataDir);
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

/** The store agent as `printrelay agent --config F`, its database in a dir that outlives a kill. */
export class AgentProcess {
  proc: CliProcess | undefined;
  readonly localApiUrl: string;

  constructor(
    readonly cliPath: string,
    readonly configFile: string,
    readonly localApiPort: number,
    readonly logFile?: string,
  ) {
    this.localApiUrl = `http://127.0.0.1:${localApiPort}`;
  }

  async start(): Promise<void> {
    const args = ['agent', '--config', this.configFile];
    this.proc = new CliProcess(this.cliPath, 'agent', args, this.logFile ? { logFile: this.logFile } : {});
    // `printrelay agent` says this once the agent and its local API are up, relay or not.
    await this.proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
  }

  async status(): Promise<AgentView> {
    const res = await fetch(`${this.localApiUrl}/v1/status`);
    if (res.status !== 200) throw new Error(`agent GET /v1/status answered ${res.status}`);
    return (await res.json()) as AgentView;
  }

  async localJob(jobId: string): Promise<LocalJobView> {
    const res = await fetch(`${this.localApiUrl}/v1/jobs/${jobId}`);
    if (res.status !== 200)
      throw new Error(`agent GET /v1/jobs/${jobId} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as LocalJobView;
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
