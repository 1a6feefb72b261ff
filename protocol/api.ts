// HTTP API schemas other than the job itself (protocol/job.ts): stores, enrolment, query
// strings, errors. They drive validation and the OpenAPI document at /openapi.json.
import { type Static, Type } from '@sinclair/typebox';
import { JOB_LIMITS, JOB_STATES, PrinterRef } from './job.js';
import { PrinterHealth } from './messages.js';
import { StringEnum } from './schema.js';
import { PrinterStatus } from './status.js';
import { STORE_ID_PATTERN } from './topics.js';
import { validator } from './validate.js';

/** Short machine-readable codes of the error body, by HTTP status. */
export const API_ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  500: 'internal',
  503: 'unavailable',
};

/** The one error body of every printrelay HTTP API (the relay's, its admin channel, the agent's local API). */
export const ApiError = Type.Object(
  {
    error: Type.String({ description: 'What is wrong, for a person.' }),
    code: Type.Optional(
      Type.String({ description: 'Short code for programs: bad_request, not_found, conflict, ...' }),
    ),
    issues: Type.Optional(
      Type.Array(
        Type.Object({
          path: Type.String({ description: 'JSON pointer to the field, e.g. /ticket/blocks/0/type.' }),
          message: Type.String(),
        }),
      ),
    ),
  },
  { $id: 'ApiError' },
);
export type ApiError = Static<typeof ApiError>;

/** The error body for an HTTP status. */
export function apiError(status: number, message: string, issues?: ApiError['issues']): ApiError {
  return {
    error: message,
    code: API_ERROR_CODES[status] ?? 'error',
    ...(issues && issues.length > 0 ? { issues } : {}),
  };
}

const Digits = (description: string) => Type.String({ pattern: '^[0-9]{1,6}$', description });
const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);

export const JobListQuery = Type.Object(
  {
    storeId: Type.Optional(Type.String({ pattern: STORE_ID_PATTERN })),
    orderNo: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    state: Type.Optional(StringEnum(JOB_STATES)),
    since: Type.Optional(
      Type.String({ format: 'date-time', description: 'Jobs created at or after this time.' }),
    ),
    limit: Type.Optional(Digits('At most this many jobs, newest first (default 100, at most 500).')),
  },
  { additionalProperties: false },
);
export type JobListQuery = Static<typeof JobListQuery>;
export const parseJobListQuery = validator(JobListQuery, 'query');

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const parseIdParams = validator(IdParams, 'path');

export const ReprintRequest = Type.Object(
  {
    printer: Type.Optional(PrinterRef),
    copies: Type.Optional(Type.Integer({ minimum: 1, maximum: JOB_LIMITS.maxCopies })),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: JOB_LIMITS.maxLifetimeSeconds })),
  },
  { additionalProperties: false, description: 'All optional: by default the same printer, one copy.' },
);
export type ReprintRequest = Static<typeof ReprintRequest>;
export const parseReprintRequest = validator(ReprintRequest, 'reprint request');

export const PrinterView = Type.Object({
  printerId: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.String()),
  ready: Type.Union([Type.Boolean(), Type.Null()], {
    description:
      "null when unknown: before the agent reported a status, and while the store's agent is offline.",
  }),
  reasons: Type.Array(Type.String(), { description: 'Why it cannot print (paper-out, cover-open, ...).' }),
  statusKnown: Type.Boolean({
    description:
      "false while the store's agent is offline (or before it reported): status is then its last report, made at statusAt, not the present.",
  }),
  status: Type.Union([Type.Object(PrinterStatus.properties), Type.Null()]),
  statusAt: Type.Union([Iso, Type.Null()], { description: 'When the agent last reported this printer.' }),
  health: Type.Union([Type.Object(PrinterHealth.properties), Type.Null()], {
    description: "The agent's last health figures for it: queue depth, printed jobs, paper used.",
  }),
});
export type PrinterView = Static<typeof PrinterView>;

export const StoreView = Type.Object({
  storeId: Type.String(),
  name: Type.String(),
  online: Type.Boolean(),
  disabled: Type.Boolean({
    description: 'Disabled by an operator: its agent is refused and it takes no jobs.',
  }),
  lastSeenAt: NullableIso,
  agentVersion: Type.Union([Type.String(), Type.Null()]),
  queueDepth: Type.Integer({ description: 'Jobs of this store not yet in a final state.' }),
  uptimeSeconds: Type.Union([Type.Number(), Type.Null()], { description: 'From the last health report.' }),
  heldJobs: Type.Union([Type.Integer(), Type.Null()], { description: 'From the last health report.' }),
  printers: Type.Array(PrinterView),
});
export type StoreView = Static<typeof StoreView>;

export const StoreList = Type.Object({ stores: Type.Array(StoreView) });

export const EnrolRequest = Type.Object(
  {
    code: Type.String({
      minLength: 1,
      maxLength: 40,
      description: 'The code printed by `relay stores add`.',
    }),
  },
  { additionalProperties: false },
);
export const parseEnrolRequest = validator(EnrolRequest, 'enrolment request');

export const EnrolResponse = Type.Object({
  storeId: Type.String(),
  username: Type.String(),
  password: Type.String({ description: 'Shown once: keep it in the agent configuration.' }),
  clientId: Type.String(),
  relayUrls: Type.Array(Type.String(), {
    description:
      "Where the agent connects: the relay's MQTT listeners at the host name this request was sent to, encrypted ones first.",
  }),
});
export type EnrolResponse = Static<typeof EnrolResponse>;
