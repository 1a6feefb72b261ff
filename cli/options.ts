// Parsers for command-line option values, shared by every command so that the same kind of
// value is checked, and refused, the same way everywhere.
import { InvalidArgumentError } from 'commander';

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`"${value}" is not a number above 0`);
  return n;
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!(/^\d+$/.test(value) && n > 0))
    throw new InvalidArgumentError(`"${value}" is not a whole number above 0`);
  return n;
}

/** A TCP port; 0 lets the system pick a free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port number, 0-65535`);
  return n;
}

/**
 * A TCP port as port() does, or "off": that listener is not opened. 'off' rather than null:
 * commander turns a parsed null into ''. listenPort() maps it for the code that listens.
 */
export function portOrOff(value: string): number | 'off' {
  if (value === 'off') return value;
  try {
    return port(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a port number (0 = any free port) or "off"`);
  }
}

export function listenPort(value: number | 'off'): number | null {
  return value === 'off' ? null : value;
}
