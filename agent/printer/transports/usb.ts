// USB printer-class device (interface class 7) through the `usb` package's WebUSB-style API.
// Bytes go out on the bulk OUT endpoint; a two-way printer (interface protocol 2, with a bulk
// IN endpoint) answers DLE EOT and sends ASB frames there, exactly as over TCP. A one-way
// printer has no IN endpoint: its only status is the class request GET_PORT_STATUS.
import { EventEmitter } from 'node:events';
import type { PortStatus, StatusChannel, Transport, TransportEvents } from './transport.js';

/** USB interface class of printers. */
export const PRINTER_CLASS = 7;
/** Printer class request GET_PORT_STATUS (USB Printer Class 1.1, 4.2.2). */
const GET_PORT_STATUS = 1;
/** How many bytes one bulk IN read asks for: one full-speed packet is plenty for status. */
const READ_LENGTH = 64;
/** One bulk OUT transfer; the driver's writes are split to this. */
const CHUNK_SIZE = 4096;

// The part of WebUSB (w3c-web-usb) the transport uses: `usb`'s devices have it, and so does
// the virtual printer's fake device, so tests run this very code.
export interface UsbEndpoint {
  endpointNumber: number;
  direction: 'in' | 'out';
  type: 'bulk' | 'interrupt' | 'isochronous';
}
export interface UsbAlternate {
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  endpoints: UsbEndpoint[];
}
export interface UsbInterface {
  interfaceNumber: number;
  alternate: UsbAlternate;
}
export interface UsbConfiguration {
  configurationValue: number;
  interfaces: UsbInterface[];
}
export interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber?: string | undefined | null;
  readonly manufacturerName?: string | undefined | null;
  readonly productName?: string | undefined | null;
  readonly configuration?: UsbConfiguration | undefined | null;
  readonly configurations: UsbConfiguration[];
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(value: number): Promise<void>;
  claimInterface(n: number): Promise<void>;
  releaseInterface(n: number): Promise<void>;
  transferOut(endpoint: number, data: Uint8Array): Promise<{ status?: string; bytesWritten: number }>;
  transferIn(endpoint: number, length: number): Promise<{ status?: string; data?: DataView | undefined }>;
  controlTransferIn(
    setup: {
      requestType: 'standard' | 'class' | 'vendor';
      recipient: 'device' | 'interface' | 'endpoint' | 'other';
      request: number;
      value: number;
      index: number;
    },
    length: number,
  ): Promise<{ status?: string; data?: DataView | undefined }>;
}
/** What lists the devices: `new WebUSB({ allowAllDevices: true })`, or a fake in tests. */
export interface UsbBackend {
  getDevices(): Promise<UsbDeviceLike[]>;
}

/** The system's USB, loaded on first use: the native module costs memory a LAN-only store does not need. */
export async function systemUsb(): Promise<UsbBackend> {
  const { WebUSB } = await import('usb');
  return new WebUSB({ allowAllDevices: true }) as unknown as UsbBackend;
}

/** Where the printer interface of a device is, or null when it has none. */
export interface PrinterInterface {
  configurationValue: number;
  interfaceNumber: number;
  outEndpoint: number;
  /** null on a one-way (unidirectional) printer. */
  inEndpoint: number | null;
}

export function findPrinterInterface(device: UsbDeviceLike): PrinterInterface | null {
  for (const config of device.configurations) {
    for (const iface of config.interfaces) {
      const alt = iface.alternate;
      if (alt.interfaceClass !== PRINTER_CLASS) continue;
      const bulk = (dir: 'in' | 'out') =>
        alt.endpoints.find((e) => e.type === 'bulk' && e.direction === dir)?.endpointNumber;
      const out = bulk('out');
      if (out === undefined) continue;
      return {
        configurationValue: config.configurationValue,
        interfaceNumber: iface.interfaceNumber,
        outEndpoint: out,
        inEndpoint: bulk('in') ?? null,
      };
    }
  }
  return null;
}

export const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export function decodePortStatus(byte: number): PortStatus {
  // bit 5 paper empty, bit 4 selected (online), bit 3 "not error" (1 = no error).
  return { paperEmpty: (byte & 0x20) !== 0, selected: (byte & 0x10) !== 0, error: (byte & 0x08) === 0 };
}

export interface UsbTransportOptions {
  vendorId: number;
  productId: number;
  serialNumber: string | null;
  backend?: () => Promise<UsbBackend>;
}

export class UsbTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly chunkSize = CHUNK_SIZE;
  readonly #opts: UsbTransportOptions;
  #device: UsbDeviceLike | undefined;
  #iface: PrinterInterface | undefined;
  #closed = false;
  #ended = false;

  constructor(opts: UsbTransportOptions) {
    super();
    this.#opts = opts;
    const serial = opts.serialNumber ? ` serial ${opts.serialNumber}` : '';
    this.description = `USB printer ${hex4(opts.vendorId)}:${hex4(opts.productId)}${serial}`;
  }

  /** Replies come on bulk IN when the printer has it; without, only GET_PORT_STATUS. */
  get statusChannel(): StatusChannel {
    return this.#iface?.inEndpoint == null ? 'port-status' : 'stream';
  }

  async open(): Promise<void> {
    const { vendorId, productId, serialNumber } = this.#opts;
    let devices: UsbDeviceLike[];
    try {
      devices = await (await (this.#opts.backend ?? systemUsb)()).getDevices();
    } catch (err) {
      throw new Error(`cannot list USB devices for ${this.description}: ${message(err)}`);
    }
    const device = devices.find(
      (d) =>
        d.vendorId === vendorId &&
        d.productId === productId &&
        (serialNumber === null || d.serialNumber === serialNumber),
    );
    if (!device) throw new Error(`${this.description} is not plugged in (or not visible to this user)`);
    const iface = findPrinterInterface(device);
    if (!iface) throw new Error(`${this.description} has no printer interface (USB class 7 with bulk OUT)`);
    try {
      await device.open();
      if (device.configuration?.configurationValue !== iface.configurationValue) {
        await device.selectConfiguration(iface.configurationValue);
      }
      await device.claimInterface(iface.interfaceNumber);
    } catch (err) {
      await device.close().catch(() => {});
      // On Linux the usblp driver holds the interface: file:///dev/usb/lp0 reaches it instead.
      throw new Error(
        `cannot open ${this.description}: ${message(err)} (on Linux, if the usblp driver has it, use file:///dev/usb/lpN; on Windows, the vendor driver: use spooler://NAME)`,
      );
    }
    if (this.#closed) {
      await device.close().catch(() => {});
      throw new Error(`${this.description} was closed while opening`);
    }
    this.#device = device;
    this.#iface = iface;
    if (iface.inEndpoint !== null) void this.#readLoop(device, iface.inEndpoint);
  }

  async #readLoop(device: UsbDeviceLike, endpoint: number): Promise<void> {
    while (!this.#ended) {
      try {
        const result = await device.transferIn(endpoint, READ_LENGTH);
        if (result.status === 'stall') throw new Error('the IN endpoint stalled');
        const view = result.data;
        if (view && view.byteLength > 0 && !this.#ended) {
          this.emit('data', new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice());
        }
      } catch (err) {
        this.#end(new Error(`${this.description} was lost: ${message(err)}`));
        return;
      }
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    const device = this.#device;
    const iface = this.#iface;
    if (!device || !iface || this.#ended) throw new Error(`${this.description} is not open`);
    try {
      const result = await device.transferOut(iface.outEndpoint, bytes);
      if (result.status === 'stall') throw new Error('the printer stalled the OUT endpoint');
      if (result.bytesWritten !== bytes.byteLength) {
        throw new Error(`only ${result.bytesWritten} of ${bytes.byteLength} bytes were taken`);
      }
    } catch (err) {
      const error = new Error(`cannot send to ${this.description}: ${message(err)}`);
      this.#end(error);
      throw error;
    }
  }

  /** GET_PORT_STATUS: the only status a one-way printer gives. */
  async readPortStatus(): Promise<PortStatus> {
    const device = this.#device;
    const iface = this.#iface;
    if (!device || !iface || this.#ended) throw new Error(`${this.description} is not open`);
    const result = await device.controlTransferIn(
      // wIndex is the interface number, as Linux usblp sends it.
      {
        requestType: 'class',
        recipient: 'interface',
        request: GET_PORT_STATUS,
        value: 0,
        index: iface.interfaceNumber,
      },
      1,
    );
    const byte = result.data?.byteLength ? result.data.getUint8(0) : undefined;
    if (result.status !== 'ok' || byte === undefined) {
      throw new Error(`${this.description} did not answer GET_PORT_STATUS (${result.status ?? 'no data'})`);
    }
    return decodePortStatus(byte);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#end(undefined);
  }

  #end(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const device = this.#device;
    const iface = this.#iface;
    this.#device = undefined;
    // Closing the device also ends a pending bulk IN read.
    if (device && iface) {
      void device
        .releaseInterface(iface.interfaceNumber)
        .catch(() => {})
        .then(() => device.close())
        .catch(() => {});
    }
    if (device) this.emit('close', this.#closed ? undefined : error);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
