// The parts of the agent footprint benchmark (bench/agent-footprint.ts): the relay and the store
// agent as the real CLI in child processes, taps that time-stamp what passes on the relay
// connection (MQTT) and on a printer connection (TCP) from outside the agent, and /proc
// readings of a process.
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt, { type Packet } from 'mqtt-packet';
import type { AgentConfig, AgentPrinterConfig } from '../agent/config.js';
import type { AgentView } from '../agent/views.js';
import { NodeChild } from '../harness/child.js';
import { freePort } from '../harness/ports.js';
import type { JobRequest } from '../protocol/job.js';
import { type AgentCredentials, addApiKey, addStore } from '../relay/admin.js';
import { openRelayStore } from '../relay/store/open.js';
import { REPO_ROOT } from './repo.js';
import { nowMs } from './stats.js';

export const HOST = '127.0.0.1';
const CLI = join(REPO_ROOT, 'bin/printrelay.js');
/** renderTicket starts every job with ESC @ (initialize): its first byte on the printer line. */
export const JOB_START = Buffer.from([0x1b, 0x40]);

/** The printrelay CLI of this repository's build with these arguments (and options for node itself). */
export function cliChild(name: string, args: string[], nodeArgs: string[] = []): NodeChild {
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) {
    throw new Error('the CLI is not built: run `npm run build` before the agent benchmark');
  }
  return new NodeChild(name, [...nodeArgs, CLI, ...args]);
}

// ---- relay -------------------------------------------------------------------------------

export interface Relay {
  child: NodeChild;
  httpUrl: string;
  mqttPort: number;
  apiKey: string;
  creds: Map<string, AgentCredentials>;
}

/** `printrelay relay start` on loopback with these stores (and an API key for all) in a fresh data dir. */
export async function startRelay(dataDir: string, storeIds: string[]): Promise<Relay> {
  const store = openRelayStore(dataDir);
  const creds = new Map<string, AgentCredentials>();
  let apiKey: string;
  try {
    for (const id of storeIds) creds.set(id, (await addStore(store, id, `Bench ${id}`)).credentials);
    apiKey = (await addApiKey(store, 'bench', 'all')).key;
  } finally {
    await store.close();
  }
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const child = cliChild('relay', [
    ...['relay', 'start', '--data-dir', dataDir, '--host', HOST],
    ...['--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--no-ws'],
  ]);
  await child.waitForOutput(/Press Ctrl\+C to stop\./, 20_000);
  return { child, httpUrl: `http://${HOST}:${httpPort}`, mqttPort, apiKey, creds };
}

/** POST /v1/jobs: the job id, when the request went out and when its 201 came back. */
export async function postJob(
  relay: Relay,
  body: JobRequest,
  idempotencyKey: string,
): Promise<{ jobId: string; sentAt: number; answeredAt: number }> {
  const sentAt = nowMs();
  const res = await fetch(`${relay.httpUrl}/v1/jobs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${relay.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const answeredAt = nowMs();
  if (res.status !== 201) throw new Error(`POST /v1/jobs answered ${res.status}: ${text}`);
  return { jobId: (JSON.parse(text) as { jobId: string }).jobId, sentAt, answeredAt };
}

// ---- agent -------------------------------------------------------------------------------

/** Writes an agent config (local API on any free port) and returns its path. */
export function writeAgentConfig(
  dir: string,
  creds: AgentCredentials,
  relayUrl: string,
  printers: AgentPrinterConfig[],
): string {
  const config: AgentConfig = {
    storeId: creds.storeId,
    relay: { url: relayUrl, password: creds.password, clientId: creds.clientId },
    dataDir: 'data',
    printers,
    localApi: { port: 0 },
  };
  const file = join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export interface AgentChild {
  child: NodeChild;
  localApiUrl: string;
  /** When `printrelay agent` said startAgent() had resolved (monotonic ms). */
  startedAt: number;
}

/** `printrelay agent --config FILE`, up to the point where startAgent() has resolved. */
export async function startAgentChild(configFile: string, nodeArgs: string[] = []): Promise<AgentChild> {
  const child = cliChild('agent', ['agent', '--config', configFile], nodeArgs);
  const api = await child.waitForOutput(/local API\s+(http:\/\/\S+)/, 60_000);
  const started = await child.waitForOutput(/Press Ctrl\+C to stop\./, 60_000);
  return { child, localApiUrl: api.match[1] as string, startedAt: started.at };
}

export async function agentStatus(agent: AgentChild): Promise<AgentView> {
  const res = await fetch(`${agent.localApiUrl}/v1/status`);
  if (res.status !== 200) throw new Error(`agent GET /v1/status answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AgentView;
}

// ---- taps --------------------------------------------------------------------------------

/** A PUBLISH seen on the tap; `at` is when its last byte was passed on (monotonic ms). */
export interface TappedPublish {
  topic: string;
  payload: Buffer;
  at: number;
}

interface TcpProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP listener on HOST that connects each client to `upstreamPort` and hands both sockets to
 * `pipe`; either side closing closes both.
 */
async function startTcpProxy(
  upstreamPort: number,
  pipe: (client: Socket, upstream: Socket) => void,
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ host: HOST, port: upstreamPort, noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    pipe(client, upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP proxy between MQTT clients and the relay that passes every byte on at once and then
 * parses it: 'down' for PUBLISH packets to a client, stamped when their last byte was written
 * to the client's socket; 'up' for PUBLISH packets from a client, stamped when read.
 */
export class MqttTap extends EventEmitter<{ down: [TappedPublish]; up: [TappedPublish] }> {
  private proxy: TcpProxy | undefined;

  private constructor() {
    super();
  }

  static async start(relayMqttPort: number): Promise<MqttTap> {
    const tap = new MqttTap();
    tap.proxy = await startTcpProxy(relayMqttPort, (client, relay) => tap.#pipe(client, relay));
    return tap;
  }

  get url(): string {
    return `mqtt://${HOST}:${this.proxy?.port}`;
  }

  #pipe(client: Socket, relay: Socket): void {
    const watch = (direction: 'down' | 'up') => {
      const parser = mqtt.parser({ protocolVersion: 4 });
      let at = 0;
      parser.on('packet', (p: Packet) => {
        if (p.cmd === 'publish') {
          const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
          this.emit(direction, { topic: p.topic, payload, at });
        }
      });
      parser.on('error', () => {}); // what is not ours to read still passes
      return (chunk: Buffer) => {
        at = nowMs();
        parser.parse(chunk);
      };
    };
    const down = watch('down');
    const up = watch('up');
    relay.on('data', (chunk) => {
      client.write(chunk);
      down(chunk);
    });
    client.on('data', (chunk) => {
      up(chunk);
      relay.write(chunk);
    });
  }

  async close(): Promise<void> {
    await this.proxy?.close();
  }
}

/**
 * A TCP proxy in front of a printer that passes every byte on and emits 'job-start' with the
 * time a chunk from the agent holding the start of a job (ESC @) arrived.
 */
export class PrinterTap extends EventEmitter<{ 'job-start': [at: number] }> {
  private proxy: TcpProxy | undefined;

  private constructor() {
    super();
  }

  static async start(printerPort: number): Promise<PrinterTap> {
    const tap = new PrinterTap();
    tap.proxy = await startTcpProxy(printerPort, (agent, printer) => tap.#pipe(agent, printer));
    return tap;
  }

  get uri(): string {
    return `tcp://${HOST}:${this.proxy?.port}`;
  }

  #pipe(agent: Socket, printer: Socket): void {
    // ESC @ split over two chunks is still found.
    let last = 0;
    agent.on('data', (chunk: Buffer) => {
      const at = nowMs();
      printer.write(chunk);
      if (chunk.includes(JOB_START) || (last === JOB_START[0] && chunk[0] === JOB_START[1])) {
        this.emit('job-start', at);
      }
      last = chunk[chunk.length - 1] ?? 0;
    });
    printer.on('data', (chunk) => agent.write(chunk));
  }

  /** The time of the next job start from now on. */
  nextJobStart(): Promise<number> {
    return new Promise((resolve) => this.once('job-start', resolve));
  }

  async close(): Promise<void> {
    await this.proxy?.close();
  }
}

/** First time stamps by key, and waiting for one. */
export class Stamps {
  readonly #at = new Map<string, number>();
  readonly #waiters = new Map<string, ((at: number) => void)[]>();

  set(key: string, at: number): void {
    if (this.#at.has(key)) return;
    this.#at.set(key, at);
    for (const w of this.#waiters.get(key) ?? []) w(at);
    this.#waiters.delete(key);
  }

  get(key: string): number | undefined {
    return this.#at.get(key);
  }

  wait(key: string, timeoutMs: number, what: string): Promise<number> {
    const at = this.#at.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const list = this.#waiters.get(key) ?? [];
      list.push((t) => {
        clearTimeout(timer);
        resolve(t);
      });
      this.#waiters.set(key, list);
    });
  }
}

// ---- /proc -------------------------------------------------------------------------------

export interface ProcUsage {
  rssBytes: number;
  /** RSS in anonymous pages (heaps) and in file pages (the node binary, shared libraries). */
  anonBytes: number;
  fileBytes: number;
  /** User + system CPU time so far. */
  cpuMs: number;
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** What the kernel says a process uses now (Linux /proc). */
export function procUsage(pid: number): ProcUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  // Fields after the command name, which may hold spaces; utime and stime are fields 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    rssBytes: kb('VmRSS'),
    anonBytes: kb('RssAnon'),
    fileBytes: kb('RssFile') + kb('RssShmem'),
    cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
  };
}
