// Serial port (RS-232, or a USB-serial adapter), 8N1. Hardware flow control (rtscts) is done
// by the OS; XON/XOFF is done by the driver from the printer's XON/XOFF bytes, because
// termios IXON behaves differently on ptys and adapters, and because the same bytes arrive
// mixed with status replies that the driver parses anyway.
import { EventEmitter } from 'node:events';
import type { SerialPort } from 'serialport';
import type { SerialFlow } from '../address.js';
import type { Transport, TransportEvents } from './transport.js';

export interface SerialTransportOptions {
  path: string;
  baudRate: number;
  flow: SerialFlow;
}

export class SerialTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  /**
   * About 100 ms of line time: each write waits until the bytes are on the wire, so little
   * is left in OS buffers when the printer sends XOFF, and status requests are not held up.
   */
  readonly chunkSize: number;
  readonly statusChannel = 'stream';
  readonly #opts: SerialTransportOptions;
  #port: SerialPort | undefined;
  #closed = false;

  constructor(opts: SerialTransportOptions) {
    super();
    this.#opts = opts;
    this.description = `serial port ${opts.path}`;
    this.chunkSize = Math.min(4096, Math.max(64, Math.floor(opts.baudRate / 100)));
  }

  async open(): Promise<void> {
    const { path, baudRate, flow } = this.#opts;
    // Loaded on first use: serialport and its native binding cost a store with only LAN
    // printers several MB of memory and part of its start-up time.
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({
      path,
      baudRate,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      rtscts: flow === 'rtscts',
      autoOpen: false,
    });
    // No set({ dtr, rts }) after opening: the OS raises both lines on open already, and the
    // ioctl fails on ptys (virtual ports), which must not stop a connection.
    return new Promise((resolve, reject) => {
      port.open((err) => {
        if (err) {
          // serialport says "Error: No such file or directory, cannot open /dev/x": keep the cause.
          const cause = err.message.replace(/^Error: /, '').replace(/, cannot open .*$/, '');
          reject(new Error(`cannot open ${this.description}: ${cause}`));
          return;
        }
        if (this.#closed) {
          port.close();
          reject(new Error(`${this.description} was closed while opening`));
          return;
        }
        let error: Error | undefined;
        let ended = false;
        port.on('error', (e: Error) => {
          error = new Error(`${this.description} failed: ${e.message}`);
        });
        port.on('data', (chunk: Buffer) => this.emit('data', chunk));
        // serialport may report 'close' twice for a vanished device: pass it on once.
        port.on('close', (e?: Error) => {
          if (ended) return;
          ended = true;
          this.#port = undefined;
          const why = e ? new Error(`${this.description} was lost: ${e.message}`) : error;
          this.emit('close', this.#closed ? undefined : (why ?? new Error(`${this.description} was closed`)));
        });
        this.#port = port;
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const port = this.#port;
    if (!port?.isOpen) return Promise.reject(new Error(`${this.description} is not open`));
    return new Promise((resolve, reject) => {
      const failed = (err: Error | null | undefined): boolean => {
        if (!err) return false;
        reject(new Error(`cannot send to ${this.description}: ${err.message}`));
        return true;
      };
      port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => {
        if (failed(err)) return;
        // Written to the OS; drain waits until it has gone out on the line.
        port.drain((e) => {
          if (!failed(e)) resolve();
        });
      });
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    const port = this.#port;
    if (!port?.isOpen) return Promise.resolve();
    return new Promise((resolve) => port.close(() => resolve()));
  }
}
