// The order sources of a chaos run: orders arrive as a Poisson stream, each POSTed with its
// own Idempotency-Key and retried with the same key until a 201 comes (the relay may be down
// or die mid-request), as a real order source would. Some get a short expiry, some more
// copies, some are cancelled a moment after they were accepted.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobRequest } from '../protocol/job.js';
import { markedTicket } from './paper.js';
import type { Rng } from './rng.js';

export interface StoreTargets {
  storeId: string;
  /** Printer refs an order may name: roles and printer ids. */
  refs: readonly string[];
}

export interface Order {
  n: number;
  marker: string;
  storeId: string;
  printer: string;
  copies: number;
  ttlSeconds: number | null;
  /** Cancel this long after the 201, or never. */
  cancelAfterMs: number | null;
  /** Date.now() of the first POST. */
  placedAt: number;
  attempts: number;
  jobId: string | null;
  /** Date.now() of the 201. */
  acceptedAt: number | null;
  /** Why it never got its 201 (a 4xx, or the run ended first). */
  refused: string | null;
  cancel: { at: number; status: number } | null;
}

export interface OrderSourceOptions {
  /** The relays' HTTP APIs, taken in turn as a load balancer would (a request that fails goes to the next). */
  httpUrls: readonly string[];
  apiKey: string;
  stores: readonly StoreTargets[];
  rng: Rng;
  /** Unique per run, so that idempotency keys and markers never meet those of another run. */
  runId: string;
  /** An order not accepted by then is given up (recorded as refused). */
  giveUpAt: () => number;
}

const REQUEST_TIMEOUT_MS = 10_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 1_000;

export class OrderSource {
  readonly orders: Order[] = [];
  readonly #pending = new Set<Promise<void>>();
  /** POSTs answered with something other than a 201, or not answered at all. */
  retries = 0;
  #nextRelay = 0;

  constructor(private readonly opts: OrderSourceOptions) {}

  /** Places the next order (parameters from the seeded plan) and follows it in the background. */
  place(): Order {
    const { rng, stores, runId } = this.opts;
    const n = this.orders.length + 1;
    const store = rng.pick(stores);
    const order: Order = {
      n,
      marker: `CHAOS-${runId}-${n}`,
      storeId: store.storeId,
      printer: rng.pick(store.refs),
      copies: Number(rng.weighted({ 1: 85, 2: 10, 3: 5 })),
      // Short enough that faults make some of them expire.
      ttlSeconds: rng.chance(0.1) ? rng.int(2, 8) : null,
      cancelAfterMs: rng.chance(0.06) ? Math.round(rng.between(0, 3000)) : null,
      placedAt: Date.now(),
      attempts: 0,
      jobId: null,
      acceptedAt: null,
      refused: null,
      cancel: null,
    };
    const extraLines = rng.int(0, 8);
    this.orders.push(order);
    const body: JobRequest = {
      storeId: order.storeId,
      printer: order.printer,
      ticket: markedTicket(order.marker, extraLines),
      copies: order.copies,
      ...(order.ttlSeconds === null ? {} : { ttlSeconds: order.ttlSeconds }),
      orderRef: { source: 'chaos', orderNo: order.marker },
    };
    const task = this.#follow(order, body).finally(() => this.#pending.delete(task));
    this.#pending.add(task);
    return order;
  }

  /** Resolves once every order placed so far got its 201 (or was given up) and its cancel went out. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #follow(order: Order, body: JobRequest): Promise<void> {
    const idempotencyKey = `chaos-${this.opts.runId}-${order.n}`;
    while (order.jobId === null && order.refused === null) {
      order.attempts++;
      const res = await this.#request('/v1/jobs', body, { 'idempotency-key': idempotencyKey });
      if (res?.status === 201) {
        order.jobId = (JSON.parse(res.text) as { jobId: string }).jobId;
        order.acceptedAt = Date.now();
        break;
      }
      this.retries++;
      if (res && res.status >= 400 && res.status < 500) {
        order.refused = `POST /v1/jobs answered ${res.status}: ${res.text}`;
      } else if (Date.now() > this.opts.giveUpAt()) {
        order.refused = `no 201 after ${order.attempts} attempts (${res ? `last: ${res.status}` : 'no answer'})`;
      } else {
        await sleep(retryDelay());
      }
    }
    if (order.jobId === null || order.cancelAfterMs === null) return;
    await sleep(order.cancelAfterMs);
    // A cancel that finds the relay down is tried again for a while; 409 (too late) is an answer.
    const until = Date.now() + 15_000;
    for (;;) {
      const res = await this.#request(`/v1/jobs/${order.jobId}/cancel`);
      if (res && res.status < 500) {
        order.cancel = { at: Date.now(), status: res.status };
        return;
      }
      if (Date.now() > until) return;
      await sleep(retryDelay());
    }
  }

  /** A POST to the relay; undefined when there was no whole answer (refused, reset, timed out). */
  async #request(
    path: string,
    json?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string } | undefined> {
    try {
      const relay = this.opts.httpUrls[this.#nextRelay++ % this.opts.httpUrls.length];
      const res = await fetch(`${relay}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.opts.apiKey}`,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return { status: res.status, text: await res.text() };
    } catch {
      return undefined;
    }
  }
}

// Not from the seeded source: when retries happen depends on timing, and the plan must not.
function retryDelay(): number {
  return RETRY_MIN_MS + Math.random() * (RETRY_MAX_MS - RETRY_MIN_MS);
}
