// How bytes reach the virtual printer: a TCP port (like a network interface on port 9100)
// or a serial port (a pty pair made by socat), or a fake USB device. The device sees
// connections, not sockets.
import type { PrinterCondition } from './status-bytes.js';

/** One host connection, as the device sees it. */
export interface HostConnection {
  write(bytes: Uint8Array): void;
  /** Stop reading (the receive buffer is full): the sender is held back by TCP or the pty. */
  pause(): void;
  resume(): void;
}

export interface ConnectionHandlers {
  data(chunk: Uint8Array): void;
  closed(): void;
}

export interface Link {
  /** Where clients connect: 'tcp://127.0.0.1:9100' or 'serial:///tmp/.../host?baud=115200&flow=none'. */
  readonly uri: string;
  /**
   * Starts accepting connections; `connected` returns what to do with each one's bytes.
   * `condition` is for links that answer status outside the byte stream (USB GET_PORT_STATUS).
   */
  open(
    connected: (conn: HostConnection) => ConnectionHandlers,
    condition: () => PrinterCondition,
  ): Promise<void>;
  /**
   * Drops every connection and stops accepting new ones, as at power-off; `open` may be
   * called again and comes back at the same address. `final` also removes what `open` made.
   */
  close(final: boolean): Promise<void>;
}
