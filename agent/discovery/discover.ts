// `printrelay printer discover` and `agent enrol`: the printers this PC can reach, each asked
// who it is (GS I) and given a suggested profile. Sources side by side: the local subnet's
// raw port (tcp-scan.ts) and the serial ports; each printer found is identified through the
// same driver the agent prints with.
import { type PrinterCondition, printerCondition } from '../../shared/printer-state.js';
import type { PrinterIdentity } from '../printer/identify.js';
import { Printer } from '../printer/printer.js';
import { getProfile } from '../profiles/index.js';
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
}

/** Identification needs only the commands every ESC/POS printer has: any profile with GS I will do. */
const PROBE_PROFILE = 'epson-tm-t88';
const SERIAL_BAUD = 9600;

/** Connects through the driver, reads the status, and asks who it is when it is ready. */
async function probe(uri: string, timeoutMs: number) {
  const printer = new Printer({ uri, profile: getProfile(PROBE_PROFILE), connectTimeoutMs: timeoutMs });
  try {
    printer.start();
    if (!(await printer.whenConnected(timeoutMs))) {
      return { identity: null, twoWay: false, condition: null };
    }
    const condition = printerCondition(printer.status);
    const identity = await printer.identify({ timeoutMs }).catch(() => null);
    return { identity, twoWay: true, condition };
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

/** The printers found, network ones first, in address order. */
export async function discoverPrinters(opts: DiscoverOptions = {}): Promise<DiscoveredPrinter[]> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const [tcp, serial] = await Promise.all([
    opts.tcp === false ? [] : tcpPrinters(opts, timeoutMs),
    opts.serial === false ? [] : serialPrinters(timeoutMs),
  ]);
  return [...tcp, ...serial];
}
