// MQTT topic names shared by the relay and the store agent. Every topic lives under one
// versioned root so that a v2 protocol can run next to v1 on the same broker.
//
//   printrelay/v1/stores/{storeId}/down/jobs      relay -> agent   JobMessage
//   printrelay/v1/stores/{storeId}/down/acks      relay -> agent   AckMessage
//   printrelay/v1/stores/{storeId}/down/control   relay -> agent   ControlMessage
//   printrelay/v1/stores/{storeId}/up/events      agent -> relay   EventBatch
//   printrelay/v1/stores/{storeId}/up/presence    agent -> relay   PresenceMessage (retained; also the last will)

export const TOPIC_ROOT = 'printrelay/v1/stores';

/** Store ids are topic levels and MQTT usernames: no `/`, `+`, `#`, `:` or spaces. */
export const STORE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
const storeIdRe = new RegExp(STORE_ID_PATTERN);

export function isStoreId(value: string): boolean {
  return storeIdRe.test(value);
}

export const DOWN_CHANNELS = ['jobs', 'acks', 'control'] as const;
export const UP_CHANNELS = ['events', 'presence'] as const;
export type DownChannel = (typeof DOWN_CHANNELS)[number];
export type UpChannel = (typeof UP_CHANNELS)[number];

function storeTopic(storeId: string, rest: string): string {
  if (!isStoreId(storeId))
    throw new Error(`invalid store id ${JSON.stringify(storeId)}: must match ${STORE_ID_PATTERN}`);
  return `${TOPIC_ROOT}/${storeId}/${rest}`;
}

export const topics = {
  jobs: (storeId: string) => storeTopic(storeId, 'down/jobs'),
  acks: (storeId: string) => storeTopic(storeId, 'down/acks'),
  control: (storeId: string) => storeTopic(storeId, 'down/control'),
  events: (storeId: string) => storeTopic(storeId, 'up/events'),
  presence: (storeId: string) => storeTopic(storeId, 'up/presence'),
  /**
   * What an agent subscribes to: each of its own downlink channels by name. Not `down/+`: on a
   * relay cluster a wildcard filter is a Redis pattern subscription, and Redis matches every
   * PUBLISH against every pattern, so thousands of them made each message cost milliseconds.
   */
  agentSubscriptions: (storeId: string): string[] =>
    DOWN_CHANNELS.map((c) => storeTopic(storeId, `down/${c}`)),
  /** All of a store's downlink in one filter: still accepted from agents (older ones use it). */
  agentDownlink: (storeId: string) => storeTopic(storeId, 'down/+'),
};

export type StoreTopic =
  | { storeId: string; direction: 'down'; channel: DownChannel }
  | { storeId: string; direction: 'up'; channel: UpChannel };

/** Parse a concrete topic (no wildcards); null when it is not one of ours. */
export function parseStoreTopic(topic: string): StoreTopic | null {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return null;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length !== 3) return null;
  const [storeId, direction, channel] = parts as [string, string, string];
  if (!isStoreId(storeId)) return null;
  if (direction === 'down' && (DOWN_CHANNELS as readonly string[]).includes(channel)) {
    return { storeId, direction, channel: channel as DownChannel };
  }
  if (direction === 'up' && (UP_CHANNELS as readonly string[]).includes(channel)) {
    return { storeId, direction, channel: channel as UpChannel };
  }
  return null;
}

/**
 * The MQTT client id an agent must use: its store id, optionally followed by `:` and a suffix.
 * Tying the client id to the store stops one store's credentials from taking over (and so
 * disconnecting) another store's session.
 */
export function clientIdBelongsTo(clientId: string, storeId: string): boolean {
  return clientId === storeId || clientId.startsWith(`${storeId}:`);
}
