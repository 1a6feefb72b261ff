// One agent connection per store. MQTT lets a new connection with the same client id take
// the old one's place; two agents sharing a store's identity would then push each other off
// every second, and the store would flap online/offline. So before a new connection replaces
// an old one (same client id, or another client id subscribing to the store's jobs), the relay
// tells the old one who took over (a `takeover` control message, see docs/protocol.md), drops
// its last will (the store is not offline: its successor is there), and closes it. An agent that acknowledges the message was alive: two agents really share the
// identity, which is logged and recorded once per episode. One that stays silent was a dead
// connection the agent itself replaced after a network cut: nothing to report.
import type { Aedes, Client } from 'aedes';
import { PROTOCOL_VERSION, type TakeoverNotice } from '../../protocol/messages.js';
import { topics } from '../../protocol/topics.js';
import type { Log } from '../../shared/log.js';

/** How long the old connection has to acknowledge the notice before it is closed anyway. */
const ACK_WAIT_MS = 2000;
/** Takeovers closer together than this belong to one conflict, recorded once. */
export const CONFLICT_EPISODE_MS = 30 * 60_000;

export interface IdentityConflict {
  storeId: string;
  /** Client id and address of the connection that was pushed off and of the one that took over. */
  previous: { clientId: string; address: string | null };
  next: { clientId: string; address: string | null };
  at: number;
}

export class StoreConnections {
  /** Registered connections by client id. */
  private readonly byId = new Map<string, Client>();
  /** Per store, the connection subscribed to its downlink: the one that gets its jobs. */
  private readonly receiving = new Map<string, Client>();
  private readonly lastConflictAt = new Map<string, number>();
  /** Connections told of a takeover, with what to do when they acknowledge anything. */
  private readonly awaitingAck = new Map<Client, () => void>();

  constructor(
    broker: Aedes,
    private readonly addressOf: (client: Client) => string | null,
    private readonly onConflict: (conflict: IdentityConflict) => void,
    private readonly log: Log,
  ) {
    broker.on('client', (client) => {
      this.byId.set(client.id, client);
    });
    // One listener for every takeover under way (a reconnect storm has hundreds at once).
    // Any PUBACK proves the old connection still has a live agent behind it.
    broker.on('ack', (_packet: unknown, from: Client | null) => {
      if (from) this.awaitingAck.get(from)?.();
    });
    broker.on('clientDisconnect', (client) => {
      if (this.byId.get(client.id) === client) this.byId.delete(client.id);
      for (const [storeId, c] of this.receiving) if (c === client) this.receiving.delete(storeId);
    });
  }

  /**
   * Called once `client` has proved it is one of the store's, before it is registered: a
   * connection with the same client id is taken over (MQTT's rule), after being told. Resolves
   * when it is gone.
   */
  async admit(client: Client, storeId: string): Promise<void> {
    const previous = this.byId.get(client.id);
    if (previous && previous !== client && !previous.closed) await this.takeOver(previous, client, storeId);
  }

  /**
   * Called when `client` may subscribe to its store's downlink: the store's jobs go to one
   * connection only, so one that already receives them under another client id is taken over.
   * A connection that never subscribes (a login check by `printrelay doctor`) disturbs nobody.
   */
  async claimDownlink(client: Client, storeId: string): Promise<void> {
    const previous = this.receiving.get(storeId);
    this.receiving.set(storeId, client);
    if (previous && previous !== client && !previous.closed) await this.takeOver(previous, client, storeId);
  }

  private async takeOver(previous: Client, client: Client, storeId: string): Promise<void> {
    const at = Date.now();
    const next = { clientId: client.id, address: this.addressOf(client) };
    const notice: TakeoverNotice = {
      v: PROTOCOL_VERSION,
      type: 'takeover',
      clientId: next.clientId,
      ...(next.address ? { address: next.address } : {}),
      at: new Date(at).toISOString(),
    };
    const answered = await new Promise<boolean>((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.awaitingAck.delete(previous);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), ACK_WAIT_MS);
      this.awaitingAck.set(previous, () => finish(true));
      previous.publish(
        {
          cmd: 'publish',
          topic: topics.control(storeId),
          payload: Buffer.from(JSON.stringify(notice)),
          qos: 1,
          retain: false,
          dup: false,
        },
        (err?: Error) => {
          if (err) finish(false);
        },
      );
    });
    // Its last will would mark the store offline although the new connection is taking over.
    // (aedes keeps it in `will`, which its types do not show.)
    (previous as Client & { will: unknown }).will = null;
    await new Promise<void>((resolve) => previous.close(() => resolve()));
    if (answered) {
      this.conflict({
        storeId,
        previous: { clientId: previous.id, address: this.addressOf(previous) },
        next,
        at,
      });
    } else {
      this.log.info(
        `mqtt: store ${storeId}: a new connection (${describe(next)}) replaced one that no longer answered`,
      );
    }
  }

  private conflict(c: IdentityConflict): void {
    const last = this.lastConflictAt.get(c.storeId);
    this.lastConflictAt.set(c.storeId, c.at);
    const what = `connection ${describe(c.next)} took over from ${describe(c.previous)}`;
    if (last !== undefined && c.at - last < CONFLICT_EPISODE_MS) {
      this.log.info(`mqtt: store ${c.storeId}: identity conflict goes on: ${what}`);
      return;
    }
    this.log.warn(
      `mqtt: store ${c.storeId}: another agent is using this store's identity (${what}); ` +
        'each is told to back off; give each store PC its own store id and password',
    );
    this.onConflict(c);
  }
}

function describe(c: { clientId: string; address: string | null }): string {
  return `${JSON.stringify(c.clientId)}${c.address ? ` from ${c.address}` : ''}`;
}
