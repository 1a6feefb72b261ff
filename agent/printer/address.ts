// Where a printer is, as one URI string that fits in a config file or on a command line:
//   tcp://192.168.1.50:9100                         raw TCP (port defaults to 9100)
//   serial:///dev/ttyUSB0?baud=19200&flow=rtscts    serial port (Linux/macOS device path)
//   serial://COM3?baud=9600                         serial port (Windows port name)

export type SerialFlow = 'none' | 'rtscts' | 'xonxoff';

export type PrinterAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'serial'; path: string; baudRate: number; flow: SerialFlow };

export const DEFAULT_TCP_PORT = 9100;
/** The factory setting of most receipt printers' serial interface. */
export const DEFAULT_BAUD_RATE = 9600;

const FLOWS: readonly SerialFlow[] = ['none', 'rtscts', 'xonxoff'];
const EXAMPLES = 'tcp://HOST[:PORT] or serial:///dev/ttyUSB0?baud=9600&flow=none';

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
    default:
      throw new Error(`printer address "${uri}" has unknown scheme "${scheme[1]}": use tcp:// or serial://`);
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

function parseSerial(uri: string, rest: string): PrinterAddress {
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new Error(`printer address "${uri}" has a badly %-encoded device path`);
  }
  if (path === '' || path === '/') {
    throw new Error(
      `printer address "${uri}" has no device path: e.g. serial:///dev/ttyUSB0 or serial://COM3`,
    );
  }
  // serial://dev/ttyUSB0 (one slash short) would silently become a relative path.
  if (!path.startsWith('/') && !/^COM\d+$/i.test(path)) {
    throw new Error(
      `printer address "${uri}" has device path "${path}": it must be absolute (serial:///dev/ttyUSB0) or a Windows port (serial://COM3)`,
    );
  }
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
