// The virtual printer over real TCP sockets and a real pty (socat), checked against the
// printer behaviour described in docs/escpos.md.
//
// Command bytes come from escpos/commands.ts where it has a builder; the rest (real-time
// commands, GS I, a bare GS ( H) are written inline, each saying which command it is.
import { existsSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { InboundParser } from '../agent/printer/inbound-parser.js';
import { barcodeData } from '../escpos/barcode.js';
import {
  barcode,
  buzzer,
  chineseModeOff,
  chineseModeOn,
  cutPaper,
  drawerPulse,
  enableAsb,
  initialize,
  justify,
  paperStatusRequest,
  qrPrint,
  qrStore,
  rasterImageHeader,
  selectCodePage,
} from '../escpos/commands.js';
import { NodeChild } from '../harness/child.js';
import { waitFor } from '../harness/wait.js';
import { startControlServer } from '../virtual-printer/control.js';
import {
  type PrintedItem,
  startVirtualPrinter,
  type VirtualPrinter,
  type VirtualPrinterOptions,
} from '../virtual-printer/virtual-printer.js';
import { CLI_PATH } from './support/build.js';

type Bytes = readonly number[] | Uint8Array;

const DLE_EOT = (n: number): Bytes => [0x10, 0x04, n]; // real-time status
const DLE_ENQ_2: Bytes = [0x10, 0x05, 0x02]; // recover from an error, clearing the buffers
const GS_I = (n: number): Bytes => [0x1d, 0x49, n]; // printer ID
/** GS ( H fn 48: answered `37 22 d1..d4 00` once everything before it has printed. */
const GS_H = (token: string): Bytes => [0x1d, 0x28, 0x48, 0x06, 0x00, 0x30, 0x30, ...ascii(token)];
/** 宫保鸡丁 in GBK/GB18030 (docs/escpos.md). */
const KUNG_PAO_GBK: Bytes = [0xb9, 0xac, 0xb1, 0xa3, 0xbc, 0xa6, 0xb6, 0xa1];
const LF: Bytes = [0x0a];

function ascii(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

const qr = (data: string): Bytes => Buffer.concat([qrStore(ascii(data)), qrPrint]);

/** GS v 0 raster image, all white. */
const raster = (widthBytes: number, height: number): Uint8Array =>
  Buffer.concat([rasterImageHeader(widthBytes, height), new Uint8Array(widthBytes * height)]);

function lines(...texts: string[]): Uint8Array {
  return ascii(texts.map((t) => `${t}\n`).join(''));
}

interface Stream {
  write(b: Buffer): unknown;
  on(event: 'data', cb: (b: Buffer) => void): unknown;
}

/** The host side of a connection: sends bytes, reads answers in order. */
class Host {
  readonly received: number[] = [];
  #cursor = 0;
  #notify: (() => void) | undefined;

  constructor(readonly stream: Stream) {
    stream.on('data', (chunk) => {
      this.received.push(...chunk);
      this.#notify?.();
    });
  }

  send(...parts: Bytes[]): void {
    this.stream.write(Buffer.concat(parts.map((p) => Uint8Array.from(p))));
  }

  /** The next `n` bytes received. */
  async read(n: number, timeoutMs = 3_000): Promise<number[]> {
    await this.#until(() => this.received.length - this.#cursor >= n, timeoutMs, `${n} byte(s)`);
    const bytes = this.received.slice(this.#cursor, this.#cursor + n);
    this.#cursor += n;
    return bytes;
  }

  /** The next block reply (header ... NUL), as text without header and NUL. */
  async readBlock(): Promise<{ header: number; text: string }> {
    await this.#until(() => this.received.indexOf(0, this.#cursor + 1) >= 0, 3_000, 'a block reply');
    const end = this.received.indexOf(0, this.#cursor + 1);
    const block = this.received.slice(this.#cursor, end + 1);
    this.#cursor = end + 1;
    return { header: block[0] ?? -1, text: Buffer.from(block.slice(1, -1)).toString('latin1') };
  }

  /** Bytes received and not read yet. */
  get unread(): number[] {
    return this.received.slice(this.#cursor);
  }

  #until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#notify = undefined;
        reject(
          new Error(`timed out waiting for ${what}; unread: [${this.unread.map((b) => b.toString(16))}]`),
        );
      }, timeoutMs);
      this.#notify = () => {
        if (!ready()) return;
        clearTimeout(timer);
        this.#notify = undefined;
        resolve();
      };
    });
  }
}

const printers: VirtualPrinter[] = [];
const cleanups: Array<() => unknown> = [];

async function start(opts: Partial<VirtualPrinterOptions> = {}): Promise<VirtualPrinter> {
  const vp = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', ...opts });
  printers.push(vp);
  return vp;
}

function tcpAddress(vp: VirtualPrinter): { host: string; port: number } {
  const url = new URL(vp.uri);
  return { host: url.hostname, port: Number(url.port) };
}

async function connect(vp: VirtualPrinter): Promise<Host & { socket: net.Socket }> {
  const socket = net.connect(tcpAddress(vp));
  socket.on('error', () => {});
  cleanups.push(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return Object.assign(new Host(socket), { socket });
}

async function openSerial(vp: VirtualPrinter): Promise<Host & { port: SerialPort }> {
  const url = new URL(vp.uri);
  expect(url.protocol).toBe('serial:');
  const port = new SerialPort({
    path: url.pathname,
    baudRate: Number(url.searchParams.get('baud')),
    autoOpen: false,
  });
  port.on('error', () => {});
  await within(
    new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve()))),
    `opening ${url.pathname}`,
  );
  cleanups.push(() => port.isOpen && port.close());
  return Object.assign(new Host(port), { port });
}

/** Resolves when `vp` has printed an item that satisfies `match`. */
function printedWhere(vp: VirtualPrinter, match: (item: PrintedItem) => boolean): Promise<void> {
  if (vp.printed.some(match)) return Promise.resolve();
  return new Promise((resolve) => {
    const onItem = (item: PrintedItem) => {
      if (!match(item)) return;
      vp.off('printed', onItem);
      resolve();
    };
    vp.on('printed', onItem);
  });
}

const printedLine = (vp: VirtualPrinter, text: string) =>
  printedWhere(vp, (i) => i.kind === 'text' && i.text.trim() === text);

function statusWhere(vp: VirtualPrinter, match: (s: VirtualPrinter['status']) => boolean): Promise<void> {
  if (match(vp.status)) return Promise.resolve();
  return new Promise((resolve) => {
    const onStatus = () => {
      if (!match(vp.status)) return;
      vp.off('status', onStatus);
      resolve();
    };
    vp.on('status', onStatus);
  });
}

const textLines = (vp: VirtualPrinter): string[] =>
  vp.printed.flatMap((i) => (i.kind === 'text' ? [i.text.trim()] : []));

/** A negative check needs some time to pass; kept short and only where no event exists. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure naming what did not happen within `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await Promise.all(printers.splice(0).map((vp) => vp.close()));
});

describe('real-time status (DLE EOT n)', () => {
  it('answers 0x12 for every n when all is well', async () => {
    const host = await connect(await start());
    host.send(DLE_EOT(1), DLE_EOT(2), DLE_EOT(3), DLE_EOT(4));
    expect(await host.read(4)).toEqual([0x12, 0x12, 0x12, 0x12]);
  });

  it.each([
    ['paper-out', [0x1a, 0x32, 0x12, 0x7e]],
    ['near-end', [0x12, 0x12, 0x12, 0x1e]],
    ['cover-open', [0x1a, 0x16, 0x12, 0x12]],
    ['cutter-error', [0x3a, 0x52, 0x1a, 0x12]],
    ['mechanical-error', [0x3a, 0x52, 0x16, 0x12]],
    ['unrecoverable-error', [0x1a, 0x52, 0x32, 0x12]],
    ['overheat', [0x1a, 0x52, 0x52, 0x12]],
  ] as const)('%s: answers n=1..4 per the bit tables', async (fault, answers) => {
    const host = await connect(await start({ faults: [fault] }));
    host.send(DLE_EOT(1), DLE_EOT(2), DLE_EOT(3), DLE_EOT(4));
    expect(await host.read(4)).toEqual(answers);
  });

  it('answers while offline with data waiting, and even inside image data', async () => {
    const vp = await start({ faults: ['paper-out'] });
    const host = await connect(vp);
    // An image whose data holds 10 04 01: real printers react to it there too.
    const image = raster(4, 2);
    image.set(DLE_EOT(1), 10);
    host.send(lines('waiting'), image);
    expect(await host.read(1)).toEqual([0x1a]);
    vp.refill();
    // The image still decodes whole: the bytes stay part of its data.
    await printedWhere(vp, (i) => i.kind === 'image');
    expect(vp.printedText()).toBe('waiting\n[IMAGE 32x2]');
  });

  it('DLE ENQ 2 clears a cutter error and the unprinted data', async () => {
    const vp = await start({ faults: ['cutter-error'] });
    const host = await connect(vp);
    host.send(lines('never printed'), DLE_EOT(3));
    expect(await host.read(1)).toEqual([0x1a]);
    host.send(DLE_ENQ_2, DLE_EOT(3), lines('after recovery'));
    expect(await host.read(1)).toEqual([0x12]);
    await printedLine(vp, 'after recovery');
    expect(textLines(vp)).toEqual(['after recovery']);
  });
});

describe('Automatic Status Back (GS a)', () => {
  it('sends the status at once, then on every change; ESC @ turns it off', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(enableAsb(0xff));
    expect(await host.read(4)).toEqual([0x10, 0x00, 0x00, 0x00]);
    vp.setFault('cover-open', true);
    expect(await host.read(4)).toEqual([0x38, 0x00, 0x00, 0x00]); // offline + cover open
    vp.setFault('cover-open', false);
    expect(await host.read(4)).toEqual([0x10, 0x00, 0x00, 0x00]);
    vp.setFault('near-end', true);
    expect(await host.read(4)).toEqual([0x10, 0x00, 0x03, 0x00]);

    // ESC @ is processed in order; the GS r answer shows it has been.
    host.send(initialize, paperStatusRequest);
    expect(await host.read(1)).toEqual([0x03]); // GS r 1: near end
    vp.setFault('cover-open', true);
    host.send(DLE_EOT(2));
    // No ASB frame came before the real-time answer.
    expect(await host.read(1)).toEqual([0x16]);
  });

  it('is processed in order with the data, so GS a sent while offline takes effect on recovery', async () => {
    const vp = await start({ faults: ['paper-out'] });
    const host = await connect(vp);
    host.send(enableAsb(0xff), DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x1a]); // real-time answer; no frame: GS a is still waiting
    vp.refill();
    expect(await host.read(4)).toEqual([0x10, 0x00, 0x00, 0x00]);
  });

  it('reports only the fields in its mask', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(enableAsb(0x08)); // roll paper only
    expect(await host.read(4)).toEqual([0x10, 0x00, 0x00, 0x00]);
    vp.setFault('cover-open', true);
    vp.setFault('paper-out', true);
    expect(await host.read(4)).toEqual([0x38, 0x00, 0x0f, 0x00]);
    expect(host.unread).toEqual([]);
  });

  it('is not supported when asb is false', async () => {
    const vp = await start({ asb: false });
    const host = await connect(vp);
    host.send(enableAsb(0xff), DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x12]);
    vp.setFault('paper-out', true);
    host.send(DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x1a]);
  });
});

describe('print confirmation (GS r, GS ( H)', () => {
  it('answers GS r only after the data before it has printed', async () => {
    const vp = await start({ linesPerSecond: 50 });
    const host = await connect(vp);
    const started = performance.now();
    host.send(lines('1', '2', '3', '4', '5', '6', '7', '8', '9', '10'), paperStatusRequest);
    expect(await host.read(1)).toEqual([0x00]);
    expect(textLines(vp)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    // Ten lines at 50 lines/s take 200 ms; the answer comes once the tenth has gone through.
    expect(performance.now() - started).toBeGreaterThanOrEqual(170);
  });

  it('does not answer while paper is out, and answers after a refill', async () => {
    const vp = await start({ paperLines: 5, linesPerSecond: 500 });
    const host = await connect(vp);
    host.send(lines('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), paperStatusRequest);
    await statusWhere(vp, (s) => s.paper === 'out');
    expect(textLines(vp)).toEqual(['a', 'b', 'c', 'd', 'e']);
    host.send(DLE_EOT(4));
    expect(await host.read(1)).toEqual([0x7e]);
    await pause(100); // 50 lines' worth of time: nothing more may come
    expect(host.unread).toEqual([]);
    expect(textLines(vp)).toHaveLength(5);

    vp.refill();
    expect(await host.read(1)).toEqual([0x00]);
    expect(textLines(vp)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('answers GS ( H with 37 22 token 00', async () => {
    const host = await connect(await start());
    host.send(lines('order 1'), GS_H('AB12'));
    const events = new InboundParser().push(Uint8Array.from(await host.read(7)));
    expect(events).toEqual([{ kind: 'print-confirmed', token: 'AB12' }]);
  });

  it('answers only the latest of several pending GS ( H', async () => {
    const vp = await start({ linesPerSecond: 100 });
    const host = await connect(vp);
    host.send(lines('job 1'), GS_H('T001'), lines('job 2'), GS_H('T002'));
    expect(await host.readBlock()).toEqual({ header: 0x37, text: '"T002' });
    host.send(DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x12]);
    expect(Buffer.from(host.received).includes('T001')).toBe(false);
  });

  it('ignores GS ( H when gsH is false but still answers GS r', async () => {
    const host = await connect(await start({ gsH: false }));
    host.send(lines('x'), GS_H('T001'), paperStatusRequest);
    expect(await host.read(1)).toEqual([0x00]);
    expect(host.unread).toEqual([]);
  });

  it('never confirms when confirms is false', async () => {
    const vp = await start({ confirms: false });
    const host = await connect(vp);
    host.send(lines('x'), paperStatusRequest, GS_H('T001'), lines('y'));
    await printedLine(vp, 'y');
    host.send(DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x12]);
    expect(host.unread).toEqual([]);
  });
});

describe('identification (GS I)', () => {
  it('answers model, type and the block replies', async () => {
    const host = await connect(await start());
    host.send(GS_I(2), GS_I(66), GS_I(67), GS_I(69));
    expect(await host.read(1)).toEqual([0x03]); // two-byte characters + autocutter
    expect(await host.readBlock()).toEqual({ header: 0x5f, text: 'EPSON' });
    expect(await host.readBlock()).toEqual({ header: 0x5f, text: 'TM-T88VI' });
    expect(await host.readBlock()).toEqual({ header: 0x5f, text: 'CHINA GB18030' });
  });

  it('is processed in order, so not while offline', async () => {
    const vp = await start({ faults: ['cover-open'] });
    const host = await connect(vp);
    host.send(GS_I(66), DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x1a]);
    expect(host.unread).toEqual([]);
    vp.setFault('cover-open', false);
    expect(await host.readBlock()).toEqual({ header: 0x5f, text: 'EPSON' });
  });
});

describe('what it prints', () => {
  it('decodes Chinese text as GB18030 and lays out alignment', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(
      initialize,
      chineseModeOn,
      justify('center'),
      KUNG_PAO_GBK,
      LF,
      justify('right'),
      ascii('x2'),
      LF,
      justify('left'),
    );
    host.send(chineseModeOff, selectCodePage(19), [0xd5], ascii(' 12.00'), LF); // cp858 0xD5 is the euro sign
    await printedLine(vp, '€ 12.00');
    // 8 of 48 columns: 20 spaces to centre; "x2" right-aligned in 48 columns.
    expect(vp.printedText()).toBe(`${' '.repeat(20)}宫保鸡丁\n${' '.repeat(46)}x2\n€ 12.00`);
  });

  it('starts in two-byte mode, like Chinese-market printers, and returns to it after ESC @', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(KUNG_PAO_GBK, LF, chineseModeOff, initialize, KUNG_PAO_GBK, LF);
    await printedWhere(vp, () => vp.printed.length === 2);
    expect(textLines(vp)).toEqual(['宫保鸡丁', '宫保鸡丁']);
  });

  it('shows QR codes, barcodes, images, cuts, drawer kicks and beeps as markers', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(
      qr('https://example.com/o/123'),
      barcode('CODE128', barcodeData('CODE128', 'ABC-123').payload),
      barcode('EAN13', barcodeData('EAN13', '490123456789').payload), // the printer adds the check digit
      raster(2, 16),
      drawerPulse(2, 50, 100),
      buzzer(2, 3),
      [0x1b, 0x7a], // ESC z: no such command
      lines('end'),
      cutPaper('partial'),
    );
    await printedWhere(vp, (i) => i.kind === 'cut');
    expect(vp.printedText()).toBe(
      [
        '[QR https://example.com/o/123]',
        '[BARCODE CODE128 ABC-123]',
        '[BARCODE EAN13 4901234567894]',
        '[IMAGE 16x16]',
        '[DRAWER pin 2 100/200 ms]',
        '[BEEP x2]',
        '[RAW 2 bytes]',
        'end',
        '[CUT partial]',
      ].join('\n'),
    );
  });

  it('ignores a cut in the middle of a line, as real printers do', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(ascii('no newline'), cutPaper('full'), LF, cutPaper('full'));
    await printedWhere(vp, (i) => i.kind === 'cut');
    expect(vp.printedText()).toBe('[IGNORED GS V 0: not at the beginning of a line]\nno newline\n[CUT full]');
  });

  it('writes the print-out to its output stream', async () => {
    const chunks: string[] = [];
    const output = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const vp = await start({ output });
    const host = await connect(vp);
    host.send(lines('hello'), qr('q'));
    await printedWhere(vp, (i) => i.kind === 'qr');
    expect(chunks.join('')).toBe('hello\n[QR q]\n');
  });
});

describe('receive buffer', () => {
  it('stops reading when full while offline (TCP backpressure) and prints it all after recovery', async () => {
    const vp = await start({ faults: ['paper-out'], linesPerSecond: 100_000 });
    const host = await connect(vp);
    // Two images of 72 bytes x 60,000 dots: 8.6 MB, far more than the receive buffer and
    // the kernel's socket buffers take.
    host.send(raster(72, 60_000), raster(72, 60_000), paperStatusRequest);
    await waitFor(() => vp.status.bufferedBytes >= 64 * 1024, 'the receive buffer is full', {
      intervalMs: 5,
    });
    await pause(100); // time for more to flow in, if the printer kept reading
    expect(vp.status.bufferedBytes).toBeLessThanOrEqual(2 * 64 * 1024);
    expect(host.socket.writableLength).toBeGreaterThan(0); // the sender is held back

    vp.refill();
    expect(await host.read(1, 10_000)).toEqual([0x00]);
    expect(vp.printedText()).toBe('[IMAGE 576x60000]\n[IMAGE 576x60000]');
  });
});

describe('several TCP clients', () => {
  it('answers each on its own socket and prints one connection at a time', async () => {
    const vp = await start();
    const a = await connect(vp);
    const b = await connect(vp);
    a.send(lines('A1'));
    await printedLine(vp, 'A1');
    b.send(lines('B1'), DLE_EOT(1));
    expect(await b.read(1)).toEqual([0x12]);
    a.send(lines('A2'));
    a.socket.end();
    await printedLine(vp, 'B1');
    expect(textLines(vp)).toEqual(['A1', 'A2', 'B1']);
    expect(a.received).toEqual([]);
  });
});

describe('power cycle', () => {
  it('drops the TCP connection, refuses connections while off, and comes back reset on the same port', async () => {
    const vp = await start();
    const host = await connect(vp);
    host.send(enableAsb(0xff));
    expect(await host.read(4)).toEqual([0x10, 0x00, 0x00, 0x00]);
    vp.setFault('paper-out', true);
    expect(await host.read(4)).toEqual([0x18, 0x00, 0x0f, 0x00]);
    host.send(lines('lost at power-off'));
    const closed = new Promise((resolve) => host.socket.once('close', resolve));
    const cycle = vp.powerCycle(300);
    await within(closed, 'the socket closing');
    await expect(connect(vp)).rejects.toThrow(/ECONNREFUSED/);
    await within(cycle, 'the power cycle');

    const again = await connect(vp);
    again.send(DLE_EOT(4)); // paper is still out: that is physical
    expect(await again.read(1)).toEqual([0x7e]);
    vp.refill();
    again.send(lines('after power-on'), paperStatusRequest);
    expect(await again.read(1)).toEqual([0x00]); // and no ASB frame: ASB is off after power-on
    expect(textLines(vp)).toEqual(['after power-on']);
  });
});

describe('serial (pty) mode', () => {
  it('works like TCP over a pty pair, and the device disappears during a power cycle', async () => {
    const vp = await within(start({ listen: 'pty' }), 'starting on a pty');
    expect(vp.uri).toMatch(/^serial:\/\/\/.+\/host\?baud=115200&flow=none$/);
    const path = new URL(vp.uri).pathname;
    const host = await openSerial(vp);
    host.send(DLE_EOT(1), GS_I(66));
    expect(await host.read(1)).toEqual([0x12]);
    expect(await host.readBlock()).toEqual({ header: 0x5f, text: 'EPSON' });
    host.send(chineseModeOn, KUNG_PAO_GBK, LF, GS_H('S001'));
    expect(await host.readBlock()).toEqual({ header: 0x37, text: '"S001' });
    expect(textLines(vp)).toEqual(['宫保鸡丁']);

    const closed = new Promise((resolve) => host.port.once('close', resolve));
    const cycle = vp.powerCycle(200);
    await within(closed, 'the host port closing');
    await waitFor(() => !existsSync(path), 'the device path is gone', { intervalMs: 5 });
    await within(cycle, 'the power cycle');
    expect(existsSync(path)).toBe(true);
    const again = await openSerial(vp);
    again.send(DLE_EOT(2));
    expect(await again.read(1)).toEqual([0x12]);
  });
});

describe('HTTP control channel', () => {
  it('changes and reports the state', async () => {
    const vp = await start();
    const control = await startControlServer(vp, 'tcp://127.0.0.1:0');
    cleanups.push(() => control.close());
    const host = await connect(vp);
    const post = (path: string, body?: unknown) =>
      fetch(`${control.url}${path}`, {
        method: 'POST',
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const faulted = await post('/fault', { fault: 'paper-out', on: true });
    expect(faulted.status).toBe(200);
    expect(await faulted.json()).toMatchObject({ online: false, paper: 'out', faults: ['paper-out'] });
    host.send(DLE_EOT(1));
    expect(await host.read(1)).toEqual([0x1a]);

    const bad = await post('/fault', { fault: 'jam', on: true });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/\/fault: must be one of paper-out/);

    host.send(lines('printed after refill'));
    expect((await post('/refill')).status).toBe(200);
    await printedLine(vp, 'printed after refill');
    expect(await (await fetch(`${control.url}/printed`)).text()).toBe('printed after refill\n');
    const status = await (await fetch(`${control.url}/status`)).json();
    expect(status).toMatchObject({ powered: true, online: true, paper: 'ok', connections: 1 });

    expect((await fetch(`${control.url}/nope`)).status).toBe(404);
  });

  it('refuses a non-loopback address', async () => {
    const vp = await start();
    await expect(startControlServer(vp, 'tcp://0.0.0.0:0')).rejects.toThrow(/loopback only/);
  });
});

describe('options', () => {
  it('rejects bad options with a clear message', async () => {
    await expect(startVirtualPrinter({ listen: 'udp://x' })).rejects.toThrow(/must be tcp:\/\/HOST:PORT/);
    await expect(startVirtualPrinter({ listen: 'pty', linesPerSecond: 0 })).rejects.toThrow(/linesPerSecond/);
    await expect(
      startVirtualPrinter({ listen: 'tcp://127.0.0.1:0', faults: ['jam' as 'paper-out'] }),
    ).rejects.toThrow(/unknown fault "jam"/);
  });
});

describe('`printrelay virtual-printer` command', () => {
  // Test rigs and field techs stop it with SIGTERM / Ctrl-C; a printer left running holds its port.
  it('exits on SIGTERM after a client printed and left, and while another is connected and polling', async () => {
    const child = new NodeChild('virtual printer', [
      CLI_PATH,
      'virtual-printer',
      '--listen',
      'tcp://127.0.0.1:0',
    ]);
    try {
      const port = Number((await child.waitForOutput(/listening: tcp:\/\/127\.0\.0\.1:(\d+)/)).match[1]);
      const gone = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => gone.once('connect', resolve));
      gone.end(Buffer.from('打印完就走 left after printing\n'));
      await child.waitForOutput('left after printing');
      const polling = net.connect(port, '127.0.0.1');
      let answers = 0;
      polling.on('data', (chunk: Buffer) => {
        answers += chunk.length;
      });
      polling.on('error', () => {}); // the printer going away resets it
      await new Promise((resolve) => polling.once('connect', resolve));
      polling.write(enableAsb(0xff));
      const poll = setInterval(() => polling.write(Uint8Array.from(DLE_EOT(1))), 20);
      try {
        await waitFor(() => answers >= 10, 'status answers to the polling client');
        expect(await child.kill('SIGTERM')).toBe(0);
      } finally {
        clearInterval(poll);
        polling.destroy();
      }
    } finally {
      await child.kill();
    }
  });
});
