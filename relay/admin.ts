// Operator actions: stores with their agent credentials and enrolment codes (add, rotate,
// disable, enable, remove), API keys, webhooks, and redeeming an enrolment code. Each CLI
// admin command is one entry of `adminOperations`, run by the live relay through its admin
// channel (relay/admin-channel.ts) or, when no relay runs, on the database directly.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { StringEnum } from '../protocol/schema.js';
import { TEMPLATE_KINDS } from '../protocol/template.js';
import { isStoreId, STORE_ID_PATTERN } from '../protocol/topics.js';
import { validator } from '../protocol/validate.js';
import { AGENT_TOKEN_PREFIX } from './broker/access.js';
import {
  hashSlow,
  makeEnrolmentCode,
  makeToken,
  parseEnrolmentCode,
  randomId,
  randomSecret,
  slowHashMatches,
} from './credentials.js';
import { addUser, parseRole } from './dashboard/users.js';
import { Refused } from './errors.js';
import { TemplateService } from './orders/templates.js';
import type { DashboardStore } from './store/dashboard-store.js';
import {
  type Directory,
  DuplicateError,
  type JobStore,
  type StoreRecord,
  type StoreScope,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from './store/job-store.js';
import { checkWebhookUrl } from './webhook-target.js';

export const API_KEY_PREFIX = 'prk';
const ENROLMENT_CODE_TTL_MS = 7 * 24 * 3600_000;

/** What an agent needs to connect. The password is shown once and only its hash is kept. */
export interface AgentCredentials {
  storeId: string;
  username: string;
  password: string;
  clientId: string;
}

/** A new agent password for an existing store, with the id of its credential record. */
export async function newAgentCredentials(
  directory: Directory,
  storeId: string,
  now: number,
): Promise<AgentCredentials & { id: string }> {
  const { id, token, hash } = makeToken(AGENT_TOKEN_PREFIX);
  await directory.addAgentCredential({ id, storeId, secretHash: hash, createdAt: now, revokedAt: null });
  return { id, storeId, username: storeId, password: token, clientId: `${storeId}:agent` };
}

function publicCredentials({ storeId, username, password, clientId }: AgentCredentials): AgentCredentials {
  return { storeId, username, password, clientId };
}

async function newEnrolmentCode(directory: Directory, storeId: string, now: number) {
  for (;;) {
    const { id, code, secret } = makeEnrolmentCode();
    const expiresAt = now + ENROLMENT_CODE_TTL_MS;
    try {
      await directory.addEnrolmentCode({
        id,
        storeId,
        codeHash: await hashSlow(secret),
        createdAt: now,
        expiresAt,
        usedAt: null,
      });
      return { code, expiresAt };
    } catch (err) {
      if (!(err instanceof DuplicateError)) throw err;
    }
  }
}

export interface NewStore {
  store: StoreRecord;
  credentials: AgentCredentials;
  enrolment: { code: string; expiresAt: number };
}

export async function addStore(
  directory: Directory,
  id: string,
  name: string,
  now = Date.now(),
): Promise<NewStore> {
  if (!isStoreId(id))
    throw new Refused(
      'invalid',
      `invalid store id ${JSON.stringify(id)}: use letters, digits, - and _ (${STORE_ID_PATTERN})`,
    );
  if (!name.trim()) throw new Refused('invalid', 'the store name must not be empty');
  let store: StoreRecord;
  try {
    store = await directory.createStore({ id, name: name.trim(), createdAt: now });
  } catch (err) {
    if (err instanceof DuplicateError) throw new Refused('conflict', `store ${id} already exists`);
    throw err;
  }
  const credentials = publicCredentials(await newAgentCredentials(directory, id, now));
  const enrolment = await newEnrolmentCode(directory, id, now);
  return { store, credentials, enrolment };
}

async function existingStore(directory: Directory, id: string): Promise<StoreRecord> {
  const store = await directory.getStore(id);
  if (!store) throw new Refused('not-found', `no store ${JSON.stringify(id)}`);
  return store;
}

/**
 * A new agent password and enrolment code for the store; the old password is refused at once,
 * the agent connected with it disconnected, and unused enrolment codes void.
 */
export async function rotateStore(ctx: AdminContext, id: string, now = Date.now()) {
  await existingStore(ctx.directory, id);
  const credentials = await newAgentCredentials(ctx.directory, id, now);
  await ctx.directory.voidEnrolmentCodes(id, now);
  const { revoked, disconnected } = await replaceCredentials(ctx, credentials, now);
  const enrolment = await newEnrolmentCode(ctx.directory, id, now);
  return { credentials: publicCredentials(credentials), enrolment, revoked, disconnected };
}

/** A disabled store's agent is refused (and disconnected now); it takes no new jobs. */
export async function disableStore(ctx: AdminContext, id: string, now = Date.now()) {
  const store = await existingStore(ctx.directory, id);
  if (store.disabledAt === null) await ctx.directory.setStoreDisabled(id, now);
  return { disconnected: ctx.disconnectStore?.(id) ?? 0, alreadyDisabled: store.disabledAt !== null };
}

export async function enableStore(ctx: AdminContext, id: string) {
  const store = await existingStore(ctx.directory, id);
  await ctx.directory.setStoreDisabled(id, null);
  return { wasDisabled: store.disabledAt !== null };
}

/** Deletes a store and its history; refused while it has jobs that may still print. */
export async function removeStore(ctx: AdminContext, id: string) {
  await existingStore(ctx.directory, id);
  const open = (await ctx.jobs.openJobCounts()).get(id) ?? 0;
  if (open > 0) {
    throw new Refused(
      'conflict',
      `store ${id} has ${open} unfinished job(s): cancel them or let them finish first, or disable the store instead`,
    );
  }
  await ctx.directory.removeStore(id);
  return { disconnected: ctx.disconnectStore?.(id) ?? 0 };
}

/** What admin operations act on: the relay's database and, while the relay runs, its connections. */
export interface AdminContext {
  directory: Directory;
  jobs: JobStore;
  /** The HQ dashboard's users. */
  dashboard: DashboardStore;
  /** Closes the store's agent connections at once; absent when no relay runs (nobody is connected). */
  disconnectStore?: (storeId: string) => number;
  /** The running relay's MQTT address, for the hints that follow `stores add`. */
  mqttUrl?: string;
}

/**
 * Makes `credentials` the store's only valid ones: every other password is refused from now on
 * and the agent connected with one is disconnected (it reconnects with the new one, or not).
 */
async function replaceCredentials(
  ctx: AdminContext,
  credentials: AgentCredentials & { id: string },
  now: number,
) {
  const revoked = await ctx.directory.revokeAgentCredentials(credentials.storeId, now, credentials.id);
  const disconnected = ctx.disconnectStore?.(credentials.storeId) ?? 0;
  return { revoked, disconnected };
}

/**
 * Stands in for the hash of a code that does not exist: checking against it costs the same
 * scrypt, and no code matches it (that would take an scrypt output of all zeros).
 */
const UNKNOWN_CODE_HASH = `scrypt$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

/**
 * Redeems a one-time enrolment code for agent credentials, which replace the store's others
 * (an enrolled agent is the store's agent; the one it replaces is disconnected).
 */
export async function enrol(ctx: AdminContext, code: string, now = Date.now()): Promise<AgentCredentials> {
  const refused = new Refused('not-found', 'unknown, used or expired enrolment code', [
    { path: '/code', message: 'unknown, used or expired' },
  ]);
  const parsed = parseEnrolmentCode(code);
  if (!parsed)
    throw new Refused('not-found', 'an enrolment code looks like ABCD-EFGH-JKMN', [
      { path: '/code', message: 'must look like ABCD-EFGH-JKMN' },
    ]);
  const { directory } = ctx;
  const record = await directory.getEnrolmentCode(parsed.id);
  // Every well-formed code costs one slow hash, so that how long a refusal takes does not
  // tell whether its first group names a code.
  const live = record !== null && record.usedAt === null && record.expiresAt > now;
  const matches = await slowHashMatches(parsed.secret, live ? record.codeHash : UNKNOWN_CODE_HASH);
  if (!live || !matches) throw refused;
  if (!(await directory.useEnrolmentCode(parsed.id, now))) throw refused;
  const credentials = await newAgentCredentials(directory, record.storeId, now);
  await replaceCredentials(ctx, credentials, now);
  return publicCredentials(credentials);
}

/** Parses `all` or a comma-separated list of store ids, all of which must exist. */
export async function parseStoreScope(directory: Directory, text: string): Promise<StoreScope> {
  if (text.trim() === 'all') return 'all';
  const ids = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (ids.length === 0)
    throw new Refused('invalid', '--stores needs "all" or a comma-separated list of store ids');
  for (const id of ids) {
    if (!(await directory.getStore(id)))
      throw new Refused('not-found', `unknown store ${JSON.stringify(id)}`);
  }
  return ids;
}

export async function addApiKey(directory: Directory, name: string, stores: StoreScope, now = Date.now()) {
  const { id, token, hash } = makeToken(API_KEY_PREFIX);
  await directory.addApiKey({ id, name, secretHash: hash, stores, createdAt: now, revokedAt: null });
  return { id, key: token };
}

export function parseWebhookEvents(text: string): WebhookEventType[] {
  const events = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  for (const e of events) {
    if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(e)) {
      throw new Refused(
        'invalid',
        `unknown webhook event ${JSON.stringify(e)}: use ${WEBHOOK_EVENT_TYPES.join(', ')}`,
      );
    }
  }
  if (events.length === 0)
    throw new Refused('invalid', `--events needs one or more of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  return events as WebhookEventType[];
}

/**
 * Subscribes a URL. One that names a link-local or metadata address is refused, and a loopback
 * or private one unless `allowPrivateNetworks` (the relay checks again where it connects).
 */
export async function addWebhook(
  directory: Directory,
  url: string,
  events: WebhookEventType[],
  stores: StoreScope,
  opts: { allowPrivateNetworks?: boolean; now?: number } = {},
) {
  const parsed = checkWebhookUrl(url, opts.allowPrivateNetworks ?? false);
  const now = opts.now ?? Date.now();
  const id = randomId();
  const secret = randomSecret();
  await directory.addWebhook({ id, url: parsed.toString(), secret, events, stores, createdAt: now });
  return { id, secret };
}

// ---- the admin operations: one registry for the CLI, the admin channel and direct access ----

interface AdminOperation<I extends TSchema, O> {
  input: I;
  run(ctx: AdminContext, input: Static<I>): Promise<O>;
}

function operation<I extends TSchema, O>(
  input: I,
  run: (ctx: AdminContext, input: Static<I>) => Promise<O>,
): AdminOperation<I, O> {
  return { input, run };
}

const StoreIdInput = Type.Object({ storeId: Type.String() }, { additionalProperties: false });
const IdInput = Type.Object({ id: Type.String() }, { additionalProperties: false });
const NoInput = Type.Object({}, { additionalProperties: false });

/** Records without their secrets' hashes: what an operator may see. */
const withoutHash = <T extends { secretHash: string }>({ secretHash: _, ...rest }: T) => rest;

const TemplateOwnerInput = Type.Object(
  { kind: StringEnum(TEMPLATE_KINDS), storeId: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

/** A store's own templates (its id, which must exist), or HQ's (null). */
async function templateOwner(ctx: AdminContext, storeId: string | undefined): Promise<string | null> {
  if (storeId === undefined) return null;
  if (!(await ctx.directory.getStore(storeId)))
    throw new Refused('not-found', `unknown store ${JSON.stringify(storeId)}`);
  return storeId;
}

/** Adding an operation here gives it to the admin channel and to direct access at once. */
export const adminOperations = {
  'stores.add': operation(
    Type.Object({ storeId: Type.String(), name: Type.String() }, { additionalProperties: false }),
    async (ctx, i) => ({
      ...(await addStore(ctx.directory, i.storeId, i.name)),
      mqttUrl: ctx.mqttUrl ?? null,
    }),
  ),
  'stores.list': operation(NoInput, (ctx) => ctx.directory.listStores()),
  'stores.rotate': operation(StoreIdInput, (ctx, i) => rotateStore(ctx, i.storeId)),
  'stores.disable': operation(StoreIdInput, (ctx, i) => disableStore(ctx, i.storeId)),
  'stores.enable': operation(StoreIdInput, (ctx, i) => enableStore(ctx, i.storeId)),
  'stores.remove': operation(StoreIdInput, (ctx, i) => removeStore(ctx, i.storeId)),
  'keys.add': operation(
    Type.Object({ name: Type.String(), stores: Type.String() }, { additionalProperties: false }),
    async (ctx, i) => {
      const scope = await parseStoreScope(ctx.directory, i.stores);
      return { ...(await addApiKey(ctx.directory, i.name, scope)), scope };
    },
  ),
  'keys.list': operation(NoInput, async (ctx) => (await ctx.directory.listApiKeys()).map(withoutHash)),
  'keys.revoke': operation(IdInput, async (ctx, i) => {
    if (!(await ctx.directory.revokeApiKey(i.id, Date.now())))
      throw new Refused('not-found', `no active API key ${JSON.stringify(i.id)}`);
    return {};
  }),
  'webhooks.add': operation(
    Type.Object(
      {
        url: Type.String(),
        events: Type.String(),
        stores: Type.String(),
        allowPrivateNetworks: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    async (ctx, i) => {
      const events = parseWebhookEvents(i.events);
      const stores = await parseStoreScope(ctx.directory, i.stores);
      const allowPrivateNetworks = i.allowPrivateNetworks ?? false;
      return {
        ...(await addWebhook(ctx.directory, i.url, events, stores, { allowPrivateNetworks })),
        events,
      };
    },
  ),
  'users.add': operation(
    Type.Object(
      {
        name: Type.String(),
        role: Type.String(),
        stores: Type.String(),
        password: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    async (ctx, i) =>
      addUser(ctx.dashboard, {
        name: i.name,
        role: parseRole(i.role),
        stores: await parseStoreScope(ctx.directory, i.stores),
        password: i.password,
      }).then(({ user: { passwordHash: _, ...user }, password }) => ({ user, password })),
  ),
  'users.list': operation(NoInput, async (ctx) =>
    (await ctx.dashboard.listUsers()).map(({ passwordHash: _, ...rest }) => rest),
  ),
  'users.remove': operation(
    Type.Object({ name: Type.String() }, { additionalProperties: false }),
    async (ctx, i) => {
      if (!(await ctx.dashboard.removeUser(i.name)))
        throw new Refused('not-found', `no dashboard user ${JSON.stringify(i.name)}`);
      return {};
    },
  ),
  'templates.show': operation(TemplateOwnerInput, async (ctx, i) => {
    const templates = new TemplateService(ctx.jobs);
    const storeId = await templateOwner(ctx, i.storeId);
    const { template, from, version } = await templates.resolve(i.kind, storeId);
    return { inUse: { from, version, template }, versions: await templates.versions(i.kind, storeId) };
  }),
  'templates.set': operation(
    Type.Object(
      { ...TemplateOwnerInput.properties, template: Type.Unknown(), comment: Type.Optional(Type.String()) },
      { additionalProperties: false },
    ),
    async (ctx, i) =>
      new TemplateService(ctx.jobs).save(i.kind, await templateOwner(ctx, i.storeId), i.template, {
        savedBy: 'relay templates set',
        comment: i.comment ?? null,
      }),
  ),
  'templates.rollback': operation(
    Type.Object(
      { ...TemplateOwnerInput.properties, version: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    ),
    async (ctx, i) =>
      new TemplateService(ctx.jobs).rollback(
        i.kind,
        await templateOwner(ctx, i.storeId),
        i.version,
        'relay templates rollback',
      ),
  ),
  'webhooks.list': operation(NoInput, async (ctx) =>
    (await ctx.directory.listWebhooks()).map(({ secret: _, ...rest }) => rest),
  ),
  'webhooks.remove': operation(IdInput, async (ctx, i) => {
    if (!(await ctx.directory.removeWebhook(i.id)))
      throw new Refused('not-found', `no webhook ${JSON.stringify(i.id)}`);
    return {};
  }),
};

export type AdminOperations = typeof adminOperations;
export type AdminOperationName = keyof AdminOperations;
export type AdminInput<N extends AdminOperationName> = Static<AdminOperations[N]['input']>;
export type AdminOutput<N extends AdminOperationName> = Awaited<ReturnType<AdminOperations[N]['run']>>;

export function isAdminOperation(name: string): name is AdminOperationName {
  return Object.hasOwn(adminOperations, name);
}

const checks = new Map<AdminOperationName, (value: unknown) => unknown>();

/** Checks the input against the operation's schema, then runs it. */
export function runAdminOperation<N extends AdminOperationName>(
  ctx: AdminContext,
  name: N,
  input: unknown,
): Promise<AdminOutput<N>> {
  const op = adminOperations[name] as unknown as AdminOperation<TSchema, AdminOutput<N>>;
  let check = checks.get(name);
  if (!check) {
    check = validator(op.input, `${name} request`);
    checks.set(name, check);
  }
  return op.run(ctx, check(input));
}
