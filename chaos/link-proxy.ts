// A TCP hop between a store agent and the relay's MQTT port, standing in for the store's
// network: the chaos run cuts it for a few seconds. The relay may be down or restarting behind
// it; a connection then fails as it would without the proxy.
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * How a cut looks to both ends: `reset` closes every connection at once (a router reboot both
 * ends notice); `blackhole` keeps them open but drops every byte until the cut ends and then
 * closes them (a dead line nobody notices at first: whatever was sent meanwhile is lost).
 */
export type CutMode = 'reset' | 'blackhole';

interface Pair {
  inbound: Socket;
  outbound: Socket;
}

export class LinkProxy {
  readonly #pairs = new Set<Pair>();
  #cutUntil = 0;
  #blackhole = false;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (inbound) => this.#accept(inbound));
  }

  static async start(targetPort: number): Promise<LinkProxy> {
    const server = createServer({ noDelay: true });
    const proxy = new LinkProxy(server, { host: '127.0.0.1', port: targetPort });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  /** What the agent connects to instead of the relay. */
  get url(): string {
    return `mqtt://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get cut(): boolean {
    return Date.now() < this.#cutUntil;
  }

  /** Cuts the link for `ms`: new connections are refused meanwhile; resolves when it is whole again. */
  async cutFor(ms: number, mode: CutMode): Promise<void> {
    this.#cutUntil = Date.now() + ms;
    this.#blackhole = mode === 'blackhole';
    if (mode === 'reset') this.#dropAll();
    await new Promise((r) => setTimeout(r, ms));
    if (this.#blackhole) this.#dropAll();
    this.#blackhole = false;
    this.#cutUntil = 0;
  }

  async close(): Promise<void> {
    this.#dropAll();
    this.server.close();
    await once(this.server, 'close');
  }

  #accept(inbound: Socket): void {
    if (this.cut) {
      inbound.destroy();
      return;
    }
    const outbound = tcpConnect({ ...this.target, noDelay: true });
    const pair = { inbound, outbound };
    this.#pairs.add(pair);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (!this.#blackhole) to.write(chunk);
    };
    inbound.on('data', forward(outbound));
    outbound.on('data', forward(inbound));
    const end = () => {
      this.#pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of [inbound, outbound]) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  #dropAll(): void {
    for (const { inbound, outbound } of this.#pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    this.#pairs.clear();
  }
}
