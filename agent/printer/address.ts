// Where a printer is, as one URI string that fits in a config file or on a command line:
//   tcp://192.168.1.50:9100                         raw TCP (port defaults to 9100)
//   serial:///dev/ttyUSB0?baud=19200&flow=rtscts    serial port (Linux/macOS device path)
//   serial://COM3?baud=9600                         serial port (Windows port name)
//   usb://04b8:0e28?serial=X1234                    USB printer class device (vendor:product in hex)
//   file:///dev/usb/lp0                             Linux usblp device node (or any writable file)
//   spooler://EPSON TM-T88V Receipt                 Windows printer, RAW through the spooler

export type SerialFlow = 'none' | 'rtscts' | 'xonxoff';

export type PrinterAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'serial'; path: string; baudRate: number; flow: SerialFlow }
  | { kind: 'usb'; vendorId: number; productId: number; serialNumber: string | null }
  | { kind: 'usblp'; path: string }
  | { kind: 'spooler'; printerName: string };

export const DEFAULT_TCP_PORT = 9100;
/** The factory setting of most receipt printers' serial interface. */
export const DEFAULT_BAUD_RATE = 9600;

const FLOWS: readonly SerialFlow[] = ['none', 'rtscts', 'xonxoff'];
const EXAMPLES =
  'tcp://HOST[:PORT], serial:///dev/ttyUSB0?baud=9600&flow=none, usb://VID:PID, file:///dev/usb/lp0 or spooler://PRINTER NAME';

/** Parses a printer URI; throws an Error that names what is wrong with it. */
export function parsePrinterAddress(uri: string): PrinterAddress {
  if (typeof uri !== 'string' || uri.trim() === '') {
    throw new Error(`printer address is empty: expected ${EXAMPLES}`);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (!scheme?.[1]) throw new Error(`printer address "${uri}" has no scheme: expected ${EXAMPLES}`);
  const rest = uri.slice(scheme[0].length);
  switch (scheme[1].toLowerCase()) {
    case 'tcp':
      return parseTcp(uri, rest);
    case 'serial':
      return parseSerial(uri, rest);
    case 'usb':
      return parseUsb(uri, rest);
    case 'file':
      return { kind: 'usblp', path: parseDevicePath(uri, rest, 'file:///dev/usb/lp0') };
    case 'spooler':
      return parseSpooler(uri, rest);
    default:
      throw new Error(
        `printer address "${uri}" has unknown scheme "${scheme[1]}": use tcp://, serial://, usb://, file:// or spooler://`,
      );
  }
}

function parseTcp(uri: string, rest: string): PrinterAddress {
  // host, [ipv6], then an optional :port; a trailing slash is tolerated.
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/?#[\]@]+)(?::([^/?#]*))?\/?$/.exec(rest);
  if (!m?.[1]) {
    throw new Error(
      `printer address "${uri}" must be tcp://HOST or tcp://HOST:PORT (no path, query or user)`,
    );
  }
  const host = m[1].replace(/^\[|\]$/g, '');
  const portText = m[2];
  if (portText === undefined) return { kind: 'tcp', host, port: DEFAULT_TCP_PORT };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`printer address "${uri}" has bad port "${portText}": must be a number from 1 to 65535`);
  }
  return { kind: 'tcp', host, port };
}

function decode(uri: string, text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new Error(`printer address "${uri}" has a badly %-encoded ${what}`);
  }
}

function parseUsb(uri: string, rest: string): PrinterAddress {
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\/?(?:\?(.*))?$/.exec(rest);
  if (!m?.[1] || !m[2]) {
    throw new Error(
      `printer address "${uri}" must be usb://VID:PID with 4 hex digits each, e.g. usb://04b8:0e28?serial=X1234`,
    );
  }
  let serialNumber: string | null = null;
  for (const [key, value] of new URLSearchParams(m[3] ?? '')) {
    if (key !== 'serial') {
      throw new Error(`printer address "${uri}" has unknown parameter "${key}": only serial=... is allowed`);
    }
    if (value === '')
      throw new Error(`printer address "${uri}" has an empty serial=: leave it out or give the number`);
    serialNumber = value;
  }
  return {
    kind: 'usb',
    vendorId: Number.parseInt(m[1], 16),
    productId: Number.parseInt(m[2], 16),
    serialNumber,
  };
}

function parseSpooler(uri: string, rest: string): PrinterAddress {
  const printerName = decode(uri, rest.replace(/\/$/, ''), 'printer name');
  if (printerName.trim() === '' || /[\0\r\n]/.test(printerName)) {
    throw new Error(
      `printer address "${uri}" needs the Windows printer's name as shown in Printers & scanners, e.g. spooler://EPSON TM-T88V Receipt`,
    );
  }
  return { kind: 'spooler', printerName };
}

/** An absolute device path (or a Windows COM port), without query. */
function parseDevicePath(uri: string, rawPath: string, example: string): string {
  const path = decode(uri, rawPath, 'device path');
  if (path === '' || path === '/') {
    throw new Error(`printer address "${uri}" has no device path: e.g. ${example}`);
  }
  // serial://dev/ttyUSB0 (one slash short) would silently become a relative path.
  if (!path.startsWith('/') && !/^COM\d+$/i.test(path)) {
    throw new Error(
      `printer address "${uri}" has device path "${path}": it must be absolute (${example})${example.startsWith('serial') ? ' or a Windows port (serial://COM3)' : ''}`,
    );
  }
  if (path.includes('?') || path.includes('#')) {
    throw new Error(
      `printer address "${uri}" has a query or fragment, which ${example.split(':')[0]}:// does not take`,
    );
  }
  return path;
}

function parseSerial(uri: string, rest: string): PrinterAddress {
  const q = rest.indexOf('?');
  const path = parseDevicePath(uri, q < 0 ? rest : rest.slice(0, q), 'serial:///dev/ttyUSB0');
  let baudRate = DEFAULT_BAUD_RATE;
  let flow: SerialFlow = 'none';
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  for (const [key, value] of params) {
    if (key === 'baud') {
      baudRate = Number(value);
      if (!/^\d+$/.test(value) || baudRate < 50 || baudRate > 4_000_000) {
        throw new Error(
          `printer address "${uri}" has bad baud "${value}": must be a whole number such as 9600`,
        );
      }
    } else if (key === 'flow') {
      if (!(FLOWS as readonly string[]).includes(value)) {
        throw new Error(
          `printer address "${uri}" has unknown flow "${value}": must be one of ${FLOWS.join(', ')}`,
        );
      }
      flow = value as SerialFlow;
    } else {
      throw new Error(
        `printer address "${uri}" has unknown parameter "${key}": only baud and flow are allowed`,
      );
    }
  }
  return { kind: 'serial', path, baudRate, flow };
}
