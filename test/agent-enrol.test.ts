// `printrelay agent enrol` as a field tech runs it: against a real relay process, with the
// one-time code `relay stores add` printed, and then the enrolled agent printing an order.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../agent/config.js';
import { chooseRelayUrl, proposePrinters } from '../agent/enrol.js';
import { AgentProcess, CliProcess, E2e, markedJob, type RelayProcess } from './support/e2e.js';

let e2e: E2e;
afterEach(async () => {
  await e2e.close();
});

async function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = new CliProcess(args.slice(0, 2).join(' '), args);
  const code = await proc.exited;
  return { code, output: proc.output };
}

async function newStore(relay: RelayProcess, storeId: string): Promise<string> {
  const added = await cli([
    'relay',
    'stores',
    'add',
    storeId,
    '--name',
    '测试店',
    '--data-dir',
    relay.dataDir,
  ]);
  expect(added.code, added.output).toBe(0);
  const code = /\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(added.output)?.[0];
  if (!code) throw new Error(`no enrolment code in:\n${added.output}`);
  return code;
}

describe('agent enrol', () => {
  it('turns a code into a working agent config, and the store prints', async () => {
    e2e = new E2e();
    const { relay, api } = await e2e.relay();
    const printer = await e2e.printer();
    const code = await newStore(relay, 'enrol-s1');
    const dir = e2e.tempDir();
    const out = join(dir, 'agent.json');
    const localApiPort = 0;
    const enrolled = await cli([
      'agent',
      'enrol',
      '--relay',
      relay.httpUrl,
      '--code',
      code.toLowerCase(),
      '--printer',
      `counter=${printer.uri},epson-tm-t88,receipt`,
      '--name',
      'counter=收银台 Counter',
      '--local-api-port',
      String(localApiPort),
      '--yes',
      '-o',
      out,
    ]);
    expect(enrolled.code, enrolled.output).toBe(0);
    expect(enrolled.output).toContain('Enrolled store enrol-s1');
    // It holds the store's password.
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const config = parseAgentConfig(JSON.parse(readFileSync(out, 'utf8')));
    expect(config.storeId).toBe('enrol-s1');
    expect(config.relay.url).toBe(relay.mqttUrl);
    expect(config.relay.apiUrl).toBe(relay.httpUrl);
    expect(config.printers[0]).toMatchObject({ id: 'counter', name: '收银台 Counter', roles: ['receipt'] });

    const agent = new AgentProcess(out, localApiPort);
    e2e.onClose(() => agent.kill9());
    await agent.start();
    const jobId = await api.submit(markedJob('enrol-s1', 'ENROLLED-1'), 'enrol-order-1');
    await api.waitForState(jobId, 'printed');
    expect(printer.printedText()).toContain('ENROLLED-1');
  });

  it('refuses a used code and an expired one with what to do, and writes nothing', async () => {
    e2e = new E2e();
    const { relay } = await e2e.relay();
    const code = await newStore(relay, 'enrol-s2');
    const dir = e2e.tempDir();
    const args = (c: string, out: string) => [
      'agent',
      'enrol',
      '--relay',
      relay.httpUrl,
      '--code',
      c,
      '--printer',
      'counter=tcp://127.0.0.1:9,epson-tm-t88,receipt',
      '--yes',
      '-o',
      join(dir, out),
    ];
    expect((await cli(args(code, 'first.json'))).code).toBe(0);
    const again = await cli(args(code, 'again.json'));
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/refused enrolment code .*works once.*ask HQ for a new one/s);
    expect(() => statSync(join(dir, 'again.json'))).toThrow();

    const expiring = await newStore(relay, 'enrol-s3');
    const db = new Database(join(relay.dataDir, 'relay.db'));
    db.prepare('UPDATE enrolment_codes SET expires_at = 1 WHERE store_id = ?').run('enrol-s3');
    db.close();
    const expired = await cli(args(expiring, 'expired.json'));
    expect(expired.code).toBe(1);
    expect(expired.output).toMatch(/refused enrolment code .*expires after 7 days/s);
    expect(() => statSync(join(dir, 'expired.json'))).toThrow();
  });

  it('does not spend the code when the printers are wrong or nobody confirmed them', async () => {
    e2e = new E2e();
    const { relay } = await e2e.relay();
    const code = await newStore(relay, 'enrol-s4');
    const out = join(e2e.tempDir(), 'agent.json');
    const base = ['agent', 'enrol', '--relay', relay.httpUrl, '--code', code, '-o', out];
    const badProfile = await cli([
      ...base,
      '--printer',
      'counter=tcp://127.0.0.1:9,no-such-profile',
      '--yes',
    ]);
    expect(badProfile.code).toBe(1);
    expect(badProfile.output).toMatch(/code was not used.*no-such-profile/s);
    const unconfirmed = await cli([...base, '--printer', 'counter=tcp://127.0.0.1:9,epson-tm-t88']);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.output).toContain('add --yes');
    expect((await cli([...base, '--printer', 'counter=tcp://127.0.0.1:9,epson-tm-t88', '--yes'])).code).toBe(
      0,
    );
  });
});

describe('enrolment choices', () => {
  it('connects encrypted when the relay offers it, plain only on this machine or when allowed', () => {
    expect(chooseRelayUrl(['mqtts://hq:8883', 'mqtt://hq:1883'], false)).toBe('mqtts://hq:8883');
    expect(chooseRelayUrl(['mqtt://127.0.0.1:1883'], false)).toBe('mqtt://127.0.0.1:1883');
    expect(() => chooseRelayUrl(['mqtt://hq:1883'], false)).toThrow(/only unencrypted.*--allow-plaintext/);
    expect(chooseRelayUrl(['mqtt://hq:1883'], true)).toBe('mqtt://hq:1883');
  });

  it("proposes counter and kitchen, each the other's backup; one printer takes both roles", () => {
    const two = proposePrinters([
      { uri: 'tcp://10.0.0.5:9100', suggestedProfile: 'epson-tm-t88' },
      { uri: 'tcp://10.0.0.6:9100', suggestedProfile: null },
    ]);
    expect(two).toEqual([
      expect.objectContaining({
        id: 'counter',
        roles: ['receipt'],
        backup: 'kitchen',
        profile: 'epson-tm-t88',
      }),
      expect.objectContaining({
        id: 'kitchen',
        roles: ['kitchen'],
        backup: 'counter',
        profile: 'xprinter-80',
      }),
    ]);
    const one = proposePrinters([{ uri: 'usb://04b8:0e28', suggestedProfile: 'epson-tm-t88' }]);
    expect(one).toEqual([expect.objectContaining({ id: 'counter', roles: ['receipt', 'kitchen'] })]);
    expect(one[0]?.backup).toBeUndefined();
  });
});
