// Makes the transport for a printer address. USB will be one more case here.
import type { PrinterAddress } from '../address.js';
import { SerialTransport } from './serial.js';
import { TcpTransport } from './tcp.js';
import type { Transport } from './transport.js';

export type { Transport, TransportEvents } from './transport.js';

export interface TransportOptions {
  /** How long a TCP connect may take. */
  connectTimeoutMs: number;
}

export function createTransport(address: PrinterAddress, opts: TransportOptions): Transport {
  switch (address.kind) {
    case 'tcp':
      return new TcpTransport({
        host: address.host,
        port: address.port,
        connectTimeoutMs: opts.connectTimeoutMs,
      });
    case 'serial':
      return new SerialTransport({ path: address.path, baudRate: address.baudRate, flow: address.flow });
  }
}
