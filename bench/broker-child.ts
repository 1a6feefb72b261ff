// The broker under test in its own process, so that its memory and CPU can be measured alone:
// either the relay (startRelay, as `printrelay relay start` runs it) or, as the baseline, a
// bare aedes broker with plain QoS 1, no authentication and no durability.
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { type AddressInfo, createServer } from 'node:net';
import { dirname } from 'node:path';
import { Aedes } from 'aedes';
import { startRelay } from '../relay/relay.js';
import { silentLog } from '../shared/log.js';
import type { BrokerConfig, BrokerReply, BrokerRequest } from './ipc.js';
import { nowMs } from './stats.js';

const config = JSON.parse(process.argv[2] ?? '') as BrokerConfig;
const reply = (m: BrokerReply) => process.send?.(m);

async function startBroker(): Promise<{ mqttPort: number; httpPort: number; close: () => Promise<void> }> {
  if (config.kind === 'relay') {
    const relay = await startRelay({
      dataDir: config.dataDir,
      host: '127.0.0.1',
      httpPort: config.httpPort,
      mqttPort: config.mqttPort,
      wsPort: null,
      database: config.database,
      redis: config.redis,
      log: silentLog,
    });
    const port = (url: string) => Number(new URL(url).port);
    return { mqttPort: port(relay.urls.mqtt), httpPort: port(relay.urls.http), close: () => relay.close() };
  }
  const broker = await Aedes.createBroker();
  const server = createServer({ noDelay: true }, (socket) => broker.handle(socket));
  server.listen(config.mqttPort, '127.0.0.1');
  await once(server, 'listening');
  return {
    mqttPort: (server.address() as AddressInfo).port,
    httpPort: 0,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run the broker child with --expose-gc');
  for (let i = 0; i < 3; i++) collect();
}

const broker = await startBroker();
reply({ type: 'ready', mqttPort: broker.mqttPort, httpPort: broker.httpPort, at: nowMs() });

// Nothing to do once the benchmark is gone, whatever happened to it.
process.on('disconnect', () => process.exit(0));

/** CPU profiles of chosen stretches (an order phase, a storm) for BENCH_CPU_PROF; no session otherwise. */
let profiler: Session | null = null;

process.on('message', async (m: BrokerRequest) => {
  if (m.type === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    reply({ type: 'profiling' });
  } else if (m.type === 'profile-stop') {
    if (!profiler) return;
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = null;
    mkdirSync(dirname(m.file), { recursive: true });
    writeFileSync(m.file, JSON.stringify(profile));
    reply({ type: 'profiled' });
  } else if (m.type === 'usage') {
    if (m.gc) gc();
    const cpu = process.cpuUsage();
    reply({
      type: 'usage',
      rssBytes: process.memoryUsage.rss(),
      heapUsedBytes: process.memoryUsage().heapUsed,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  } else if (m.type === 'stop') {
    void broker.close().then(() => {
      reply({ type: 'stopped' });
      // Whatever a closed broker still holds must not keep the process: see 'disconnect' above.
      process.disconnect();
    });
  }
});
