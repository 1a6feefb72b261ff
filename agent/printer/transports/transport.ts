// The byte pipe between the driver and one printer. A transport is used for one connection:
// the driver makes a new one for every (re)connect, so no transport has to be reusable.
import type { EventEmitter } from 'node:events';

export interface TransportEvents {
  /** Bytes the printer sent. */
  data: [chunk: Uint8Array];
  /** The connection ended (emitted once, also after close()); error says why when it broke. */
  close: [error: Error | undefined];
}

/**
 * What comes back from the printer on a connection:
 * - 'stream': replies in the byte stream (DLE EOT, ASB, print confirmations, GS I): TCP,
 *   serial, USB with a bulk IN endpoint;
 * - 'port-status': only the USB printer class GET_PORT_STATUS byte (paper, online, error),
 *   read by `readPortStatus()`; nothing confirms printing;
 * - 'none': nothing at all (usblp device files, the Windows spooler): one-way.
 */
export type StatusChannel = 'stream' | 'port-status' | 'none';

/** USB printer class GET_PORT_STATUS, decoded. */
export interface PortStatus {
  paperEmpty: boolean;
  selected: boolean;
  error: boolean;
}

export interface Transport extends EventEmitter<TransportEvents> {
  /** For messages: the address it connects to. */
  readonly description: string;
  /** What comes back from the printer (see StatusChannel); final once open() has resolved. */
  readonly statusChannel: StatusChannel;
  /** With statusChannel 'port-status': asks the printer for it; rejects when it does not answer. */
  readPortStatus?(): Promise<PortStatus>;
  /**
   * How many bytes the driver should hand to write() at a time: small enough that status
   * requests and flow control act promptly, large enough to keep the line busy.
   */
  readonly chunkSize: number;
  /** Connects; rejects with an Error naming the address and the cause. */
  open(): Promise<void>;
  /**
   * Sends bytes; resolves once the transport has passed them on and its buffer has drained
   * (backpressure), rejects when the connection is lost.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Disconnects; resolves when done. Safe to call more than once and before open(). */
  close(): Promise<void>;
}
