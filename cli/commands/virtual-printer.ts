// `printrelay virtual-printer`: runs the virtual ESC/POS printer for demos, training and
// tests. The print-out goes to stdout (or --out); everything else (addresses, answers to
// typed commands) goes to stderr, so the print-out can be piped on its own.
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { resolveProfile } from '../../escpos/profiles/index.js';
import {
  CONTROL_COMMANDS_HELP,
  runControlCommand,
  startControlServer,
} from '../../virtual-printer/control.js';
import { isFault } from '../../virtual-printer/status-bytes.js';
import { FAULTS, type Fault, startVirtualPrinter } from '../../virtual-printer/virtual-printer.js';
import { positiveInteger, positiveNumber } from '../options.js';

interface Options {
  listen: string;
  state: Fault[];
  gsh: boolean;
  asb: boolean;
  confirm: boolean;
  linesPerSecond: number;
  paperLines?: number;
  out?: string;
  control?: string;
  profile?: string;
}

function collectFaults(value: string, previous: Fault[]): Fault[] {
  const faults = value.split(',').map((s) => s.trim());
  for (const f of faults) {
    if (!isFault(f))
      throw new InvalidArgumentError(`unknown fault "${f}": must be one of ${FAULTS.join(', ')}`);
  }
  return [...previous, ...(faults as Fault[])];
}

export function registerVirtualPrinter(program: Command): void {
  program
    .command('virtual-printer')
    .description(
      'Run a virtual ESC/POS printer (Epson TM-T88VI-like, Chinese font) on TCP or a serial pty; ' +
        'it prints what it receives as text and answers status like a real printer.',
    )
    .option(
      '--listen <address>',
      'tcp://HOST:PORT, or pty for a serial port pair made with socat',
      'tcp://127.0.0.1:9100',
    )
    .addOption(
      new Option('--state <faults>', `fault(s) at start, repeatable or comma-separated: ${FAULTS.join('|')}`)
        .argParser(collectFaults)
        .default([], 'none'),
    )
    .option('--no-gsh', 'do not answer GS ( H, like a clone that only has GS r')
    .option('--no-asb', 'ignore GS a (no Automatic Status Back)')
    .option('--no-confirm', 'never answer GS r or GS ( H (a printer that never confirms printing)')
    .option('--lines-per-second <n>', 'print speed', positiveNumber, 200)
    .option('--paper-lines <n>', 'the paper runs out after this many printed lines', positiveInteger)
    .option('--out <file>', 'write the print-out to this file instead of stdout')
    .option(
      '--profile <name>',
      'paper of this printer profile (width in dots, font columns), e.g. gprinter-58 for 58 mm; default 80 mm, 576 dots',
    )
    .option('--control <address>', 'HTTP control API on tcp://127.0.0.1:PORT (loopback only)')
    .addHelpText(
      'after',
      `\nWhile it runs, type ${CONTROL_COMMANDS_HELP.replace('commands', 'these commands')}`,
    )
    .action(async (opts: Options) => {
      const output = opts.out === undefined ? process.stdout : createWriteStream(opts.out, { flags: 'a' });
      const printer = await startVirtualPrinter({
        listen: opts.listen,
        faults: opts.state,
        gsH: opts.gsh,
        asb: opts.asb,
        confirms: opts.confirm,
        linesPerSecond: opts.linesPerSecond,
        paperLines: opts.paperLines,
        output,
        ...(opts.profile === undefined ? {} : { paper: resolveProfile(opts.profile).paper }),
      });
      const control =
        opts.control === undefined ? undefined : await startControlServer(printer, opts.control);
      console.error(`virtual printer listening: ${printer.uri}`);
      if (control) console.error(`control API: ${control.url} (GET /status, POST /fault, ...)`);
      console.error('type help for commands');

      // One command at a time: "power-cycle 2000" then "paper-out" acts in that order.
      let previous = Promise.resolve();
      const input = createInterface({ input: process.stdin, terminal: false });
      input.on('line', (line) => {
        previous = previous.then(() =>
          runControlCommand(printer, line).then(
            (text) => void (text && console.error(text)),
            (err: unknown) => console.error(`error: ${err instanceof Error ? err.message : String(err)}`),
          ),
        );
      });

      let stopping = false;
      const stop = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        input.close();
        process.stdin.destroy();
        await control?.close();
        await printer.close(); // also ends socat in pty mode
        if (output !== process.stdout) await new Promise<void>((resolve) => output.end(() => resolve()));
      };
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          stop().catch((err: unknown) => {
            console.error(`printrelay: ${err instanceof Error ? err.message : String(err)}`);
            process.exitCode = 1;
          });
        });
      }
    });
}
