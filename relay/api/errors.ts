// One error body for every failure (protocol/api.ts ApiError: {error, code, issues?}), and the
// one place where the relay's refusals (relay/errors.ts) become HTTP statuses.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { type ApiError, apiError } from '../../protocol/api.js';
import { ValidationError, type ValidationIssue } from '../../protocol/validate.js';
import type { Log } from '../../shared/log.js';
import { type RefusalKind, Refused } from '../errors.js';
import { StoreUnavailableError } from '../store/job-store.js';

/** What only HTTP knows about: authentication, headers, endpoints. The domain throws Refused. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(message);
  }
}

export const REFUSAL_STATUS: Readonly<Record<RefusalKind, number>> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  unprocessable: 422,
};

/** The status and body for an error a request ended with; null when it is the server's fault. */
export function errorResponse(err: unknown): { status: number; body: ApiError } | null {
  if (err instanceof HttpError)
    return { status: err.status, body: apiError(err.status, err.message, err.issues) };
  if (err instanceof Refused) {
    const status = REFUSAL_STATUS[err.kind];
    return { status, body: apiError(status, err.message, err.issues) };
  }
  if (err instanceof ValidationError) return { status: 400, body: apiError(400, err.message, err.issues) };
  if (err instanceof StoreUnavailableError)
    return {
      status: 503,
      body: apiError(503, `the relay's database is unreachable just now; try again: ${err.message}`),
    };
  return null;
}

/** Errors fastify itself raises (body limit, content type, bad JSON), and the rest as a 500. */
function otherError(
  err: FastifyError | Error,
  request: FastifyRequest,
  opts: { bodyLimit: number; log: Log },
): { status: number; body: ApiError } {
  const fail = (status: number, message: string) => ({ status, body: apiError(status, message) });
  const { code, statusCode } = err as FastifyError;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return fail(413, `request body is too large: the limit is ${opts.bodyLimit} bytes`);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = JSON.stringify(request.headers['content-type'] ?? '');
    return fail(415, `unsupported Content-Type ${type}: send application/json`);
  }
  if (err instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return fail(400, `request body is not valid JSON: ${err.message}`);
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500)
    return fail(statusCode, err.message);
  opts.log.error(`http ${request.method} ${request.url}: ${err.stack ?? String(err)}`);
  return fail(500, 'internal error; the relay log has the details');
}

export function installErrorHandling(app: FastifyInstance, opts: { bodyLimit: number; log: Log }): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    const { status, body } = errorResponse(err) ?? otherError(err, request, opts);
    void reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(apiError(404, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));
  });
}
