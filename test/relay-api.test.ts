// The relay's HTTP API: auth, validation errors that name the field, idempotency, tracing,
// cancel and reprint, OpenAPI, enrolment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../protocol/job.js';
import { parseTicket } from '../protocol/ticket.js';
import { addStore } from '../relay/admin.js';
import { jobBody, startTestRelay, type TestRelay } from './relay-helpers.js';

let t: TestRelay;

beforeAll(async () => {
  t = await startTestRelay({ maxBodyBytes: 64 * 1024 });
  await t.store('s1');
  await t.store('s2');
});
afterAll(() => t.close());

/** key: the Idempotency-Key (a fresh one by default; null sends none). */
function post(body: unknown, key: string | null = crypto.randomUUID(), apiKey?: string) {
  return t.api('/v1/jobs', {
    method: 'POST',
    json: body,
    ...(apiKey ? { key: apiKey } : {}),
    headers: key === null ? {} : { 'idempotency-key': key },
  });
}

function reprint(jobId: string, body?: unknown, key: string | null = crypto.randomUUID()) {
  return t.api(`/v1/jobs/${jobId}/reprint`, {
    method: 'POST',
    ...(body === undefined ? {} : { json: body }),
    headers: key === null ? {} : { 'idempotency-key': key },
  });
}

async function errorOf(res: Response) {
  return (await res.json()) as { error: string; issues?: { path: string; message: string }[] };
}

describe('relay API auth', () => {
  it('answers 401 without a valid key and 403 outside its stores', async () => {
    expect((await t.api('/v1/stores', { key: null })).status).toBe(401);
    const wrong = await t.api('/v1/stores', { key: 'not-a-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect((await errorOf(wrong)).error).toMatch(/Bearer <api key>/);
    expect((await t.api('/v1/stores', { key: `prk_aaaaaaaaaaaa_${'x'.repeat(43)}` })).status).toBe(401);
    const [id] = t.apiKey.split('_').slice(1);
    const forged = `prk_${id}_${'A'.repeat(43)}`;
    expect((await t.api('/v1/stores', { key: forged })).status).toBe(401);

    const scoped = await t.key(['s1']);
    const res = await post(jobBody('s2'), 'k1', scoped);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).error).toMatch(/store "s2"/);
    expect((await t.api('/v1/stores/s2', { key: scoped })).status).toBe(403);
    expect((await t.api('/v1/jobs?storeId=s2', { key: scoped })).status).toBe(403);
    const stores = (await (await t.api('/v1/stores', { key: scoped })).json()) as {
      stores: { storeId: string }[];
    };
    expect(stores.stores.map((s) => s.storeId)).toEqual(['s1']);

    const other = await post(jobBody('s2'));
    const otherId = ((await other.json()) as { jobId: string }).jobId;
    // Another store's job answers like an id that does not exist: ids are not probed.
    const hidden = await t.api(`/v1/jobs/${otherId}`, { key: scoped });
    const unknown = await t.api('/v1/jobs/no-such-job', { key: scoped });
    expect(hidden.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect((await errorOf(hidden)).error).toBe(`unknown job "${otherId}"`);
    expect((await errorOf(unknown)).error).toBe('unknown job "no-such-job"');
    await t.relay.store.transitionJob(otherId, 'printed', { at: Date.now() });
    expect((await t.api(`/v1/jobs/${otherId}/cancel`, { method: 'POST', key: scoped })).status).toBe(404);
    const reprintOther = await t.api(`/v1/jobs/${otherId}/reprint`, {
      method: 'POST',
      key: scoped,
      headers: { 'idempotency-key': 'r-other' },
    });
    expect(reprintOther.status).toBe(404);
  });

  it('refuses a revoked key', async () => {
    const key = await t.key('all');
    expect((await t.api('/v1/stores', { key })).status).toBe(200);
    const id = key.split('_')[1] as string;
    await t.relay.store.revokeApiKey(id, Date.now());
    const res = await t.api('/v1/stores', { key });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error).toMatch(/revoked/);
  });
});

describe('relay API validation', () => {
  it('names the field that is wrong', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...jobBody('s1'), printer: undefined }, '/printer', /required/],
      [{ ...jobBody('s1'), copies: 0 }, '/copies', />= 1/],
      [{ ...jobBody('s1'), colour: 'red' }, '/colour', /unknown property/],
      [
        jobBody('s1', { ticket: { blocks: [{ type: 'text', text: 'x', align: 'middle' }] } }),
        '/ticket/blocks/0/align',
        /one of/,
      ],
      [
        jobBody('s1', { ticket: { blocks: [{ type: 'sparkle' }] } }),
        '/ticket/blocks/0/type',
        /unknown value "sparkle"/,
      ],
      [jobBody('s1', { raw: 'AAAA' }), '/ticket', /exactly one of ticket or raw/],
      [{ storeId: 's1', printer: 'kitchen' }, '/ticket', /exactly one of ticket or raw/],
      [jobBody('s1', { expiresAt: '2001-01-01T00:00:00Z' }), '/expiresAt', /in the past/],
      [jobBody('s1', { expiresAt: 'tomorrow' }), '/expiresAt', /date-time/],
      [
        jobBody('s1', { ttlSeconds: 60, expiresAt: new Date(Date.now() + 60_000).toISOString() }),
        '/ttlSeconds',
        /not both/,
      ],
      [jobBody('s1', { ttlSeconds: 8 * 24 * 3600 }), '/ttlSeconds', /<= 604800/],
      [jobBody('s1', { orderRef: { source: 'pos' } }), '/orderRef/orderNo', /required/],
      [jobBody('bad store!'), '/storeId', /pattern/],
    ];
    for (const [body, path, message] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await errorOf(res);
      const issue = err.issues?.find((i) => i.path === path);
      expect(issue, `${path} in ${JSON.stringify(err)}`).toBeDefined();
      expect(issue?.message).toMatch(message);
    }
  });

  it('gives clear errors for broken requests and keeps working', async () => {
    let res = await t.api('/v1/jobs', {
      method: 'POST',
      body: '{"storeId": "s1",',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'x' },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error).toMatch(/not valid JSON/);

    res = await t.api('/v1/jobs', {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain', 'idempotency-key': 'x' },
    });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).error).toMatch(/application\/json/);

    res = await post(jobBody('s1'), null);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues?.[0]?.path).toBe('/headers/idempotency-key');

    res = await post(jobBody('s1'), 'has spaces in it');
    expect(res.status).toBe(400);

    res = await post(
      jobBody('s1', { raw: undefined, ticket: { blocks: [{ type: 'text', text: 'x'.repeat(100_000) }] } }),
    );
    expect(res.status).toBe(413);
    expect((await errorOf(res)).error).toMatch(/too large: the limit is 65536 bytes/);

    res = await post(jobBody('nosuchstore'));
    expect(res.status).toBe(404);
    expect((await errorOf(res)).error).toMatch(/unknown store "nosuchstore"/);
    expect((await t.api('/v1/jobs/nope')).status).toBe(404);
    expect((await t.api('/v1/stores/nope')).status).toBe(404);
    expect((await t.api('/v2/things')).status).toBe(404);
    res = await t.api('/v1/jobs?limit=abc');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues?.[0]?.path).toBe('/limit');
    res = await t.api('/v1/jobs?state=lost');
    expect((await errorOf(res)).issues?.[0]?.path).toBe('/state');

    expect((await post(jobBody('s1'))).status).toBe(201);
  });
});

describe('relay API jobs', () => {
  it('commits once per Idempotency-Key: same body -> same job, another body -> 409', async () => {
    const orderNo = `I-${crypto.randomUUID()}`;
    const body = jobBody('s1', { orderRef: { source: 'meituan', orderNo } });
    const first = await post(body, 'order-77');
    expect(first.status).toBe(201);
    const created = (await first.json()) as { jobId: string; state: string };
    expect(created.state).toBe('accepted');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.headers.get('location')).toBe(`/v1/jobs/${created.jobId}`);

    // The same JSON with its keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await post(reordered, 'order-77');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { jobId: string }).jobId).toBe(created.jobId);

    const conflict = await post({ ...body, copies: 3 }, 'order-77');
    expect(conflict.status).toBe(409);
    expect((await errorOf(conflict)).error).toMatch(/different request/);

    const list = (await (await t.api(`/v1/jobs?orderNo=${orderNo}&source=meituan`)).json()) as {
      jobs: JobView[];
    };
    expect(list.jobs.map((j) => j.jobId)).toEqual([created.jobId]);
    expect(list.jobs[0]?.timeline.map((e) => e.state)).toEqual(['accepted']);
  });

  it('traces an order to its tickets with filters', async () => {
    const orderNo = `T-${crypto.randomUUID()}`;
    const ref = { source: 'pos', orderNo };
    for (const printer of ['kitchen', 'receipt']) {
      expect((await post(jobBody('s1', { printer, orderRef: ref }))).status).toBe(201);
    }
    expect((await post(jobBody('s2', { orderRef: ref }))).status).toBe(201);
    const all = (await (await t.api(`/v1/jobs?orderNo=${orderNo}`)).json()) as { jobs: JobView[] };
    expect(all.jobs).toHaveLength(3);
    const s1 = (await (
      await t.api(`/v1/jobs?orderNo=${orderNo}&storeId=s1&state=accepted&limit=1`)
    ).json()) as {
      jobs: JobView[];
    };
    expect(s1.jobs).toHaveLength(1);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const none = (await (
      await t.api(`/v1/jobs?orderNo=${orderNo}&since=${encodeURIComponent(future)}`)
    ).json()) as {
      jobs: JobView[];
    };
    expect(none.jobs).toHaveLength(0);
  });

  it('reprints a finished job as a new linked job with a visible REPRINT mark and count', async () => {
    const res = await post(jobBody('s1'));
    const { jobId } = (await res.json()) as { jobId: string };
    expect((await reprint(jobId)).status).toBe(409);
    await t.relay.store.transitionJob(jobId, 'printed', { at: Date.now() });

    const first = await reprint(jobId);
    expect(first.status).toBe(201);
    const r1 = (await first.json()) as JobView;
    expect(r1).toMatchObject({
      reprintOf: jobId,
      reprintCount: 1,
      state: 'accepted',
      orderRef: { orderNo: 'A-1001' },
    });
    expect(r1.jobId).not.toBe(jobId);
    const stored = await t.relay.store.getJob(r1.jobId);
    const ticket = parseTicket(JSON.parse(stored?.payload ?? ''));
    expect(ticket.blocks[0]).toMatchObject({ type: 'text', text: '重印 REPRINT #1' });
    expect(ticket.blocks.slice(1)).toEqual(jobBody('s1').ticket.blocks);

    await t.relay.store.transitionJob(r1.jobId, 'printed', { at: Date.now() });
    const second = (await (await reprint(r1.jobId, { printer: 'receipt', copies: 2 })).json()) as JobView;
    expect(second).toMatchObject({ reprintOf: jobId, reprintCount: 2, printer: 'receipt', copies: 2 });

    const bad = await reprint(jobId, { copies: 99 });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).issues?.[0]?.path).toBe('/copies');
  });

  it('needs an Idempotency-Key to reprint, so that a client retry does not print a second reprint', async () => {
    const { jobId } = (await (await post(jobBody('s1'))).json()) as { jobId: string };
    await t.relay.store.transitionJob(jobId, 'printed', { at: Date.now() });
    const missing = await reprint(jobId, undefined, null);
    expect(missing.status).toBe(400);
    expect((await errorOf(missing)).issues?.[0]?.path).toBe('/headers/idempotency-key');

    const first = await reprint(jobId, undefined, 'reprint-1');
    const retry = await reprint(jobId, undefined, 'reprint-1');
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const a = (await first.json()) as JobView;
    const b = (await retry.json()) as JobView;
    expect(b.jobId).toBe(a.jobId);
    expect(b.reprintCount).toBe(1);
    const copies = (await (await t.api(`/v1/jobs?storeId=s1&limit=500`)).json()) as { jobs: JobView[] };
    expect(copies.jobs.filter((j) => j.reprintOf === jobId)).toHaveLength(1);
  });

  it('reprints raw jobs with an ESC/POS banner before the bytes', async () => {
    const raw = Buffer.from('\x1b@hello\n').toString('base64');
    const { jobId } = (await (await post({ storeId: 's1', printer: 'receipt', raw })).json()) as {
      jobId: string;
    };
    await t.relay.store.transitionJob(jobId, 'failed', { at: Date.now(), detail: 'paper out' });
    const view = (await (await reprint(jobId)).json()) as JobView;
    const bytes = Buffer.from((await t.relay.store.getJob(view.jobId))?.payload ?? '', 'base64');
    expect(bytes.toString('latin1')).toContain('** REPRINT #1 **\n');
    expect(bytes.subarray(bytes.length - 8).toString('latin1')).toBe('\x1b@hello\n');
  });
});

describe('relay API documents and enrolment', () => {
  it('serves an OpenAPI 3.1 document describing the endpoints', async () => {
    const res = await t.api('/openapi.json', { key: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/cancel',
        '/v1/jobs/{id}/reprint',
        '/v1/stores',
        '/v1/stores/{id}',
        '/v1/enrol',
      ]),
    );
    const post = doc.paths['/v1/jobs']?.post as {
      requestBody: { content: Record<string, { schema: { properties: object } }> };
    };
    expect(Object.keys(post.requestBody.content['application/json']?.schema.properties ?? {})).toContain(
      'ticket',
    );
  });

  it('documents the reprint key and optional body, 415 and 429 answers, and the webhooks with their signature', async () => {
    type Operation = {
      parameters?: { name: string; in: string; required?: boolean }[];
      requestBody?: { required: boolean };
      responses: Record<string, unknown>;
      description?: string;
    };
    const doc = (await (await t.api('/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, Operation>>;
      webhooks: Record<
        string,
        { post: Operation & { requestBody: { content: Record<string, { schema: { $ref: string } }> } } }
      >;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const reprintOp = doc.paths['/v1/jobs/{id}/reprint']?.post as Operation;
    expect(reprintOp.parameters).toContainEqual(
      expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true }),
    );
    expect(reprintOp.requestBody?.required).toBe(false);
    expect(Object.keys(doc.paths['/v1/jobs']?.post?.responses ?? {})).toContain('415');
    expect(Object.keys(doc.paths['/v1/enrol']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['404', '415', '429']),
    );
    for (const [type, schema] of [
      ['job.state', 'JobStateEvent'],
      ['printer.status', 'PrinterStatusEvent'],
    ] as const) {
      const hook = doc.webhooks[type]?.post;
      expect(hook?.description).toMatch(/X-Printrelay-Signature: t=<unix seconds>,v1=<hex>.*HMAC-SHA256/);
      expect(hook?.requestBody.content['application/json']?.schema.$ref).toBe(
        `#/components/schemas/${schema}`,
      );
      expect(Object.keys(doc.components.schemas[schema]?.properties ?? {})).toEqual(
        expect.arrayContaining(['id', 'type', 'sequence', 'createdAt', 'storeId', 'data']),
      );
    }
  });

  it('trades an enrolment code for credentials once', async () => {
    const { enrolment } = await addStore(t.relay.store, 'enrol1', 'Enrol Store');
    const typed = enrolment.code.toLowerCase().replaceAll('-', ' ');
    const res = await t.api('/v1/enrol', { method: 'POST', key: null, json: { code: typed } });
    expect(res.status).toBe(200);
    const creds = (await res.json()) as {
      storeId: string;
      username: string;
      password: string;
      clientId: string;
      relayUrls: string[];
    };
    expect(creds).toMatchObject({ storeId: 'enrol1', username: 'enrol1', clientId: 'enrol1:agent' });
    // The broker's listeners at the name the agent reached the API by.
    expect(creds.relayUrls).toContain(t.relay.urls.mqtt);
    expect(creds.password).toMatch(/^pra_/);
    const again = await t.api('/v1/enrol', { method: 'POST', key: null, json: { code: enrolment.code } });
    expect(again.status).toBe(404);
    expect((await errorOf(again)).issues?.[0]?.path).toBe('/code');
    const junk = await t.api('/v1/enrol', { method: 'POST', key: null, json: { code: 'nope' } });
    expect(junk.status).toBe(404);
  });
});
