// The virtual printer on a TCP port, like a printer's network interface on port 9100.
import net, { type AddressInfo } from 'node:net';
import type { ConnectionHandlers, HostConnection, Link } from './link.js';

export class TcpLink implements Link {
  readonly #host: string;
  /** 0 until the first listen picks a port; kept so a power cycle comes back on it. */
  #port: number;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  get uri(): string {
    return `tcp://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  async open(connected: (conn: HostConnection) => ConnectionHandlers): Promise<void> {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      const handlers = connected({
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      });
      socket.on('data', (chunk) => handlers.data(chunk));
      socket.on('error', () => {}); // 'close' follows; a reset by the client is normal
      socket.on('close', () => {
        this.#sockets.delete(socket);
        handlers.closed();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new Error(`cannot listen on ${this.uri}: ${err instanceof Error ? err.message : String(err)}`),
        ),
      );
      server.listen(this.#port, this.#host, () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    // A printer losing power does not say goodbye: the host's next packet gets a reset.
    for (const socket of this.#sockets) socket.resetAndDestroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
