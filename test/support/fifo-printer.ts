// A FIFO standing in for a Linux usblp device (/dev/usb/lp0): the agent writes into it, the
// test reads what the "printer" got. The read end is non-blocking and read as a socket, so
// libuv polls it and no thread-pool read can keep the test process alive.
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FifoPrinter {
  /** file:///tmp/.../lp0 */
  uri: string;
  /** Every byte read from the FIFO so far. */
  received(): Buffer;
  close(): void;
}

export function fifoPrinter(): FifoPrinter {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-lp-'));
  const fifo = join(dir, 'lp0');
  execFileSync('mkfifo', [fifo]);
  const reader = new net.Socket({
    fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK),
    readable: true,
  });
  const got: Buffer[] = [];
  reader.on('data', (c: Buffer) => got.push(c));
  return {
    uri: `file://${fifo}`,
    received: () => Buffer.concat(got),
    close: () => {
      reader.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
