// One error shape for every failure: {error, issues?: [{path, message}]}.
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ApiError } from '../../protocol/api.js';
import { ValidationError, type ValidationIssue } from '../../protocol/validate.js';
import type { Log } from '../../shared/log.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(message);
  }
}

export function installErrorHandling(app: FastifyInstance, opts: { bodyLimit: number; log: Log }): void {
  app.setErrorHandler((err: FastifyError | HttpError | ValidationError, request, reply) => {
    let status: number;
    let body: ApiError;
    if (err instanceof HttpError) {
      status = err.status;
      body = { error: err.message, ...(err.issues ? { issues: err.issues } : {}) };
    } else if (err instanceof ValidationError) {
      status = 400;
      body = { error: err.message, issues: err.issues };
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = { error: `request body is too large: the limit is ${opts.bodyLimit} bytes` };
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      body = {
        error: `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json`,
      };
    } else if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      status = 400;
      body = { error: `request body is not valid JSON: ${err.message}` };
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      body = { error: err.message };
    } else {
      opts.log.error(`http ${request.method} ${request.url}: ${err.stack ?? String(err)}`);
      status = 500;
      body = { error: 'internal error; the relay log has the details' };
    }
    void reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` });
  });
}
