// What the relay keeps, behind two narrow interfaces so that a PostgreSQL implementation
// can replace SQLite without touching the rest: Directory (stores, their agents and
// printers, credentials, API keys, webhook subscriptions) and JobStore (jobs, their
// timelines, agent event de-duplication, and the outbox of events for webhooks).
// Every method is atomic; times are milliseconds since the epoch. test/support/store-contract.ts
// is what every implementation must pass; relay/store/open.ts opens the SQLite one.

import type { JobState, OnExpiry, OrderRef } from '../../protocol/job.js';
import type { PrinterHealth, PrinterInfo } from '../../protocol/messages.js';
import type { PrinterStatus } from '../../protocol/status.js';
import type { ChangeFeed } from './changes.js';
import type { DashboardStore } from './dashboard-store.js';

/** Which stores a key or webhook covers. */
export type StoreScope = 'all' | string[];

export function scopeIncludes(scope: StoreScope, storeId: string): boolean {
  return scope === 'all' || scope.includes(storeId);
}

export interface StoreRecord {
  id: string;
  name: string;
  createdAt: number;
  online: boolean;
  connectionId: string | null;
  lastSeenAt: number | null;
  agentVersion: string | null;
  instanceId: string | null;
  /** The last health event, as sent. */
  health: unknown;
  healthAt: number | null;
  /** When an operator disabled it: its agent is refused and it takes no new jobs. */
  disabledAt: number | null;
}

/** What a new job for a store is checked against. */
export interface StoreRouting {
  disabled: boolean;
  /** Whether its agent has said hello, so that `printers` is what the store has. */
  printersKnown: boolean;
  printers: { id: string; roles: string[] }[];
}

export interface PrinterRecord {
  storeId: string;
  printerId: string;
  info: PrinterInfo | null;
  status: PrinterStatus | null;
  statusAt: number | null;
  health: PrinterHealth | null;
}

export interface AgentCredentialRecord {
  id: string;
  storeId: string;
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface EnrolmentCodeRecord {
  id: string;
  storeId: string;
  codeHash: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  secretHash: string;
  stores: StoreScope;
  createdAt: number;
  revokedAt: number | null;
}

export const WEBHOOK_EVENT_TYPES = [
  'job.state',
  'printer.status',
  'store.online',
  'store.offline',
  'store.identity-conflict',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookRecord {
  id: string;
  url: string;
  /** HMAC key. The relay must sign with it, so it cannot be hashed: stored sealed (../secret-box.ts). */
  secret: string;
  events: WebhookEventType[];
  stores: StoreScope;
  createdAt: number;
}

/** The database cannot be reached just now (a PostgreSQL server restarting): try again shortly. */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

export class DuplicateError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'DuplicateError';
  }
}

export interface PresenceUpdate {
  online: boolean;
  connectionId: string;
  agentVersion: string;
  at: number;
}

export interface Directory {
  createStore(store: { id: string; name: string; createdAt: number }): Promise<StoreRecord>;
  getStore(id: string): Promise<StoreRecord | null>;
  /** Whether the store's agent is connected; null for an unknown store. Cheaper than getStore. */
  storeOnline(id: string): Promise<boolean | null>;
  listStores(): Promise<StoreRecord[]>;
  listPrinters(storeId: string): Promise<PrinterRecord[]>;
  /** null for an unknown store. */
  storeRouting(id: string): Promise<StoreRouting | null>;
  /** Disables (at a time) or enables (null) a store; false for an unknown store. */
  setStoreDisabled(id: string, disabledAt: number | null): Promise<boolean>;
  /** Deletes a store with its printers, credentials, codes and jobs; false for an unknown store. */
  removeStore(id: string): Promise<boolean>;

  addAgentCredential(cred: AgentCredentialRecord): Promise<void>;
  getAgentCredential(id: string): Promise<AgentCredentialRecord | null>;
  /** Revokes every credential of the store but `keepId`; returns how many. */
  revokeAgentCredentials(storeId: string, at: number, keepId?: string): Promise<number>;
  addEnrolmentCode(code: EnrolmentCodeRecord): Promise<void>;
  getEnrolmentCode(id: string): Promise<EnrolmentCodeRecord | null>;
  /** Marks the code used; false when it was already used or has expired. */
  useEnrolmentCode(id: string, now: number): Promise<boolean>;
  /** Makes the store's unused codes unusable (marked used at `now`); returns how many. */
  voidEnrolmentCodes(storeId: string, now: number): Promise<number>;

  addApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  revokeApiKey(id: string, now: number): Promise<boolean>;

  addWebhook(hook: WebhookRecord): Promise<void>;
  listWebhooks(): Promise<WebhookRecord[]>;
  removeWebhook(id: string): Promise<boolean>;

  /**
   * Applies a presence message. An offline message from another connection than the
   * current one (an old connection's last will) is ignored; returns whether it applied.
   * Queues a store.online / store.offline event when it differs from the last one queued.
   */
  setPresence(storeId: string, presence: PresenceUpdate): Promise<boolean>;
  /** Queues a store.identity-conflict event: two live agents used the store's identity. */
  recordIdentityConflict(storeId: string, at: number, data: unknown): Promise<void>;
  /** Notes that the agent was heard from. */
  touchStore(storeId: string, at: number): Promise<void>;
  /** At start of an embedded broker: nobody is connected yet. */
  markAllOffline(): Promise<void>;
  /** Records a hello (which also marks the store online); returns the instance id the agent had before. */
  /**
   * `at`: when the relay got it (last seen); `statusAt`: when the agent sent it, by the agent's
   * clock like its printer-status events, so that a status sent after the hello wins. Their
   * statuses are kept but not reported: a hello comes before the agent's printers have settled
   * (see reportPrinterStatuses).
   */
  recordHello(
    storeId: string,
    hello: {
      agentVersion: string;
      instanceId: string;
      printers: PrinterInfo[];
      at: number;
      statusAt: number;
    },
  ): Promise<{ previousInstanceId: string | null }>;
  /**
   * Applies a printer status unless a newer one is known; queues a printer.status event when it
   * differs from the last one queued, unless `report` is false (then it is only kept).
   * Returns whether it queued one.
   */
  setPrinterStatus(
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    at: number,
    opts?: { report?: boolean },
  ): Promise<boolean>;
  /** Queues a printer.status event for each printer whose kept status differs from the last reported; how many. */
  reportPrinterStatuses(storeId: string): Promise<number>;
  recordHealth(
    storeId: string,
    health: { agentVersion: string; printers: PrinterHealth[]; at: number; raw: unknown },
  ): Promise<void>;
}

export interface JobRecord {
  id: string;
  storeId: string;
  printer: string;
  printerId: string | null;
  kind: 'ticket' | 'raw';
  /** Ticket JSON text, or base64 raw bytes. */
  payload: string;
  copies: number;
  onExpiry: OnExpiry;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  state: JobState;
  orderRef: OrderRef | null;
  reprintOf: string | null;
  reprintCount: number;
  cancelRequestedAt: number | null;
  cancelSentAt: number | null;
  lastSentAt: number | null;
  sendCount: number;
}

export interface TimelineRecord {
  state: JobState;
  at: number;
  detail: string | null;
}

export interface NewJob
  extends Omit<
    JobRecord,
    'updatedAt' | 'state' | 'printerId' | 'cancelRequestedAt' | 'cancelSentAt' | 'lastSentAt' | 'sendCount'
  > {
  /** Set when the request carried an Idempotency-Key. */
  idempotency: { apiKeyId: string; key: string; requestHash: string } | null;
}

export type CreateJobResult =
  | { outcome: 'created'; job: JobRecord }
  /** Same key, same body: the job made the first time. */
  | { outcome: 'replayed'; job: JobRecord }
  /** Same key, another body. */
  | { outcome: 'conflict'; job: JobRecord };

export interface JobFilter {
  storeIds: StoreScope;
  storeId?: string;
  orderNo?: string;
  source?: string;
  state?: JobState;
  since?: number;
  limit: number;
}

export interface StateChange {
  at: number;
  detail?: string | undefined;
  printerId?: string | undefined;
  /** Apply only if the job is in one of these states (a relay decision made on what it read earlier). */
  onlyFrom?: readonly JobState[] | undefined;
}

/** A domain event kept for webhooks. */
export interface RelayEvent {
  seq: number;
  id: string;
  type: WebhookEventType;
  storeId: string;
  at: number;
  data: unknown;
}

/** One saved version of a ticket template (TicketTemplate JSON). */
export interface TemplateVersion {
  kind: string;
  /** null: HQ's, for every store without its own. */
  storeId: string | null;
  version: number;
  body: string;
  savedBy: string;
  comment: string | null;
  savedAt: number;
}

/** An order as its source last sent it (POST /v1/orders), as JSON text. */
export interface OrderRecord {
  storeId: string;
  source: string;
  orderNo: string;
  body: string;
  cancelledAt: number | null;
  updatedAt: number;
}

export interface DueDelivery {
  webhook: WebhookRecord;
  event: RelayEvent;
  attempts: number;
}

export interface JobStore {
  /**
   * Commits the job (or finds the one made with the same idempotency key). Throws
   * DuplicateError when a reprint with the same reprintOf and reprintCount exists.
   */
  createJob(job: NewJob): Promise<CreateJobResult>;
  getJob(id: string): Promise<JobRecord | null>;
  /** The store a job belongs to; null for an unknown job. Cheaper than getJob. */
  storeOfJob(id: string): Promise<string | null>;
  listJobs(filter: JobFilter): Promise<JobRecord[]>;
  timelines(jobIds: string[]): Promise<Map<string, TimelineRecord[]>>;
  countReprints(originalId: string): Promise<number>;
  /** Jobs of a store not yet in a final state. */
  openJobs(storeId: string): Promise<JobRecord[]>;
  /** Number of open jobs per store. */
  openJobCounts(): Promise<Map<string, number>>;

  /**
   * Moves a job to `to` if JOB_TRANSITIONS allows it, adds a timeline entry and queues a
   * job.state event; returns the updated job, or null when the move is not allowed.
   */
  transitionJob(jobId: string, to: JobState, change: StateChange): Promise<JobRecord | null>;
  /**
   * Claims a publish to the agent: false when the job is no longer waiting to be sent, or was
   * sent at or after `resendBefore` (another path just sent it). The first claim moves
   * accepted -> sent.
   */
  markSent(jobId: string, at: number, resendBefore: number): Promise<boolean>;
  requestCancel(jobId: string, at: number): Promise<JobRecord | null>;
  markCancelSent(jobId: string, at: number): Promise<void>;
  /**
   * Jobs of online stores to publish now: accepted ones, and sent ones last published
   * before `resendBefore`. Jobs with a cancel request are left out.
   */
  jobsToSend(resendBefore: number, limit: number): Promise<JobRecord[]>;
  /** Open jobs of online stores with a cancel request not sent since `resendBefore`. */
  cancelsToSend(resendBefore: number, limit: number): Promise<JobRecord[]>;
  /**
   * Undelivered jobs (accepted, sent) that must not be sent any more: onExpiry=expire past
   * expiresAt, or any job older than `createdBefore` (the lifetime limit).
   */
  undeliverableJobs(now: number, createdBefore: number, limit: number): Promise<JobRecord[]>;

  /** Whether an agent event (outbox id) was already handled for this store. */
  agentEventSeen(storeId: string, eventId: string): Promise<boolean>;
  rememberAgentEvent(storeId: string, eventId: string, at: number): Promise<void>;

  /** Creates webhook deliveries for events not yet fanned out; returns how many events. */
  fanOutEvents(limit: number): Promise<number>;
  dueDeliveries(now: number, limit: number): Promise<DueDelivery[]>;
  /** Deliveries not yet done (the webhook backlog). */
  pendingDeliveries(): Promise<number>;
  markDelivered(webhookId: string, eventSeq: number, at: number): Promise<void>;
  /** Records a failed attempt at `at`; nextAttemptAt null gives up. */
  markDeliveryFailed(
    webhookId: string,
    eventSeq: number,
    failure: { error: string; at: number; nextAttemptAt: number | null },
  ): Promise<void>;

  /** Keeps `body` as the order's latest version (committed before it returns). */
  putOrder(order: OrderRecord): Promise<void>;
  getOrder(storeId: string, source: string, orderNo: string): Promise<OrderRecord | null>;
  /** A store's menu routing (StoreMenu JSON), replacing the one before; null when it has none. */
  putMenu(storeId: string, menu: string, at: number): Promise<void>;
  getMenu(storeId: string): Promise<string | null>;
  /** Saves a new version of a template (storeId null: HQ's); returns it with its number. */
  addTemplateVersion(version: Omit<TemplateVersion, 'version'>): Promise<TemplateVersion>;
  /** Every version, newest first. */
  templateVersions(kind: string, storeId: string | null): Promise<TemplateVersion[]>;

  /** Deletes old data: agent event ids, finished webhook deliveries and events, final jobs and orders. */
  prune(before: { agentEvents: number; webhookEvents: number; jobs: number }): Promise<void>;

  close(): Promise<void>;
}

/** What the relay keeps, as one object: what startRelay, the CLI, bench and chaos open. */
export interface RelayStore extends Directory, JobStore {
  /** The HQ dashboard's users, sessions, audit log, printer history and fleet queries. */
  dashboard: DashboardStore;
  /** Committed changes, for the dashboard's live feed. */
  changes: ChangeFeed;
}
