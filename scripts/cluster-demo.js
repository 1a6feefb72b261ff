#!/usr/bin/env node
// `npm run cluster:demo`: the relay as a cluster on this machine (docs/scaling.md). Throwaway
// PostgreSQL and Redis servers (Debian's, as the tests use them), two relay processes on them,
// and a store whose agent is connected to relay A with relay B as its alternate, printing on a
// virtual printer whose paper shows here. It prints a curl that sends an order to relay B and
// the command that kills relay A, to see the agent move to B. Ctrl+C ends everything.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AgentProcess, RelayProcess } from '../dist/chaos/processes.js';
import { SAMPLE_ORDER_NO } from '../dist/cli/commands/demo.js';
import { startClusterEngines } from '../dist/harness/cluster-engines.js';
import { freePort } from '../dist/harness/ports.js';
import { startVirtualPrinter } from '../dist/virtual-printer/virtual-printer.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'bin', 'printrelay.js');
const work = mkdtempSync(join(tmpdir(), 'printrelay-cluster-'));
const stops = [];
const stopAll = async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
};

try {
  console.log('Starting PostgreSQL and Redis (throwaway, in a temp dir) ...');
  const engines = await startClusterEngines();
  stops.push(() => engines.stop());
  const cluster = await engines.cluster('relay');

  const relays = [];
  for (const name of ['a', 'b']) {
    mkdirSync(join(work, name));
    const r = new RelayProcess(
      cli,
      join(work, name),
      await freePort(),
      await freePort(),
      join(work, `relay-${name}.log`),
      cluster,
    );
    stops.push(() => r.kill9());
    await r.start();
    relays.push(r);
  }
  const [a, b] = relays;
  const key = await a.addKey('all');
  const creds = await a.addStore('demo');

  const printer = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0' });
  stops.push(() => printer.close());
  printer.on('printed', (item) => {
    if (item.kind === 'text') console.log(`  paper | ${item.text}`);
    if (item.kind === 'cut') console.log('  paper ✂ ------------------------------------------');
  });
  const localApiPort = await freePort();
  const config = join(work, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      storeId: creds.storeId,
      relay: {
        url: a.mqttUrl,
        alternateUrls: [b.mqttUrl],
        password: creds.password,
        clientId: creds.clientId,
      },
      dataDir: join(work, 'agent-data'),
      printers: [{ id: 'counter', uri: printer.uri, roles: ['receipt', 'kitchen'], profile: 'epson-tm-t88' }],
      localApi: { port: localApiPort },
    }),
  );
  const agent = new AgentProcess(cli, config, localApiPort, join(work, 'agent.log'));
  stops.push(() => agent.kill9());
  await agent.start();

  const order = join(root, 'examples', 'orders', 'meituan-order.json');
  console.log(`
The relay cluster is up:
  PostgreSQL  ${cluster.database}
  Redis       ${cluster.redis}
  relay A     ${a.httpUrl}  ${a.mqttUrl}  (pid ${a.proc.pid}; the store's agent is connected here)
  relay B     ${b.httpUrl}  ${b.mqttUrl}  (pid ${b.proc.pid})
  logs        ${work}

An order sent to relay B prints on the agent connected to relay A (a new order number each time):
  sed "s/${SAMPLE_ORDER_NO}/$(date +%s%N)/" ${order} | curl -X POST ${b.httpUrl}/v1/orders -H 'authorization: Bearer ${key}' -H 'content-type: application/json' -H "idempotency-key: $(date +%s%N)" -d @-

Kill relay A, and the agent moves to relay B; orders to B go on printing:
  kill -9 ${a.proc.pid}

Press Ctrl+C to stop.`);
  const stop = () => {
    console.log('\nStopping ...');
    stopAll().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  console.error(`the cluster demo failed: ${err instanceof Error ? err.message : String(err)}`);
  await stopAll();
  process.exit(1);
}
