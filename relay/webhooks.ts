// Webhook delivery. State changes are recorded as events in the same transaction as the
// change; this loop fans them out to the subscribed URLs and POSTs them, signed, retrying
// with exponential backoff. Delivery is at least once: receivers de-duplicate by event id.
//
// Signature: header `X-Printrelay-Signature: t=<unix seconds>,v1=<hex>` where hex is
// HMAC-SHA256(secret, `${t}.${body}`). Receivers should recompute it and reject old `t`.
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Log } from '../shared/log.js';
import { version } from '../shared/version.js';
import type { DueDelivery, JobStore } from './store/job-store.js';
import { addressRefusal, guardedLookup } from './webhook-target.js';

export interface WebhookOptions {
  pollMs: number;
  /** First retry delay; doubles on each attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  timeoutMs: number;
  /** Whether webhooks may reach loopback and private addresses (see ./webhook-target.ts). */
  allowPrivateNetworks: boolean;
  log: Log;
}

export const defaultWebhookOptions = {
  pollMs: 1000,
  baseDelayMs: 5000,
  maxDelayMs: 3600_000,
  maxAttempts: 15,
  timeoutMs: 10_000,
  allowPrivateNetworks: false,
} satisfies Omit<WebhookOptions, 'log'>;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Delay before attempt `attempts + 1`, with +-25 % jitter so that retries do not bunch up. */
export function retryDelay(
  attempts: number,
  opts: Pick<WebhookOptions, 'baseDelayMs' | 'maxDelayMs'>,
): number {
  const exp = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.75 + Math.random() * 0.5));
}

/**
 * POSTs `body` and resolves with the HTTP status (redirects are not followed). The address it
 * connects to is checked first (./webhook-target.ts).
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { signal: AbortSignal; allowPrivate: boolean },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    // A literal address is connected to without a lookup: check it here.
    const refusal = isIP(host) ? addressRefusal(host, opts.allowPrivate) : null;
    if (refusal) return reject(new Error(refusal));
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(opts.allowPrivate),
        signal: opts.signal,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export class WebhookSender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly inFlight = new Set<string>();
  private readonly aborter = new AbortController();

  constructor(
    private readonly jobs: JobStore,
    private readonly opts: WebhookOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.aborter.abort();
    await this.running;
  }

  /** One pass: fan out new events, then send what is due. */
  tick(): Promise<void> {
    if (!this.running) {
      this.running = this.tickOnce()
        .catch((err: unknown) => this.opts.log.error(`webhooks: ${String(err)}`))
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  private async tickOnce(): Promise<void> {
    while ((await this.jobs.fanOutEvents(500)) > 0) {}
    const due = await this.jobs.dueDeliveries(Date.now(), 50);
    await Promise.all(
      due.map(async (d) => {
        const key = `${d.webhook.id}/${d.event.seq}`;
        if (this.inFlight.has(key)) return;
        this.inFlight.add(key);
        try {
          await this.deliver(d);
        } finally {
          this.inFlight.delete(key);
        }
      }),
    );
  }

  private async deliver({ webhook, event, attempts }: DueDelivery): Promise<void> {
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      sequence: event.seq,
      createdAt: new Date(event.at).toISOString(),
      storeId: event.storeId,
      data: event.data,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    let error: string;
    try {
      const status = await post(
        webhook.url,
        {
          'content-type': 'application/json',
          'user-agent': `printrelay/${version}`,
          'x-printrelay-event-id': event.id,
          'x-printrelay-event-type': event.type,
          'x-printrelay-signature': signWebhook(webhook.secret, timestamp, body),
        },
        body,
        {
          signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.opts.timeoutMs)]),
          allowPrivate: this.opts.allowPrivateNetworks,
        },
      );
      if (status >= 200 && status < 300) {
        await this.jobs.markDelivered(webhook.id, event.seq, Date.now());
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      if (this.aborter.signal.aborted) return;
      error = (err as Error).message;
    }
    const attempt = attempts + 1;
    const next = attempt >= this.opts.maxAttempts ? null : Date.now() + retryDelay(attempt, this.opts);
    await this.jobs.markDeliveryFailed(webhook.id, event.seq, { error, at: Date.now(), nextAttemptAt: next });
    const what = `webhook ${webhook.id}: event ${event.id} attempt ${attempt} failed (${error})`;
    if (next === null) this.opts.log.error(`${what}; giving up`);
    else this.opts.log.warn(`${what}; retrying in ${Math.round((next - Date.now()) / 1000)} s`);
  }
}
