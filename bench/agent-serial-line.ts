// An emulated serial cable between the agent and a virtual printer in pty mode. A pty moves
// bytes as fast as they are written whatever baud rate is set on it, so a pty alone says
// nothing about pacing at 9,600 baud. This line puts the agent on a pty of its own
// (virtual-printer/pty-link.ts) and carries bytes to and from the printer's pty as a UART
// would: one byte after the other at the line rate (8N1: baud / 10 bytes per second), each
// direction on its own wire, a byte arriving when its last bit has. The agent side stops being
// read while more than ~100 ms of line time waits, so the agent is held back like by a UART's
// buffer (that slack does not change the throughput figure, which is taken on the wire).

import { SerialPort } from 'serialport';
import { parsePrinterAddress } from '../agent/printer/address.js';
import { confirmationRequest } from '../escpos/commands.js';
import type { PrinterProfile } from '../protocol/profile.js';
import type { HostConnection } from '../virtual-printer/link.js';
import { PtyLink } from '../virtual-printer/pty-link.js';
import { JOB_START } from './agent-rig.js';
import { nowMs } from './stats.js';

/** Stop reading the agent above this much waiting line time, read again below the second. */
const PAUSE_ABOVE_MS = 100;
const RESUME_BELOW_MS = 50;
/** Bytes reach the printer in slices of at most this much line time. */
const SLICE_MS = 10;
/** How a printer answers GS ( H fn 48: 37 22, the 4-byte token, 00. */
const ANSWER = Buffer.from([0x37, 0x22]);

interface Chunk {
  /** Offset of its first byte in the direction's stream. */
  offset: number;
  bytes: Buffer;
  /** When it was read from the sender (monotonic ms). */
  arrived: number;
  /** On the wire from start to end; both the arrival time when unthrottled. */
  start: number;
  end: number;
}

/** One direction of the line: a wire at `bytesPerMs` (null: no limit) that hands bytes on as they arrive. */
class Wire {
  readonly chunks: Chunk[] = [];
  /** What was handed on, when (monotonic ms), in order. */
  readonly delivered: { at: number; bytes: Buffer }[] = [];
  #offset = 0;
  #freeAt = 0;
  readonly #due: { at: number; bytes: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly bytesPerMs: number | null,
    private readonly deliver: (bytes: Buffer) => void,
    private readonly drained: () => void = () => {},
  ) {}

  /** Line time still waiting to go out, from now. */
  waitingMs(): number {
    return Math.max(0, this.#freeAt - nowMs());
  }

  send(bytes: Buffer): void {
    const at = nowMs();
    const rate = this.bytesPerMs;
    const start = rate === null ? at : Math.max(this.#freeAt, at);
    const end = rate === null ? at : start + bytes.length / rate;
    this.chunks.push({ offset: this.#offset, bytes, arrived: at, start, end });
    this.#offset += bytes.length;
    if (rate === null) {
      this.#handOn(bytes, at);
      return;
    }
    this.#freeAt = end;
    const slice = Math.max(1, Math.floor(rate * SLICE_MS));
    for (let from = 0; from < bytes.length; from += slice) {
      const part = bytes.subarray(from, from + slice);
      this.#due.push({ at: start + (from + part.length) / rate, bytes: part });
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#due.length === 0) return;
    const next = this.#due[0] as { at: number };
    this.#timer = setTimeout(() => this.#run(), Math.max(0, next.at - nowMs()));
  }

  #run(): void {
    this.#timer = undefined;
    const now = nowMs();
    while (this.#due.length > 0 && (this.#due[0] as { at: number }).at <= now) {
      this.#handOn((this.#due.shift() as { bytes: Buffer }).bytes, now);
    }
    this.drained();
    this.#arm();
  }

  #handOn(bytes: Buffer, at: number): void {
    this.delivered.push({ at, bytes });
    this.deliver(bytes);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#due.length = 0;
  }
}

export interface LineFigures {
  /** Bytes on the wire from the first byte of the first job to the last byte of the last. */
  bytes: number;
  ms: number;
  bytesPerSecond: number;
  /** Idle stretches of the wire inside that window, in ms (the gaps between jobs). */
  gapsMs: number[];
  /**
   * Per job but the last: from the printer's confirmation reaching the agent's pty to the next
   * job's first byte coming out of it (the agent's own share of a gap).
   */
  turnaroundMs: number[];
}

export class SerialLine {
  readonly #link: PtyLink;
  readonly #printer: SerialPort;
  readonly #down: Wire;
  readonly #up: Wire;
  readonly #opened: Promise<void>;
  /** What the agent opens: the pty path with the baud rate the line runs at. */
  readonly uri: string;

  private constructor(link: PtyLink, printer: SerialPort, baud: number, throttled: boolean) {
    this.#link = link;
    this.#printer = printer;
    const { path } = parsePrinterAddress(link.uri) as { path: string };
    this.uri = `serial://${path}?baud=${baud}&flow=none`;
    const bytesPerMs = throttled ? baud / 10 / 1000 : null;
    let host: HostConnection | undefined;
    let paused = false;
    this.#down = new Wire(
      bytesPerMs,
      (bytes) => printer.write(bytes),
      () => {
        if (paused && this.#down.waitingMs() < RESUME_BELOW_MS) {
          paused = false;
          host?.resume();
        }
      },
    );
    this.#up = new Wire(bytesPerMs, (bytes) => host?.write(bytes));
    printer.on('data', (chunk: Buffer) => this.#up.send(chunk));
    this.#opened = link.open((conn) => {
      host = conn;
      return {
        data: (chunk) => {
          this.#down.send(Buffer.from(chunk));
          if (!paused && bytesPerMs !== null && this.#down.waitingMs() > PAUSE_ABOVE_MS) {
            paused = true;
            conn.pause();
          }
        },
        closed: () => {},
      };
    });
  }

  /**
   * A line to the printer whose serial device is at `printerUri` (a virtual printer's
   * serial://... URI), at `baud`; `throttled: false` passes bytes on as fast as a pty does.
   */
  static async open(printerUri: string, baud: number, throttled: boolean): Promise<SerialLine> {
    const address = parsePrinterAddress(printerUri);
    if (address.kind !== 'serial') throw new Error(`${printerUri} is not a serial printer`);
    const printer = new SerialPort({ path: address.path, baudRate: baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => printer.open((err) => (err ? reject(err) : resolve())));
    const line = new SerialLine(await PtyLink.create(), printer, baud, throttled);
    await line.#opened;
    return line;
  }

  /**
   * The agent-to-printer wire from `since` (monotonic ms), over `jobs` jobs: from the first
   * byte of the first (ESC @, which renderTicket begins every job with) to the last byte of the
   * last one's confirmation request (the driver ends every job with it); null if they have not
   * all gone out yet.
   */
  measure(since: number, jobs: number, profile: PrinterProfile): LineFigures | null {
    const down = this.#down;
    const chunks = down.chunks.filter((c) => c.start >= since);
    const first = chunks[0];
    if (!first) return null;
    const data = Buffer.concat(chunks.map((c) => c.bytes));
    const chunkAt = (i: number) => chunks.find((c) => first.offset + i < c.offset + c.bytes.length) as Chunk;
    /** When byte `i` of `data` began (or, with `end`, finished) on the wire. */
    const wireTime = (i: number, end: boolean): number => {
      const c = chunkAt(i);
      if (down.bytesPerMs === null) return c.start;
      return c.start + (first.offset + i - c.offset + (end ? 1 : 0)) / down.bytesPerMs;
    };
    const request = confirmationRequest(profile, 'AAAA');
    const prefix = Buffer.from(request.subarray(0, request.length - 4));
    /** Per job: where it starts and where its confirmation request ends, in `data`. */
    const spans: { start: number; end: number }[] = [];
    for (let from = 0; spans.length < jobs; ) {
      const start = data.indexOf(JOB_START, from);
      const confirm = start < 0 ? -1 : data.indexOf(prefix, start);
      if (confirm < 0 || confirm + request.length > data.length) return null;
      spans.push({ start, end: confirm + request.length - 1 });
      from = confirm + request.length;
    }
    const from = wireTime((spans[0] as { start: number }).start, false);
    const to = wireTime((spans[spans.length - 1] as { end: number }).end, true);
    const gapsMs: number[] = [];
    for (let k = 1; k < chunks.length; k++) {
      const prev = chunks[k - 1] as Chunk;
      const c = chunks[k] as Chunk;
      if (prev.end < from || c.start > to) continue;
      // Below a microsecond is rounding in the model, not the line waiting.
      if (c.start - prev.end > 0.001) gapsMs.push(c.start - prev.end);
    }
    // The printer's answers to the confirmation requests (37 22 token 00), in order, and when
    // their last byte was handed to the agent.
    const answered: number[] = [];
    let carry = Buffer.alloc(0);
    for (const d of this.#up.delivered) {
      if (d.at < since) continue;
      carry = Buffer.concat([carry, d.bytes]);
      for (let i = carry.indexOf(ANSWER); i >= 0 && i + 6 < carry.length; i = carry.indexOf(ANSWER)) {
        answered.push(d.at);
        carry = carry.subarray(i + 7);
      }
      if (carry.indexOf(ANSWER) < 0) carry = carry.subarray(-1);
    }
    const turnaroundMs: number[] = [];
    for (let k = 0; k + 1 < spans.length && k < answered.length; k++) {
      turnaroundMs.push(chunkAt((spans[k + 1] as { start: number }).start).arrived - (answered[k] as number));
    }
    const bytes =
      (spans[spans.length - 1] as { end: number }).end - (spans[0] as { start: number }).start + 1;
    return { bytes, ms: to - from, bytesPerSecond: (bytes * 1000) / (to - from), gapsMs, turnaroundMs };
  }

  async close(): Promise<void> {
    this.#down.stop();
    this.#up.stop();
    if (this.#printer.isOpen) await new Promise<void>((resolve) => this.#printer.close(() => resolve()));
    await this.#link.close(true);
  }
}
