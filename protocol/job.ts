// Print jobs as the HTTP API and the relay see them: the request an order source sends,
// the job states with their transition table, and the job view with its timeline.
import { type Static, Type } from '@sinclair/typebox';
import { Base64, StringEnum } from './schema.js';
import { Ticket } from './ticket.js';
import { STORE_ID_PATTERN } from './topics.js';
import { validator } from './validate.js';

export const JOB_STATES = [
  'accepted', // committed by the relay (the 201 was sent)
  'sent', // published to the store's agent
  'delivered', // the agent committed it to its own database
  'held', // past its expiry at the store; waits for a person to print or discard it
  'printing', // bytes are going to the printer
  'printed', // the printer confirmed it
  'failed', // could not print; detail says why
  'expired', // its expiry passed before it printed; it will never print
  'cancelled', // cancelled through the API (or discarded by a person while held)
  'uncertain', // the agent stopped mid-job (crash, lost database): it may or may not have printed
] as const;
export type JobState = (typeof JOB_STATES)[number];
export const JobStateSchema = StringEnum(JOB_STATES, { description: 'Job state; see docs/protocol.md.' });

export const FINAL_JOB_STATES: readonly JobState[] = [
  'printed',
  'failed',
  'expired',
  'cancelled',
  'uncertain',
];

export function isFinalJobState(state: JobState): boolean {
  return FINAL_JOB_STATES.includes(state);
}

const PHYSICAL_FACTS: JobState[] = ['printing', 'printed', 'failed', 'uncertain'];

/**
 * Which state may follow which. Forward moves only, except one case: `expired` and
 * `cancelled` may be decided by the relay while the agent already holds the job, and what the
 * agent then reports it physically did (printing, printed, failed, uncertain) still wins,
 * because the timeline must tell what happened on paper.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  accepted: [
    'sent',
    'delivered',
    'held',
    'printing',
    'printed',
    'failed',
    'expired',
    'cancelled',
    'uncertain',
  ],
  sent: ['delivered', 'held', 'printing', 'printed', 'failed', 'expired', 'cancelled', 'uncertain'],
  delivered: ['held', 'printing', 'printed', 'failed', 'expired', 'cancelled', 'uncertain'],
  held: ['printing', 'printed', 'failed', 'expired', 'cancelled', 'uncertain'],
  printing: ['printed', 'failed', 'uncertain'],
  expired: PHYSICAL_FACTS,
  cancelled: PHYSICAL_FACTS,
  printed: [],
  failed: [],
  uncertain: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/** What to do when a job's expiry passes before it printed. */
export const OnExpiry = StringEnum(['expire', 'hold'], {
  description:
    'expire (default): never print it; hold: keep it at the store for a person to print or discard.',
});
export type OnExpiry = Static<typeof OnExpiry>;

/** A printer role (e.g. "receipt", "kitchen") or a printer id; the agent resolves it. */
export const PrinterRef = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
  description: 'A printer role such as "receipt" or "kitchen", or a printer id.',
});

export const OrderRef = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Order platform, e.g. "pos", "meituan".',
    }),
    orderNo: Type.String({ minLength: 1, maxLength: 128, description: "The platform's order number." }),
  },
  { additionalProperties: false },
);
export type OrderRef = Static<typeof OrderRef>;

/** Bounds shared by the API, the relay and the agent. */
export const JOB_LIMITS = {
  maxCopies: 10,
  /**
   * No job may wait longer than this to be delivered. Agents remember job ids for at least
   * this long, which is what makes a late duplicate harmless.
   */
  maxLifetimeSeconds: 7 * 24 * 3600,
  /** Raw ESC/POS payload, as base64 characters. */
  maxRawBase64: 1_400_000,
} as const;

export const RawPayload = Base64({
  maxLength: JOB_LIMITS.maxRawBase64,
  description: 'Bytes sent to the printer as they are (ESC/POS), base64.',
});

export const JobRequest = Type.Object(
  {
    storeId: Type.String({ pattern: STORE_ID_PATTERN }),
    printer: PrinterRef,
    ticket: Type.Optional(Ticket),
    raw: Type.Optional(RawPayload),
    copies: Type.Optional(
      Type.Integer({ minimum: 1, maximum: JOB_LIMITS.maxCopies, description: 'Default 1.' }),
    ),
    expiresAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'Never print after this time.' }),
    ),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: JOB_LIMITS.maxLifetimeSeconds,
        description: 'Alternative to expiresAt: seconds from now. Default: the relay setting (24 h).',
      }),
    ),
    onExpiry: Type.Optional(OnExpiry),
    orderRef: Type.Optional(OrderRef),
  },
  {
    $id: 'JobRequest',
    additionalProperties: false,
    description: 'Exactly one of ticket or raw; at most one of expiresAt or ttlSeconds.',
  },
);
export type JobRequest = Static<typeof JobRequest>;

export const parseJobRequest = validator(JobRequest, 'job request');

export const TimelineEntry = Type.Object(
  {
    state: JobStateSchema,
    at: Type.String({ format: 'date-time' }),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type TimelineEntry = Static<typeof TimelineEntry>;

export const JobCreated = Type.Object(
  {
    jobId: Type.String(),
    state: JobStateSchema,
    note: Type.Optional(
      Type.String({ description: 'Something to know, e.g. that the printer could not be checked yet.' }),
    ),
  },
  { additionalProperties: false },
);
export type JobCreated = Static<typeof JobCreated>;

export const JobWaiting = Type.Object(
  {
    printerId: Type.Union([Type.String(), Type.Null()], {
      description: 'The printer it waits for, if that is why.',
    }),
    reasons: Type.Array(Type.String(), {
      description: 'store-offline, store-disabled, or the printer faults (paper-out, cover-open, ...).',
    }),
    message: Type.String({ description: 'The same, for a person.' }),
  },
  { additionalProperties: false, description: 'Why a job that has not started printing waits.' },
);
export type JobWaiting = Static<typeof JobWaiting>;

export const JobView = Type.Object(
  {
    jobId: Type.String(),
    storeId: Type.String(),
    printer: Type.String({ description: 'The role or printer id the job asked for.' }),
    printerId: Type.Union([Type.String(), Type.Null()], {
      description: 'The printer that took it, once known.',
    }),
    kind: StringEnum(['ticket', 'raw']),
    state: JobStateSchema,
    copies: Type.Integer(),
    onExpiry: OnExpiry,
    expiresAt: Type.String({ format: 'date-time' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    orderRef: Type.Union([OrderRef, Type.Null()]),
    reprintOf: Type.Union([Type.String(), Type.Null()]),
    reprintCount: Type.Integer({ description: '0 for an original; n for the n-th reprint of it.' }),
    cancelRequested: Type.Boolean({ description: 'A cancel was asked for and waits for the agent.' }),
    /** Present while the job waits and the relay knows why (from the store's last reports). */
    waiting: Type.Optional(JobWaiting),
    timeline: Type.Array(TimelineEntry),
  },
  { additionalProperties: false },
);
export type JobView = Static<typeof JobView>;

export const JobList = Type.Object({ jobs: Type.Array(JobView) }, { additionalProperties: false });
export type JobList = Static<typeof JobList>;
