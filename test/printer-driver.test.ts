// The printer driver against the virtual printer, over real TCP sockets and a real serial pty
// (socat): printing with confirmation, paper out mid-job, cover, power cycles, lost
// connections, printers that never confirm, GS r-only clones, identify, XON/XOFF; then the
// `printrelay printer` commands as child processes.
import { execFile } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Printer,
  type PrinterOptions,
  type PrintJob,
  type PrintJobUpdate,
} from '../agent/printer/printer.js';
import { renderTicket } from '../escpos/encoder.js';
import { getProfile } from '../escpos/profiles/index.js';
import type { PrinterProfile } from '../protocol/profile.js';
import type { HostConnection } from '../virtual-printer/link.js';
import { PtyLink } from '../virtual-printer/pty-link.js';
import {
  startVirtualPrinter,
  type VirtualPrinter,
  type VirtualPrinterOptions,
} from '../virtual-printer/virtual-printer.js';
import { CLI_PATH, REPO_ROOT } from './support/build.js';

const profile = getProfile('epson-tm-t88');
/** A clone without GS ( H: jobs are confirmed with GS r 1. */
const gsROnly: PrinterProfile = { ...profile, status: { ...profile.status, gsH: false } };

/** A job whose print-out is easy to find: ESC @ and one text line per argument. */
function ticket(...lines: string[]): Uint8Array {
  return Buffer.from(`\x1b@${lines.join('\n')}\n`, 'latin1');
}

const lines = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);
/** How many printed lines are exactly `line`. */
const printedCount = (vp: VirtualPrinter, line: string): number =>
  vp
    .printedText()
    .split('\n')
    .filter((l) => l.trim() === line).length;

/** The next `name` event whose arguments pass `test`. */
function nextEvent<T extends unknown[]>(
  emitter: EventEmitter,
  name: string,
  test: (...args: T) => boolean = () => true,
  timeoutMs = 8000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no matching '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    function listener(...args: unknown[]): void {
      if (!test(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(args as T);
    }
    emitter.on(name, listener);
  });
}

function recordStates(job: PrintJob): PrintJobUpdate[] {
  const seen: PrintJobUpdate[] = [];
  job.on('state', (u) => seen.push(u));
  return seen;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each([
  ['TCP', 'tcp://127.0.0.1:0'],
  ['a serial pty', 'pty'],
])('printer driver over %s', (_transport, listen) => {
  /** A virtual printer and a started driver for it; fast polling keeps the tests quick. */
  async function setup(
    vpOptions: Partial<VirtualPrinterOptions> = {},
    options: Partial<PrinterOptions> = {},
  ): Promise<{ vp: VirtualPrinter; printer: Printer }> {
    const vp = await startVirtualPrinter({ listen, ...vpOptions });
    cleanups.push(() => vp.close());
    const printer = new Printer({
      uri: vp.uri,
      profile,
      pollIntervalMs: 100,
      statusSettleMs: 50,
      ...options,
    });
    cleanups.push(() => printer.close());
    printer.start();
    return { vp, printer };
  }

  it('prints a job and calls it printed once the printer confirms it', async () => {
    const { vp, printer } = await setup();
    await nextEvent(printer, 'connected');
    const job = printer.print(ticket('HELLO 1', 'HELLO 2'));
    const states = recordStates(job);
    const result = await job.done;
    expect(result.state).toBe('printed');
    expect(states.map((s) => s.state)).toEqual(['sending', 'printed']);
    expect(printedCount(vp, 'HELLO 1')).toBe(1);
    expect(printedCount(vp, 'HELLO 2')).toBe(1);
  });

  it('holds a job as waiting while the paper is out and completes it once after a refill', async () => {
    // 12 lines on a roll of 8: it runs out mid-job, and a new roll is enough for the rest.
    const { vp, printer } = await setup({ linesPerSecond: 40, paperLines: 8 });
    const body = lines('PAPER', 10);
    const job = printer.print(ticket('PAPER-START', ...body, 'PAPER-END'));
    const states = recordStates(job);
    const [waiting] = await nextEvent<[PrintJobUpdate]>(job, 'state', (u) => u.state === 'waiting');
    expect(waiting.reason).toBe('paper-out');
    expect(printer.status.paper).toBe('out');
    expect(printedCount(vp, 'PAPER-END')).toBe(0);
    vp.refill();
    const result = await job.done;
    expect(result.state).toBe('printed');
    expect(states.filter((s) => s.state === 'printed')).toHaveLength(1);
    for (const line of ['PAPER-START', ...body, 'PAPER-END']) expect(printedCount(vp, line)).toBe(1);
  });

  it('reports an opened cover within 1 s, with the default poll interval and settle time', async () => {
    const { vp, printer } = await setup({}, { pollIntervalMs: undefined, statusSettleMs: undefined });
    await nextEvent(printer, 'connected');
    const opened = Date.now();
    vp.setFault('cover-open', true);
    const [change] = await nextEvent<[{ status: { coverOpen: boolean } }]>(
      printer,
      'status',
      (c) => c.status.coverOpen,
    );
    expect(Date.now() - opened).toBeLessThan(1000);
    expect(printer.notReadyReasons).toEqual(['cover-open']);
    expect(change.status.coverOpen).toBe(true);
    vp.setFault('cover-open', false);
    await nextEvent<[{ status: { coverOpen: boolean } }]>(printer, 'status', (c) => !c.status.coverOpen);
    expect(printer.notReadyReasons).toEqual([]);
  });

  it('reconnects after a power cycle and prints the next job', async () => {
    const { vp, printer } = await setup();
    expect((await printer.print(ticket('BEFORE-CYCLE')).done).state).toBe('printed');
    const lost = nextEvent(printer, 'disconnected');
    await vp.powerCycle(200);
    await lost;
    const job = printer.print(ticket('AFTER-CYCLE'));
    expect((await job.done).state).toBe('printed');
    expect(printedCount(vp, 'AFTER-CYCLE')).toBe(1);
    expect(printer.status.connected).toBe(true);
  });

  it('keeps a job queued while the printer is off and prints it after reconnecting', async () => {
    const { vp, printer } = await setup();
    await nextEvent(printer, 'connected');
    const lost = nextEvent(printer, 'disconnected');
    const cycle = vp.powerCycle(700);
    await lost;
    const job = printer.print(ticket('QUEUED-WHILE-OFF'));
    const states = recordStates(job);
    await new Promise((resolve) => setImmediate(resolve));
    expect(job.state).toBe('queued');
    expect(job.reason).toBe('disconnected');
    await cycle;
    expect((await job.done).state).toBe('printed');
    expect(states[0]?.state).toBe('queued');
    expect(printedCount(vp, 'QUEUED-WHILE-OFF')).toBe(1);
  });

  it('calls a job uncertain when the connection drops mid-job, and prints the next one', async () => {
    const { vp, printer } = await setup({ linesPerSecond: 10 });
    const job = printer.print(ticket(...lines('LONG', 30)));
    await nextEvent(vp, 'printed');
    await vp.powerCycle(100);
    const result = await job.done;
    expect(result).toMatchObject({ state: 'uncertain', reason: 'connection-lost' });
    const next = printer.print(ticket('NEXT-AFTER-DROP'));
    expect((await next.done).state).toBe('printed');
    expect(printedCount(vp, 'NEXT-AFTER-DROP')).toBe(1);
  });

  it('calls a job the printer never confirms uncertain after confirmTimeoutMs', async () => {
    const { vp, printer } = await setup({ confirms: false }, { confirmTimeoutMs: 300 });
    const job = printer.print(ticket('NEVER-CONFIRMED'));
    await nextEvent<[PrintJobUpdate]>(job, 'state', (u) => u.state === 'sending');
    const sent = Date.now();
    const result = await job.done;
    expect(result).toMatchObject({ state: 'uncertain', reason: 'confirm-timeout' });
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
    expect(printedCount(vp, 'NEVER-CONFIRMED')).toBe(1);
  });

  it('counts the confirmation timeout only while the printer is ready', async () => {
    const { vp, printer } = await setup({ confirms: false, linesPerSecond: 20 }, { confirmTimeoutMs: 300 });
    const job = printer.print(ticket(...lines('SLOW', 4)));
    await nextEvent<[PrintJobUpdate]>(job, 'state', (u) => u.state === 'sending');
    vp.setFault('cover-open', true);
    const [waiting] = await nextEvent<[PrintJobUpdate]>(job, 'state', (u) => u.state === 'waiting');
    expect(waiting.reason).toBe('cover-open');
    // Longer than the whole timeout: the job must still be waiting, not uncertain.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(job.state).toBe('waiting');
    vp.setFault('cover-open', false);
    expect(await job.done).toMatchObject({ state: 'uncertain', reason: 'confirm-timeout' });
  });

  it('confirms with GS r on a printer without GS ( H, with identify between jobs', async () => {
    const { vp, printer } = await setup({ gsH: false }, { profile: gsROnly });
    const first = printer.print(ticket('GSR-FIRST'));
    const identity = printer.identify();
    const second = printer.print(ticket('GSR-SECOND'));
    expect((await first.done).state).toBe('printed');
    expect((await identity).model).toBe('TM-T88VI');
    expect((await second.done).state).toBe('printed');
    expect(printedCount(vp, 'GSR-FIRST')).toBe(1);
    expect(printedCount(vp, 'GSR-SECOND')).toBe(1);
  });

  it('identifies the printer', async () => {
    const { printer } = await setup();
    const identity = await printer.identify();
    expect(identity).toMatchObject({
      maker: 'EPSON',
      model: 'TM-T88VI',
      fontLanguage: 'CHINA GB18030',
      twoByteChars: true,
      autocutter: true,
    });
  });
});

describe('printer driver against a scripted serial device', () => {
  /** No ASB, GS ( H or GS I: status comes from DLE EOT alone, confirmations from GS r. */
  const plain: PrinterProfile = { ...profile, status: { asb: false, gsH: false, identify: false } };

  /**
   * A serial device on a pty that answers DLE EOT "all clear" (while `answering`) and GS r 1
   * "paper ok", and keeps the other bytes it receives (the job).
   */
  async function scriptedDevice(flow: 'none' | 'xonxoff') {
    const link = await PtyLink.create();
    cleanups.push(() => link.close(true));
    const device = {
      job: [] as number[],
      conn: undefined as HostConnection | undefined,
      answering: true,
      onJobByte: () => {},
    };
    let pending: number[] = [];
    await link.open((conn) => {
      device.conn = conn;
      return {
        data: (chunk) => {
          pending.push(...chunk);
          let i = 0;
          for (; i < pending.length; i++) {
            const [a, b, c] = [pending[i], pending[i + 1], pending[i + 2]];
            if (a === 0x10 || a === 0x1d) {
              if (c === undefined) break; // the rest of the command is on its way
              if (a === 0x10 && b === 0x04 && device.answering) conn.write(Uint8Array.of(0x12));
              else if (a === 0x1d && b === 0x72 && c === 0x01) conn.write(Uint8Array.of(0x00));
              i += 2;
            } else {
              device.job.push(a as number);
              device.onJobByte();
            }
          }
          pending = pending.slice(i);
        },
        closed: () => {},
      };
    });
    const printer = new Printer({
      uri: link.uri.replace('flow=none', `flow=${flow}`),
      profile: plain,
      pollIntervalMs: 100,
      statusSettleMs: 50,
    });
    cleanups.push(() => printer.close());
    printer.start();
    await nextEvent(printer, 'connected');
    return { printer, device };
  }

  it('treats a printer that stops answering status as disconnected, and reconnects', async () => {
    const { printer, device } = await scriptedDevice('none');
    device.answering = false;
    const [error] = await nextEvent<[Error]>(printer, 'disconnected');
    expect(error.message).toContain('stopped answering status requests');
    expect(printer.notReadyReasons).toEqual(['disconnected']);
    device.answering = true;
    await nextEvent(printer, 'connected');
    expect((await printer.print(ticket('AFTER-SILENCE')).done).state).toBe('printed');
    expect(Buffer.from(device.job).toString('latin1')).toContain('AFTER-SILENCE');
  });

  it('stops sending on XOFF and goes on after XON', async () => {
    const { printer, device } = await scriptedDevice('xonxoff');
    let atXoff = -1;
    device.onJobByte = () => {
      if (atXoff >= 0) return;
      atXoff = device.job.length;
      device.conn?.write(Uint8Array.of(0x13));
    };
    const text = `${'0123456789'.repeat(6)}\n`.repeat(1000); // 61 KB
    const job = printer.print(Buffer.from(text, 'latin1'));
    await nextEvent<[PrintJobUpdate]>(job, 'state', (u) => u.state === 'sending');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const heldBack = text.length - device.job.length;
    // A few chunks may be on their way before XOFF arrives; most of the job must wait.
    expect(heldBack).toBeGreaterThan(text.length / 2);
    expect(job.state).toBe('sending');
    device.conn?.write(Uint8Array.of(0x11));
    expect((await job.done).state).toBe('printed');
    expect(Buffer.from(device.job).toString('latin1')).toBe(text);
  });
});

describe('printrelay printer (CLI)', () => {
  let work: string;
  let vp: VirtualPrinter;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'printrelay-printer-cli-'));
    vp = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0' });
  }, 60_000);

  afterAll(async () => {
    await vp?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs the CLI as a child process (asynchronously: the virtual printer runs in this process);
   * onStderr sees its progress as it comes.
   */
  function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> & {
    onStderr: (listener: (text: string) => void) => void;
  } {
    let child: ReturnType<typeof execFile> | undefined;
    const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      child = execFile(
        process.execPath,
        [CLI_PATH, 'printer', ...args],
        { timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
    let seen = '';
    return Object.assign(done, {
      onStderr: (listener: (text: string) => void) =>
        child?.stderr?.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          listener(seen);
        }),
    });
  }

  it('status prints the status as JSON and exits 0 when the printer is ready', async () => {
    const { code, stdout, stderr } = await cli('status', vp.uri);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      connected: true,
      online: true,
      paper: 'ok',
      coverOpen: false,
    });
  });

  it('status exits non-zero with the reason when the printer is not ready', async () => {
    vp.setFault('paper-out', true);
    try {
      const { code, stdout, stderr } = await cli('status', vp.uri, '--timeout', '3000');
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({ connected: true, paper: 'out' });
      expect(stderr).toContain('printer not ready: paper-out');
    } finally {
      vp.refill();
    }
  });

  it('status says clearly when it cannot connect', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const { code, stderr } = await cli('status', `tcp://127.0.0.1:${port}`, '--timeout', '1000');
    expect(code).toBe(2);
    expect(stderr).toMatch(
      new RegExp(`^cannot connect to tcp://127.0.0.1:${port}: .*ECONNREFUSED.*gave up after 1000 ms`),
    );
  });

  it('print renders a JSON ticket and exits 0 once the printer confirmed it', async () => {
    const file = join(work, 'ticket.json');
    writeFileSync(
      file,
      JSON.stringify({ blocks: [{ type: 'text', text: 'CLI-JSON-TICKET' }, { type: 'cut' }] }),
    );
    const { code, stdout, stderr } = await cli('print', vp.uri, file);
    expect({ code, stderr }).toMatchObject({ code: 0 });
    expect(stdout).toContain('printed');
    expect(printedCount(vp, 'CLI-JSON-TICKET')).toBe(1);
  });

  it('print sends rendered ESC/POS bytes (.bin) and waits for the confirmation', async () => {
    const file = join(work, 'ticket.bin');
    const ticketDoc = { blocks: [{ type: 'text' as const, text: 'CLI-BIN-TICKET' }] };
    writeFileSync(file, renderTicket(ticketDoc, profile).bytes);
    const { code, stdout } = await cli('print', vp.uri, file);
    expect(code).toBe(0);
    expect(stdout).toContain('printed');
    expect(printedCount(vp, 'CLI-BIN-TICKET')).toBe(1);
  });

  it('print reports what it waits for, and finishes once the printer is ready', async () => {
    vp.setFault('paper-out', true);
    const file = join(work, 'waiting.json');
    writeFileSync(file, JSON.stringify({ blocks: [{ type: 'text', text: 'CLI-AFTER-REFILL' }] }));
    const run = cli('print', vp.uri, file);
    run.onStderr((text) => {
      if (text.includes('waiting for the printer: paper-out') && vp.status.paper === 'out') vp.refill();
    });
    const { code, stderr } = await run;
    expect(stderr).toContain('waiting for the printer: paper-out');
    expect(code).toBe(0);
    expect(printedCount(vp, 'CLI-AFTER-REFILL')).toBe(1);
  });

  it('print gives up at --timeout while the printer is out of paper, saying which printer and why', async () => {
    vp.setFault('paper-out', true);
    try {
      const file = join(work, 'no-paper.json');
      writeFileSync(file, JSON.stringify({ blocks: [{ type: 'text', text: 'CLI-NO-PAPER' }] }));
      const { code, stderr } = await cli('print', vp.uri, file, '--timeout', '1500');
      expect(code).toBe(1);
      expect(stderr).toContain(`${vp.uri}: paper out (not printed within 1500 ms; nothing was sent)`);
    } finally {
      vp.refill();
    }
    expect(printedCount(vp, 'CLI-NO-PAPER')).toBe(0);
  });

  it('print says that an order file is a job request with its ticket under .ticket', async () => {
    const order = join(REPO_ROOT, 'examples', 'orders', 'meituan-receipt.json');
    const { code, stderr } = await cli('print', vp.uri, order);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`${order}: this looks like a job request; its ticket is under .ticket`);
  });

  it('print exits non-zero when the printer never confirms', async () => {
    const silent = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', confirms: false });
    cleanups.push(() => silent.close());
    const file = join(work, 'silent.json');
    writeFileSync(file, JSON.stringify({ blocks: [{ type: 'text', text: 'CLI-SILENT' }] }));
    const { code, stderr } = await cli('print', silent.uri, file, '--timeout', '500');
    expect(code).toBe(1);
    expect(stderr).toContain(
      `${silent.uri}: no confirmation that it printed (not printed within 500 ms; it may or may not have printed)`,
    );
  });

  it('identify prints maker, model and font language as JSON', async () => {
    const { code, stdout } = await cli('identify', vp.uri);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      maker: 'EPSON',
      model: 'TM-T88VI',
      fontLanguage: 'CHINA GB18030',
    });
  });
});
