// The virtual printer on a serial port: socat makes a pty pair, the printer opens one end
// and the client the other (its path is in the URI), as if through a null-modem cable.
// Power-off kills socat, so the client's device path disappears and its handle goes stale,
// as with a real serial or USB printer; power-on makes the pair again at the same paths.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import type { ConnectionHandlers, HostConnection, Link } from './link.js';

const SOCAT_START_TIMEOUT_MS = 5_000;

export class PtyLink implements Link {
  readonly #dir: string;
  #socat: ChildProcess | undefined;
  #port: SerialPort | undefined;
  /** Kills socat if this process exits without closing the link. */
  readonly #killOnExit = (): void => {
    this.#socat?.kill();
  };

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Makes the directory for the pty links (in the system temporary directory). */
  static async create(): Promise<PtyLink> {
    return new PtyLink(await mkdtemp(path.join(tmpdir(), 'printrelay-vp-')));
  }

  get #hostPath(): string {
    return path.join(this.#dir, 'host');
  }

  get #printerPath(): string {
    return path.join(this.#dir, 'printer');
  }

  get uri(): string {
    // The baud rate means nothing on a pty; 115200 is what a client should ask for.
    return `serial://${this.#hostPath}?baud=115200&flow=none`;
  }

  async open(connected: (conn: HostConnection) => ConnectionHandlers): Promise<void> {
    this.#socat = await this.#startSocat();
    process.once('exit', this.#killOnExit);
    // serialport, not an fs stream: a pending fs read on a pty keeps the process alive.
    const port = new SerialPort({ path: this.#printerPath, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.#port = port;
    const handlers = connected({
      write: (bytes) => {
        if (port.isOpen) port.write(Buffer.from(bytes));
      },
      pause: () => port.pause(),
      resume: () => port.resume(),
    });
    port.on('data', (chunk: Buffer) => handlers.data(chunk));
    port.on('error', () => {}); // 'close' follows
    port.on('close', () => handlers.closed());
  }

  async close(final: boolean): Promise<void> {
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    const socat = this.#socat;
    this.#socat = undefined;
    process.off('exit', this.#killOnExit);
    if (socat && socat.exitCode === null && socat.signalCode === null) {
      const exited = new Promise<void>((resolve) => socat.once('exit', () => resolve()));
      socat.kill();
      await exited;
    }
    // socat removes its links on exit; make sure, so the path is really gone while off.
    await rm(this.#hostPath, { force: true });
    await rm(this.#printerPath, { force: true });
    if (final) await rm(this.#dir, { recursive: true, force: true });
  }

  #startSocat(): Promise<ChildProcess> {
    const args = [
      '-d',
      '-d',
      `pty,raw,echo=0,link=${this.#printerPath}`,
      `pty,raw,echo=0,link=${this.#hostPath}`,
    ];
    const socat = spawn('socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Promise((resolve, reject) => {
      let log = '';
      const fail = (why: string): void => {
        clearTimeout(timer);
        socat.kill();
        reject(new Error(`cannot create the serial port pair with socat: ${why}`));
      };
      const timer = setTimeout(
        () => fail(`no "starting data transfer loop" within ${SOCAT_START_TIMEOUT_MS} ms`),
        SOCAT_START_TIMEOUT_MS,
      );
      socat.once('error', (err: NodeJS.ErrnoException) =>
        fail(err.code === 'ENOENT' ? 'socat is not installed (apt-get install socat)' : err.message),
      );
      socat.once('exit', (code) => fail(`socat exited with code ${code}: ${log.trim()}`));
      socat.stderr?.setEncoding('utf8');
      socat.stderr?.on('data', (text: string) => {
        log += text;
        // With -d -d socat reports the loop once both ptys and their links exist.
        if (log.includes('starting data transfer loop')) {
          clearTimeout(timer);
          socat.removeAllListeners('exit');
          socat.stderr?.removeAllListeners('data');
          socat.stderr?.resume(); // keep draining its log so it never blocks on a full pipe
          resolve(socat);
        }
      });
    });
  }
}
