// Changing the virtual printer's condition from outside while it runs: typed commands (the
// CLI reads them from stdin, one per line) and a loopback-only HTTP API for scripts and
// tests. Both act on the same VirtualPrinter methods.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import { StringEnum } from '../protocol/schema.js';
import { validator } from '../protocol/validate.js';
import { isFault } from './status-bytes.js';
import { FAULTS, type VirtualPrinter, type VirtualPrinterStatus } from './virtual-printer.js';

export const CONTROL_COMMANDS_HELP = [
  'commands (one per line):',
  '  <fault>             switch a fault on; the faults are',
  `                      ${FAULTS.join(', ')}`,
  '  clear [fault]       switch one fault off, or all of them',
  '  refill              new paper roll (clears paper-out and near-end)',
  '  cover-close         close the cover',
  '  drawer-open | drawer-close',
  '  power-cycle [ms]    switch off for ms (default 1000) and on again',
  '  status              show the current state',
  '  help                this list',
].join('\n');

/** A one-line summary of the printer's state, for people. */
export function describeStatus(s: VirtualPrinterStatus): string {
  return [
    s.powered ? (s.online ? 'online' : 'offline') : 'powered off',
    `paper ${s.paper}${s.paperLinesLeft === null ? '' : ` (${s.paperLinesLeft} lines left)`}`,
    `faults: ${s.faults.length > 0 ? s.faults.join(', ') : 'none'}`,
    `drawer ${s.drawerOpen ? 'open' : 'closed'}`,
    `ASB ${s.asbMask === 0 ? 'off' : `0x${s.asbMask.toString(16).padStart(2, '0')}`}`,
    `${s.connections} connection(s)`,
    `${s.bufferedBytes} bytes buffered`,
    `${s.printedItems} items printed`,
  ].join('; ');
}

/** Runs one typed command; resolves to what to show, rejects with a message naming the mistake. */
export async function runControlCommand(printer: VirtualPrinter, line: string): Promise<string> {
  const [command = '', arg, ...extra] = line.trim().split(/\s+/);
  if (extra.length > 0) throw new Error(`too many arguments for "${command}"`);
  if (command === '') return '';
  if (command === 'help') return CONTROL_COMMANDS_HELP;
  if (command !== 'clear' && command !== 'power-cycle' && arg !== undefined) {
    throw new Error(`"${command}" takes no argument`);
  }
  if (isFault(command)) {
    printer.setFault(command, true);
  } else if (command === 'clear') {
    if (arg !== undefined && !isFault(arg))
      throw new Error(`unknown fault "${arg}": must be one of ${FAULTS.join(', ')}`);
    for (const f of arg === undefined ? FAULTS : [arg]) printer.setFault(f, false);
  } else if (command === 'refill') {
    printer.refill();
  } else if (command === 'cover-close') {
    printer.setFault('cover-open', false);
  } else if (command === 'drawer-open' || command === 'drawer-close') {
    printer.setDrawer(command === 'drawer-open');
  } else if (command === 'power-cycle') {
    const offMs = arg === undefined ? undefined : Number(arg);
    if (offMs !== undefined && !(Number.isInteger(offMs) && offMs >= 0)) {
      throw new Error(`power-cycle takes a whole number of milliseconds, got "${arg}"`);
    }
    await printer.powerCycle(offMs);
  } else if (command !== 'status') {
    throw new Error(`unknown command "${command}" (type help for the list)`);
  }
  return describeStatus(printer.status);
}

const FaultRequest = Type.Object(
  { fault: StringEnum(FAULTS), on: Type.Boolean() },
  { additionalProperties: false },
);
const DrawerRequest = Type.Object({ open: Type.Boolean() }, { additionalProperties: false });
const PowerCycleRequest = Type.Object(
  { offMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })) },
  { additionalProperties: false },
);
const parseFaultRequest = validator(FaultRequest, 'fault request');
const parseDrawerRequest = validator(DrawerRequest, 'drawer request');
const parsePowerCycleRequest = validator(PowerCycleRequest, 'power-cycle request');

const MAX_BODY_BYTES = 16 * 1024;

export interface ControlServer {
  /** Base URL, e.g. http://127.0.0.1:9200 */
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** `tcp://127.0.0.1:PORT` (or [::1], localhost): the API has no authentication, so loopback only. */
export function parseControlAddress(address: string): { host: string; port: number } {
  const m = /^tcp:\/\/(127(?:\.\d{1,3}){3}|localhost|\[::1\]):(\d{1,5})$/.exec(address);
  const port = Number(m?.[2]);
  if (!m?.[1] || port > 65535) {
    throw new Error(
      `control address "${address}" must be tcp://127.0.0.1:PORT (loopback only: the control API has no authentication)`,
    );
  }
  return { host: m[1] === '[::1]' ? '::1' : m[1], port };
}

/**
 * HTTP control API:
 *   GET  /status                        -> VirtualPrinterStatus (JSON)
 *   POST /fault {fault, on}             -> status
 *   POST /refill                        -> status
 *   POST /drawer {open}                 -> status
 *   POST /power-cycle {offMs?}          -> status, once the printer is back on
 *   GET  /printed                       -> the print-out so far (text)
 * Errors answer {error: "..."} with 400 (bad body), 404 or 405.
 */
export async function startControlServer(printer: VirtualPrinter, address: string): Promise<ControlServer> {
  const { host, port } = parseControlAddress(address);
  const server = http.createServer((req, res) => {
    route(printer, req)
      .then(({ status = 200, type = 'application/json', body }) => {
        res.writeHead(status, { 'content-type': `${type}; charset=utf-8` }).end(body);
      })
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.statusCode : 400;
        const error = err instanceof Error ? err.message : String(err);
        res
          .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
          .end(JSON.stringify({ error }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`cannot listen for control on ${address}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Reply {
  status?: number;
  type?: string;
  body: string;
}

const ROUTES = [
  'GET /status',
  'POST /fault',
  'POST /refill',
  'POST /drawer',
  'POST /power-cycle',
  'GET /printed',
];

async function route(printer: VirtualPrinter, req: http.IncomingMessage): Promise<Reply> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const key = `${req.method} ${path}`;
  const json = (): Reply => ({ body: JSON.stringify(printer.status) });
  switch (key) {
    case 'GET /status':
      return json();
    case 'GET /printed': {
      const text = printer.printedText();
      return { type: 'text/plain', body: text === '' ? '' : `${text}\n` };
    }
    case 'POST /fault': {
      const { fault, on } = parseFaultRequest(await readJson(req));
      printer.setFault(fault, on);
      return json();
    }
    case 'POST /refill':
      printer.refill();
      return json();
    case 'POST /drawer':
      printer.setDrawer(parseDrawerRequest(await readJson(req)).open);
      return json();
    case 'POST /power-cycle':
      await printer.powerCycle(parsePowerCycleRequest(await readJson(req)).offMs);
      return json();
  }
  if (ROUTES.some((r) => r.endsWith(` ${path}`))) {
    throw new HttpError(405, `${req.method} is not allowed on ${path}`);
  }
  throw new HttpError(404, `no endpoint ${key}; there are: ${ROUTES.join(', ')}`);
}

/** The request body as JSON; an empty body is {}. */
async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
