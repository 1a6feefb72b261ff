// A printer reached through a device file: on Linux the usblp driver's /dev/usb/lpN (a USB
// printer that has not been given to libusb), or any writable file or FIFO. The agent writes
// and never reads: a read on a device node or FIFO sits in libuv's thread pool and keeps the
// process from exiting, and most usblp printers have no backchannel anyway. So it is one-way.
import { EventEmitter } from 'node:events';
import { constants, type FileHandle, open, stat } from 'node:fs/promises';
import type { Transport, TransportEvents } from './transport.js';

/** How often the device file is looked for: nothing else tells that the printer was unplugged. */
const PRESENCE_CHECK_MS = 1000;

export class UsblpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly chunkSize = 4096;
  /** No status comes back: the driver treats it as a one-way printer. */
  readonly statusChannel = 'none';
  readonly #path: string;
  #file: FileHandle | undefined;
  #closed = false;
  #ended = false;
  #presence: NodeJS.Timeout | undefined;

  constructor(opts: { path: string }) {
    super();
    this.#path = opts.path;
    this.description = `printer device ${opts.path}`;
  }

  async open(): Promise<void> {
    let file: FileHandle;
    try {
      // Read-write so that opening a FIFO does not wait for a reader; never created here:
      // a mistyped device path must fail, not print into a new file. Non-blocking so a
      // printer that is off cannot hold a thread-pool thread forever in open().
      file = await open(this.#path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'ENOENT'
          ? 'no such device (is the printer plugged in and on?)'
          : e.code === 'EACCES'
            ? 'permission denied (add this user to the lp group)'
            : e.message;
      throw new Error(`cannot open ${this.description}: ${why}`);
    }
    if (this.#closed) {
      await file.close();
      throw new Error(`${this.description} was closed while opening`);
    }
    this.#file = file;
    this.#watchPresence(await file.stat());
  }

  /**
   * Unplugging removes /dev/usb/lpN (and a re-plug makes a new one), while the open handle
   * only fails on the next write: look for the file, so the printer shows as disconnected at
   * once and the driver reconnects to the new device.
   */
  #watchPresence(opened: { dev: number; ino: number }): void {
    let checking = false;
    this.#presence = setInterval(() => {
      if (checking) return;
      checking = true;
      stat(this.#path).then(
        (now) => {
          checking = false;
          if (now.dev !== opened.dev || now.ino !== opened.ino) {
            this.#end(new Error(`${this.description} was replaced (printer unplugged and back?)`));
          }
        },
        (err: NodeJS.ErrnoException) => {
          checking = false;
          this.#end(
            new Error(`${this.description} is gone (printer unplugged or off?): ${err.code ?? err.message}`),
          );
        },
      );
    }, PRESENCE_CHECK_MS);
    // Never what keeps the agent (or a test) running.
    this.#presence.unref();
  }

  async write(bytes: Uint8Array): Promise<void> {
    const file = this.#file;
    if (!file || this.#ended) throw new Error(`${this.description} is not open`);
    let offset = 0;
    try {
      while (offset < bytes.byteLength) {
        try {
          const { bytesWritten } = await file.write(bytes, offset, bytes.byteLength - offset);
          offset += bytesWritten;
        } catch (err) {
          // Non-blocking: a full device buffer says EAGAIN; wait a little as the printer prints.
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (this.#ended) throw new Error('closed while writing');
        }
      }
    } catch (err) {
      const error = new Error(`cannot send to ${this.description}: ${(err as Error).message}`);
      this.#end(error);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const file = this.#file;
    this.#end(undefined);
    await file?.close().catch(() => {});
  }

  #end(error: Error | undefined): void {
    if (this.#ended || !this.#file) return;
    this.#ended = true;
    clearInterval(this.#presence);
    const file = this.#file;
    this.#file = undefined;
    if (!this.#closed) void file.close().catch(() => {});
    this.emit('close', this.#closed ? undefined : error);
  }
}
