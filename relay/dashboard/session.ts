// Dashboard sign-in state: session cookies (random token, only its hash stored, HttpOnly,
// SameSite=Strict, Secure over TLS; 12 h idle, 7 days at most), the check that a request
// changing anything comes from the dashboard's own pages, and slowing down wrong passwords.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../api/errors.js';
import { hashToken, randomSecret } from '../credentials.js';
import type { DashboardStore, UserRecord } from '../store/dashboard-store.js';

export const SESSION_COOKIE = 'printrelay_hq';
export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** last_seen_at is written at most this often per session (not on every request). */
const TOUCH_EVERY_MS = 60_000;

export interface SignedIn {
  user: UserRecord;
  tokenHash: string;
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

const secure = (request: FastifyRequest) => (request.protocol === 'https' ? '; Secure' : '');

export class Sessions {
  constructor(private readonly store: DashboardStore) {}

  /** Starts a session for `user` and sets its cookie on the reply. */
  async start(user: UserRecord, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = randomSecret();
    const now = Date.now();
    await this.store.addSession({
      tokenHash: hashToken(token),
      userName: user.name,
      createdAt: now,
      lastSeenAt: now,
    });
    void reply.header(
      'set-cookie',
      `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_MS / 1000}${secure(request)}`,
    );
  }

  /** The signed-in user of the request, or null (no cookie, unknown, expired or removed user). */
  async of(request: FastifyRequest): Promise<SignedIn | null> {
    const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (!token || token.length > 100) return null;
    const tokenHash = hashToken(token);
    const session = await this.store.getSession(tokenHash);
    if (!session) return null;
    const now = Date.now();
    if (now - session.lastSeenAt > SESSION_IDLE_MS || now - session.createdAt > SESSION_MAX_MS) {
      await this.store.removeSession(tokenHash);
      return null;
    }
    const user = await this.store.getUser(session.userName);
    if (!user) return null;
    if (now - session.lastSeenAt > TOUCH_EVERY_MS) await this.store.touchSession(tokenHash, now);
    return { user, tokenHash };
  }

  async end(signedIn: SignedIn | null, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (signedIn) await this.store.removeSession(signedIn.tokenHash);
    void reply.header(
      'set-cookie',
      `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure(request)}`,
    );
  }

  /** Drops expired sessions (called now and then). */
  sweep(now = Date.now()): Promise<void> {
    return this.store.removeExpiredSessions(now - SESSION_IDLE_MS, now - SESSION_MAX_MS);
  }
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/** The header the dashboard's pages send on every request that changes something. */
export const CSRF_HEADER = 'x-printrelay-hq';

/**
 * Refuses a request that changes something unless it comes from the dashboard's own pages:
 * besides the SameSite=Strict cookie, the browser must say the request is same-origin
 * (Sec-Fetch-Site, Origin) and carry a custom header, which another site cannot send without
 * a CORS preflight that the relay never grants.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw new HttpError(403, 'refused: this request came from another site');
  }
  // Host only, not scheme: behind a proxy that ends TLS the relay sees http while the page is https.
  const origin = request.headers.origin;
  if (origin !== undefined && originHost(origin) !== request.headers.host) {
    throw new HttpError(403, `refused: this request came from ${origin}`);
  }
  if (request.headers[CSRF_HEADER] !== '1') {
    throw new HttpError(403, `refused: send the header ${CSRF_HEADER}: 1 (the dashboard's pages do)`);
  }
}

interface Failures {
  count: number;
  until: number;
}

/**
 * Slows down guessing: after 5 wrong passwords for a user name, or 20 from one address (an
 * office behind one NAT address shares it), each further try waits 2, 4, 8... seconds (at
 * most 5 minutes). A correct password clears the counts. Memory is bounded: the oldest
 * entries go first.
 */
export class SignInThrottle {
  readonly #failures = new Map<string, Failures>();

  constructor(
    private readonly freeTries = { user: 5, address: 20 },
    private readonly maxEntries = 10_000,
  ) {}

  /** The keys a sign-in attempt counts against. */
  static keys(name: string, address: string): string[] {
    return [`user:${name.toLowerCase()}`, `address:${address}`];
  }

  /** Milliseconds to wait before another try for any of `keys`; 0 when allowed now. */
  waitMs(keys: string[], now = Date.now()): number {
    return Math.max(0, ...keys.map((k) => (this.#failures.get(k)?.until ?? 0) - now));
  }

  failed(keys: string[], now = Date.now()): void {
    for (const k of keys) {
      const f = this.#failures.get(k) ?? { count: 0, until: 0 };
      this.#failures.delete(k);
      f.count++;
      const over = f.count - (k.startsWith('user:') ? this.freeTries.user : this.freeTries.address);
      f.until = over > 0 ? now + Math.min(300_000, 1000 * 2 ** over) : 0;
      this.#failures.set(k, f);
    }
    while (this.#failures.size > this.maxEntries) {
      this.#failures.delete(this.#failures.keys().next().value as string);
    }
  }

  succeeded(keys: string[]): void {
    for (const k of keys) this.#failures.delete(k);
  }
}
