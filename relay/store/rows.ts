// The relay database's rows (snake_case columns, JSON text, 0/1 flags) as the records of
// job-store.ts, and the few values stored as text.
import type { JobState } from '../../protocol/job.js';
import type { PrinterHealth, PrinterInfo } from '../../protocol/messages.js';
import type { PrinterStatus } from '../../protocol/status.js';
import type { Row } from '../../shared/sqlite.js';
import type { SecretBox } from '../secret-box.js';
import type { AuditRecord, Role, SessionRecord, UserRecord } from './dashboard-store.js';
import type {
  AgentCredentialRecord,
  ApiKeyRecord,
  DueDelivery,
  EnrolmentCodeRecord,
  JobRecord,
  OrderRecord,
  PrinterRecord,
  StoreRecord,
  StoreScope,
  TemplateVersion,
  TimelineRecord,
  WebhookEventType,
  WebhookRecord,
} from './job-store.js';

/** A JSON text column; null stays null. */
export function json<T>(text: unknown): T | null {
  return typeof text === 'string' ? (JSON.parse(text) as T) : null;
}

export function scopeToText(scope: StoreScope): string {
  return scope === 'all' ? 'all' : JSON.stringify(scope);
}

function scopeFromText(text: unknown): StoreScope {
  return text === 'all' ? 'all' : (JSON.parse(String(text)) as string[]);
}

export function toStore(r: Row): StoreRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    createdAt: r.created_at as number,
    online: r.online === 1,
    connectionId: (r.connection_id as string | null) ?? null,
    lastSeenAt: (r.last_seen_at as number | null) ?? null,
    agentVersion: (r.agent_version as string | null) ?? null,
    instanceId: (r.instance_id as string | null) ?? null,
    health: json(r.health),
    healthAt: (r.health_at as number | null) ?? null,
    disabledAt: (r.disabled_at as number | null) ?? null,
  };
}

export function toPrinter(r: Row): PrinterRecord {
  return {
    storeId: r.store_id as string,
    printerId: r.printer_id as string,
    info: json<PrinterInfo>(r.info),
    status: json<PrinterStatus>(r.status),
    statusAt: (r.status_at as number | null) ?? null,
    health: json<PrinterHealth>(r.health),
  };
}

export function toAgentCredential(r: Row): AgentCredentialRecord {
  return {
    id: r.id as string,
    storeId: r.store_id as string,
    secretHash: r.secret_hash as string,
    createdAt: r.created_at as number,
    revokedAt: (r.revoked_at as number | null) ?? null,
  };
}

export function toEnrolmentCode(r: Row): EnrolmentCodeRecord {
  return {
    id: r.id as string,
    storeId: r.store_id as string,
    codeHash: r.code_hash as string,
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
    usedAt: (r.used_at as number | null) ?? null,
  };
}

export function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    secretHash: r.secret_hash as string,
    stores: scopeFromText(r.stores),
    createdAt: r.created_at as number,
    revokedAt: (r.revoked_at as number | null) ?? null,
  };
}

/** A webhook row; its secret is stored sealed (../secret-box.ts) and opened here. */
export function toWebhook(r: Row, secrets: SecretBox): WebhookRecord {
  return {
    id: r.id as string,
    url: r.url as string,
    secret: secrets.open(r.secret as string, r.id as string),
    events: JSON.parse(r.events as string) as WebhookEventType[],
    stores: scopeFromText(r.stores),
    createdAt: r.created_at as number,
  };
}

export function toJob(r: Row): JobRecord {
  return {
    id: r.id as string,
    storeId: r.store_id as string,
    printer: r.printer as string,
    printerId: (r.printer_id as string | null) ?? null,
    kind: r.kind as JobRecord['kind'],
    payload: r.payload as string,
    copies: r.copies as number,
    onExpiry: r.on_expiry as JobRecord['onExpiry'],
    expiresAt: r.expires_at as number,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    state: r.state as JobState,
    orderRef:
      r.order_no == null
        ? null
        : { source: (r.order_source as string | null) ?? '', orderNo: r.order_no as string },
    reprintOf: (r.reprint_of as string | null) ?? null,
    reprintCount: r.reprint_count as number,
    cancelRequestedAt: (r.cancel_requested_at as number | null) ?? null,
    cancelSentAt: (r.cancel_sent_at as number | null) ?? null,
    lastSentAt: (r.last_sent_at as number | null) ?? null,
    sendCount: r.send_count as number,
  };
}

export function toTimeline(r: Row): TimelineRecord {
  return {
    state: r.state as JobState,
    at: r.at as number,
    detail: (r.detail as string | null) ?? null,
  };
}

/** A webhook row joined with its delivery (attempts) and its event (columns prefixed e_). */
export function toDueDelivery(r: Row, secrets: SecretBox): DueDelivery {
  return {
    webhook: toWebhook(r, secrets),
    attempts: r.attempts as number,
    event: {
      seq: r.e_seq as number,
      id: r.e_id as string,
      type: r.e_type as WebhookEventType,
      storeId: r.e_store_id as string,
      at: r.e_at as number,
      data: JSON.parse(r.e_data as string),
    },
  };
}

export function toOrder(r: Row): OrderRecord {
  return {
    storeId: r.store_id as string,
    source: r.source as string,
    orderNo: r.order_no as string,
    body: r.body as string,
    cancelledAt: r.cancelled_at as number | null,
    updatedAt: r.updated_at as number,
  };
}

/** HQ's templates are kept under store_id '' (a key column cannot be null). */
export function toTemplateVersion(r: Row): TemplateVersion {
  return {
    kind: r.kind as string,
    storeId: r.store_id === '' ? null : (r.store_id as string),
    version: r.version as number,
    body: r.body as string,
    savedBy: r.saved_by as string,
    comment: r.comment as string | null,
    savedAt: r.saved_at as number,
  };
}

export function toUser(r: Row): UserRecord {
  return {
    name: r.name as string,
    passwordHash: r.password_hash as string,
    role: r.role as Role,
    stores: scopeFromText(r.stores),
    createdAt: r.created_at as number,
  };
}

export function toSession(r: Row): SessionRecord {
  return {
    tokenHash: r.token_hash as string,
    userName: r.user_name as string,
    createdAt: r.created_at as number,
    lastSeenAt: r.last_seen_at as number,
  };
}

export function toAuditRecord(r: Row): AuditRecord {
  return {
    seq: r.seq as number,
    at: r.at as number,
    user: r.user_name as string,
    action: r.action as string,
    storeId: (r.store_id as string | null) ?? null,
    target: (r.target as string | null) ?? null,
    detail: (r.detail as string | null) ?? null,
  };
}
