// `printrelay printer discover` and `agent enrol`: the printers this PC can reach, each asked
// who it is (GS I) and given a suggested profile. Sources side by side: the local subnet's
// raw port (tcp-scan.ts), the serial ports, and the printers attached to this PC
// (local-printers.ts: USB, usblp, the Windows spooler); each printer found is identified
// through the same driver the agent prints with. One-way printers cannot say who they are.

import { getProfile } from '../../escpos/profiles/index.js';
import { type PrinterCondition, printerCondition } from '../../shared/printer-state.js';
import type { PrinterIdentity } from '../printer/identify.js';
import { Printer } from '../printer/printer.js';
import type { PowerShellRunner } from '../printer/transports/spooler.js';
import type { UsbBackend } from '../printer/transports/usb.js';
import { spoolerPrinters, spoolerUri, usblpDevices, usbPrinters } from './local-printers.js';
import { suggestProfile } from './suggest-profile.js';
import { localSubnets, RAW_PORT, scanPorts, subnetHosts } from './tcp-scan.js';

export interface DiscoveredPrinter {
  uri: string;
  transport: 'tcp' | 'serial' | 'usb' | 'usblp' | 'spooler';
  /** For people: what it is and where. */
  description: string;
  /** null: it did not say (not ready, or no GS I). */
  identity: PrinterIdentity | null;
  /** A shipped profile that suits it, or null: a person chooses. */
  suggestedProfile: string | null;
  /** Whether it answered a status request; null when it was not asked. */
  twoWay: boolean | null;
  /** How it is now (paper out, ...), null when it did not answer. */
  condition: PrinterCondition | null;
}

export interface DiscoverOptions {
  /** Scan for network printers (default true). */
  tcp?: boolean;
  /** Subnets to scan (default: this PC's LAN subnets, each at most a /24). */
  subnets?: string[];
  /** Ports to try (default 9100). */
  ports?: number[];
  /** Try the serial ports (default true). */
  serial?: boolean;
  /** How long one printer may take to answer (default 2000 ms). */
  timeoutMs?: number;
  /** Look for USB printer-class devices (default true); `usbBackend` lists them (tests: a fake). */
  usb?: boolean;
  usbBackend?: () => Promise<UsbBackend>;
  /** List Linux usblp device nodes (default true) in `usblpDir` (default /dev/usb). */
  usblp?: boolean;
  usblpDir?: string;
  /** List the Windows spooler's printers (default true; nothing off Windows without `powershell`). */
  spooler?: boolean;
  powershell?: PowerShellRunner;
}

/** Identification needs only the commands every ESC/POS printer has: any profile with GS I will do. */
const PROBE_PROFILE = 'epson-tm-t88';
const SERIAL_BAUD = 9600;

/** Connects through the driver, reads the status, and asks who it is when it is ready. */
async function probe(uri: string, timeoutMs: number, usb?: () => Promise<UsbBackend>) {
  const printer = new Printer({
    uri,
    profile: getProfile(PROBE_PROFILE),
    connectTimeoutMs: timeoutMs,
    ...(usb ? { usb } : {}),
  });
  try {
    printer.start();
    if (!(await printer.whenConnected(timeoutMs))) {
      return { identity: null, twoWay: false, condition: null };
    }
    const condition = printerCondition(printer.status);
    // A one-way printer is connected too, but never answers DLE EOT or GS I.
    const twoWay = printer.status.source === 'asb' || printer.status.source === 'dle-eot';
    const identity = twoWay ? await printer.identify({ timeoutMs }).catch(() => null) : null;
    return { identity, twoWay, condition };
  } finally {
    await printer.close();
  }
}

function describe(identity: PrinterIdentity | null, where: string): string {
  const who = identity ? [identity.maker, identity.model].filter(Boolean).join(' ') : '';
  return who ? `${who} at ${where}` : `printer at ${where} (did not say what it is)`;
}

async function tcpPrinters(opts: DiscoverOptions, timeoutMs: number): Promise<DiscoveredPrinter[]> {
  const hosts = [...new Set((opts.subnets ?? localSubnets()).flatMap(subnetHosts))];
  const open = await scanPorts(hosts, opts.ports ?? [RAW_PORT]);
  return Promise.all(
    open.map(async ({ host, port }) => {
      const uri = port === RAW_PORT ? `tcp://${host}` : `tcp://${host}:${port}`;
      const found = await probe(uri, timeoutMs);
      return {
        uri,
        transport: 'tcp' as const,
        description: describe(found.identity, `${host}:${port}`),
        suggestedProfile: found.identity ? suggestProfile(found.identity) : null,
        ...found,
      };
    }),
  );
}

async function serialPrinters(timeoutMs: number): Promise<DiscoveredPrinter[]> {
  let ports: { path: string; manufacturer?: string | undefined }[];
  try {
    // Loaded only here: serialport's native binding costs memory a LAN-only store never needs.
    const { SerialPort } = await import('serialport');
    ports = await SerialPort.list();
  } catch {
    return []; // No serial support on this PC (or no udev to list with).
  }
  const found: DiscoveredPrinter[] = [];
  // One at a time: probing sends bytes, and a port is opened by one program at a time.
  for (const port of ports) {
    // serial:///dev/ttyUSB0 on Linux, serial://COM3 on Windows.
    const uri = `serial://${port.path}?baud=${SERIAL_BAUD}`;
    const answer = await probe(uri, timeoutMs);
    // A serial port that never answers a status request is some other device (or a printer
    // at another speed): listing it would suggest printing to a modem.
    if (!answer.twoWay) continue;
    found.push({
      uri,
      transport: 'serial',
      description: describe(
        answer.identity,
        `${port.path}${port.manufacturer ? ` (${port.manufacturer})` : ''}`,
      ),
      suggestedProfile: answer.identity ? suggestProfile(answer.identity) : null,
      ...answer,
    });
  }
  return found;
}

async function attachedPrinters(opts: DiscoverOptions, timeoutMs: number): Promise<DiscoveredPrinter[]> {
  const found: DiscoveredPrinter[] = [];
  for (const { uri, label } of opts.usb === false ? [] : await usbPrinters(opts.usbBackend)) {
    const answer = await probe(uri, timeoutMs, opts.usbBackend);
    found.push({
      uri,
      transport: 'usb',
      description: answer.identity ? describe(answer.identity, `USB ${label}`) : `${label} on USB`,
      suggestedProfile: answer.identity ? suggestProfile(answer.identity) : null,
      ...answer,
    });
  }
  // Not probed: the kernel driver gives no status back, and a write would print.
  for (const path of opts.usblp === false ? [] : await usblpDevices(opts.usblpDir)) {
    found.push({
      uri: `file://${path}`,
      transport: 'usblp',
      description: `USB printer at ${path} (one-way: status unknown)`,
      identity: null,
      suggestedProfile: null,
      twoWay: false,
      condition: 'unknown', // one-way: it will never say, and 'no answer' would sound like a fault
    });
  }
  const spooler = opts.spooler === false ? [] : await spoolerPrinters(opts.powershell);
  for (const p of spooler) {
    found.push({
      uri: spoolerUri(p.name),
      transport: 'spooler',
      description: `Windows printer "${p.name}" (${p.driver || 'driver unknown'}, ${p.port || 'port unknown'}; one-way: status unknown)`,
      identity: null,
      suggestedProfile: null,
      twoWay: false,
      condition: 'unknown', // one-way: it will never say, and 'no answer' would sound like a fault
    });
  }
  return found;
}

/** The printers found: network ones first, in address order, then serial, USB and Windows ones. */
export async function discoverPrinters(opts: DiscoverOptions = {}): Promise<DiscoveredPrinter[]> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const [tcp, serial, attached] = await Promise.all([
    opts.tcp === false ? [] : tcpPrinters(opts, timeoutMs),
    opts.serial === false ? [] : serialPrinters(timeoutMs),
    attachedPrinters(opts, timeoutMs),
  ]);
  return [...tcp, ...serial, ...attached];
}
