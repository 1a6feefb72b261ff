// Who may connect to the broker and what each agent may read and write. Pure decisions over
// the Directory, so that any broker (the embedded one, or an external cluster's auth hook)
// enforces the same rules.
import { clientIdBelongsTo, parseStoreTopic, topics } from '../../protocol/topics.js';
import { parseToken, tokenMatches } from '../credentials.js';
import type { Directory } from '../store/job-store.js';

/** Agent passwords are `pra_<credentialId>_<secret>`; the MQTT username is the store id. */
export const AGENT_TOKEN_PREFIX = 'pra';

export type AuthResult =
  /** `online`: the store was online as this login began (its agent may be on another relay process). */
  | { ok: true; storeId: string; online: boolean }
  | { ok: false; reason: 'bad-credentials' | 'bad-client-id' | 'disabled'; message: string };

export async function authenticateAgent(
  directory: Directory,
  clientId: string,
  username: string | undefined,
  password: Buffer | string | undefined,
): Promise<AuthResult> {
  const refused = { ok: false, reason: 'bad-credentials', message: 'bad username or password' } as const;
  if (!username || password === undefined) return refused;
  const token = parseToken(
    AGENT_TOKEN_PREFIX,
    Buffer.isBuffer(password) ? password.toString('utf8') : password,
  );
  if (!token) return refused;
  const cred = await directory.getAgentCredential(token.id);
  if (
    !cred ||
    cred.revokedAt !== null ||
    cred.storeId !== username ||
    !tokenMatches(token.secret, cred.secretHash)
  ) {
    return refused;
  }
  // Credentials are revoked at once (rotation, enrolment, removal); a disabled store keeps
  // them but may not connect until it is enabled again.
  const store = await directory.getStore(cred.storeId);
  if (store?.disabledAt != null) {
    return { ok: false, reason: 'disabled', message: `store ${cred.storeId} is disabled` };
  }
  if (!clientIdBelongsTo(clientId, cred.storeId)) {
    return {
      ok: false,
      reason: 'bad-client-id',
      message: `client id must be "${cred.storeId}" or start with "${cred.storeId}:"`,
    };
  }
  return { ok: true, storeId: cred.storeId, online: store?.online ?? false };
}

/** An agent publishes only its own uplink; only presence may be retained. Returns why not, or null. */
export function publishRefusal(storeId: string, topic: string, retain: boolean): string | null {
  const t = parseStoreTopic(topic);
  if (!t || t.storeId !== storeId || t.direction !== 'up')
    return `store ${storeId} may not publish to ${topic}`;
  if (retain && t.channel !== 'presence') return `only presence messages may be retained (${topic})`;
  return null;
}

/** An agent subscribes only to its own downlink: `.../down/+` or one `.../down/<channel>`. */
export function maySubscribe(storeId: string, filter: string): boolean {
  if (filter === topics.agentDownlink(storeId)) return true;
  const t = parseStoreTopic(filter);
  return t !== null && t.storeId === storeId && t.direction === 'down';
}
