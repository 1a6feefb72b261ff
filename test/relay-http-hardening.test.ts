// What an unauthenticated or hostile HTTP client can cost the relay, through real sockets:
// enrolment rate limits and constant-cost refusals, slow bodies, refused clients closed,
// content types, security headers.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStore } from '../relay/admin.js';
import { jobBody, startTestRelay, type TestRelay } from './relay-helpers.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through node:http, from a chosen loopback address (127.0.0.x). */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.from, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function enrolAttempt(t: TestRelay, code: string, from?: string): Promise<Answer> {
  return send(`${t.relay.urls.http}/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
    from,
  });
}

/** A raw TCP client: what it received, and when the relay closed the connection. */
function rawClient(url: string): { socket: Socket; received: () => string; closed: Promise<number> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => {
    text += c;
  });
  socket.on('error', () => {});
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  return { socket, received: () => text, closed };
}

/** Writes one byte every `everyMs` until the socket closes; bounded by `max` bytes. */
function trickle(socket: Socket, everyMs: number, max: number): () => void {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent++ >= max) return clearInterval(timer);
    socket.write('{');
  }, everyMs);
  return () => clearInterval(timer);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('enrolment', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay({
      httpLimits: {
        enrolPerAddress: { max: 2, windowMs: 60_000 },
        enrolGlobal: { max: 3, windowMs: 60_000 },
      },
    });
  });
  afterAll(() => t.close());

  it('limits attempts per client address and for everyone, with 429 and Retry-After', async () => {
    const code = 'ABCD-EFGH-JKMN';
    expect((await enrolAttempt(t, code, '127.0.0.1')).status).toBe(404);
    expect((await enrolAttempt(t, code, '127.0.0.1')).status).toBe(404);
    const perAddress = await enrolAttempt(t, code, '127.0.0.1');
    expect(perAddress.status).toBe(429);
    expect(Number(perAddress.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(perAddress.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(JSON.parse(perAddress.body).error).toMatch(/too many enrolment attempts from this address/);
    // Another address still gets its turn, until the relay-wide budget is spent.
    expect((await enrolAttempt(t, code, '127.0.0.2')).status).toBe(404);
    const global = await enrolAttempt(t, code, '127.0.0.3');
    expect(global.status).toBe(429);
    expect(global.headers['retry-after']).toBeDefined();
    expect(JSON.parse(global.body).error).toMatch(/on this relay/);
  });
});

describe('enrolment refusals', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay({
      httpLimits: {
        enrolPerAddress: { max: 1000, windowMs: 60_000 },
        enrolGlobal: { max: 1000, windowMs: 60_000 },
      },
    });
  });
  afterAll(() => t.close());

  it('take as long for a code whose first group exists as for an unknown one (both run scrypt)', async () => {
    const { enrolment } = await addStore(t.relay.store, 'timing', 'Timing');
    const [group] = enrolment.code.split('-');
    const known = `${group}-2222-2222`;
    // Another first group that names no code (the alphabet has no 0/1/I/L/O).
    const unknown = `${group === 'ZZZZ' ? 'YYYY' : 'ZZZZ'}-2222-2222`;
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < 8; i++) {
      for (const [code, into] of [
        [known, knownMs],
        [unknown, unknownMs],
      ] as const) {
        const started = performance.now();
        const res = await enrolAttempt(t, code);
        into.push(performance.now() - started);
        expect(res.status).toBe(404);
        expect(JSON.parse(res.body).error).toBe('unknown, used or expired enrolment code');
      }
    }
    // Without the hash an unknown code answered in ~1 ms against ~75 ms: a factor of 50. The
    // same work on both sides keeps the ratio near 1; 0.5 leaves room for a loaded machine.
    expect(median(unknownMs)).toBeGreaterThan(0.5 * median(knownMs));
    expect(median(knownMs)).toBeGreaterThan(0.5 * median(unknownMs));
  });
});

describe('slow and refused clients', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay({ httpLimits: { requestTimeoutMs: 1000, idleTimeoutMs: 1000 } });
    await t.store('s1');
  });
  afterAll(() => t.close());

  it('closes a request whose body trickles in a byte at a time', async () => {
    const c = rawClient(t.relay.urls.http);
    c.socket.write(
      `POST /v1/jobs HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${t.apiKey}\r\n` +
        'Content-Type: application/json\r\nIdempotency-Key: slow-1\r\nContent-Length: 10000\r\n\r\n',
    );
    const stop = trickle(c.socket, 100, 200);
    const closedAfter = await c.closed;
    stop();
    // requestTimeout 1 s, checked every second: closed within ~2 s, not minutes.
    expect(closedAfter).toBeLessThan(5000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection that sends nothing', async () => {
    const c = rawClient(t.relay.urls.http);
    const closedAfter = await c.closed;
    expect(closedAfter).toBeGreaterThanOrEqual(900);
    expect(closedAfter).toBeLessThan(5000);
  });

  it('answers an unauthenticated request at once and closes the connection without reading its body', async () => {
    const c = rawClient(t.relay.urls.http);
    c.socket.write(
      'POST /v1/jobs HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n' +
        'Idempotency-Key: slow-2\r\nContent-Length: 10000\r\n\r\n{',
    );
    const stop = trickle(c.socket, 100, 200);
    const closedAfter = await c.closed;
    stop();
    expect(c.received()).toMatch(/^HTTP\/1\.1 401/);
    expect(c.received().toLowerCase()).toContain('connection: close');
    expect(closedAfter).toBeLessThan(1000);
  });
});

describe('content types and headers', () => {
  let t: TestRelay;
  beforeAll(async () => {
    t = await startTestRelay();
    await t.store('s1');
  });
  afterAll(() => t.close());

  const post = (contentType: string, body: string) =>
    send(`${t.relay.urls.http}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.apiKey}`,
        'content-type': contentType,
        'idempotency-key': crypto.randomUUID(),
      },
      body,
    });

  it('takes only application/json: a text/plain body is a 415, not parsed', async () => {
    const json = JSON.stringify(jobBody('s1'));
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded']) {
      const res = await post(type, json);
      expect(res.status, type).toBe(415);
      expect(JSON.parse(res.body).error).toMatch(/send application\/json/);
    }
    expect((await post('application/json; charset=utf-8', json)).status).toBe(201);
  });

  it('says what is wrong with a __proto__ key', async () => {
    const res = await post('application/json', `{"storeId":"s1","__proto__":{"x":1}}`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatch(/"__proto__".*not allowed as a key/);
  });

  it('sets security headers on every answer', async () => {
    const answers = [
      await send(`${t.relay.urls.http}/healthz`),
      await send(`${t.relay.urls.http}/v1/stores`),
      await send(`${t.relay.urls.http}/v1/stores`, { headers: { authorization: `Bearer ${t.apiKey}` } }),
      await send(`${t.relay.urls.http}/no/such/thing`),
      await post('application/json', '{'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 401, 200, 404, 400]);
    for (const a of answers) {
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['cache-control']).toBe('no-store');
      expect(a.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(a.headers['referrer-policy']).toBe('no-referrer');
    }
  });
});
