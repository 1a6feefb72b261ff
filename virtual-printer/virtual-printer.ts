// A virtual ESC/POS printer that behaves like an Epson TM-class receipt printer, as described
// in docs/escpos.md: for demos, field-tech training and the test suite.
//
// The device model:
// - Bytes arrive on a link (TCP port or serial pty). Real-time commands (DLE EOT, DLE ENQ,
//   DLE DC4) are executed as they arrive, even while offline and even inside image data.
// - Everything else goes into a receive buffer (64 KiB per connection; when full the
//   connection is not read, so TCP or the pty holds the sender back; a real-time command
//   stuck behind it waits too, as on a real network printer).
// - A command processor (escpos-interpreter.ts) takes commands from the buffer into a print
//   buffer a few lines ahead of the print head; the head prints at linesPerSecond. Both
//   stop while the printer is offline (paper out, cover open, an error) and resume when it
//   recovers; data keeps arriving meanwhile and prints later.
// - GS r and GS ( H are answered by the head, once everything before them has printed, and
//   only while online. If a newer GS ( H is processed before an older one is answered, only
//   the newer one is answered (docs/escpos.md). GS I is answered by the command processor when it
//   reaches it: in order with the data, never while offline, without waiting for the head.
// - Several TCP clients may connect (like Epson interfaces). Each one's real-time commands
//   are answered on its own socket at once, but the printer prints from one connection at
//   a time, in the order their data arrived: the one being printed keeps the printer until
//   it closes, or until its data is used up and it has sent nothing for 1 s.
// - ASB (GS a) frames go to the connection that sent GS a.
// - Power cycle: connections are reset (TCP) or the pty disappears (serial); buffers,
//   modes, ASB and errors are lost; paper, cover and drawer stay as they physically are.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { UsbBackend } from '../agent/printer/transports/usb.js';
import type { PaperMetrics } from '../protocol/profile.js';
import { type Effect, EscPosInterpreter, formatPrintedItem, type PrintedItem } from './escpos-interpreter.js';
import type { ConnectionHandlers, HostConnection, Link } from './link.js';
import { PtyLink } from './pty-link.js';
import { type RealtimeCommand, RealtimeScanner } from './realtime-commands.js';
import {
  asbChanged,
  asbFrame,
  drawerSensorByte,
  FAULTS,
  type Fault,
  hasRecoverableError,
  isFault,
  isOnline,
  type PrinterCondition,
  paperSensorByte,
  realtimeStatusByte,
} from './status-bytes.js';
import { TcpLink } from './tcp-link.js';
import { UsbLink } from './usb-link.js';

export { formatPrintedItem, type PrintedItem } from './escpos-interpreter.js';
export { FAULTS, type Fault } from './status-bytes.js';

export interface VirtualPrinterOptions {
  /**
   * 'tcp://127.0.0.1:0' (port 0 = any free port), 'pty' (serial over a socat pty pair), or
   * 'usb' / 'usb-one-way' (a fake WebUSB device, see `usb`).
   */
  listen: string;
  /** Faults on at start. */
  faults?: Fault[];
  /** Answers GS ( H (default true); false behaves like a clone that only has GS r. */
  gsH?: boolean;
  /** Supports GS a (default true). */
  asb?: boolean;
  /** Default true; false never answers GS r / GS ( H (a printer that never confirms). */
  confirms?: boolean;
  /** Print speed (default 200); low values let tests act mid-job. */
  linesPerSecond?: number;
  /** Paper runs out after this many printed lines (default: never). */
  paperLines?: number;
  /** Receives the print-out as text lines. */
  output?: NodeJS.WritableStream;
  /** The paper (a profile's `paper`): where lines are full. Default an 80 mm roll of 576 dots. */
  paper?: PaperMetrics;
}

export interface VirtualPrinterStatus {
  uri: string;
  powered: boolean;
  online: boolean;
  faults: Fault[];
  paper: 'ok' | 'near-end' | 'out';
  /** Lines left on the roll; null when paperLines was not given. */
  paperLinesLeft: number | null;
  drawerOpen: boolean;
  /** GS a mask in force; 0 when ASB is off. */
  asbMask: number;
  connections: number;
  /** Bytes received and not yet taken in by the command processor. */
  bufferedBytes: number;
  printedItems: number;
}

/** Receive buffer per connection; when it is full the connection is not read. */
export const RECEIVE_BUFFER_BYTES = 64 * 1024;
/** How far (in lines) the command processor may run ahead of the print head. */
const PRINT_BUFFER_LINES = 4;
/** How long the connection being printed keeps the printer once its data is used up. */
const CONNECTION_SWITCH_IDLE_MS = 1_000;
/** A head this late (timer jitter) still counts as busy, so speed stays as configured. */
const LATE_TOLERANCE_MS = 20;
/** The printed log keeps the newest items; a demo left running for days must not grow forever. */
const MAX_KEPT_ITEMS = 100_000;
const DEFAULT_LINES_PER_SECOND = 200;
const DEFAULT_POWER_OFF_MS = 1_000;

/** GS I answers: representative of an Epson TM-T88VI for China, not read from a real unit. */
const IDENTITY = {
  modelId: 0x20,
  type: 0x03, // bit 0: two-byte characters, bit 1: autocutter
  romVersion: 0x0a,
  firmware: '30.06 ESC/POS',
  maker: 'EPSON',
  model: 'TM-T88VI',
  serial: 'VP00000001',
  fontLanguage: 'CHINA GB18030',
};

class Connection {
  readonly scanner = new RealtimeScanner();
  /** Received, not yet taken in by the command processor. */
  pending: Buffer = Buffer.alloc(0);
  open = true;
  paused = false;
  /** When the oldest pending byte arrived: connections are printed in this order. */
  waitingSince = 0;
  lastDataAt = 0;

  constructor(readonly host: HostConnection) {}
}

type Queued =
  | { kind: 'print'; item: PrintedItem; lines: number }
  | { kind: 'status-request'; what: 'paper' | 'drawer'; conn: Connection }
  | { kind: 'print-confirmation'; token: string; conn: Connection; superseded: boolean };

function parseListen(listen: string): Promise<Link> | Link {
  if (listen === 'pty') return PtyLink.create();
  if (listen === 'usb' || listen === 'usb-one-way') return new UsbLink({ twoWay: listen === 'usb' });
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m?.[1] || port > 65535) {
    throw new Error(
      `listen address "${listen}" must be tcp://HOST:PORT (port 0 = any free port), pty, usb or usb-one-way`,
    );
  }
  return new TcpLink(m[1].replace(/^\[|\]$/g, ''), port);
}

function checkOptions(opts: VirtualPrinterOptions): void {
  for (const f of opts.faults ?? []) {
    if (!isFault(f)) throw new Error(`unknown fault "${f}": must be one of ${FAULTS.join(', ')}`);
  }
  const lps = opts.linesPerSecond;
  if (lps !== undefined && !(Number.isFinite(lps) && lps > 0)) {
    throw new Error(`linesPerSecond must be a number above 0, got ${lps}`);
  }
  const paper = opts.paperLines;
  if (paper !== undefined && !(Number.isInteger(paper) && paper > 0)) {
    throw new Error(`paperLines must be a whole number above 0, got ${paper}`);
  }
}

/** Starts a virtual printer and waits until clients can connect to `printer.uri`. */
export async function startVirtualPrinter(opts: VirtualPrinterOptions): Promise<VirtualPrinter> {
  checkOptions(opts);
  const printer = new VirtualPrinter(opts, await parseListen(opts.listen));
  await printer[START]();
  return printer;
}

const START = Symbol('start');

export interface VirtualPrinterEvents {
  printed: [item: PrintedItem];
  status: [status: VirtualPrinterStatus];
}

export class VirtualPrinter extends EventEmitter<VirtualPrinterEvents> {
  readonly #link: Link;
  readonly #gsH: boolean;
  readonly #asbSupported: boolean;
  readonly #confirms: boolean;
  readonly #msPerLine: number;
  readonly #paperLines: number | undefined;
  readonly #output: NodeJS.WritableStream | undefined;
  readonly #interpreter: EscPosInterpreter;

  readonly #faults = new Set<Fault>();
  #drawerOpen = false;
  #paperLeft: number | undefined;
  #powered = true;
  #closed = false;

  #connections: Connection[] = [];
  /** The connection whose data is being printed. */
  #active: Connection | undefined;
  /** Bytes of the current bulk command (image data) still to drop as they arrive. */
  #skip = 0;

  /** Processed, waiting for the print head. */
  #queue: Queued[] = [];
  #queuedLines = 0;
  /** When the print head is free again (performance.now() time). */
  #headFreeAt = 0;
  #pumping = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  #asbMask = 0;
  #asbConn: Connection | undefined;
  #asbSent: number[] = [];

  readonly #printed: PrintedItem[] = [];
  #powerCycle: Promise<void> | undefined;
  #endPowerOff: (() => void) | undefined;

  /** Use startVirtualPrinter(). */
  constructor(opts: VirtualPrinterOptions, link: Link) {
    super();
    this.#link = link;
    this.#gsH = opts.gsH ?? true;
    this.#asbSupported = opts.asb ?? true;
    this.#confirms = opts.confirms ?? true;
    this.#msPerLine = 1000 / (opts.linesPerSecond ?? DEFAULT_LINES_PER_SECOND);
    this.#paperLines = opts.paperLines;
    this.#paperLeft = opts.paperLines;
    this.#output = opts.output;
    this.#interpreter = new EscPosInterpreter(opts.paper);
    for (const f of opts.faults ?? []) this.#faults.add(f);
  }

  async [START](): Promise<void> {
    await this.#link.open(
      (host) => this.#accept(host),
      () => this.#condition(),
    );
  }

  /** With listen 'usb': the fake WebUSB that lists this printer, for the USB transport's `backend`. */
  get usb(): UsbBackend | undefined {
    return this.#link instanceof UsbLink ? this.#link.backend : undefined;
  }

  /** Where clients connect: 'tcp://127.0.0.1:PORT' or 'serial:///tmp/.../host?baud=115200&flow=none'. */
  get uri(): string {
    return this.#link.uri;
  }

  get status(): VirtualPrinterStatus {
    const f = this.#faults;
    return {
      uri: this.uri,
      powered: this.#powered,
      online: this.#powered && isOnline(f),
      faults: FAULTS.filter((x) => f.has(x)),
      paper: f.has('paper-out') ? 'out' : f.has('near-end') ? 'near-end' : 'ok',
      paperLinesLeft: this.#paperLeft ?? null,
      drawerOpen: this.#drawerOpen,
      asbMask: this.#asbMask,
      connections: this.#connections.filter((c) => c.open).length,
      bufferedBytes: this.#connections.reduce((n, c) => n + c.pending.length, 0),
      printedItems: this.#printed.length,
    };
  }

  get printed(): readonly PrintedItem[] {
    return this.#printed;
  }

  /** Everything printed so far, one line per printed line or marker. */
  printedText(): string {
    return this.#printed.map(formatPrintedItem).join('\n');
  }

  setFault(fault: Fault, on: boolean): void {
    if (!isFault(fault))
      throw new Error(`unknown fault "${String(fault)}": must be one of ${FAULTS.join(', ')}`);
    if (this.#faults.has(fault) === on) return;
    if (on) this.#faults.add(fault);
    else this.#faults.delete(fault);
    // Taking paper-out away means a roll was put in.
    if (fault === 'paper-out' && !on) this.#paperLeft = this.#paperLines;
    this.#changed();
  }

  /** A new roll: clears paper-out and near-end, and paperLines counts again from the start. */
  refill(): void {
    this.#faults.delete('paper-out');
    this.#faults.delete('near-end');
    this.#paperLeft = this.#paperLines;
    this.#changed();
  }

  /** The cash drawer sensor: this drawer pulls connector pin 3 high while open. */
  setDrawer(open: boolean): void {
    if (this.#drawerOpen === open) return;
    this.#drawerOpen = open;
    this.#changed();
  }

  /**
   * Switches the printer off for `offMs` and on again: connections are dropped (TCP) or the
   * pty disappears (serial), buffers, modes and ASB are lost, errors are cleared. Resolves
   * once it is listening again.
   */
  async powerCycle(offMs = DEFAULT_POWER_OFF_MS): Promise<void> {
    if (!(Number.isFinite(offMs) && offMs >= 0))
      throw new Error(`offMs must be a number of 0 or more, got ${offMs}`);
    if (this.#closed) throw new Error('the virtual printer is closed');
    // A second call while one is under way waits for that one.
    this.#powerCycle ??= this.#cyclePower(offMs).finally(() => {
      this.#powerCycle = undefined;
    });
    return this.#powerCycle;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#endPowerOff?.();
    await this.#powerCycle?.catch(() => {});
    this.#stopTimer();
    await this.#link.close(true);
  }

  async #cyclePower(offMs: number): Promise<void> {
    this.#powered = false;
    this.#stopTimer();
    this.#connections = [];
    this.#active = undefined;
    this.#clearBuffers();
    this.#asbMask = 0;
    this.#asbConn = undefined;
    this.#interpreter.powerOn();
    for (const f of ['mechanical-error', 'cutter-error', 'overheat', 'unrecoverable-error'] as const) {
      this.#faults.delete(f);
    }
    this.emit('status', this.status);
    await this.#link.close(false);
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, offMs);
      this.#endPowerOff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#endPowerOff = undefined;
    if (this.#closed) return;
    // Powered before the link opens, so no byte from a quick client is dropped.
    this.#powered = true;
    try {
      await this.#link.open(
        (host) => this.#accept(host),
        () => this.#condition(),
      );
    } catch (err) {
      this.#powered = false;
      this.emit('status', this.status);
      throw err;
    }
    this.#changed();
  }

  #condition(): PrinterCondition {
    return { faults: this.#faults, drawerPin3High: this.#drawerOpen };
  }

  #online(): boolean {
    return this.#powered && !this.#closed && isOnline(this.#faults);
  }

  /** After any change of condition: ASB frame if due, 'status' event, printing resumes. */
  #changed(): void {
    this.#sendAsb(false);
    this.emit('status', this.status);
    this.#pump();
  }

  #sendAsb(always: boolean): void {
    const conn = this.#asbConn;
    if (this.#asbMask === 0 || !conn?.open || !this.#powered) return;
    const frame = asbFrame(this.#condition());
    if (always || asbChanged(this.#asbMask, this.#asbSent, frame)) {
      conn.host.write(Uint8Array.from(frame));
      this.#asbSent = frame;
    }
  }

  #accept(host: HostConnection): ConnectionHandlers {
    const conn = new Connection(host);
    this.#connections.push(conn);
    this.emit('status', this.status);
    return {
      data: (chunk) => this.#received(conn, chunk),
      closed: () => this.#closedConnection(conn),
    };
  }

  #isCurrent(conn: Connection): boolean {
    return this.#powered && this.#connections.includes(conn);
  }

  #received(conn: Connection, chunk: Uint8Array): void {
    if (!this.#isCurrent(conn)) return;
    conn.lastDataAt = performance.now();
    let from = 0;
    for (const { end, command } of conn.scanner.push(chunk)) {
      // The bytes up to the command are in the buffer before it acts (DLE ENQ 2 clears them).
      this.#append(conn, chunk.subarray(from, end + 1));
      from = end + 1;
      this.#realtime(conn, command);
    }
    this.#append(conn, chunk.subarray(from));
    if (conn.pending.length >= RECEIVE_BUFFER_BYTES && !conn.paused) {
      conn.paused = true;
      conn.host.pause();
    }
    this.#pump();
  }

  #append(conn: Connection, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (conn.pending.length === 0) conn.waitingSince = performance.now();
    conn.pending = Buffer.concat([conn.pending, bytes]);
  }

  #consume(conn: Connection, n: number): void {
    conn.pending = conn.pending.subarray(n);
    if (conn.paused && conn.pending.length < RECEIVE_BUFFER_BYTES) {
      conn.paused = false;
      conn.host.resume();
    }
    if (conn.pending.length === 0 && !conn.open) this.#forget(conn);
  }

  #closedConnection(conn: Connection): void {
    conn.open = false;
    // Data already received still prints, as on a real printer.
    if (conn.pending.length === 0) this.#forget(conn);
    this.emit('status', this.status);
    this.#pump();
  }

  #forget(conn: Connection): void {
    this.#connections = this.#connections.filter((c) => c !== conn);
    if (this.#active === conn) this.#active = undefined;
  }

  #realtime(conn: Connection, command: RealtimeCommand): void {
    switch (command.kind) {
      case 'status':
        conn.host.write(Uint8Array.of(realtimeStatusByte(command.n, this.#condition())));
        return;
      case 'recover':
        // Only acts while a recoverable error (mechanical, autocutter) is present.
        if (!hasRecoverableError(this.#faults)) return;
        this.#faults.delete('mechanical-error');
        this.#faults.delete('cutter-error');
        if (command.clearBuffers) this.#clearBuffers();
        this.#changed();
        return;
      case 'pulse':
        this.#emitPrinted({ kind: 'drawer', pin: command.pin, onMs: command.onMs, offMs: command.offMs });
        return;
      case 'buzzer':
        this.#emitPrinted({ kind: 'beep', times: command.times });
        return;
      case 'send-status':
        conn.host.write(Uint8Array.from(asbFrame(this.#condition())));
        return;
      case 'clear-buffers':
        this.#clearBuffers();
        conn.host.write(Uint8Array.of(0x37, 0x25, 0x00));
        this.#pump();
        return;
    }
  }

  /** Receive and print buffers emptied: what was not printed yet never will be. */
  #clearBuffers(): void {
    for (const conn of this.#connections) this.#consume(conn, conn.pending.length);
    this.#skip = 0;
    this.#queue = [];
    this.#queuedLines = 0;
    this.#interpreter.clearPrintBuffer();
  }

  /** Runs the print head and the command processor as far as they can go now. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#online()) {
        if (this.#printNext()) continue;
        if (this.#queuedLines < PRINT_BUFFER_LINES && this.#processNext()) continue;
        break;
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#online() && this.#queue.length > 0) this.#wakeAt(this.#headFreeAt);
  }

  #wakeAt(t: number): void {
    if (this.#timer && this.#timerAt <= t) return;
    this.#stopTimer();
    this.#timerAt = t;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.max(0, t - performance.now()),
    );
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** The print head takes the next item if it is free; false when it cannot now. */
  #printNext(): boolean {
    const head = this.#queue[0];
    const now = performance.now();
    if (!head || now < this.#headFreeAt) return false;
    this.#queue.shift();
    switch (head.kind) {
      case 'print': {
        this.#queuedLines -= head.lines;
        if (head.lines > 0) {
          const start = now - this.#headFreeAt < LATE_TOLERANCE_MS ? this.#headFreeAt : now;
          this.#headFreeAt = start + head.lines * this.#msPerLine;
        }
        this.#emitPrinted(head.item);
        if (head.lines > 0) this.#usePaper(head.lines);
        break;
      }
      case 'status-request':
        if (this.#confirms && head.conn.open) {
          const c = this.#condition();
          head.conn.host.write(
            Uint8Array.of(head.what === 'paper' ? paperSensorByte(c) : drawerSensorByte(c)),
          );
        }
        break;
      case 'print-confirmation':
        if (this.#confirms && !head.superseded && head.conn.open) {
          head.conn.host.write(Uint8Array.from([0x37, 0x22, ...Buffer.from(head.token, 'latin1'), 0x00]));
        }
        break;
    }
    return true;
  }

  #usePaper(lines: number): void {
    if (this.#paperLeft === undefined || this.#paperLines === undefined) return;
    this.#paperLeft = Math.max(0, this.#paperLeft - lines);
    // The near-end sensor trips with about a tenth of the roll left.
    const nearEndAt = Math.floor(this.#paperLines / 10);
    if (this.#paperLeft === 0) this.#faults.add('paper-out');
    else if (this.#paperLeft <= nearEndAt) this.#faults.add('near-end');
    else return;
    this.#changed();
  }

  #emitPrinted(item: PrintedItem): void {
    if (this.#printed.length >= MAX_KEPT_ITEMS) this.#printed.splice(0, MAX_KEPT_ITEMS / 10);
    this.#printed.push(item);
    this.#output?.write(`${formatPrintedItem(item)}\n`);
    this.emit('printed', item);
  }

  /** The connection to take data from: the current one, or the next in arrival order. */
  #source(): Connection | undefined {
    const active = this.#active;
    if (active && (active.pending.length > 0 || this.#skip > 0)) return active;
    let next: Connection | undefined;
    for (const c of this.#connections) {
      if (c !== active && c.pending.length > 0 && (!next || c.waitingSince < next.waitingSince)) next = c;
    }
    if (!next) return active;
    if (active?.open) {
      const until = active.lastDataAt + CONNECTION_SWITCH_IDLE_MS;
      if (performance.now() < until) {
        this.#wakeAt(until);
        return active;
      }
    }
    this.#active = next;
    this.#skip = 0;
    return next;
  }

  /** The command processor takes the next command from the receive buffer; false when it cannot now. */
  #processNext(): boolean {
    const conn = this.#source();
    if (!conn || conn.pending.length === 0) return false;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, conn.pending.length);
      this.#skip -= n;
      this.#consume(conn, n);
      return true;
    }
    const step = this.#interpreter.step(conn.pending);
    if (!step) {
      if (conn.open) return false; // the rest of the command is on its way
      // The connection closed in the middle of a command: the rest will never come.
      const length = conn.pending.length;
      this.#enqueue({
        kind: 'print',
        item: { kind: 'unknown', length, head: Array.from(conn.pending.subarray(0, 8)) },
        lines: 0,
      });
      this.#consume(conn, length);
      return true;
    }
    const n = Math.min(step.length, conn.pending.length);
    this.#skip = step.length - n;
    this.#consume(conn, n);
    for (const effect of step.effects) this.#apply(effect, conn);
    return true;
  }

  #enqueue(q: Queued): void {
    this.#queue.push(q);
    if (q.kind === 'print') this.#queuedLines += q.lines;
  }

  #apply(effect: Effect, conn: Connection): void {
    switch (effect.kind) {
      case 'print':
        this.#enqueue(effect);
        return;
      case 'status-request':
        this.#enqueue({ kind: 'status-request', what: effect.what, conn });
        return;
      case 'print-confirmation':
        if (!this.#gsH) return;
        for (const q of this.#queue) if (q.kind === 'print-confirmation') q.superseded = true;
        this.#enqueue({ kind: 'print-confirmation', token: effect.token, conn, superseded: false });
        return;
      case 'identify': {
        const answer = identityAnswer(effect.n);
        if (answer) conn.host.write(answer);
        return;
      }
      case 'asb':
        if (!this.#asbSupported) return;
        this.#asbMask = effect.mask;
        this.#asbConn = conn;
        this.#sendAsb(true); // the current status at once, then on every change
        return;
      case 'initialize':
        this.#asbMask = 0;
        return;
    }
  }
}

/** GS I n answer: one byte for n = 1-3 (or 49-51), a block `5F ... 00` for 65-69. */
function identityAnswer(n: number): Uint8Array | undefined {
  const block = (text: string) => Uint8Array.from([0x5f, ...Buffer.from(text, 'latin1'), 0x00]);
  switch (n) {
    case 1:
    case 49:
      return Uint8Array.of(IDENTITY.modelId);
    case 2:
    case 50:
      return Uint8Array.of(IDENTITY.type);
    case 3:
    case 51:
      return Uint8Array.of(IDENTITY.romVersion);
    case 65:
      return block(IDENTITY.firmware);
    case 66:
      return block(IDENTITY.maker);
    case 67:
      return block(IDENTITY.model);
    case 68:
      return block(IDENTITY.serial);
    case 69:
      return block(IDENTITY.fontLanguage);
    default:
      return undefined;
  }
}
