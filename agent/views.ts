// What the store agent shows about itself (the local API's GET /v1/status and /v1/jobs), as
// TypeBox schemas so that the API documents them and the types come from one place.
import { type Static, Type } from '@sinclair/typebox';
import { OrderRef } from '../protocol/job.js';
import { StringEnum } from '../protocol/schema.js';
import { PrinterStatus } from '../protocol/status.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
// PrinterStatus without its $id, so that documents embedding it twice stay valid.
const Status = Type.Object(PrinterStatus.properties, { additionalProperties: false });

export const LOCAL_JOB_STATES = [
  'queued', // waiting for its printer
  'held', // its expiry passed (onExpiry "hold"): waits for a person to print or discard it
  'printing', // bytes are going to the printer
  'waiting', // printing, but the printer is not ready (detail: why)
  'printed',
  'failed',
  'expired',
  'cancelled',
  'uncertain', // the agent or the printer stopped mid-job: it may or may not have printed
] as const;
export type LocalJobState = (typeof LOCAL_JOB_STATES)[number];
export const LocalJobStateSchema = StringEnum(LOCAL_JOB_STATES, { description: 'Job state at the store.' });

export const FINAL_LOCAL_STATES: readonly LocalJobState[] = [
  'printed',
  'failed',
  'expired',
  'cancelled',
  'uncertain',
];

export const LocalJobView = Type.Object(
  {
    jobId: Type.String(),
    source: StringEnum(['relay', 'local'], {
      description: 'relay: sent by HQ; local: a test print or a reprint made at the store.',
    }),
    printerRef: Type.String({ description: 'The role or printer id the job asked for.' }),
    printerId: Nullable(Type.String({ description: 'The printer that has it (null: none matched).' })),
    state: LocalJobStateSchema,
    detail: Nullable(Type.String()),
    copies: Type.Integer({ minimum: 1 }),
    copiesPrinted: Type.Integer({ minimum: 0 }),
    orderRef: Nullable(OrderRef),
    reprintOf: Nullable(Type.String()),
    createdAt: DateTime,
    updatedAt: DateTime,
    expiresAt: Nullable(DateTime),
  },
  { $id: 'LocalJobView', additionalProperties: false },
);
export type LocalJobView = Static<typeof LocalJobView>;

export const AgentPrinterView = Type.Object(
  {
    id: Type.String(),
    name: Nullable(Type.String()),
    uri: Type.String(),
    profile: Type.String(),
    roles: Type.Array(Type.String()),
    backup: Nullable(Type.String()),
    status: Status,
    ready: Type.Boolean(),
    notReadyReasons: Type.Array(Type.String(), { description: 'e.g. paper-out, cover-open, disconnected.' }),
    queueDepth: Type.Integer({ minimum: 0, description: 'Jobs queued or printing on it.' }),
    printedJobs: Type.Integer({ minimum: 0, description: 'Jobs printed since the agent was installed.' }),
  },
  { additionalProperties: false },
);
export type AgentPrinterView = Static<typeof AgentPrinterView>;

export const AgentView = Type.Object(
  {
    storeId: Type.String(),
    agentVersion: Type.String(),
    instanceId: Type.String(),
    uptimeSeconds: Type.Number({ minimum: 0 }),
    relay: Type.Object(
      {
        url: Type.String(),
        connected: Type.Boolean(),
        lastConnectedAt: Nullable(DateTime),
        since: {
          ...DateTime,
          description: 'When the link last came up or went down (or the agent started).',
        },
        lastError: Nullable(Type.String()),
        identityConflictAt: Nullable({
          ...DateTime,
          description:
            "When the relay last gave this store's connection to another agent using the same identity (null: not lately).",
        }),
      },
      { additionalProperties: false },
    ),
    outboxDepth: Type.Integer({ minimum: 0, description: 'Events not yet acknowledged by the relay.' }),
    heldJobs: Type.Integer({ minimum: 0 }),
    printingPaused: Type.Boolean({
      description: 'A person paused printing: jobs wait in the queue. A restart of the agent resumes.',
    }),
    lastTicket: Nullable(
      Type.Object(LocalJobView.properties, {
        additionalProperties: false,
        description: 'The order ticket printed last (what "reprint last ticket" prints again).',
      }),
    ),
    printers: Type.Array(AgentPrinterView),
  },
  { $id: 'AgentView', additionalProperties: false },
);
export type AgentView = Static<typeof AgentView>;
