// Makes the transport for a printer address.
import type { PrinterAddress } from '../address.js';
import { SerialTransport } from './serial.js';
import { type PowerShellRunner, SpoolerTransport } from './spooler.js';
import { TcpTransport } from './tcp.js';
import type { Transport } from './transport.js';
import { type UsbBackend, UsbTransport } from './usb.js';
import { UsblpTransport } from './usblp.js';

export type { PortStatus, StatusChannel, Transport, TransportEvents } from './transport.js';

export interface TransportOptions {
  /** How long a TCP connect may take. */
  connectTimeoutMs: number;
  /** Where USB devices are listed (default: the system's, through `usb`); tests give a fake. */
  usb?: () => Promise<UsbBackend>;
  /** How the spooler's PowerShell is run (default: powershell.exe); tests give a fake. */
  powershell?: PowerShellRunner;
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
    case 'usb':
      return new UsbTransport({
        vendorId: address.vendorId,
        productId: address.productId,
        serialNumber: address.serialNumber,
        ...(opts.usb ? { backend: opts.usb } : {}),
      });
    case 'usblp':
      return new UsblpTransport({ path: address.path });
    case 'spooler':
      return new SpoolerTransport({
        printerName: address.printerName,
        ...(opts.powershell ? { runner: opts.powershell } : {}),
      });
  }
}
