// `printrelay printer status|print|identify <uri>`: talks to one printer directly through the
// driver, for installers and field techs. Results go to stdout (JSON, or one line for
// print); progress and problems go to stderr. Exit codes: 0 ok, 1 not ready / not printed,
// 2 cannot connect.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { discoverPrinters } from '../../agent/discovery/discover.js';
import { SENT_UNCONFIRMED } from '../../agent/printer/print-job.js';
import { Printer, type PrintJobUpdate } from '../../agent/printer/printer.js';
import { stripTrailingConfirmation } from '../../escpos/commands.js';
import { renderTicket } from '../../escpos/encoder.js';
import { resolveProfile } from '../../escpos/profiles/index.js';
import type { PrinterProfile } from '../../protocol/profile.js';
import { notReadyReasons } from '../../protocol/status.js';
import { parseJsonText } from '../../shared/json-file.js';
import { CONDITION_TEXT } from '../../shared/printer-state.js';
import { port, positiveInteger } from '../options.js';
import { printTable } from '../table.js';
import { ticketFromJson } from './render.js';

const DEFAULT_PROFILE = 'epson-tm-t88';

interface Options {
  profile: string;
  timeout: number;
}

/** Exit codes, so that scripts can tell a printer that needs a person from one they cannot reach. */
const EXIT_NOT_READY = 1;
const EXIT_CANNOT_CONNECT = 2;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface DiscoverCliOptions {
  json: boolean;
  scan: boolean;
  subnet: string[];
  port: string[];
  serial: boolean;
  timeout: number;
}

async function discover(opts: DiscoverCliOptions): Promise<void> {
  const ports = opts.port.map((p) => port(p));
  const found = await discoverPrinters({
    tcp: opts.scan,
    ...(opts.subnet.length > 0 ? { subnets: opts.subnet } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    serial: opts.serial,
    timeoutMs: opts.timeout,
  });
  if (opts.json) {
    console.log(JSON.stringify(found, null, 2));
    return;
  }
  if (found.length === 0) {
    console.log(
      'No printers found. 没有找到打印机：请检查电源和连接线，网络打印机请确认和电脑在同一个网络。',
    );
    return;
  }
  const rows = [
    ['uri', 'printer', 'font', 'cutter', 'suggested profile', 'state'],
    ...found.map((p) => [
      p.uri,
      p.identity ? [p.identity.maker, p.identity.model].filter(Boolean).join(' ') || '?' : '?',
      p.identity?.fontLanguage ?? '-',
      p.identity ? (p.identity.autocutter ? 'yes' : 'no') : '-',
      p.suggestedProfile ?? '(choose one: printrelay profiles)',
      p.condition
        ? `${CONDITION_TEXT['zh-CN'][p.condition].label} ${CONDITION_TEXT.en[p.condition].label}`
        : 'no answer',
    ]),
  ];
  printTable(rows);
}

export function registerPrinter(program: Command): void {
  const printer = program
    .command('printer')
    .description(
      'Talk to one printer directly: status, print a ticket, identify. <uri> is tcp://HOST[:9100] or serial:///dev/ttyUSB0?baud=9600&flow=none|rtscts|xonxoff',
    );

  const common = (cmd: Command, timeoutMs: number, timeoutWhat: string): Command =>
    cmd
      .option('--profile <name>', 'printer profile: a shipped one by name, or a .json file', DEFAULT_PROFILE)
      .option('--timeout <ms>', timeoutWhat, positiveInteger, timeoutMs);

  common(
    printer
      .command('status <uri>')
      .description('Print the printer status as JSON; exit 0 when it is ready, 1 with the reasons when not'),
    5000,
    'how long to wait for the printer to answer',
  ).action(async (uri: string, opts: Options) => {
    await withPrinter(uri, opts, async (p) => {
      const status = p.status;
      console.log(JSON.stringify(status, null, 2));
      const reasons = notReadyReasons(status);
      if (reasons.length > 0) {
        console.error(`printer not ready: ${reasons.join(', ')}`);
        process.exitCode = EXIT_NOT_READY;
      }
    });
  });

  common(
    printer
      .command('print <uri> <file>')
      .description(
        'Print a ticket (.json, rendered for the profile) or ESC/POS bytes (.bin, e.g. from `printrelay render`); ' +
          'exit 0 once the printer confirmed that it printed',
      ),
    30_000,
    'how long the whole command may take: connecting, waiting for the printer to be ready, printing',
  ).action(async (uri: string, file: string, opts: Options) => {
    const bytes = await loadJob(file, resolveProfile(opts.profile));
    await withPrinter(uri, opts, async (p, deadline) => {
      const job = p.print(bytes);
      job.on('state', (u) => reportProgress(u));
      const result = await within(job.done, deadline);
      if (result === undefined) {
        // A printer out of paper or with its cover open never prints: say so and give up.
        const reasons = p.notReadyReasons.map((r) => r.replaceAll('-', ' '));
        const why = reasons.length > 0 ? reasons.join(', ') : 'no confirmation that it printed';
        const sent = job.state === 'queued' ? 'nothing was sent' : 'it may or may not have printed';
        console.error(`${uri}: ${why} (not printed within ${opts.timeout} ms; ${sent})`);
        process.exitCode = EXIT_NOT_READY;
        return;
      }
      if (result.state === 'printed') {
        console.log(
          result.reason === SENT_UNCONFIRMED
            ? `sent ${file} (this printer cannot confirm printing: look at the paper)`
            : `printed ${file}`,
        );
      } else {
        console.error(`not printed: ${result.state}${result.reason ? ` (${result.reason})` : ''}`);
        process.exitCode = EXIT_NOT_READY;
      }
    });
  });

  common(
    printer
      .command('identify <uri>')
      .description('Ask the printer who it is (GS I): maker, model, font language and more, as JSON'),
    5000,
    'how long to wait for the printer to answer',
  ).action(async (uri: string, opts: Options) => {
    await withPrinter(uri, opts, async (p) => {
      console.log(JSON.stringify(await p.identify({ timeoutMs: opts.timeout }), null, 2));
    });
  });

  printer
    .command('discover')
    .description(
      "Find the printers this PC can reach: network printers on the PC's own subnet (port 9100), serial ports; each identified (GS I) with a suggested profile",
    )
    .option('--json', 'the printers found as JSON', false)
    .option('--no-scan', 'do not scan the network')
    .option(
      '--subnet <cidr>',
      "scan this subnet instead of the PC's own (at most a /24); repeat for more",
      collect,
      [],
    )
    .option('--port <port>', 'raw printing port to try (default 9100); repeat for more', collect, [])
    .option('--no-serial', 'do not try the serial ports')
    .option('--timeout <ms>', 'how long each printer may take to answer', positiveInteger, 2000)
    .action((opts: DiscoverCliOptions) => discover(opts));
}

/**
 * Connects (within opts.timeout), runs `use` with the time by which the command must be done
 * (opts.timeout after it started), and always closes the printer.
 */
async function withPrinter(
  uri: string,
  opts: Options,
  use: (p: Printer, deadline: number) => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + opts.timeout;
  const profile = resolveProfile(opts.profile);
  const printer = new Printer({
    uri,
    profile,
    confirmTimeoutMs: opts.timeout,
    connectTimeoutMs: opts.timeout,
  });
  let lastError: Error | undefined;
  printer.on('connect-error', (err) => {
    lastError = err;
  });
  printer.on('disconnected', (err) => {
    lastError = err;
  });
  try {
    printer.start();
    if (!(await printer.whenConnected(opts.timeout))) {
      console.error(
        lastError
          ? `${lastError.message} (gave up after ${opts.timeout} ms)`
          : `no answer from ${uri} within ${opts.timeout} ms: it does not answer status requests`,
      );
      process.exitCode = EXIT_CANNOT_CONNECT;
      return;
    }
    await use(printer, deadline);
  } finally {
    await printer.close();
  }
}

/** What `promise` gives if it settles before `deadline` (ms since the epoch); undefined if not. */
function within<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function reportProgress(u: PrintJobUpdate): void {
  if (u.state === 'waiting') console.error(`waiting: ${u.reason ?? 'printer not ready'}`);
  else if (u.state === 'queued' && u.reason) console.error(`waiting for the printer: ${u.reason}`);
  else if (u.state === 'sending') console.error('printing');
}

async function loadJob(file: string, profile: PrinterProfile): Promise<Uint8Array> {
  const type = extname(file).toLowerCase();
  if (type !== '.json' && type !== '.bin') {
    throw new Error(`${file}: expected a ticket (.json) or ESC/POS bytes (.bin)`);
  }
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The driver appends its own confirmation request, with a token it waits for.
  if (type === '.bin') return stripTrailingConfirmation(data);
  const { bytes, warnings } = renderTicket(
    parseJsonText(data.toString('utf8'), file, 'ticket', (value) => ticketFromJson(value, file)),
    profile,
    { confirmToken: false },
  );
  for (const warning of warnings) console.error(`warning: ${warning}`);
  return bytes;
}
