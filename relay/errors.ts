// What the relay refuses, said in the relay's own terms. The HTTP API and the admin channel
// map the kind to a status at their edge (relay/api/errors.ts); the domain knows no HTTP.
import type { ValidationIssue } from '../protocol/validate.js';

export type RefusalKind =
  /** The request is malformed or contradicts itself. */
  | 'invalid'
  /** What it names does not exist. */
  | 'not-found'
  /** It cannot be done in the present state (a finished job, a used key, a disabled store). */
  | 'conflict'
  /** Well-formed, but it could never succeed (a printer the store does not have). */
  | 'unprocessable';

export class Refused extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(message);
    this.name = 'Refused';
  }
}

/** A refusal about one field of the request: the issue names it. */
export function refusedField(kind: RefusalKind, message: string, path: string): Refused {
  return new Refused(kind, message, [{ path, message }]);
}
