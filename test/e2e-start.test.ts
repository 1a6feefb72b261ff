// `printrelay start` (npm start) on a fresh folder, and `printrelay demo order` against it:
// the whole local system comes up, the sample 美团 order ends printed, Ctrl+C stops it, and a
// second start reuses the demo store's credentials.
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../agent/config.js';
import { parseJobRequest } from '../protocol/job.js';
import { CliProcess, E2e } from './support/e2e.js';
import { REPO_ROOT } from './support/repo.js';

const e2e = new E2e();
afterEach(() => e2e.close());

const FREE_PORTS = [
  ...['--http-port', '--mqtt-port', '--receipt-port', '--kitchen-port'],
  ...['--receipt-control-port', '--kitchen-control-port', '--local-api-port'],
].flatMap((option) => [option, '0']);

/** `printrelay start` in `cwd` on free ports; resolves once it says it is ready. */
async function start(cwd: string): Promise<CliProcess> {
  const proc = new CliProcess('start', ['start', '--no-ws', ...FREE_PORTS], { cwd });
  e2e.onClose(() => proc.kill('SIGKILL').then(() => undefined));
  await proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
  return proc;
}

async function demoOrder(cwd: string, ...args: string[]): Promise<CliProcess> {
  const proc = new CliProcess('demo order', ['demo', 'order', ...args], { cwd });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`demo order exited with ${code}:\n${proc.output}`);
  return proc;
}

function demoState(cwd: string): { apiKey: { key: string }; agent: { password: string }; relayUrl: string } {
  return JSON.parse(readFileSync(join(cwd, '.data', 'demo.json'), 'utf8'));
}

describe('printrelay start and demo order', { timeout: 60_000 }, () => {
  it('runs a whole local system, prints the demo order on both printers, stops on Ctrl+C and restarts', async () => {
    const cwd = e2e.tempDir();
    const first = await start(cwd);
    const state = demoState(cwd);
    expect(first.output).toContain(`API key          ${state.apiKey.key}`);
    expect(first.output).toMatch(
      /HTTP API\s+http:\/\/127\.0\.0\.1:\d+ {3}\(OpenAPI: http:\/\/127\.0\.0\.1:\d+\/openapi\.json\)/,
    );
    expect(first.output).toMatch(/curl -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/jobs/);
    expect(first.output).toContain("-H 'Idempotency-Key: meituan-1702339812345678901-receipt'");
    // The curl bodies are real job requests for the demo store.
    for (const printer of ['receipt', 'kitchen']) {
      const body = parseJobRequest(
        JSON.parse(readFileSync(join(cwd, '.data', 'orders', `${printer}.json`), 'utf8')),
      );
      expect(body).toMatchObject({ storeId: 'demo', printer });
      expect(first.output).toContain(`--data-binary @.data/orders/${printer}.json`);
    }

    // Both printers at once (two order sources).
    const [receipt] = await Promise.all([
      demoOrder(cwd, '--order-no', 'E2E42'),
      demoOrder(cwd, '--printer', 'kitchen', '--order-no', 'E2E43'),
    ]);
    expect(receipt.output).toMatch(/job \S+\n\s+\S+ {2}accepted\n(.*\n)*\s+\S+ {2}printed\n/);
    expect(receipt.output).toMatch(/: printed on printer receipt\.\n$/);
    await first.waitForOutput('[receipt] │ 订单号: E2E42');
    await first.waitForOutput('[receipt] │ [CUT partial]');
    await first.waitForOutput('[kitchen] │ 订单号: E2E43');
    expect(readFileSync(join(cwd, '.data', 'printed', 'receipt.txt'), 'utf8')).toContain('订单号: E2E42');
    expect(readFileSync(join(cwd, '.data', 'printed', 'kitchen.txt'), 'utf8')).toContain('订单号: E2E43');

    // The order itself, as the printed curl sends it: the relay makes the tickets.
    expect(first.output).toContain(`/v1/orders \\\n    -H 'Authorization: Bearer ${state.apiKey.key}'`);
    expect(first.output).toContain('--data-binary @.data/orders/order.json');
    const ordered = await fetch(`${state.relayUrl}/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${state.apiKey.key}`,
        'content-type': 'application/json',
        'idempotency-key': 'meituan-1702339812345678901',
      },
      body: readFileSync(join(cwd, '.data', 'orders', 'order.json')),
    });
    expect(ordered.status).toBe(201);
    await first.waitForOutput('[kitchen] │ 1 x 可乐 Cola');
    await first.waitForOutput('[receipt] │ 可乐 Cola');

    first.proc.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = await start(cwd);
    const again = demoState(cwd);
    expect(again.agent.password).toBe(state.agent.password);
    expect(again.apiKey.key).toBe(state.apiKey.key);
    // A new order prints through the restarted agent; the same order again is a replay: the
    // same job, no second ticket.
    const [, replay] = await Promise.all([
      demoOrder(cwd, '--order-no', 'E2E44'),
      demoOrder(cwd, '--order-no', 'E2E42'),
    ]);
    expect(replay.output).toContain('was used before');
    await second.waitForOutput('[receipt] │ 订单号: E2E44');
    const paper = readFileSync(join(cwd, '.data', 'printed', 'receipt.txt'), 'utf8');
    expect(paper.split('订单号: E2E42').length - 1).toBe(1);
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('gives a demo order hint that reaches this system when its data is elsewhere', async () => {
    const cwd = e2e.tempDir();
    const proc = new CliProcess('start', ['start', '--no-ws', ...FREE_PORTS, '--data-dir', 'elsewhere'], {
      cwd,
    });
    e2e.onClose(() => proc.kill('SIGKILL').then(() => undefined));
    await proc.waitForOutput('Press Ctrl+C to stop.', 20_000);
    expect(proc.output).toContain(
      'Or, all in one: npx printrelay demo order --data-dir elsewhere [--printer kitchen]',
    );
    // As the hint says: it finds the free ports this start took through that data dir.
    const order = await demoOrder(cwd, '--data-dir', 'elsewhere', '--order-no', 'ELSEWHERE1');
    expect(order.output).toMatch(/: printed on printer receipt\.\n$/);
    proc.proc.kill('SIGINT');
    expect(await proc.exited).toBe(0);
  });

  it('says which port is taken and which option moves it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    e2e.onClose(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as AddressInfo).port;

    const proc = new CliProcess('start', ['start', '--no-ws', ...FREE_PORTS, '--http-port', String(taken)], {
      cwd: e2e.tempDir(),
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output).toContain(`port ${taken} (relay HTTP API): choose another with --http-port`);
  });

  it('ships examples that are valid: the agent config loads, the orders are job requests', () => {
    const config = loadAgentConfig(join(REPO_ROOT, 'examples', 'agent.json'), {});
    expect(config.printers.map((p) => p.roles)).toEqual([['receipt'], ['kitchen']]);
    for (const file of ['meituan-receipt.json', 'meituan-kitchen.json']) {
      const order = parseJobRequest(
        JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'orders', file), 'utf8')),
      );
      expect(order.storeId).toBe('demo');
    }
  });
});
