// The agent's few HTTP(S) requests to the relay's API: redeeming an enrolment code, and the
// doctor's reachability and clock checks. node:https rather than fetch, because a store whose
// relay uses a private CA must be able to pass that CA (the agent config's relay.caFile) for
// this one request without setting NODE_EXTRA_CA_CERTS for the whole process.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface RelayHttpOptions {
  /** PEM file of a private CA that signed the relay's certificate. */
  caFile?: string;
  timeoutMs?: number;
}

export interface RelayHttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request; rejects with an Error that names the URL and the network cause. */
export function relayRequest(
  url: URL,
  init: { method: 'GET' | 'POST'; json?: unknown },
  opts: RelayHttpOptions = {},
): Promise<RelayHttpResponse> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new Error(`${url.href}: the relay address must start with https:// or http://`));
  }
  let ca: Buffer | undefined;
  if (opts.caFile) {
    try {
      ca = readFileSync(opts.caFile);
    } catch (err) {
      return Promise.reject(new Error(`cannot read the CA file ${opts.caFile}: ${(err as Error).message}`));
    }
  }
  const body = init.json === undefined ? undefined : JSON.stringify(init.json);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: init.method,
        headers: {
          accept: 'application/json',
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
        ...(ca ? { ca } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', (err) => reject(new Error(`${url.origin}: ${err.message}`)));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(`cannot reach the relay at ${url.origin}: ${err.code ?? err.message}`, { cause: err }),
      ),
    );
    request.end(body);
  });
}
