// The printer driver: one Printer per physical printer, over any transport (TCP, serial).
//
// - Connection: connects on start() and reconnects by itself (power cycle, reset socket,
//   serial device gone and back) with capped, jittered backoff, until close().
// - Status: enables Automatic Status Back (GS a) when the profile has it and polls DLE EOT
//   1-4 (fast without ASB, slowly with it, as a liveness check: a printer that stops
//   answering is treated as disconnected). Reports go through StatusTracker ('status').
// - Printing: one job at a time, in order. Each job gets the profile's confirmation request
//   (GS ( H with a unique token, or GS r 1) and is 'printed' only when it is answered.
// - One-way printers (usblp, the Windows spooler, USB without bulk IN): no DLE EOT, ASB or
//   confirmation can come back. A USB one may still give GET_PORT_STATUS, polled instead;
//   otherwise the status is 'unreadable' (never ready, see protocol/status.ts) and the
//   printer is sent to while connected. Their jobs are 'printed' once sent, with reason
//   SENT_UNCONFIRMED, so that whoever reports them can say it was not confirmed.
//   Status requests are never written in the middle of a job's bytes: DLE EOT inside
//   another command's data (an image) would corrupt it. So while a job is being sent, news
//   of the printer comes from ASB alone, and the liveness check waits for the end of it.
import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { confirmationRequest, enableAsb } from '../../escpos/commands.js';
import type { PrinterProfile } from '../../protocol/profile.js';
import { notReadyReasons, type PrinterStatus, STATUS_UNKNOWN } from '../../protocol/status.js';
import { type PrinterAddress, parsePrinterAddress } from './address.js';
import {
  BLOCK_REQUESTS,
  type BlockField,
  blockText,
  buildIdentity,
  identifyRequests,
  ONE_BYTE_REQUESTS,
  type PrinterIdentity,
} from './identify.js';
import { type InboundEvent, InboundParser } from './inbound-parser.js';
import { PrintJob, SENT_UNCONFIRMED, SET_STATE } from './print-job.js';
import { decodeAsb, decodeRealtimeStatus, type RealtimeRequest, type StatusPatch } from './status-decoder.js';
import { type StatusChange, StatusTracker } from './status-tracker.js';
import { createTransport, type StatusChannel, type Transport } from './transports/index.js';
import type { UsbBackend } from './transports/usb.js';

export type { PrinterIdentity } from './identify.js';
export { PrintJob, type PrintJobState, type PrintJobUpdate, SENT_UNCONFIRMED } from './print-job.js';
export type { StatusChange } from './status-tracker.js';

export interface PrinterOptions {
  uri: string;
  profile: PrinterProfile;
  /** DLE EOT polling period without ASB (with ASB, five times slower). Default 1000. */
  pollIntervalMs?: number;
  /** How long a job may go unconfirmed, counted only while the printer is connected and ready. Default 30000. */
  confirmTimeoutMs?: number;
  /** Status flap suppression (StatusTracker settleMs). Default 300. */
  statusSettleMs?: number;
  /** TCP connect timeout. Default 5000. */
  connectTimeoutMs?: number;
  /** Where USB devices are listed (default: the system's); tests give the virtual printer's. */
  usb?: () => Promise<UsbBackend>;
}

export interface PrinterEvents {
  status: [change: StatusChange];
  /** The printer is connected and its full status is known (and published). */
  connected: [];
  /** A connection that had been 'connected' ended; error says why. */
  disconnected: [error: Error];
  /** A connect attempt failed; the driver retries by itself. */
  'connect-error': [error: Error];
}

const DEFAULT_POLL_INTERVAL_MS = 1000;
const DEFAULT_CONFIRM_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_IDENTIFY_TIMEOUT_MS = 5000;
/** With ASB the printer reports changes itself; polling is only a liveness check then. */
const ASB_POLL_FACTOR = 5;
/** A printer that leaves status requests unanswered this long (or 3 polls) is gone. */
const MIN_STATUS_TIMEOUT_MS = 2000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
const REALTIME_REQUESTS: readonly RealtimeRequest[] = [1, 2, 3, 4];
const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Recently used confirmation tokens are not reused, so a late answer cannot confirm a new job. */
const RECENT_TOKENS = 64;

/** DLE EOT n for each n (real-time status; only the driver sends it, so it is built here). */
const statusRequests = (ns: readonly RealtimeRequest[]): Uint8Array =>
  Uint8Array.from(ns.flatMap((n) => [0x10, 0x04, n]));

/** The connection went while writing; bytesWritten tells whether the printer may have got part of it. */
class ConnectionLost extends Error {
  constructor(
    cause: Error | undefined,
    readonly bytesWritten: number,
  ) {
    super(cause?.message ?? 'the connection to the printer was lost');
  }
}

/** One connection to the printer; a reconnect makes a new one. */
class Session {
  readonly parser = new InboundParser();
  /** DLE EOT n sent and not answered yet, oldest first: answers come back in order. */
  readonly polls: RealtimeRequest[] = [];
  /** When the oldest unanswered poll was sent. */
  pollSentAt = 0;
  lastPollAt = 0;
  /**
   * The answers of the current DLE EOT round, applied together once all four are in: one
   * round is one report, so that e.g. "offline" (n=1) is never published without its cause.
   */
  round: StatusPatch = {};
  /** A full status (ASB frame or all four DLE EOT answers) arrived on this connection. */
  statusKnown = false;
  /** ASB frames are arriving: polling slows down to a liveness check. */
  asbActive = false;
  /** The printer sent XOFF (serial, flow=xonxoff). */
  xoff = false;
  /** A job's bytes are being written: status requests must wait for the end of them. */
  streaming = false;
  /** What comes back; a USB printer that never answers GET_PORT_STATUS drops to 'none'. */
  channel: StatusChannel;
  /** A GET_PORT_STATUS read is under way. */
  portStatusPending = false;
  /**
   * Who gets the next one-byte answers (GS r confirmations, GS I 1-3), oldest first. Entries
   * whose caller gave up stay, so that a late answer is used up by its own request instead
   * of confirming a later job by mistake.
   */
  readonly oneByteAnswers: ((byte: number) => void)[] = [];
  /** Who gets the next 5F block replies (GS I 65-69), oldest first. */
  readonly blockAnswers: ((data: Uint8Array) => void)[] = [];
  /** GS ( H tokens answered on this connection. */
  readonly confirmedTokens = new Set<string>();
  ended = false;
  endError: Error | undefined;
  readonly ended$: Promise<void>;
  resolveEnded!: () => void;

  constructor(readonly transport: Transport) {
    this.channel = transport.statusChannel;
    this.ended$ = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }
}

type Operation =
  | { kind: 'print'; job: PrintJob; bytes: Uint8Array }
  | { kind: 'identify'; run: () => Promise<void> };

export class Printer extends EventEmitter<PrinterEvents> {
  readonly address: PrinterAddress;
  readonly #profile: PrinterProfile;
  readonly #pollIntervalMs: number;
  readonly #statusTimeoutMs: number;
  readonly #usb: (() => Promise<UsbBackend>) | undefined;
  readonly #confirmTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #tracker: StatusTracker;

  #started = false;
  #closing = false;
  #session: Session | undefined;
  #transport: Transport | undefined;
  #connectLoop: Promise<void> | undefined;
  #cancelBackoff: (() => void) | undefined;

  readonly #queue: Operation[] = [];
  #worker: Promise<void> | undefined;
  #working = false;
  readonly #recentTokens: string[] = [];
  /** Wakes whatever waits for a change of status, connection or answers. */
  readonly #waiters = new Set<() => void>();

  constructor(opts: PrinterOptions) {
    super();
    this.address = parsePrinterAddress(opts.uri);
    if (!opts.profile?.status) throw new Error('printer options need a profile (see escpos/profiles)');
    this.#profile = opts.profile;
    this.#pollIntervalMs = positive('pollIntervalMs', opts.pollIntervalMs, DEFAULT_POLL_INTERVAL_MS);
    this.#statusTimeoutMs = Math.max(MIN_STATUS_TIMEOUT_MS, 3 * this.#pollIntervalMs);
    this.#confirmTimeoutMs = positive('confirmTimeoutMs', opts.confirmTimeoutMs, DEFAULT_CONFIRM_TIMEOUT_MS);
    this.#usb = opts.usb;
    this.#connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    this.#tracker = new StatusTracker({
      ...(opts.statusSettleMs === undefined ? {} : { settleMs: opts.statusSettleMs }),
      drawerPin3HighMeans: opts.profile.drawer.pin3HighMeans,
    });
    this.#tracker.on('change', (change) => {
      this.emit('status', change);
      // 'connected' goes with the published status (after settling), so that listeners see
      // a status that says connected; 'disconnected' is published at once by #endSession.
      if (change.changed.includes('connected') && change.status.connected) this.emit('connected');
      this.#notify();
    });
  }

  /** Connects, and keeps reconnecting until close(). */
  start(): void {
    if (this.#closing) throw new Error('the printer is closed');
    if (this.#started) return;
    this.#started = true;
    this.#connectLoop = this.#keepConnected();
  }

  get status(): PrinterStatus {
    return this.#tracker.status;
  }

  /**
   * Resolves true once the printer is connected and its status known (settled), false when
   * that has not happened within timeoutMs: for one-off users (a CLI command, the doctor,
   * discovery) that start a printer and want its first word.
   */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.status.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onStatus = (): void => {
        if (this.status.connected) done(true);
      };
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.off('status', onStatus);
        resolve(ok);
      };
      this.on('status', onStatus);
    });
  }

  /**
   * Why the driver cannot send to the printer now, most important first; empty when it can.
   * A connected one-way printer is sent to blind: its status says 'status-unknown' (never
   * ready), yet nothing here holds its jobs back.
   */
  get notReadyReasons(): string[] {
    return notReadyReasons(this.#tracker.status).filter((r) => r !== STATUS_UNKNOWN);
  }

  /** Queues bytes to print; the job confirms itself (the profile's confirmation is appended here). */
  print(bytes: Uint8Array, opts: { id?: string } = {}): PrintJob {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('print() needs the job as a Uint8Array');
    const job = new PrintJob(opts.id ?? randomUUID());
    if (this.#closing) {
      queueMicrotask(() => job[SET_STATE]('failed', 'printer-closed'));
      return job;
    }
    // A copy: the caller may reuse its buffer while the job waits in the queue.
    this.#enqueue({ kind: 'print', job, bytes: bytes.slice() });
    return job;
  }

  /**
   * Asks the printer who it is (GS I). Waits for its turn in the queue and for the printer
   * to be ready (GS I is not answered while offline); rejects after timeoutMs in all.
   */
  identify(opts: { timeoutMs?: number } = {}): Promise<PrinterIdentity> {
    const timeoutMs = positive('timeoutMs', opts.timeoutMs, DEFAULT_IDENTIFY_TIMEOUT_MS);
    if (this.#closing) return Promise.reject(new Error('the printer is closed'));
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      this.#enqueue({
        kind: 'identify',
        run: () => this.#identify(deadline, timeoutMs).then(resolve, reject),
      });
    });
  }

  /**
   * Disconnects for good. Jobs not started fail ('printer-closed'); a job under way becomes
   * 'uncertain'. Resolves once every job has settled.
   */
  async close(): Promise<void> {
    if (this.#closing) {
      await this.#connectLoop;
      await this.#worker;
      return;
    }
    this.#closing = true;
    this.#cancelBackoff?.();
    const session = this.#session;
    if (session) this.#endSession(session, new Error('the printer was closed'));
    else await this.#transport?.close();
    this.#notify();
    await this.#connectLoop;
    await this.#worker;
    this.#tracker.dispose();
  }

  // ---- connection -------------------------------------------------------------------------

  async #keepConnected(): Promise<void> {
    let attempt = 0;
    while (!this.#closing) {
      const transport = createTransport(this.address, {
        connectTimeoutMs: this.#connectTimeoutMs,
        ...(this.#usb ? { usb: this.#usb } : {}),
      });
      this.#transport = transport;
      try {
        await transport.open();
      } catch (err) {
        if (this.#closing) break;
        this.emit('connect-error', err instanceof Error ? err : new Error(String(err)));
        await this.#backoff(attempt++);
        continue;
      }
      if (this.#closing) {
        await transport.close();
        break;
      }
      const session = this.#openSession(transport);
      await session.ended$;
      // A connection that got as far as a full status was a good one: start backoff afresh.
      if (session.statusKnown) attempt = 0;
      if (!this.#closing) await this.#backoff(attempt++);
    }
    this.#transport = undefined;
  }

  /** 250 ms doubling to 5 s, with jitter so that many agents do not retry in step. */
  #backoff(attempt: number): Promise<void> {
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 10));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    return new Promise((resolve) => {
      const timer = setTimeout(done, delay);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#cancelBackoff = done;
    });
  }

  #openSession(transport: Transport): Session {
    const session = new Session(transport);
    this.#session = session;
    transport.on('data', (chunk) => this.#received(session, chunk));
    transport.on('close', (err) =>
      this.#endSession(session, err ?? new Error(`${transport.description} closed`)),
    );
    const timer = setInterval(() => this.#pollTick(session), Math.min(this.#pollIntervalMs, 250));
    void session.ended$.then(() => clearInterval(timer));
    switch (session.channel) {
      case 'stream':
        if (this.#profile.status.asb) this.#write(session, enableAsb());
        this.#poll(session);
        break;
      case 'port-status':
        void this.#readPortStatus(session);
        break;
      case 'none':
        this.#unreadable(session);
        break;
    }
    return session;
  }

  #endSession(session: Session, error: Error): void {
    if (session.ended) return;
    session.ended = true;
    session.endError = error;
    if (this.#session === session) this.#session = undefined;
    void session.transport.close().finally(() => session.resolveEnded());
    const wasConnected = this.#tracker.status.connected;
    this.#tracker.setConnected(false);
    if (wasConnected) this.emit('disconnected', error);
    this.#notify();
  }

  /** Writes outside of jobs (status requests, GS a); a failed write means the connection is gone. */
  #write(session: Session, bytes: Uint8Array): void {
    session.transport.write(bytes).catch((err: unknown) => {
      this.#endSession(session, err instanceof Error ? err : new Error(String(err)));
    });
  }

  // ---- status -----------------------------------------------------------------------------

  #pollTick(session: Session): void {
    if (session.ended) return;
    const now = Date.now();
    if (session.channel === 'port-status') {
      if (!session.portStatusPending && now - session.lastPollAt >= this.#pollIntervalMs) {
        void this.#readPortStatus(session);
      }
      return;
    }
    if (session.channel !== 'stream') return;
    // While a job streams, requests already sent may sit behind its bytes: do not judge then.
    if (session.polls.length > 0 && !session.streaming && now - session.pollSentAt > this.#statusTimeoutMs) {
      this.#endSession(
        session,
        new Error(
          `${session.transport.description} stopped answering status requests (${this.#statusTimeoutMs} ms)`,
        ),
      );
      return;
    }
    const interval = session.asbActive ? this.#pollIntervalMs * ASB_POLL_FACTOR : this.#pollIntervalMs;
    if (now - session.lastPollAt >= interval) this.#poll(session);
  }

  /** Sends DLE EOT 1-4 unless requests are still unanswered (at most 4 outstanding) or a job streams. */
  #poll(session: Session): void {
    if (session.ended || session.channel !== 'stream' || session.streaming || session.polls.length > 0)
      return;
    session.polls.push(...REALTIME_REQUESTS);
    session.pollSentAt = session.lastPollAt = Date.now();
    this.#write(session, statusRequests(REALTIME_REQUESTS));
  }

  #received(session: Session, chunk: Uint8Array): void {
    if (session.ended) return;
    for (const event of session.parser.push(chunk)) this.#handle(session, event);
    this.#notify();
  }

  #handle(session: Session, event: InboundEvent): void {
    switch (event.kind) {
      case 'realtime-status': {
        const n = session.polls.shift();
        if (n === undefined) return; // not ours to map: ignore rather than guess
        session.pollSentAt = Date.now();
        Object.assign(session.round, decodeRealtimeStatus(n, event.byte));
        if (session.polls.length > 0) return;
        this.#tracker.apply(session.round, 'dle-eot');
        session.round = {};
        this.#statusKnown(session);
        return;
      }
      case 'asb':
        this.#tracker.apply(decodeAsb(event.bytes), 'asb');
        session.asbActive = true;
        this.#statusKnown(session);
        return;
      case 'answer':
        session.oneByteAnswers.shift()?.(event.byte);
        return;
      case 'print-confirmed':
        session.confirmedTokens.add(event.token);
        return;
      case 'block':
        if (event.header === 0x5f) session.blockAnswers.shift()?.(event.data);
        return;
      case 'xon':
      case 'xoff':
        // Only meaningful when the line is configured for software flow control.
        if (this.address.kind === 'serial' && this.address.flow === 'xonxoff')
          session.xoff = event.kind === 'xoff';
        return;
      case 'garbage':
        return;
    }
  }

  /**
   * USB GET_PORT_STATUS: paper empty or not, and online (selected, no error). It is on the
   * control endpoint, so it may be read while a job streams on bulk OUT.
   */
  async #readPortStatus(session: Session): Promise<void> {
    session.portStatusPending = true;
    session.lastPollAt = Date.now();
    try {
      const port = await session.transport.readPortStatus?.();
      if (!port) throw new Error('the transport cannot read GET_PORT_STATUS');
      if (session.ended) return;
      this.#tracker.apply(
        { paper: port.paperEmpty ? 'out' : 'ok', online: port.selected && !port.error },
        'port-status',
      );
      this.#statusKnown(session);
    } catch (err) {
      if (session.ended) return;
      // Never answered: many one-way printers do not implement it. Having answered before,
      // silence means the printer is gone.
      if (!session.statusKnown) {
        session.channel = 'none';
        this.#unreadable(session);
        return;
      }
      const why = err instanceof Error ? err.message : String(err);
      this.#endSession(
        session,
        new Error(`${session.transport.description} stopped answering GET_PORT_STATUS: ${why}`),
      );
    } finally {
      session.portStatusPending = false;
    }
  }

  /** Nothing will come back: connected is all that is known. */
  #unreadable(session: Session): void {
    session.statusKnown = true;
    this.#tracker.setUnreadable();
  }

  #statusKnown(session: Session): void {
    if (session.statusKnown) return;
    session.statusKnown = true;
    this.#tracker.setConnected(true);
  }

  // ---- queue ------------------------------------------------------------------------------

  #enqueue(op: Operation): void {
    this.#queue.push(op);
    if (this.#working) return;
    this.#working = true;
    this.#worker = this.#work();
  }

  async #work(): Promise<void> {
    // Let print()/identify() callers attach listeners before anything happens.
    await Promise.resolve();
    try {
      for (let op = this.#queue.shift(); op; op = this.#queue.shift()) {
        if (op.kind === 'identify') {
          await op.run();
          continue;
        }
        const { job, bytes } = op;
        try {
          await this.#printJob(job, bytes);
        } catch (err) {
          // A bug must not stop the queue; whether anything went out decides how the job ends.
          const why = `driver error: ${err instanceof Error ? err.message : String(err)}`;
          job[SET_STATE](job.state === 'queued' ? 'failed' : 'uncertain', why);
        }
      }
    } finally {
      // Runs right after the last empty check: an op queued from now on starts a new worker.
      this.#working = false;
    }
  }

  /** The session once the printer is connected, its status known and ready; undefined when closing or too late. */
  async #whenReady(onNotReady: (reasons: string[]) => void, deadline?: number): Promise<Session | undefined> {
    for (;;) {
      if (this.#closing) return undefined;
      const session = this.#session;
      const reasons = this.notReadyReasons;
      if (session && reasons.length === 0) return session;
      onNotReady(reasons);
      if (deadline !== undefined && Date.now() >= deadline) return undefined;
      await this.#nextChange(deadline === undefined ? undefined : deadline - Date.now());
    }
  }

  async #printJob(job: PrintJob, bytes: Uint8Array): Promise<void> {
    for (;;) {
      const session = await this.#whenReady((reasons) => job[SET_STATE]('queued', reasons.join(', ')));
      if (!session) {
        job[SET_STATE]('failed', 'printer-closed');
        return;
      }
      // Only a printer that talks back can confirm; the others get the job's bytes alone.
      const twoWay = session.channel === 'stream';
      const token = twoWay ? this.#newToken() : '';
      const confirmed = twoWay ? this.#expectConfirmation(session, token) : () => false;
      job[SET_STATE]('sending');
      // The job may reset the printer (ESC @), which turns ASB off: enable it again after it,
      // and poll fast until ASB frames come again.
      const asb = this.#profile.status.asb ? enableAsb() : new Uint8Array(0);
      session.asbActive = false;
      try {
        await this.#stream(
          session,
          twoWay ? [bytes, asb, confirmationRequest(this.#profile, token)] : [bytes],
          job,
        );
      } catch (err) {
        // Lost before a byte went out: the job is still whole and waits for the next connection.
        if (err instanceof ConnectionLost && err.bytesWritten === 0 && !this.#closing) continue;
        job[SET_STATE]('uncertain', this.#closing ? 'printer-closed' : 'connection-lost');
        return;
      }
      if (!twoWay) {
        job[SET_STATE]('printed', SENT_UNCONFIRMED);
        return;
      }
      await this.#awaitConfirmation(job, session, confirmed);
      return;
    }
  }

  /** Printed when confirmed, else uncertain; the timeout runs only while the printer is ready. */
  async #awaitConfirmation(job: PrintJob, session: Session, confirmed: () => boolean): Promise<void> {
    let left = this.#confirmTimeoutMs;
    for (;;) {
      if (confirmed()) {
        job[SET_STATE]('printed');
        return;
      }
      if (session.ended) {
        job[SET_STATE]('uncertain', this.#closing ? 'printer-closed' : 'connection-lost');
        return;
      }
      const reasons = this.notReadyReasons;
      if (reasons.length > 0) {
        job[SET_STATE]('waiting', reasons.join(', '));
        await this.#nextChange();
        continue;
      }
      if (left <= 0) {
        job[SET_STATE]('uncertain', 'confirm-timeout');
        return;
      }
      job[SET_STATE]('sending');
      const since = Date.now();
      await this.#nextChange(left);
      left -= Date.now() - since;
    }
  }

  /** Registers for the job's confirmation before it is sent; returns whether it has come. */
  #expectConfirmation(session: Session, token: string): () => boolean {
    // Taken out of the set when seen, so the set only holds answers nobody waits for any more.
    if (this.#profile.status.gsH) return () => session.confirmedTokens.delete(token);
    // GS r 1 carries no token: its answer is the next one-byte answer in line.
    let answered = false;
    session.oneByteAnswers.push(() => {
      answered = true;
    });
    return () => answered;
  }

  /**
   * Writes parts in transport-sized chunks, each after the previous has drained and never
   * while the printer has said XOFF. Throws when the connection is lost.
   */
  async #stream(session: Session, parts: Uint8Array[], job?: PrintJob): Promise<void> {
    const bytes = Buffer.concat(parts);
    const size = session.transport.chunkSize;
    // A write may wait long (the printer stopped and its buffer is full): show why meanwhile.
    const reflect = (): void => {
      const reasons = this.notReadyReasons;
      if (reasons.length > 0) job?.[SET_STATE]('waiting', reasons.join(', '));
      else job?.[SET_STATE]('sending');
    };
    if (job) this.#tracker.on('change', reflect);
    let at = 0;
    session.streaming = true;
    try {
      for (; at < bytes.length; at += size) {
        // XOFF only means the printer's buffer is full: the job is still 'sending'.
        while (session.xoff && !session.ended) await this.#nextChange();
        if (session.ended) throw new ConnectionLost(session.endError, at);
        await session.transport.write(bytes.subarray(at, at + size));
      }
    } catch (err) {
      if (err instanceof ConnectionLost) throw err;
      // A failed write may have sent part of its chunk: count it as written.
      throw new ConnectionLost(err instanceof Error ? err : undefined, at + 1);
    } finally {
      session.streaming = false;
      this.#tracker.off('change', reflect);
    }
    if (session.ended) throw new ConnectionLost(session.endError, at);
    this.#poll(session);
  }

  #newToken(): string {
    let token: string;
    do {
      token = Array.from({ length: 4 }, () => TOKEN_CHARS[randomInt(TOKEN_CHARS.length)]).join('');
    } while (this.#recentTokens.includes(token));
    this.#recentTokens.push(token);
    if (this.#recentTokens.length > RECENT_TOKENS) this.#recentTokens.shift();
    return token;
  }

  async #identify(deadline: number, timeoutMs: number): Promise<PrinterIdentity> {
    const session = await this.#whenReady(() => {}, deadline);
    if (!session) {
      throw new Error(
        this.#closing
          ? 'the printer was closed'
          : `printer not ready within ${timeoutMs} ms: ${this.notReadyReasons.join(', ')}`,
      );
    }
    if (session.channel !== 'stream') {
      throw new Error(`${session.transport.description} is one-way: it cannot answer who it is (GS I)`);
    }
    const bytes: number[] = [];
    for (const _ of ONE_BYTE_REQUESTS) session.oneByteAnswers.push((b) => bytes.push(b));
    const blocks: Partial<Record<BlockField, string>> = {};
    const blockRequests = this.#profile.status.identify ? Object.entries(BLOCK_REQUESTS) : [];
    let blocksAnswered = 0;
    for (const [, field] of blockRequests) {
      session.blockAnswers.push((data) => {
        blocks[field] = blockText(data);
        blocksAnswered++;
      });
    }
    const requests = [...ONE_BYTE_REQUESTS, ...blockRequests.map(([n]) => Number(n))];
    try {
      await this.#stream(session, [identifyRequests(requests)]);
    } catch (err) {
      throw new Error(
        `lost the printer while identifying it: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const complete = (): boolean =>
      bytes.length === ONE_BYTE_REQUESTS.length && blocksAnswered === blockRequests.length;
    while (!complete() && !session.ended && !this.#closing && Date.now() < deadline) {
      await this.#nextChange(deadline - Date.now());
    }
    if (!complete()) {
      if (session.ended) throw new Error('lost the printer while identifying it');
      const missing = [
        ...ONE_BYTE_REQUESTS.slice(bytes.length).map((n) => `GS I ${n}`),
        ...blockRequests.slice(blocksAnswered).map(([n, field]) => `GS I ${n} (${field})`),
      ];
      throw new Error(`printer did not answer ${missing.join(', ')} within ${timeoutMs} ms`);
    }
    const [modelId = 0, type = 0, romVersion = 0] = bytes;
    return buildIdentity([modelId, type, romVersion], blocks);
  }

  // ---- waiting ----------------------------------------------------------------------------

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves at the next status, connection or answer change, or after timeoutMs. */
  #nextChange(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(wake, Math.max(0, timeoutMs));
      this.#waiters.add(wake);
    });
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a number of milliseconds above 0, got ${String(value)}`);
  }
  return value;
}
