// Every MQTT payload between the relay and a store agent (JSON, UTF-8), with its schema,
// type and validator. See docs/protocol.md for topics, QoS and the ack/outbox flow.
// Receivers ignore properties they do not know (additive changes keep `v`); a breaking
// change bumps `v` and the topic root.
import { type Static, Type } from '@sinclair/typebox';
import { OnExpiry, OrderRef, PrinterRef, RawPayload } from './job.js';
import { StringEnum, TaggedUnion } from './schema.js';
import { PrinterStatus } from './status.js';
import { Ticket } from './ticket.js';
import { ValidationError, validator } from './validate.js';

export const PROTOCOL_VERSION = 1;
const V = Type.Literal(PROTOCOL_VERSION, { description: 'Protocol version.' });
const At = Type.String({
  format: 'date-time',
  description: 'When it happened, by the sender clock (ISO 8601).',
});
export const JobId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** Outbox ids are chosen by the agent and never reused, even after its database is replaced (use UUIDs). */
export const OutboxId = Type.String({ minLength: 1, maxLength: 100 });
export const PrinterId = Type.String({ minLength: 1, maxLength: 64 });
// PrinterStatus without its $id: Ajv refuses one $id twice inside a schema (hello and printer-status both carry it).
const Status = Type.Object(PrinterStatus.properties, { additionalProperties: false });

// ---- downlink: relay -> agent ----

/** down/jobs, QoS 1. The agent commits it (idempotent by jobId), then reports job-received. */
export const JobMessage = Type.Object(
  {
    v: V,
    jobId: JobId,
    printer: PrinterRef,
    ticket: Type.Optional(Ticket),
    raw: Type.Optional(RawPayload),
    copies: Type.Integer({ minimum: 1 }),
    expiresAt: Type.Optional(At),
    onExpiry: OnExpiry,
    reprintOf: Type.Optional(JobId),
    reprintCount: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Informative: the relay already put the REPRINT mark in the job.',
      }),
    ),
    orderRef: Type.Optional(OrderRef),
    createdAt: At,
  },
  { $id: 'JobMessage', description: 'Exactly one of ticket or raw is present.' },
);
export type JobMessage = Static<typeof JobMessage>;

/** down/acks, QoS 1. Outbox ids the relay has committed; the agent deletes them from its outbox. */
export const AckMessage = Type.Object(
  {
    v: V,
    ids: Type.Array(OutboxId, { minItems: 1, maxItems: 1000 }),
  },
  { $id: 'AckMessage' },
);
export type AckMessage = Static<typeof AckMessage>;

export const CancelCommand = Type.Object({
  v: V,
  type: Type.Literal('cancel'),
  jobId: JobId,
});
export type CancelCommand = Static<typeof CancelCommand>;

/**
 * Sent by the relay only to the connection being replaced, just before closing it: another
 * connection proved this store's identity. An agent that gets it is not the only one using the
 * identity; it retries slowly instead of pushing the other off again at once.
 */
export const TakeoverNotice = Type.Object({
  v: V,
  type: Type.Literal('takeover'),
  clientId: Type.String({ maxLength: 256, description: "The new connection's MQTT client id." }),
  address: Type.Optional(
    Type.String({ maxLength: 100, description: 'Its network address, as the relay sees it.' }),
  ),
  at: At,
});
export type TakeoverNotice = Static<typeof TakeoverNotice>;

export const HeldDecisionCommand = Type.Object({
  v: V,
  type: Type.Literal('decide-held'),
  jobId: JobId,
  decision: StringEnum(['print', 'discard']),
});

/**
 * down/control, QoS 1. cancel: do not print this job if it has not started; report
 * job-state cancelled. For a job id it does not know yet, the agent remembers the cancel so
 * the job is never printed if it arrives later. decide-held: a person at HQ decided a held
 * job (as the store can through the agent's local API): print it anyway, or discard it
 * (reported cancelled); ignored unless the job is still held. takeover: see TakeoverNotice.
 */
export const ControlMessage = TaggedUnion([CancelCommand, HeldDecisionCommand, TakeoverNotice], {
  $id: 'ControlMessage',
});
export type ControlMessage = Static<typeof ControlMessage>;
/** The control messages the agent acts on; a takeover notice concerns only its link. */
export type AgentCommand = Exclude<ControlMessage, TakeoverNotice>;

// ---- uplink: agent -> relay ----

export const PrinterInfo = Type.Object({
  id: PrinterId,
  name: Type.Optional(Type.String({ maxLength: 200 })),
  roles: Type.Array(Type.String({ maxLength: 64 }), {
    maxItems: 32,
    description: 'e.g. ["receipt"], ["kitchen"].',
  }),
  profile: Type.Optional(Type.String({ maxLength: 64, description: 'Printer profile name.' })),
  backup: Type.Optional(PrinterId),
  status: Type.Optional(Status),
});
export type PrinterInfo = Static<typeof PrinterInfo>;

const EventBase = {
  id: OutboxId,
  at: At,
};

/**
 * Sent first after every (re)connect, through the outbox like every event (so events queued
 * before it are handled first). jobIds: every job the agent holds in a non-final state.
 * The relay answers by sending the jobs it thinks are undelivered and missing from jobIds.
 */
export const HelloEvent = Type.Object({
  ...EventBase,
  type: Type.Literal('hello'),
  agentVersion: Type.String({ maxLength: 64 }),
  instanceId: Type.String({
    minLength: 1,
    maxLength: 100,
    description:
      "Random id made when the agent's database was created: a new one means the old jobs are gone.",
  }),
  printers: Type.Array(PrinterInfo, { maxItems: 64 }),
  jobIds: Type.Array(JobId, { maxItems: 20_000 }),
});

/** The agent committed a job from down/jobs (also sent again for a duplicate). */
export const JobReceivedEvent = Type.Object({
  ...EventBase,
  type: Type.Literal('job-received'),
  jobId: JobId,
});

export const AGENT_JOB_STATES = [
  'held',
  'printing',
  'printed',
  'failed',
  'expired',
  'cancelled',
  'uncertain',
] as const;
export type AgentJobState = (typeof AGENT_JOB_STATES)[number];

export const JobStateEvent = Type.Object({
  ...EventBase,
  type: Type.Literal('job-state'),
  jobId: JobId,
  state: StringEnum(AGENT_JOB_STATES),
  detail: Type.Optional(
    Type.String({ maxLength: 1000, description: 'Why (failed, uncertain) or what happened.' }),
  ),
  printerId: Type.Optional(PrinterId),
});

export const PrinterStatusEvent = Type.Object({
  ...EventBase,
  type: Type.Literal('printer-status'),
  printerId: PrinterId,
  status: Status,
});

export const PrinterHealth = Type.Object({
  printerId: PrinterId,
  queueDepth: Type.Integer({ minimum: 0, description: 'Jobs waiting for this printer.' }),
  printedJobs: Type.Integer({ minimum: 0, description: 'Jobs printed since the agent was installed.' }),
  paperUsedMm: Type.Number({ minimum: 0, description: 'Estimated paper used since installed, millimetres.' }),
});

/** Every 30 s. */
export const HealthEvent = Type.Object({
  ...EventBase,
  type: Type.Literal('health'),
  agentVersion: Type.String({ maxLength: 64 }),
  uptimeSeconds: Type.Number({ minimum: 0 }),
  memoryRssBytes: Type.Integer({ minimum: 0 }),
  heldJobs: Type.Integer({ minimum: 0 }),
  printers: Type.Array(PrinterHealth, { maxItems: 64 }),
});

export const AgentEvent = TaggedUnion(
  [HelloEvent, JobReceivedEvent, JobStateEvent, PrinterStatusEvent, HealthEvent],
  { $id: 'AgentEvent' },
);
export type AgentEvent = Static<typeof AgentEvent>;
export type HelloEvent = Static<typeof HelloEvent>;
export type JobReceivedEvent = Static<typeof JobReceivedEvent>;
export type JobStateEvent = Static<typeof JobStateEvent>;
export type PrinterStatusEvent = Static<typeof PrinterStatusEvent>;
export type HealthEvent = Static<typeof HealthEvent>;
export type PrinterHealth = Static<typeof PrinterHealth>;

/**
 * up/events, QoS 1: outbox entries, oldest first. The envelope is checked first and each
 * event on its own, so one bad event cannot jam the rest of the outbox.
 */
export const EventBatch = Type.Object(
  {
    v: V,
    events: Type.Array(Type.Object({ id: OutboxId, type: Type.String() }), { minItems: 1, maxItems: 500 }),
  },
  { $id: 'EventBatch' },
);
export type EventBatch = { v: typeof PROTOCOL_VERSION; events: AgentEvent[] };

/**
 * up/presence, QoS 1, retained. {online:true} after connecting; the last will carries
 * {online:false} with the same connectionId (its `at` is the connect time). A clean
 * shutdown publishes {online:false} itself before disconnecting.
 */
export const PresenceMessage = Type.Object(
  {
    v: V,
    online: Type.Boolean(),
    at: At,
    agentVersion: Type.String({ maxLength: 64 }),
    connectionId: Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Random per connection: an old connection’s last will never overrides a newer connection.',
    }),
  },
  { $id: 'PresenceMessage' },
);
export type PresenceMessage = Static<typeof PresenceMessage>;

const checkJobMessage = validator(JobMessage, 'job message');
/** Validates a job message, including that it carries exactly one of ticket or raw. */
export function parseJobMessage(value: unknown): JobMessage {
  const msg = checkJobMessage(value);
  if ((msg.ticket === undefined) === (msg.raw === undefined)) {
    throw new ValidationError('job message', [
      { path: '/ticket', message: 'exactly one of ticket or raw is required' },
    ]);
  }
  return msg;
}
export const parseAckMessage = validator(AckMessage, 'ack message');
export const parseControlMessage = validator(ControlMessage, 'control message');
export const parseEventBatchEnvelope = validator(EventBatch, 'event batch');
export const parseAgentEvent = validator(AgentEvent, 'agent event');
export const parsePresenceMessage = validator(PresenceMessage, 'presence message');

/** Compiles what an agent parses from the relay (its first job would wait ~0.1 s otherwise). */
export function compileDownlinkValidators(): void {
  for (const v of [checkJobMessage, parseAckMessage, parseControlMessage]) v.compile();
}

/** Compiles what the relay parses from agents. */
export function compileUplinkValidators(): void {
  for (const v of [parseEventBatchEnvelope, parseAgentEvent, parsePresenceMessage]) v.compile();
}

/** Decode an MQTT payload as JSON; a clear error instead of a SyntaxError deep in a handler. */
export function decodeJson(payload: Buffer | Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}
