// API keys: `Authorization: Bearer prk_<id>_<secret>`, each scoped to all stores or a list.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_PREFIX } from '../admin.js';
import { parseToken, tokenMatches } from '../credentials.js';
import { type ApiKeyRecord, type Directory, scopeIncludes } from '../store/job-store.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKeyRecord;
  }
}

/** An onRequest hook (before the body is read) that rejects requests without a valid, unrevoked API key (401). */
export function requireApiKey(directory: Directory) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    reply.header('www-authenticate', 'Bearer');
    if (!header)
      throw new HttpError(401, 'missing Authorization header: send "Authorization: Bearer <api key>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = m ? parseToken(API_KEY_PREFIX, m[1] as string) : null;
    if (!token)
      throw new HttpError(
        401,
        'the Authorization header must be "Bearer <api key>" with a printrelay API key',
      );
    const key = await directory.getApiKey(token.id);
    if (!key || !tokenMatches(token.secret, key.secretHash)) throw new HttpError(401, 'unknown API key');
    if (key.revokedAt !== null) throw new HttpError(401, 'this API key has been revoked');
    request.apiKey = key;
  };
}

/** 403 unless the request's key covers the store. */
export function assertStoreAccess(request: FastifyRequest, storeId: string): void {
  if (!scopeIncludes(request.apiKey.stores, storeId)) {
    throw new HttpError(403, `this API key does not give access to store ${JSON.stringify(storeId)}`);
  }
}
