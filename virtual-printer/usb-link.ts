// The virtual printer as a USB printer: a fake WebUSB device (no USB bus is needed) with a
// printer-class interface, bulk OUT for the host's bytes, bulk IN for the printer's answers on
// a two-way printer, and the class request GET_PORT_STATUS answered from the device's
// condition. The agent's real USB transport runs against it through `backend`.
// Power-off unplugs it: pending transfers fail as with a pulled cable, and it is not listed.
import type {
  UsbBackend,
  UsbConfiguration,
  UsbDeviceLike,
  UsbEndpoint,
} from '../agent/printer/transports/usb.js';
import type { ConnectionHandlers, HostConnection, Link } from './link.js';
import { type PrinterCondition, portStatusByte } from './status-bytes.js';

/** Epson's vendor id and the TM-T88VI's product id, as the virtual printer pretends to be one. */
const VENDOR_ID = 0x04b8;
const PRODUCT_ID = 0x0e28;
const SERIAL_NUMBER = 'VP00000001';
const OUT_ENDPOINT = 1;
const IN_ENDPOINT = 2;

const unplugged = (): Error => new Error('LIBUSB_ERROR_NO_DEVICE: the device was unplugged');

class FakeUsbPrinter implements UsbDeviceLike {
  readonly vendorId = VENDOR_ID;
  readonly productId = PRODUCT_ID;
  readonly serialNumber = SERIAL_NUMBER;
  readonly manufacturerName = 'EPSON';
  readonly productName = 'TM-T88VI (virtual)';
  readonly configurations: UsbConfiguration[];
  configuration: UsbConfiguration | null = null;
  #opened = false;
  #claimed = false;
  #unplugged = false;
  #handlers: ConnectionHandlers | undefined;
  #paused = false;
  #resumed: (() => void)[] = [];
  /** Bytes the printer sent that the host has not read yet. */
  #inbound: Uint8Array[] = [];
  #reader: { resolve: (v: Uint8Array) => void; reject: (e: Error) => void } | undefined;

  constructor(
    twoWay: boolean,
    private readonly connected: (conn: HostConnection) => ConnectionHandlers,
    private readonly condition: () => PrinterCondition,
  ) {
    const endpoints: UsbEndpoint[] = [{ endpointNumber: OUT_ENDPOINT, direction: 'out', type: 'bulk' }];
    if (twoWay) endpoints.push({ endpointNumber: IN_ENDPOINT, direction: 'in', type: 'bulk' });
    this.configurations = [
      {
        configurationValue: 1,
        interfaces: [
          {
            interfaceNumber: 0,
            // subclass 1 = printers; protocol 2 = bidirectional, 1 = unidirectional
            alternate: {
              interfaceClass: 7,
              interfaceSubclass: 1,
              interfaceProtocol: twoWay ? 2 : 1,
              endpoints,
            },
          },
        ],
      },
    ];
  }

  async open(): Promise<void> {
    this.#check();
    this.#opened = true;
  }

  async selectConfiguration(value: number): Promise<void> {
    this.#check(true);
    const config = this.configurations.find((c) => c.configurationValue === value);
    if (!config) throw new Error(`LIBUSB_ERROR_NOT_FOUND: no configuration ${value}`);
    this.configuration = config;
  }

  async claimInterface(n: number): Promise<void> {
    this.#check(true);
    if (n !== 0 || !this.configuration) throw new Error(`LIBUSB_ERROR_NOT_FOUND: no interface ${n}`);
    if (this.#claimed) throw new Error('LIBUSB_ERROR_BUSY: the interface is claimed already');
    this.#claimed = true;
    // One claimed interface is one host connection, as one TCP socket is.
    this.#handlers = this.connected({
      write: (bytes) => {
        if (!this.#claimed) return;
        if (this.#reader) {
          this.#reader.resolve(bytes.slice());
          this.#reader = undefined;
        } else this.#inbound.push(bytes.slice());
      },
      pause: () => {
        this.#paused = true;
      },
      resume: () => {
        this.#paused = false;
        for (const r of this.#resumed.splice(0)) r();
      },
    });
  }

  async releaseInterface(n: number): Promise<void> {
    this.#check(true);
    if (n === 0) this.#release(new Error('LIBUSB_TRANSFER_CANCELLED'));
  }

  async close(): Promise<void> {
    this.#release(new Error('LIBUSB_TRANSFER_CANCELLED: the device was closed'));
    this.#opened = false;
  }

  async transferOut(endpoint: number, data: Uint8Array): Promise<{ status: 'ok'; bytesWritten: number }> {
    this.#checkClaimed(endpoint, OUT_ENDPOINT);
    // A full receive buffer NAKs the bulk OUT packets: the transfer waits, as on a real printer.
    while (this.#paused) {
      await new Promise<void>((resolve) => this.#resumed.push(resolve));
      this.#checkClaimed(endpoint, OUT_ENDPOINT);
    }
    const bytes = data.slice();
    this.#handlers?.data(bytes);
    return { status: 'ok', bytesWritten: bytes.byteLength };
  }

  transferIn(endpoint: number, length: number): Promise<{ status: 'ok'; data: DataView }> {
    this.#checkClaimed(endpoint, IN_ENDPOINT);
    if (this.configurations[0]?.interfaces[0]?.alternate.endpoints.length === 1) {
      return Promise.reject(new Error(`LIBUSB_ERROR_NOT_FOUND: no IN endpoint ${endpoint}`));
    }
    if (this.#reader) return Promise.reject(new Error('LIBUSB_ERROR_BUSY: a read is pending already'));
    const answer = (bytes: Uint8Array) => {
      const rest = bytes.subarray(length);
      if (rest.byteLength > 0) this.#inbound.unshift(rest);
      const part = bytes.subarray(0, length);
      return { status: 'ok' as const, data: new DataView(part.buffer, part.byteOffset, part.byteLength) };
    };
    const queued = this.#inbound.shift();
    if (queued) return Promise.resolve(answer(queued));
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#reader = { resolve, reject };
    }).then(answer);
  }

  async controlTransferIn(
    setup: { requestType: string; recipient: string; request: number; value: number; index: number },
    length: number,
  ): Promise<{ status: 'ok' | 'stall'; data?: DataView }> {
    this.#check(true);
    const isPortStatus =
      setup.requestType === 'class' &&
      setup.recipient === 'interface' &&
      setup.request === 1 &&
      setup.index === 0;
    // A request the device does not know is stalled, as USB devices do.
    if (!isPortStatus || length < 1) return { status: 'stall' };
    return { status: 'ok', data: new DataView(Uint8Array.of(portStatusByte(this.condition())).buffer) };
  }

  unplug(): void {
    this.#unplugged = true;
    this.#release(unplugged());
  }

  #release(why: Error): void {
    if (!this.#claimed) return;
    this.#claimed = false;
    this.#reader?.reject(why);
    this.#reader = undefined;
    this.#inbound = [];
    this.#paused = false;
    for (const r of this.#resumed.splice(0)) r();
    const handlers = this.#handlers;
    this.#handlers = undefined;
    handlers?.closed();
  }

  #check(mustBeOpen = false): void {
    if (this.#unplugged) throw unplugged();
    if (mustBeOpen && !this.#opened) throw new Error('LIBUSB_ERROR_IO: the device is not open');
  }

  #checkClaimed(endpoint: number, expected: number): void {
    this.#check(true);
    if (!this.#claimed) throw new Error('LIBUSB_ERROR_IO: the interface is not claimed');
    if (endpoint !== expected) throw new Error(`LIBUSB_ERROR_NOT_FOUND: no endpoint ${endpoint}`);
  }
}

export class UsbLink implements Link {
  readonly #twoWay: boolean;
  #device: FakeUsbPrinter | undefined;
  /** Lists the device while the printer is powered, like a WebUSB getDevices(). */
  readonly backend: UsbBackend = {
    getDevices: async () => (this.#device ? [this.#device] : []),
  };

  constructor(opts: { twoWay: boolean }) {
    this.#twoWay = opts.twoWay;
  }

  get uri(): string {
    const hex = (n: number) => n.toString(16).padStart(4, '0');
    return `usb://${hex(VENDOR_ID)}:${hex(PRODUCT_ID)}?serial=${SERIAL_NUMBER}`;
  }

  async open(
    connected: (conn: HostConnection) => ConnectionHandlers,
    condition: () => PrinterCondition,
  ): Promise<void> {
    this.#device = new FakeUsbPrinter(this.#twoWay, connected, condition);
  }

  async close(): Promise<void> {
    this.#device?.unplug();
    this.#device = undefined;
  }
}
