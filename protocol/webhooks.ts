// What a webhook receiver gets: one JSON event per POST, signed. These schemas document the
// payloads in the OpenAPI document (its `webhooks` section) and type what the relay records.
import { type Static, Type } from '@sinclair/typebox';
import { JobStateSchema, OrderRef } from './job.js';
import { PrinterStatus } from './status.js';

const Iso = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const JobStateEventData = Type.Object(
  {
    jobId: Type.String(),
    storeId: Type.String(),
    state: JobStateSchema,
    previousState: JobStateSchema,
    at: Iso,
    detail: Nullable(Type.String()),
    printer: Type.String({ description: 'The role or printer id the job asked for.' }),
    printerId: Nullable(Type.String({ description: 'The printer that took it, once known.' })),
    orderRef: Nullable(OrderRef),
    reprintOf: Nullable(Type.String()),
  },
  { $id: 'JobStateEventData' },
);
export type JobStateEventData = Static<typeof JobStateEventData>;

export const PrinterStatusEventData = Type.Object(
  {
    storeId: Type.String(),
    printerId: Type.String(),
    ready: Type.Boolean(),
    reasons: Type.Array(Type.String(), {
      description: 'Why it is not ready, e.g. "paper out"; empty when ready.',
    }),
    status: PrinterStatus,
  },
  { $id: 'PrinterStatusEventData' },
);
export type PrinterStatusEventData = Static<typeof PrinterStatusEventData>;

const envelope = <T extends typeof JobStateEventData | typeof PrinterStatusEventData>(
  type: string,
  data: T,
  $id: string,
) =>
  Type.Object(
    {
      id: Type.String({ description: 'Event id: the same on every retry; de-duplicate by it.' }),
      type: Type.Literal(type),
      sequence: Type.Integer({ description: 'Increases with each event the relay records.' }),
      createdAt: Iso,
      storeId: Type.String(),
      data,
    },
    { $id },
  );

export const JobStateEvent = envelope('job.state', JobStateEventData, 'JobStateEvent');
export const PrinterStatusEvent = envelope('printer.status', PrinterStatusEventData, 'PrinterStatusEvent');

/** How a receiver checks a POST; shown in the OpenAPI document. */
export const WEBHOOK_SIGNATURE_DOC =
  'Each POST carries `X-Printrelay-Signature: t=<unix seconds>,v1=<hex>`, where hex is ' +
  "HMAC-SHA256 with the webhook's signing secret (shown once by `printrelay relay webhooks add`) over " +
  '`<t>.<raw body>`. Recompute it over the raw bytes, compare in constant time, and refuse a `t` more than ' +
  'a few minutes old. `X-Printrelay-Event-Id` and `X-Printrelay-Event-Type` repeat the id and type. ' +
  'Answer 2xx to acknowledge; anything else (or no answer within 10 s) is retried with exponential ' +
  'backoff, with the same event id. Redirects are not followed.';
