// One agent connection per store. MQTT lets a new connection with the same client id take
// the old one's place; two agents sharing a store's identity would then push each other off
// every second, and the store would flap online/offline. So before a new connection replaces
// an old one (same client id, or another client id subscribing to the store's jobs), the relay
// tells the old one who took over (a `takeover` control message, see docs/protocol.md), drops
// its last will (the store is not offline: its successor is there), and closes it. An agent that acknowledges the message was alive: two agents really share the
// identity, which is logged and recorded once per episode. One that stays silent was a dead
// connection the agent itself replaced after a network cut: nothing to report.
//
// On a relay cluster the old connection may be on another process. The new one's process then
// asks the others (over the broker's emitter on Redis, see ClusterChannel) and waits, before it
// lets the new connection in, while the process that holds the old one does the same takeover.
// Without that, aedes would close the old connection on its own when the new one registers:
// no notice, so the two agents would push each other off every few seconds, and the old one's
// last will would mark the store offline.
import { randomUUID } from 'node:crypto';
import type { Aedes, Client } from 'aedes';
import { PROTOCOL_VERSION, type TakeoverNotice } from '../../protocol/messages.js';
import { topics } from '../../protocol/topics.js';
import type { Log } from '../../shared/log.js';

/** How long the old connection has to acknowledge the notice before it is closed anyway. */
const ACK_WAIT_MS = 2000;
/** How long a new connection waits for another relay process to say it holds the old one. */
const HOLDER_ANSWER_MS = 250;
/** How long it then waits for that takeover (the notice's wait and the close) to finish. */
const TAKEOVER_DONE_MS = ACK_WAIT_MS + 1000;
/** Takeovers closer together than this belong to one conflict, recorded once. */
const CONFLICT_EPISODE_MS = 30 * 60_000;

/** What StoreConnections on several relay processes tell each other. */
export type TakeoverMessage =
  | {
      type: 'arrival';
      /** The asking process and its request. */
      from: string;
      id: string;
      storeId: string;
      clientId: string;
      address: string | null;
      /** It subscribes to the store's downlink (else: it is logging in with this client id). */
      downlink: boolean;
    }
  | { type: 'holding' | 'done'; to: string; id: string };

/** How this process reaches the other relay processes; absent when it is alone. */
export interface ClusterChannel {
  /** This process's id, unique in the cluster. */
  readonly self: string;
  send(message: TakeoverMessage): void;
  onMessage(handler: (message: TakeoverMessage) => void): void;
}

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
  /** This process's questions to the others, by id: what to do on each answer. */
  private readonly asked = new Map<string, (answer: 'holding' | 'done') => void>();
  /** Connections whose store was online when they logged in: its agent may be on another process. */
  private readonly mayBeElsewhere = new WeakSet<Client>();

  constructor(
    broker: Aedes,
    private readonly addressOf: (client: Client) => string | null,
    private readonly onConflict: (conflict: IdentityConflict) => void,
    private readonly log: Log,
    private readonly cluster: ClusterChannel | null = null,
  ) {
    cluster?.onMessage((m) => this.fromCluster(m));
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
  async admit(client: Client, storeId: string, storeOnline: boolean): Promise<void> {
    const previous = this.byId.get(client.id);
    if (previous && previous !== client && !previous.closed)
      await this.takeOver(previous, this.who(client), storeId);
    else if (storeOnline && this.cluster) {
      this.mayBeElsewhere.add(client);
      await this.askCluster(client, storeId, false);
    }
  }

  /**
   * Called when `client` may subscribe to its store's downlink: the store's jobs go to one
   * connection only, so one that already receives them under another client id is taken over.
   * A connection that never subscribes (a login check by `printrelay doctor`) disturbs nobody.
   */
  async claimDownlink(client: Client, storeId: string): Promise<void> {
    const previous = this.receiving.get(storeId);
    this.receiving.set(storeId, client);
    if (previous && previous !== client && !previous.closed)
      await this.takeOver(previous, this.who(client), storeId);
    else if (this.mayBeElsewhere.has(client)) await this.askCluster(client, storeId, true);
  }

  private who(client: Client): { clientId: string; address: string | null } {
    return { clientId: client.id, address: this.addressOf(client) };
  }

  /**
   * Asks the other relay processes whether one holds the store's connection; resolves at once
   * if none says so within HOLDER_ANSWER_MS, else once that process has taken it over.
   */
  private askCluster(client: Client, storeId: string, downlink: boolean): Promise<void> {
    const cluster = this.cluster as ClusterChannel;
    const id = randomUUID();
    return new Promise((resolve) => {
      let holders = 0;
      const finish = () => {
        clearTimeout(timer);
        this.asked.delete(id);
        resolve();
      };
      let timer = setTimeout(finish, HOLDER_ANSWER_MS);
      this.asked.set(id, (answer) => {
        holders += answer === 'holding' ? 1 : -1;
        clearTimeout(timer);
        if (holders <= 0) finish();
        else timer = setTimeout(finish, TAKEOVER_DONE_MS);
      });
      cluster.send({ type: 'arrival', from: cluster.self, id, storeId, downlink, ...this.who(client) });
    });
  }

  private fromCluster(m: TakeoverMessage): void {
    const cluster = this.cluster as ClusterChannel;
    if (m.type !== 'arrival') {
      if (m.to === cluster.self) this.asked.get(m.id)?.(m.type);
      return;
    }
    if (m.from === cluster.self) return;
    const previous = m.downlink ? this.receiving.get(m.storeId) : this.byId.get(m.clientId);
    if (!previous || previous.closed) return;
    cluster.send({ type: 'holding', to: m.from, id: m.id });
    this.takeOver(previous, { clientId: m.clientId, address: m.address }, m.storeId)
      .catch((err: unknown) => this.log.error(`mqtt: store ${m.storeId}: takeover failed: ${String(err)}`))
      .finally(() => cluster.send({ type: 'done', to: m.from, id: m.id }));
  }

  private async takeOver(
    previous: Client,
    next: { clientId: string; address: string | null },
    storeId: string,
  ): Promise<void> {
    const at = Date.now();
    // Its last will would mark the store offline although the new connection is taking over.
    // (aedes keeps it in `will`, which its types do not show.)
    (previous as Client & { will: unknown }).will = null;
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
