// Operator actions shared by the CLI and the HTTP API: creating stores with their agent
// credentials and enrolment code, API keys, webhooks, and redeeming an enrolment code.
import { isStoreId, STORE_ID_PATTERN } from '../protocol/topics.js';
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
import {
  type Directory,
  DuplicateError,
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

/** A new agent password for an existing store (addStore makes the first one). */
export async function newAgentCredentials(
  directory: Directory,
  storeId: string,
  now: number,
): Promise<AgentCredentials> {
  const { id, token, hash } = makeToken(AGENT_TOKEN_PREFIX);
  await directory.addAgentCredential({ id, storeId, secretHash: hash, createdAt: now, revokedAt: null });
  return { storeId, username: storeId, password: token, clientId: `${storeId}:agent` };
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
    throw new Error(
      `invalid store id ${JSON.stringify(id)}: use letters, digits, - and _ (${STORE_ID_PATTERN})`,
    );
  if (!name.trim()) throw new Error('the store name must not be empty');
  const store = await directory.createStore({ id, name: name.trim(), createdAt: now });
  const credentials = await newAgentCredentials(directory, id, now);
  const enrolment = await newEnrolmentCode(directory, id, now);
  return { store, credentials, enrolment };
}

export class EnrolmentError extends Error {}

/**
 * Stands in for the hash of a code that does not exist: checking against it costs the same
 * scrypt, and no code matches it (that would take an scrypt output of all zeros).
 */
const UNKNOWN_CODE_HASH = `scrypt$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

/** Redeems a one-time enrolment code for a new set of agent credentials. */
export async function enrol(directory: Directory, code: string, now = Date.now()): Promise<AgentCredentials> {
  const refused = new EnrolmentError('unknown, used or expired enrolment code');
  const parsed = parseEnrolmentCode(code);
  if (!parsed) throw new EnrolmentError('an enrolment code looks like ABCD-EFGH-JKMN');
  const record = await directory.getEnrolmentCode(parsed.id);
  // Every well-formed code costs one slow hash, so that how long a refusal takes does not
  // tell whether its first group names a code.
  const live = record !== null && record.usedAt === null && record.expiresAt > now;
  const matches = await slowHashMatches(parsed.secret, live ? record.codeHash : UNKNOWN_CODE_HASH);
  if (!live || !matches) throw refused;
  if (!(await directory.useEnrolmentCode(parsed.id, now))) throw refused;
  return newAgentCredentials(directory, record.storeId, now);
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
  if (ids.length === 0) throw new Error('--stores needs "all" or a comma-separated list of store ids');
  for (const id of ids) {
    if (!(await directory.getStore(id))) throw new Error(`unknown store ${JSON.stringify(id)}`);
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
      throw new Error(`unknown webhook event ${JSON.stringify(e)}: use ${WEBHOOK_EVENT_TYPES.join(', ')}`);
    }
  }
  if (events.length === 0) throw new Error(`--events needs one or more of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
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
