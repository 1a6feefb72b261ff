// `printrelay doctor`: everything a store needs to print, checked in the order a field tech
// would: the config, the agent service, the way to the relay (network, TLS, credentials,
// clock), the PC (disk, database), and each printer. Each check says what it found and, when
// something is wrong, what to do; nothing here changes anything but an optional test page.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import mqtt from 'mqtt';
import { resolveProfile } from '../../escpos/profiles/index.js';
import { type PrinterCondition, printerCondition, severity } from '../../shared/printer-state.js';
import { openReadOnly } from '../../shared/sqlite.js';
import { loadAgentConfig, type ResolvedAgentConfig } from '../config.js';
import { Printer } from '../printer/printer.js';
import { relayRequest } from '../relay-http.js';
import { testTicket } from '../test-ticket.js';
import type { AgentView, LocalJobView } from '../views.js';
import type { MessageKey } from './messages.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Said {
  key: MessageKey;
  params?: Record<string, string | number>;
}

export interface CheckResult {
  /** config, agent, reach, tls, login, clock, disk, db, or printer:<id>. */
  id: string;
  status: CheckStatus;
  found: Said;
  fix?: Said;
  /** For a printer: its people's condition (shared/printer-state.ts), to word the finding and the fix. */
  condition?: PrinterCondition;
  printer?: { id: string; name?: string | undefined; uri: string };
}

export interface DoctorOptions {
  configFile: string;
  /** Print a test page on every printer. */
  testPrint?: boolean;
  /** Per network step (default 5000). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i;
/** Clock skew that breaks nothing yet / that breaks certificate checks and expiry. */
const CLOCK_WARN_S = 30;
const CLOCK_FAIL_S = 300;
const DISK_WARN = 1024 ** 3;
const DISK_FAIL = 100 * 1024 ** 2;
const CERT_WARN_DAYS = 14;

const errorText = (err: unknown): string =>
  (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));

function relayAddress(config: ResolvedAgentConfig): { url: URL; host: string; port: number } {
  const url = new URL(config.relay.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { url, host, port: Number(url.port) || (DEFAULT_PORTS[url.protocol] ?? 0) };
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(Date.now() - started);
    });
    socket.once('timeout', () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    socket.once('error', reject);
  });
}

/** The CA the agent trusts for its relay (relay.caFile), as the agent's link uses it. */
function relayCa(config: ResolvedAgentConfig): { ca?: Buffer } {
  return config.relay.caFile === undefined ? {} : { ca: readFileSync(config.relay.caFile) };
}

function peerCertificate(
  host: string,
  port: number,
  timeoutMs: number,
  trust: { ca?: Buffer },
): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...trust,
      host,
      port,
      servername: net.isIP(host) ? undefined : host,
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(cert);
    });
    socket.once('timeout', () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
  });
}

function humanBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : `${Math.round(n / 1024 ** 2)} MB`;
}

function humanDuration(seconds: number): string {
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

async function checkAgent(
  config: ResolvedAgentConfig,
  timeoutMs: number,
): Promise<{ result: CheckResult; view: AgentView | null }> {
  const port = config.localApi.port;
  if (port === null || port === 0)
    return { result: { id: 'agent', status: 'skip', found: { key: 'agent.off' } }, view: null };
  try {
    const res = await relayRequest(
      new URL(`http://127.0.0.1:${port}/v1/status`),
      { method: 'GET' },
      { timeoutMs },
    );
    const view = JSON.parse(res.body) as AgentView;
    if (res.status !== 200 || view.storeId !== config.storeId) throw new Error('not this agent');
    return {
      result: {
        id: 'agent',
        status: 'ok',
        found: {
          key: 'agent.ok',
          params: { version: view.agentVersion, uptime: humanDuration(view.uptimeSeconds) },
        },
      },
      view,
    };
  } catch (err) {
    const refused = (err as Error & { cause?: NodeJS.ErrnoException }).cause?.code === 'ECONNREFUSED';
    return {
      result: refused
        ? { id: 'agent', status: 'warn', found: { key: 'agent.down' }, fix: { key: 'agent.down.fix' } }
        : {
            id: 'agent',
            status: 'fail',
            found: { key: 'agent.other', params: { port } },
            fix: { key: 'agent.other.fix', params: { port } },
          },
      view: null,
    };
  }
}

async function checkRelay(config: ResolvedAgentConfig, timeoutMs: number): Promise<CheckResult[]> {
  const { url, host, port } = relayAddress(config);
  let ms: number;
  try {
    ms = await connectTcp(host, port, timeoutMs);
  } catch (err) {
    const skipped = { status: 'skip' as const, found: { key: 'skipped.reach' as const } };
    return [
      {
        id: 'reach',
        status: 'fail',
        found: { key: 'reach.fail', params: { host, port, error: errorText(err) } },
        fix: { key: 'reach.fix', params: { port } },
      },
      { id: 'tls', ...skipped },
      { id: 'login', ...skipped },
    ];
  }
  const results: CheckResult[] = [
    { id: 'reach', status: 'ok', found: { key: 'reach.ok', params: { host, port, ms } } },
  ];
  const encrypted = url.protocol === 'mqtts:' || url.protocol === 'wss:';
  if (!encrypted) {
    results.push(
      LOOPBACK.test(host)
        ? { id: 'tls', status: 'ok', found: { key: 'tls.plain.local' } }
        : { id: 'tls', status: 'warn', found: { key: 'tls.plain' }, fix: { key: 'tls.plain.fix' } },
    );
  } else {
    try {
      const cert = await peerCertificate(host, port, timeoutMs, relayCa(config));
      const days = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000);
      results.push(
        days < CERT_WARN_DAYS
          ? {
              id: 'tls',
              status: 'warn',
              found: { key: 'tls.expiring', params: { days } },
              fix: { key: 'tls.expiring.fix' },
            }
          : { id: 'tls', status: 'ok', found: { key: 'tls.ok', params: { days } } },
      );
    } catch (err) {
      results.push({
        id: 'tls',
        status: 'fail',
        found: { key: 'tls.fail', params: { error: errorText(err) } },
        fix: { key: 'tls.fail.fix' },
      });
    }
  }
  results.push(await checkLogin(config, timeoutMs));
  return results;
}

/** Signs in as the store under a client id of its own, so the running agent is not taken over. */
function checkLogin(config: ResolvedAgentConfig, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(config.relay.url, {
      ...relayCa(config),
      username: config.storeId,
      password: config.relay.password,
      clientId: `${config.storeId}:doctor-${process.pid}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    });
    const done = (result: CheckResult) => {
      client.end(true);
      resolve(result);
    };
    client.once('connect', () =>
      done({ id: 'login', status: 'ok', found: { key: 'login.ok', params: { store: config.storeId } } }),
    );
    client.once('error', (err: Error & { code?: number }) =>
      done(
        err.code === 4 || err.code === 5
          ? {
              id: 'login',
              status: 'fail',
              found: { key: 'login.refused' },
              fix: { key: 'login.refused.fix' },
            }
          : { id: 'login', status: 'fail', found: { key: 'login.fail', params: { error: err.message } } },
      ),
    );
    client.once('close', () =>
      done({
        id: 'login',
        status: 'fail',
        found: { key: 'login.fail', params: { error: 'connection closed' } },
      }),
    );
  });
}

async function checkClock(config: ResolvedAgentConfig, timeoutMs: number): Promise<CheckResult> {
  if (!config.relay.apiUrl) return { id: 'clock', status: 'skip', found: { key: 'clock.unknown' } };
  try {
    const sent = Date.now();
    const res = await relayRequest(
      new URL('/healthz', config.relay.apiUrl),
      { method: 'GET' },
      { timeoutMs, ...(config.relay.caFile === undefined ? {} : { caFile: config.relay.caFile }) },
    );
    const received = Date.now();
    const theirs = Date.parse(String(res.headers.date));
    if (Number.isNaN(theirs)) throw new Error('no Date header');
    // Date has whole seconds: compare with the middle of the round trip.
    const seconds = Math.round(((sent + received) / 2 - theirs) / 1000);
    const off = Math.abs(seconds);
    if (off < CLOCK_WARN_S)
      return { id: 'clock', status: 'ok', found: { key: 'clock.ok', params: { seconds } } };
    return {
      id: 'clock',
      status: off < CLOCK_FAIL_S ? 'warn' : 'fail',
      found: { key: 'clock.off', params: { seconds } },
      fix: { key: 'clock.fix' },
    };
  } catch (err) {
    return {
      id: 'clock',
      status: 'warn',
      found: { key: 'clock.unreachable', params: { error: errorText(err) } },
    };
  }
}

async function checkDisk(config: ResolvedAgentConfig): Promise<CheckResult> {
  let dir = config.dataDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const params = { free: humanBytes(free) };
  if (free >= DISK_WARN) return { id: 'disk', status: 'ok', found: { key: 'disk.ok', params } };
  return {
    id: 'disk',
    status: free < DISK_FAIL ? 'fail' : 'warn',
    found: { key: 'disk.low', params },
    fix: { key: 'disk.fix' },
  };
}

async function checkDatabase(config: ResolvedAgentConfig): Promise<CheckResult[]> {
  const file = join(config.dataDir, 'agent.db');
  if (!existsSync(file)) return [{ id: 'db', status: 'ok', found: { key: 'db.new' } }];
  const results: CheckResult[] = [];
  try {
    const db = openReadOnly(file);
    try {
      const verdict = db.pragma('quick_check', { simple: true });
      results.push(
        verdict === 'ok'
          ? { id: 'db', status: 'ok', found: { key: 'db.ok', params: { file } } }
          : {
              id: 'db',
              status: 'fail',
              found: { key: 'db.corrupt', params: { error: String(verdict) } },
              fix: { key: 'db.corrupt.fix' },
            },
      );
    } finally {
      db.close();
    }
  } catch (err) {
    results.push({
      id: 'db',
      status: 'fail',
      found: { key: 'db.open', params: { error: errorText(err) } },
      fix: { key: 'db.corrupt.fix' },
    });
  }
  const mode = statSync(file).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    results.push({
      id: 'db-mode',
      status: 'warn',
      found: { key: 'db.mode', params: { file, mode: mode.toString(8) } },
      fix: { key: 'db.mode.fix' },
    });
  }
  return results;
}

function printerResult(p: ResolvedAgentConfig['printers'][number], condition: PrinterCondition): CheckResult {
  const level = severity(condition);
  return {
    id: `printer:${p.id}`,
    status: level === 'ok' ? 'ok' : level === 'error' ? 'fail' : 'warn',
    found: { key: 'printer.state' },
    condition,
    printer: { id: p.id, name: p.name, uri: p.uri },
  };
}

/** The running agent holds the printers' connections: ask it, and have it print the test page. */
async function printersThroughAgent(
  config: ResolvedAgentConfig,
  view: AgentView,
  opts: Required<Pick<DoctorOptions, 'testPrint' | 'timeoutMs'>>,
): Promise<CheckResult[]> {
  const api = `http://127.0.0.1:${config.localApi.port}`;
  return Promise.all(
    config.printers.map(async (p) => {
      const seen = view.printers.find((x) => x.id === p.id);
      const result = printerResult(p, printerCondition(seen?.status ?? null));
      if (!opts.testPrint || result.status === 'fail') return result;
      const made = await relayRequest(new URL(`${api}/v1/printers/${p.id}/test-print`), { method: 'POST' });
      let job = JSON.parse(made.body) as LocalJobView;
      const deadline = Date.now() + opts.timeoutMs * 6;
      while (
        !['printed', 'failed', 'uncertain', 'cancelled', 'expired'].includes(job.state) &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 200));
        job = JSON.parse(
          (await relayRequest(new URL(`${api}/v1/jobs/${job.jobId}`), { method: 'GET' })).body,
        ) as LocalJobView;
      }
      return withTestPrint(result, job.state === 'printed', job.detail ?? job.state);
    }),
  );
}

function withTestPrint(result: CheckResult, printed: boolean, reason: string): CheckResult {
  return printed
    ? { ...result, found: { key: 'printer.printed' } }
    : { ...result, status: 'fail', found: { key: 'printer.notPrinted', params: { reason } } };
}

/** No agent running: open each printer ourselves, one at a time (a serial port opens once). */
async function printersDirectly(
  config: ResolvedAgentConfig,
  opts: Required<Pick<DoctorOptions, 'testPrint' | 'timeoutMs'>>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const p of config.printers) {
    const profile = resolveProfile(p.profile);
    const printer = new Printer({
      uri: p.uri,
      profile,
      connectTimeoutMs: opts.timeoutMs,
      confirmTimeoutMs: opts.timeoutMs * 6,
      ...config.printerOptions,
    });
    let lastError: Error | undefined;
    printer.on('connect-error', (err) => {
      lastError = err;
    });
    try {
      printer.start();
      const answered = await printer.whenConnected(opts.timeoutMs);
      if (!answered) {
        results.push({
          id: `printer:${p.id}`,
          status: 'fail',
          found: {
            key: 'printer.unreachable',
            params: { uri: p.uri, error: lastError?.message ?? 'no answer' },
          },
          fix: { key: 'printer.unreachable.fix' },
          printer: { id: p.id, name: p.name, uri: p.uri },
        });
        continue;
      }
      const result = printerResult(p, printerCondition(printer.status));
      if (!opts.testPrint || result.status === 'fail') {
        results.push(result);
        continue;
      }
      const { renderTicket } = await import('../../escpos/encoder.js');
      const { bytes } = renderTicket(testTicket(config.storeId, p, profile.name), profile, {
        confirmToken: false,
      });
      const done = await printer.print(bytes).done;
      results.push(withTestPrint(result, done.state === 'printed', done.reason ?? done.state));
    } finally {
      await printer.close();
    }
  }
  return results;
}

/** Runs every check; never throws for what it checks (a broken config is a failed check). */
export async function runDoctor(
  opts: DoctorOptions,
): Promise<{ storeId: string | null; results: CheckResult[] }> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let config: ResolvedAgentConfig;
  try {
    config = loadAgentConfig(opts.configFile, opts.env ?? process.env);
  } catch (err) {
    return {
      storeId: null,
      results: [
        {
          id: 'config',
          status: 'fail',
          found: { key: 'config.fail', params: { error: (err as Error).message } },
          fix: { key: 'config.fix' },
        },
      ],
    };
  }
  const results: CheckResult[] = [
    {
      id: 'config',
      status: 'ok',
      found: { key: 'config.ok', params: { file: opts.configFile, store: config.storeId } },
    },
  ];
  const agent = await checkAgent(config, timeoutMs);
  results.push(agent.result);
  const [relay, clock, disk, db] = await Promise.all([
    checkRelay(config, timeoutMs),
    checkClock(config, timeoutMs),
    checkDisk(config),
    checkDatabase(config),
  ]);
  results.push(...relay, clock, disk, ...db);
  const printing = { testPrint: opts.testPrint ?? false, timeoutMs };
  results.push(
    ...(agent.view
      ? await printersThroughAgent(config, agent.view, printing)
      : await printersDirectly(config, printing)),
  );
  return { storeId: config.storeId, results };
}
