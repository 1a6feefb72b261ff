// A job that got its 201 survives the relay: a clean restart, and a kill -9 in the middle of
// a stream of orders and agent events.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeJson, PROTOCOL_VERSION, parseJobMessage } from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import { addApiKey, addStore } from '../relay/admin.js';
import type { RelayUrls } from '../relay/relay.js';
import { openRelayStore } from '../relay/store/open.js';
import { FakeAgent, jobBody, startTestRelay, tempDir, waitFor } from './relay-helpers.js';
import { builtModule } from './support/build.js';

// The child relay runs the compiled relay from the test build (test/global-setup.ts).
const childRelay = `import { startRelay } from ${JSON.stringify(pathToFileURL(builtModule('relay/relay.js')).href)};
import { silentLog } from ${JSON.stringify(pathToFileURL(builtModule('shared/log.js')).href)};
const relay = await startRelay({ dataDir: process.argv[1], host: '127.0.0.1', httpPort: 0, mqttPort: 0, wsPort: null, log: silentLog });
process.stdout.write(JSON.stringify(relay.urls) + '\\n');
`;

async function startChild(dataDir: string): Promise<{ child: ChildProcess; urls: RelayUrls }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', childRelay, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child relay exited with ${code}`)));
  });
  return { child, urls: JSON.parse(line) as RelayUrls };
}

describe('relay durability', () => {
  it('keeps committed jobs across a restart and sends them when the agent comes', async () => {
    const first = await startTestRelay();
    const creds = await first.store('s1');
    const res = await first.api('/v1/jobs', {
      method: 'POST',
      json: jobBody('s1'),
      headers: { 'idempotency-key': 'k1' },
    });
    expect(res.status).toBe(201);
    const { jobId } = (await res.json()) as { jobId: string };
    await first.close({ keepData: true });

    const second = await startTestRelay({ dataDir: first.dataDir });
    try {
      const again = await second.api('/v1/jobs', {
        method: 'POST',
        json: jobBody('s1'),
        key: first.apiKey,
        headers: { 'idempotency-key': 'k1' },
      });
      expect(((await again.json()) as { jobId: string }).jobId).toBe(jobId);
      const agent = await FakeAgent.connect(second.relay.urls.mqtt, creds);
      await agent.hello();
      await agent.waitForJob(jobId);
      await agent.close();
    } finally {
      await second.close();
    }
  });

  it('group commit: a reprint clash undoes only itself, not the job or presence committed with it', async () => {
    const store = openRelayStore(tempDir());
    try {
      await store.createStore({ id: 's1', name: 'Store 1', createdAt: Date.now() });
      const job = (id: string, reprintOf: string | null) => ({
        id,
        storeId: 's1',
        printer: 'kitchen',
        kind: 'raw' as const,
        payload: 'hello',
        copies: 1,
        onExpiry: 'expire' as const,
        expiresAt: Date.now() + 60_000,
        createdAt: Date.now(),
        orderRef: null,
        reprintOf,
        reprintCount: reprintOf ? 1 : 0,
        idempotency: null,
      });
      await store.createJob(job('original', null));
      await store.createJob(job('reprint-a', 'original'));
      // One turn of the event loop, so one transaction: the second reprint #1 fails alone.
      const [good, clash, presence] = await Promise.allSettled([
        store.createJob(job('other', null)),
        store.createJob(job('reprint-b', 'original')),
        store.setPresence('s1', { online: true, connectionId: 'c1', agentVersion: '1.0.0', at: Date.now() }),
      ]);
      expect(good.status).toBe('fulfilled');
      expect(clash.status).toBe('rejected');
      expect(presence).toEqual({ status: 'fulfilled', value: true });
      expect(await store.getJob('other')).not.toBeNull();
      expect(await store.getJob('reprint-b')).toBeNull();
      expect((await store.getStore('s1'))?.online).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('settles a durable write only once its commit is fsynced, and fails it when that cannot be done', async () => {
    const dataDir = tempDir();
    const store = openRelayStore(dataDir);
    try {
      await store.createStore({ id: 's1', name: 'Store 1', createdAt: Date.now() });
      // The WAL file the relay fsyncs is gone (as on a failing disk): the commit is made, but
      // a job may not be promised; soft state in the same commit is not held up.
      rmSync(join(dataDir, 'relay.db-wal'));
      const [job, presence] = await Promise.allSettled([
        store.createJob({
          id: 'j1',
          storeId: 's1',
          printer: 'kitchen',
          kind: 'raw',
          payload: 'hello',
          copies: 1,
          onExpiry: 'expire',
          expiresAt: Date.now() + 60_000,
          createdAt: Date.now(),
          orderRef: null,
          reprintOf: null,
          reprintCount: 0,
          idempotency: null,
        }),
        store.setPresence('s1', { online: true, connectionId: 'c1', agentVersion: '1.0.0', at: Date.now() }),
      ]);
      expect(job.status).toBe('rejected');
      expect(String((job as PromiseRejectedResult).reason)).toMatch(
        /the relay database could not be written to disk: ENOENT/,
      );
      expect(presence).toEqual({ status: 'fulfilled', value: true });
    } finally {
      await store.close();
    }
  });

  it('loses nothing that was acknowledged when the relay is killed with SIGKILL mid-stream', async () => {
    const dataDir = tempDir();
    const setup = openRelayStore(dataDir);
    const { credentials } = await addStore(setup, 's1', 'Store 1');
    const { key } = await addApiKey(setup, 'test', 'all');
    await setup.close();

    const { child, urls } = await startChild(dataDir);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const agent = await FakeAgent.connect(urls.mqtt, credentials);
    await agent.hello();
    // The agent prints whatever it receives and reports it; acknowledged events must stick.
    const reportedPrinted = new Map<string, string>();
    agent.client.on('message', (topic, payload) => {
      if (topic !== topics.jobs('s1')) return;
      const { jobId } = parseJobMessage(decodeJson(payload, 'job'));
      const eventId = randomUUID();
      reportedPrinted.set(eventId, jobId);
      const at = new Date().toISOString();
      agent.client.publish(
        topics.events('s1'),
        JSON.stringify({
          v: PROTOCOL_VERSION,
          events: [
            { id: randomUUID(), at, type: 'job-received', jobId },
            { id: eventId, at, type: 'job-state', jobId, state: 'printed' },
          ],
        }),
        { qos: 1 },
      );
    });

    const committed: string[] = [];
    let stop = false;
    const post = async () => {
      while (!stop) {
        try {
          const res = await fetch(`${urls.http}/v1/jobs`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              'idempotency-key': randomUUID(),
            },
            body: JSON.stringify(jobBody('s1')),
          });
          if (res.status === 201) committed.push(((await res.json()) as { jobId: string }).jobId);
        } catch {
          return; // the relay is gone
        }
      }
    };
    const posters = Array.from({ length: 8 }, post);
    await waitFor(
      () => committed.length >= 60 && agent.acked.size >= 20,
      'a stream of committed jobs and acked events',
    );
    child.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(posters);
    const printed = [...reportedPrinted]
      .filter(([eventId]) => agent.acked.has(eventId))
      .map(([, jobId]) => jobId);
    agent.client.end(true);

    const after = await startTestRelay({ dataDir });
    try {
      for (const jobId of committed) {
        const job = await after.relay.store.getJob(jobId);
        expect(job, `job ${jobId} got a 201`).not.toBeNull();
      }
      for (const jobId of printed) {
        expect((await after.relay.store.getJob(jobId))?.state, `job ${jobId} printed (acked)`).toBe(
          'printed',
        );
      }
      // The agent comes back holding nothing: it receives every job not yet confirmed.
      const back = await FakeAgent.connect(after.relay.urls.mqtt, credentials);
      await back.hello();
      const unconfirmed: string[] = [];
      for (const jobId of committed) {
        const state = (await after.relay.store.getJob(jobId))?.state;
        if (state === 'accepted' || state === 'sent') unconfirmed.push(jobId);
      }
      await waitFor(
        () => unconfirmed.every((id) => back.jobs.some((j) => j.jobId === id)),
        'resend of unconfirmed jobs',
      );
      await back.close();
    } finally {
      await after.close();
    }
  });
});
