// /v1/stores: what HQ sees of each store (agent presence, printers, queue), and /v1/enrol,
// where a new agent trades its one-time code for credentials.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ApiError,
  EnrolRequest,
  EnrolResponse,
  IdParams,
  type PrinterView,
  parseEnrolRequest,
  parseIdParams,
  StoreList,
  StoreView,
} from '../../protocol/api.js';
import type { HealthEvent } from '../../protocol/messages.js';
import { notReadyReasons } from '../../protocol/status.js';
import { type AdminContext, enrol } from '../admin.js';
import {
  type Directory,
  type JobStore,
  type PrinterRecord,
  type StoreRecord,
  scopeIncludes,
} from '../store/job-store.js';
import type { HttpLimits } from './app.js';
import { assertStoreAccess } from './auth.js';
import { HttpError } from './errors.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A printer of an offline store is unknown now: its status is shown as the last report, no more. */
function toPrinterView(p: PrinterRecord, storeOnline: boolean): PrinterView {
  const current = storeOnline && p.status !== null ? p.status : null;
  return {
    printerId: p.printerId,
    name: p.info?.name ?? null,
    roles: p.info?.roles ?? [],
    ready: current ? notReadyReasons(current).length === 0 : null,
    reasons: current ? notReadyReasons(current) : [],
    statusKnown: current !== null,
    status: p.status,
    statusAt: iso(p.statusAt),
    health: p.health,
  };
}

function toStoreView(s: StoreRecord, printers: PrinterRecord[], queueDepth: number): StoreView {
  const health = s.health as Partial<HealthEvent> | null;
  return {
    storeId: s.id,
    name: s.name,
    online: s.online,
    disabled: s.disabledAt !== null,
    lastSeenAt: iso(s.lastSeenAt),
    agentVersion: s.agentVersion,
    queueDepth,
    uptimeSeconds: health?.uptimeSeconds ?? null,
    heldJobs: health?.heldJobs ?? null,
    printers: printers.map((p) => toPrinterView(p, s.online)),
  };
}

export function registerStoreRoutes(
  app: FastifyInstance,
  deps: { directory: Directory; jobs: JobStore },
): void {
  const { directory, jobs } = deps;
  const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };

  app.get(
    '/v1/stores',
    { schema: { summary: 'Stores this key covers', response: { 200: StoreList, ...errors } } },
    async (request) => {
      const counts = await jobs.openJobCounts();
      const stores = (await directory.listStores()).filter((s) => scopeIncludes(request.apiKey.stores, s.id));
      const views = await Promise.all(
        stores.map(async (s) => toStoreView(s, await directory.listPrinters(s.id), counts.get(s.id) ?? 0)),
      );
      return { stores: views };
    },
  );

  app.get(
    '/v1/stores/:id',
    {
      schema: {
        summary: 'One store: online, last seen, agent version, printers, queue',
        params: IdParams,
        response: { 200: StoreView, ...errors },
      },
    },
    async (request) => {
      const { id } = parseIdParams(request.params);
      assertStoreAccess(request, id);
      const store = await directory.getStore(id);
      if (!store) throw new HttpError(404, `unknown store ${JSON.stringify(id)}`);
      const counts = await jobs.openJobCounts();
      return toStoreView(store, await directory.listPrinters(id), counts.get(id) ?? 0);
    },
  );
}

/**
 * Each enrolment attempt costs a slow hash on the libuv pool, which the relay's disk writes
 * share: attempts are limited per client address and for everyone together (429 with
 * Retry-After), before the body is read.
 */
function enrolThrottle(app: FastifyInstance, limits: Pick<HttpLimits, 'enrolPerAddress' | 'enrolGlobal'>) {
  const perAddress = app.createRateLimit({
    max: limits.enrolPerAddress.max,
    timeWindow: limits.enrolPerAddress.windowMs,
  });
  const everyone = app.createRateLimit({
    max: limits.enrolGlobal.max,
    timeWindow: limits.enrolGlobal.windowMs,
    keyGenerator: () => 'everyone',
  });
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    for (const [limit, who] of [
      [perAddress, 'from this address'],
      [everyone, 'on this relay'],
    ] as const) {
      const r = await limit(request);
      if (!r.isAllowed && r.isExceeded) {
        reply.header('retry-after', String(r.ttlInSeconds));
        throw new HttpError(
          429,
          `too many enrolment attempts ${who}: try again in ${r.ttlInSeconds} s / 注册尝试过多，请 ${r.ttlInSeconds} 秒后再试`,
        );
      }
    }
  };
}

/** The broker's listeners, as the relay reports them (null: not listening). */
export type ListenerUrls = Record<string, string | null>;

// Encrypted first: an agent takes the first it can use.
const AGENT_SCHEMES = ['mqtts', 'wss', 'mqtt', 'ws'];

/**
 * The broker's listeners re-addressed to `hostname`: the name an agent used to reach this
 * relay over HTTP is the name it can reach MQTT by (the listeners themselves know only the
 * address they are bound to, often 0.0.0.0).
 */
export function agentUrls(listeners: ListenerUrls, hostname: string): string[] {
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return AGENT_SCHEMES.flatMap((scheme) => {
    const url = Object.values(listeners).find((u) => u?.startsWith(`${scheme}://`));
    return url ? [`${scheme}://${host}:${new URL(url).port}`] : [];
  });
}

/** Public: the enrolment code is the credential. */
export function registerEnrolRoute(
  app: FastifyInstance,
  deps: {
    admin: AdminContext;
    listeners: () => ListenerUrls;
    limits: Pick<HttpLimits, 'enrolPerAddress' | 'enrolGlobal'>;
  },
): void {
  app.post(
    '/v1/enrol',
    {
      onRequest: enrolThrottle(app, deps.limits),
      schema: {
        summary: 'Trade a one-time enrolment code for agent credentials',
        description:
          'Attempts are limited per client address and in total (429 with Retry-After). Every refused code ' +
          'costs the same time, whether or not its first group names a code.',
        security: [],
        body: EnrolRequest,
        response: { 200: EnrolResponse, 400: ApiError, 404: ApiError, 415: ApiError, 429: ApiError },
      },
    },
    async (request) => {
      const credentials = await enrol(deps.admin, parseEnrolRequest(request.body).code);
      return { ...credentials, relayUrls: agentUrls(deps.listeners(), request.hostname) };
    },
  );
}
