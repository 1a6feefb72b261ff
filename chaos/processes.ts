// The relay and the store agent as CHILD processes of a printrelay build (so a kill -9 is a
// real one), on fixed loopback ports so that a restart comes back on them. Used by the chaos
// suite (any build: `cliPath` is its bin/printrelay.js) and, bound to the test build, by the
// end-to-end tests (test/support/e2e.ts).
import type { AgentView, LocalJobView } from '../agent/views.js';
import { NodeChild, type NodeChildOptions } from '../harness/child.js';
import type { ClusterMember } from '../harness/cluster-engines.js';
import { type AgentCredentials, addApiKey, addStore } from '../relay/admin.js';
import type { RelayStore, StoreScope } from '../relay/store/job-store.js';
import { openStore } from '../relay/store/open.js';
import { silentLog } from '../shared/log.js';

/** `node cliPath ...args`: the printrelay CLI of that build (or `cliPath ...args`: a single executable). */
export function cliChild(
  cliPath: string,
  name: string,
  args: string[],
  opts: NodeChildOptions = {},
): NodeChild {
  if (!cliPath.endsWith('.js')) return new NodeChild(name, args, { ...opts, executable: cliPath });
  return new NodeChild(name, [cliPath, ...args], opts);
}

/** The relay as `printrelay relay start`, on fixed loopback ports, data in `dataDir`. */
export class RelayProcess {
  proc: NodeChild | undefined;
  readonly httpUrl: string;
  readonly mqttUrl: string;

  constructor(
    readonly cliPath: string,
    readonly dataDir: string,
    readonly httpPort: number,
    readonly mqttPort: number,
    readonly logFile?: string,
    readonly cluster?: ClusterMember,
  ) {
    this.httpUrl = `http://127.0.0.1:${httpPort}`;
    this.mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  }

  async start(): Promise<void> {
    // Webhook receivers of tests and chaos runs are on this machine, so loopback is allowed.
    const args = [
      'relay',
      'start',
      '--data-dir',
      this.dataDir,
      '--host',
      '127.0.0.1',
      '--webhooks-allow-private',
    ];
    args.push('--http-port', String(this.httpPort), '--mqtt-port', String(this.mqttPort), '--no-ws');
    if (this.cluster) args.push('--db', this.cluster.database, '--redis', this.cluster.redis);
    this.proc = cliChild(this.cliPath, 'relay', args, {
      ...(this.logFile ? { logFile: this.logFile } : {}),
      ...(this.cluster ? { env: { PRINTRELAY_SECRET_KEY: this.cluster.secretKey } } : {}),
    });
    await this.proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
  }

  /** kill -9: no goodbye to anyone, SQLite left as the crash left it. */
  async kill9(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }

  /** Management through the relay's database, as `printrelay relay stores add` does (WAL allows it). */
  private async withStore<T>(fn: (store: RelayStore) => Promise<T>): Promise<T> {
    const store = await openStore(this.dataDir, this.cluster?.database, silentLog);
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
  proc: NodeChild | undefined;
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
    this.proc = cliChild(this.cliPath, 'agent', args, this.logFile ? { logFile: this.logFile } : {});
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
