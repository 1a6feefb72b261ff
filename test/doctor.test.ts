// `printrelay doctor` on a store PC: a healthy store (agent running, printing a test page), and
// one where everything a field tech meets goes wrong at once. Real relay and agent processes,
// a real virtual printer, real sockets; the clock check talks to a real server whose clock is off.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentProcess, CliProcess, E2e, freePort, waitFor } from './support/e2e.js';

let e2e: E2e;
afterEach(async () => {
  await e2e.close();
});

interface Report {
  ok: boolean;
  storeId: string | null;
  checks: {
    id: string;
    status: string;
    title: string;
    found: string;
    fix: string | null;
    condition?: string;
  }[];
}

async function doctor(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = new CliProcess('doctor', ['doctor', ...args]);
  return { code: await proc.exited, output: proc.output };
}

function check(report: Report, id: string) {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${JSON.stringify(report.checks)}`);
  return found;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  e2e.onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

describe('printrelay doctor', () => {
  it('finds a healthy store healthy and prints a test page through the running agent', async () => {
    e2e = new E2e();
    const { relay, api } = await e2e.relay();
    const creds = await relay.addStore('doc-s1');
    const printer = await e2e.printer();
    const localApiPort = await freePort();
    const file = join(e2e.tempDir(), 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        storeId: creds.storeId,
        relay: { url: relay.mqttUrl, password: creds.password, apiUrl: relay.httpUrl },
        dataDir: 'data',
        printers: [
          { id: 'counter', name: '收银台', uri: printer.uri, profile: 'epson-tm-t88', roles: ['receipt'] },
        ],
        localApi: { port: localApiPort },
      }),
    );
    const agent = new AgentProcess(file, localApiPort);
    e2e.onClose(() => agent.kill9());
    await agent.start();
    await waitFor(() => api.storeOnline('doc-s1'), 'store online', 15_000);

    const run = await doctor(['--config', file, '--json', '--lang', 'en', '--test-print']);
    expect(run.code, run.output).toBe(0);
    const report = JSON.parse(run.output) as Report;
    expect(report).toMatchObject({ ok: true, storeId: 'doc-s1' });
    for (const id of ['config', 'agent', 'reach', 'tls', 'login', 'clock', 'db']) {
      expect(check(report, id).status, `${id}: ${check(report, id).found}`).toBe('ok');
    }
    expect(check(report, 'disk').status).not.toBe('fail');
    expect(check(report, 'printer:counter')).toMatchObject({ status: 'ok', found: 'test page printed' });
    expect(printer.printedText()).toContain('TEST PRINT');
    // The doctor signed in beside the agent, not in its place.
    expect(await api.storeOnline('doc-s1')).toBe(true);
  });

  it('says what is wrong and what to do, in Chinese and in English, and exits 1', async () => {
    e2e = new E2e();
    const { relay } = await e2e.relay();
    const creds = await relay.addStore('doc-s2');
    const printer = await e2e.printer({ faults: ['paper-out'] });
    // A relay API whose clock is ten minutes behind.
    const skewed = createServer((_req, res) => {
      res.sendDate = false;
      res.writeHead(200, { date: new Date(Date.now() - 600_000).toUTCString() }).end('{"ok":true}');
    });
    const apiPort = await listen(skewed);
    // Something else on the agent's local API port.
    const squatter = createServer((_req, res) => res.writeHead(404).end('not the agent'));
    const localApiPort = await listen(squatter);
    const file = join(e2e.tempDir(), 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        storeId: creds.storeId,
        relay: { url: relay.mqttUrl, password: 'pra_wrong_password', apiUrl: `http://127.0.0.1:${apiPort}` },
        dataDir: 'data',
        printers: [
          { id: 'kitchen', name: '后厨', uri: printer.uri, profile: 'epson-tm-t88', roles: ['kitchen'] },
        ],
        localApi: { port: localApiPort },
      }),
    );

    const zh = await doctor(['--config', file, '--lang', 'zh-CN']);
    expect(zh.code, zh.output).toBe(1);
    expect(zh.output).toContain('✗ 门店账号');
    expect(zh.output).toContain('云端拒绝了门店账号或密码');
    expect(zh.output).toContain('缺纸：请装纸，装好后自动继续打印');
    expect(zh.output).toMatch(/与云端相差 (59\d|60\d) 秒/);
    expect(zh.output).toContain(`端口 ${localApiPort} 被别的程序占用`);

    const en = JSON.parse((await doctor(['--config', file, '--lang', 'en', '--json'])).output) as Report;
    expect(en.ok).toBe(false);
    expect(check(en, 'login')).toMatchObject({
      status: 'fail',
      found: "the relay refused the store's username or password",
    });
    expect(check(en, 'login').fix).toContain('printrelay agent enrol');
    expect(check(en, 'clock')).toMatchObject({ status: 'fail' });
    expect(check(en, 'agent')).toMatchObject({ status: 'fail' });
    expect(check(en, 'printer:kitchen')).toMatchObject({
      status: 'fail',
      condition: 'paper-out',
      fix: 'Paper out: load paper; printing resumes by itself',
    });
  });

  it('tells an unreachable relay and a broken config apart', async () => {
    e2e = new E2e();
    const dir = e2e.tempDir();
    const closedPort = await freePort();
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        storeId: 's3',
        relay: { url: `mqtt://127.0.0.1:${closedPort}`, password: 'pra_x' },
        dataDir: 'data',
        printers: [{ id: 'counter', uri: `tcp://127.0.0.1:${closedPort}`, profile: 'epson-tm-t88' }],
        localApi: { port: null },
      }),
    );
    const run = await doctor(['--config', file, '--json', '--lang', 'en', '--timeout', '1000']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.output) as Report;
    expect(check(report, 'reach')).toMatchObject({
      status: 'fail',
      found: `cannot reach 127.0.0.1:${closedPort}: ECONNREFUSED`,
    });
    expect(check(report, 'login').status).toBe('skip');
    expect(check(report, 'clock').status).toBe('skip');
    expect(check(report, 'printer:counter').status).toBe('fail');

    writeFileSync(file, JSON.stringify({ storeId: 's3' }));
    const broken = await doctor(['--config', file, '--json', '--lang', 'en']);
    expect(broken.code).toBe(1);
    const bad = JSON.parse(broken.output) as Report;
    expect(bad.checks).toHaveLength(1);
    expect(check(bad, 'config')).toMatchObject({ status: 'fail' });
    expect(check(bad, 'config').found).toContain('/relay');
  });
});
