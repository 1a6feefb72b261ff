// A client of the agent's local API for the store page (in the browser, same origin) and the
// tray app (in Node, given the API's URL): plain fetch, the types from agent/views.ts.

import type { ApiError } from '../protocol/api.js';
import type { AgentView, LocalJobView } from './views.js';

/** The API answered with an error: `message` is its words for a person. */
export class LocalApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalApiClient {
  status(): Promise<AgentView>;
  attention(): Promise<LocalJobView[]>;
  testPrint(printerId: string): Promise<LocalJobView>;
  reprintLast(): Promise<LocalJobView>;
  decide(jobId: string, decision: 'print' | 'discard'): Promise<LocalJobView>;
  setPrintingPaused(paused: boolean): Promise<void>;
}

/** `baseUrl`: http://127.0.0.1:PORT, or '' in the page the API itself serves. */
export function localApiClient(baseUrl: string, timeoutMs = 5000): LocalApiClient {
  async function call<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    const res = await fetch(`${baseUrl}${path}`, { method, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => null)) as unknown;
    if (!res.ok) {
      // The one error shape of both HTTP APIs (protocol/api.ts): `error` is its words for a person.
      const message = (body as Partial<ApiError> | null)?.error;
      throw new LocalApiRequestError(
        res.status,
        typeof message === 'string' ? message : `HTTP ${res.status}`,
      );
    }
    return body as T;
  }
  const id = encodeURIComponent;
  return {
    status: () => call<AgentView>('GET', '/v1/status'),
    attention: async () => (await call<{ jobs: LocalJobView[] }>('GET', '/v1/attention')).jobs,
    testPrint: (printerId) => call('POST', `/v1/printers/${id(printerId)}/test-print`),
    reprintLast: () => call('POST', '/v1/last-ticket/reprint'),
    decide: (jobId, decision) => call('POST', `/v1/jobs/${id(jobId)}/${decision}`),
    setPrintingPaused: async (paused) => {
      await call('POST', `/v1/printing/${paused ? 'pause' : 'resume'}`);
    },
  };
}
