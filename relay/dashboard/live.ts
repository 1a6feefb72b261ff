// The dashboard's live feed: Server-Sent Events carrying the store's committed changes
// (printer condition, store online/offline, job state), each user seeing only their stores.
// A reconnecting browser sends Last-Event-ID and gets what it missed from a short buffer,
// or `reset` (reload what you show) when the gap is too old or the relay restarted.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeFeed, StoreChange } from '../store/changes.js';
import { type StoreScope, scopeIncludes } from '../store/job-store.js';

const BUFFER = 5000;
const HEARTBEAT_MS = 20_000;
/** How often an open feed checks that its session is still valid. */
const RECHECK_MS = 60_000;

interface Client {
  scope: StoreScope;
  reply: FastifyReply;
  timers: NodeJS.Timeout[];
}

export class LiveFeed {
  /** Ids are `<run>-<n>`: an id from an earlier run of the relay cannot be caught up. */
  readonly #run = randomBytes(4).toString('hex');
  #seq = 0;
  readonly #buffer: { seq: number; change: StoreChange }[] = [];
  readonly #clients = new Set<Client>();
  readonly #unsubscribe: () => void;

  constructor(changes: ChangeFeed) {
    this.#unsubscribe = changes.subscribe((change) => this.#publish(change));
  }

  #publish(change: StoreChange): void {
    const seq = ++this.#seq;
    this.#buffer.push({ seq, change });
    if (this.#buffer.length > BUFFER) this.#buffer.shift();
    for (const c of this.#clients) {
      if (scopeIncludes(c.scope, change.storeId)) this.#send(c, seq, change);
    }
  }

  #send(c: Client, seq: number, change: StoreChange): void {
    c.reply.raw.write(`id: ${this.#run}-${seq}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`);
  }

  /** Serves one browser until it goes away, its session ends, or the relay stops. */
  serve(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: StoreScope,
    stillSignedIn: () => Promise<boolean>,
  ): void {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    const client: Client = { scope, reply, timers: [] };
    const end = () => this.#drop(client);
    request.raw.on('close', end);
    reply.raw.write('retry: 1000\n\n');

    const last = /^([0-9a-f]+)-(\d+)$/.exec(String(request.headers['last-event-id'] ?? ''));
    const since = last && last[1] === this.#run ? Number(last[2]) : null;
    const oldest = this.#buffer[0]?.seq ?? this.#seq + 1;
    if (since !== null && since >= oldest - 1) {
      for (const b of this.#buffer) {
        if (b.seq > since && scopeIncludes(scope, b.change.storeId)) this.#send(client, b.seq, b.change);
      }
    } else {
      // A first connection, or a gap the buffer no longer covers: the page reloads its data.
      reply.raw.write(`id: ${this.#run}-${this.#seq}\nevent: reset\ndata: {}\n\n`);
    }
    this.#clients.add(client);
    client.timers.push(
      setInterval(() => reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS),
      setInterval(() => {
        void stillSignedIn().then((ok) => {
          if (!ok) end();
        }, end);
      }, RECHECK_MS),
    );
  }

  #drop(client: Client): void {
    if (!this.#clients.delete(client)) return;
    for (const t of client.timers) clearInterval(t);
    client.reply.raw.end();
  }

  /** Ends every open feed (the relay is stopping); browsers reconnect to the next relay. */
  close(): void {
    this.#unsubscribe();
    for (const c of [...this.#clients]) this.#drop(c);
  }
}
