// Failed MQTT logins are throttled per client address and per username, with real mqtt.js
// clients from several loopback addresses, and logged as a summary, not once per attempt.
import { connect } from 'node:net';
import { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCredentials } from '../relay/admin.js';
import { FailureLimiter } from '../relay/failure-limiter.js';
import type { Log } from '../shared/log.js';
import { startTestRelay, type TestRelay } from './relay-helpers.js';

/** CONNECT from `from` (a 127.0.0.x address); resolves with the CONNACK code (0: accepted). */
function login(url: string, creds: AgentCredentials, password: string, from: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const client = new MqttClient(() => connect({ host: hostname, port: Number(port), localAddress: from }), {
      clientId: creds.clientId,
      username: creds.username,
      password,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 4,
    });
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (err) => {
      client.end(true);
      const code = (err as { code?: unknown }).code;
      typeof code === 'number' ? resolve(code) : reject(err);
    });
  });
}

const lines: string[] = [];
const log: Log = { info: () => {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
let t: TestRelay | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
  lines.length = 0;
});

describe('MQTT login throttling', () => {
  it('refuses an address after its failures without checking, and logs one summary for 50 attempts', async () => {
    t = await startTestRelay({ log, mqttAuthThrottle: { summaryMs: 3_600_000 } });
    const a = await t.store('storeA');
    const wrong = `${a.password.slice(0, -3)}bad`;
    const codes: number[] = [];
    for (let i = 0; i < 50; i++) codes.push(await login(t.relay.urls.mqtt, a, wrong, '127.0.0.1'));
    // 10 checked and refused (bad username or password), then "server unavailable" unchecked.
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(4));
    expect(codes.slice(10)).toEqual(Array(40).fill(3));
    // Even the right password waits while the address is throttled...
    expect(await login(t.relay.urls.mqtt, a, a.password, '127.0.0.1')).toBe(3);
    // ...while another address gets in: the username has had only 10 checked failures.
    expect(await login(t.relay.urls.mqtt, a, a.password, '127.0.0.2')).toBe(0);

    expect(lines.filter((l) => l.startsWith('mqtt:'))).toEqual([]);
    await t.close();
    t = null;
    const summary = lines.filter((l) => l.startsWith('mqtt:'));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatch(
      /^mqtt: refused 51 login\(s\) in the last \d+ s \(bad-credentials 10, throttled 41\)/,
    );
    expect(summary[0]).toContain('"127.0.0.1" 51');
    expect(summary[0]).toContain('"storeA" 51');
  });

  it('refuses a username after its failures from any address', async () => {
    t = await startTestRelay({
      log,
      mqttAuthThrottle: {
        perAddress: { maxFailures: 1000, windowMs: 60_000 },
        perUsername: { maxFailures: 5, windowMs: 60_000 },
      },
    });
    const a = await t.store('storeA');
    const b = await t.store('storeB');
    for (let i = 0; i < 5; i++) {
      expect(await login(t.relay.urls.mqtt, b, 'pra_wrong', `127.0.0.${10 + i}`)).toBe(4);
    }
    expect(await login(t.relay.urls.mqtt, b, b.password, '127.0.0.20')).toBe(3);
    expect(await login(t.relay.urls.mqtt, a, a.password, '127.0.0.10')).toBe(0);
  });

  it('lets an address try again once its window has passed', async () => {
    t = await startTestRelay({
      log,
      mqttAuthThrottle: { perAddress: { maxFailures: 2, windowMs: 300 } },
    });
    const a = await t.store('storeA');
    expect(await login(t.relay.urls.mqtt, a, 'x', '127.0.0.1')).toBe(4);
    expect(await login(t.relay.urls.mqtt, a, 'x', '127.0.0.1')).toBe(4);
    expect(await login(t.relay.urls.mqtt, a, a.password, '127.0.0.1')).toBe(3);
    await new Promise((r) => setTimeout(r, 400));
    expect(await login(t.relay.urls.mqtt, a, a.password, '127.0.0.1')).toBe(0);
  });
});

describe('FailureLimiter', () => {
  it('keeps at most maxKeys keys, dropping the least recently seen', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 2, windowMs: 1000 }, 100, () => now);
    limiter.fail('first');
    limiter.fail('first');
    expect(limiter.blockedFor('first')).toBe(1000);
    for (let i = 0; i < 99; i++) limiter.fail(`k${i}`);
    // Seen again, 'first' is the most recent: 'k0' is the one dropped for the next key.
    expect(limiter.blockedFor('first')).toBe(1000);
    limiter.fail('one-more');
    expect(limiter.blockedFor('k0')).toBe(0);
    expect(limiter.size).toBe(100);
    expect(limiter.blockedFor('first')).toBe(1000);
    for (let i = 0; i < 10_000; i++) limiter.fail(`flood${i}`);
    expect(limiter.size).toBe(100);
    now = 400;
    limiter.fail('late');
    limiter.fail('late');
    expect(limiter.blockedFor('late')).toBe(1000);
    now = 1400;
    expect(limiter.blockedFor('late')).toBe(0);
  });
});
