// Raw TCP (port 9100 on network printers): one socket carries print data one way and
// status, confirmations and identity the other.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Transport, TransportEvents } from './transport.js';

/** Keepalive probes start after this much silence: a backstop, the driver's status polling finds dead printers first. */
const KEEPALIVE_DELAY_MS = 10_000;
/** Small enough that a status request written after a chunk is not held up long. */
const CHUNK_SIZE = 4096;

export interface TcpTransportOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
}

export class TcpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly chunkSize = CHUNK_SIZE;
  readonly statusChannel = 'stream';
  readonly #opts: TcpTransportOptions;
  #socket: net.Socket | undefined;
  /** The socket while it connects, so that close() can abort the attempt. */
  #connecting: net.Socket | undefined;
  #closed = false;

  constructor(opts: TcpTransportOptions) {
    super();
    this.#opts = opts;
    this.description = `tcp://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  }

  open(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.#opts;
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new Error(`connection to ${this.description} closed before connecting`));
        return;
      }
      const socket = net.connect({ host, port });
      this.#connecting = socket;
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.#connecting = undefined;
        socket.destroy();
        reject(new Error(`cannot connect to ${this.description}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${connectTimeoutMs} ms`), connectTimeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => fail(err.message));
      socket.once('close', () => fail(this.#closed ? 'closed while connecting' : 'connection closed'));
      socket.once('connect', () => {
        clearTimeout(timer);
        this.#connecting = undefined;
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        // Status requests and confirmations are a few bytes each: send them at once.
        socket.setNoDelay(true);
        socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
        let error: Error | undefined;
        socket.on('error', (err: NodeJS.ErrnoException) => {
          error = new Error(`connection to ${this.description} broke: ${err.message}`);
        });
        socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
        socket.on('close', () => {
          this.#socket = undefined;
          this.emit(
            'close',
            this.#closed ? undefined : (error ?? new Error(`${this.description} closed the connection`)),
          );
        });
        this.#socket = socket;
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return Promise.reject(new Error(`${this.description} is not connected`));
    return new Promise((resolve, reject) => {
      // The callback runs once the bytes are handed to the kernel, or with an error if the
      // socket is destroyed first; writes complete in order, so this is backpressure.
      socket.write(bytes, (err) =>
        err ? reject(new Error(`cannot send to ${this.description}: ${err.message}`)) : resolve(),
      );
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#connecting?.destroy();
    const socket = this.#socket;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      // Unsent bytes are dropped: the driver only closes when it gives the connection up.
      socket.destroy();
    });
  }
}
