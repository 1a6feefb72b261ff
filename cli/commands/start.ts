// `printrelay start` (what `npm start` runs): a whole local system in one process on embedded
// defaults, for a first look and for demos. The relay, a demo store "demo" with an API key,
// two virtual printers (receipt and kitchen) and the store agent printing to them. The demo
// store's secrets are kept in <data-dir>/demo.json, so a restart reuses them.
import { createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { type Agent, startAgent } from '../../agent/agent.js';
import { parseAgentConfig } from '../../agent/config.js';
import { addApiKey, addStore } from '../../relay/admin.js';
import { addUser } from '../../relay/dashboard/users.js';
import { type Relay, startRelay } from '../../relay/relay.js';
import { consoleLog, type Log } from '../../shared/log.js';
import { version } from '../../shared/version.js';
import { type ControlServer, startControlServer } from '../../virtual-printer/control.js';
import {
  formatPrintedItem,
  startVirtualPrinter,
  type VirtualPrinter,
} from '../../virtual-printer/virtual-printer.js';
import { port } from '../options.js';
import { assertPortsFree, relayPorts, type WantedPort } from '../ports.js';
import {
  DEMO_DATA_DIR,
  DEMO_STORE_ID,
  type DemoPrinter,
  type DemoState,
  demoIdempotencyKey,
  demoOrder,
  demoOrderData,
  demoStateFile,
  readDemoState,
  SAMPLE_ORDER_NO,
  writeDemoState,
} from './demo.js';

interface StartOptions {
  dataDir: string;
  host: string;
  httpPort: number;
  mqttPort: number;
  wsPort: number;
  ws: boolean;
  receiptPort: number;
  kitchenPort: number;
  receiptControlPort: number;
  kitchenControlPort: number;
  localApiPort: number;
}

/** The two virtual printers: a genuine Epson at the counter, a Chinese clone in the kitchen. */
const PRINTERS: readonly {
  id: DemoPrinter;
  name: string;
  profile: string;
  /** The clone answers only GS r, like the real xprinter-80 (its profile says so). */
  gsH: boolean;
  port: (o: StartOptions) => number;
  controlPort: (o: StartOptions) => number;
}[] = [
  {
    id: 'receipt',
    name: '收银台 Counter',
    profile: 'epson-tm-t88',
    gsH: true,
    port: (o) => o.receiptPort,
    controlPort: (o) => o.receiptControlPort,
  },
  {
    id: 'kitchen',
    name: '后厨 Kitchen',
    profile: 'xprinter-80',
    gsH: false,
    port: (o) => o.kitchenPort,
    controlPort: (o) => o.kitchenControlPort,
  },
];

function prefixed(prefix: string): Log {
  return {
    info: (m) => consoleLog.info(`${prefix} ${m}`),
    warn: (m) => consoleLog.warn(`${prefix} ${m}`),
    error: (m) => consoleLog.error(`${prefix} ${m}`),
  };
}

/** The ports `start` listens on, with the option that moves each. */
function wantedPorts(opts: StartOptions): WantedPort[] {
  const local = (port: number, what: string, option: string): WantedPort => ({
    host: '127.0.0.1',
    port,
    what,
    option,
  });
  return [
    ...relayPorts(opts),
    ...PRINTERS.flatMap((p) => [
      local(p.port(opts), `${p.id} virtual printer`, `--${p.id}-port`),
      local(p.controlPort(opts), `${p.id} printer control API`, `--${p.id}-control-port`),
    ]),
    local(opts.localApiPort, 'agent local API', '--local-api-port'),
  ];
}

/** The demo store and its API key: created once, then reused from demo.json. */
async function demoStore(relay: Relay, dataDir: string): Promise<DemoState> {
  const saved = readDemoState(dataDir);
  const store = relay.store;
  let state: DemoState;
  if (!(await store.getStore(DEMO_STORE_ID))) {
    const created = await addStore(store, DEMO_STORE_ID, '演示门店 Demo Store');
    const { credentials: c } = created;
    state = {
      storeId: DEMO_STORE_ID,
      agent: { username: c.username, password: c.password, clientId: c.clientId },
      apiKey: await addApiKey(store, 'printrelay start demo', [DEMO_STORE_ID]),
      relayUrl: relay.urls.http,
    };
  } else if (saved) {
    state = { ...saved, relayUrl: relay.urls.http };
    const keys = await store.listApiKeys();
    if (!keys.some((k) => k.id === saved.apiKey.id && k.revokedAt === null)) {
      state.apiKey = await addApiKey(store, 'printrelay start demo', [DEMO_STORE_ID]);
    }
  } else {
    throw new Error(
      `the relay data in ${join(dataDir, 'relay')} has the store "${DEMO_STORE_ID}" but ${demoStateFile(dataDir)} ` +
        'is gone, and the relay keeps only a hash of its agent password: delete ' +
        `${dataDir} to start afresh`,
    );
  }
  // The dashboard's demo admin, made once like the store (its password is kept in demo.json).
  if (!state.dashboard || !(await store.dashboard.getUser(state.dashboard.user))) {
    await store.dashboard.removeUser('demo'); // made by an earlier run whose demo.json is gone
    const { password } = await addUser(store.dashboard, { name: 'demo', role: 'admin', stores: 'all' });
    state.dashboard = { user: 'demo', password };
  }
  writeDemoState(dataDir, state);
  return state;
}

function shellPath(path: string): string {
  const rel = relative(process.cwd(), path);
  const shown = rel.startsWith('..') ? path : rel;
  return /^[\w./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`;
}

/** A curl that POSTs `body` (kept in the data dir, where it can be edited) to `path`. */
function curlCommand(
  dataDir: string,
  relayUrl: string,
  key: string,
  request: { path: string; name: string; body: unknown; idempotencyKey: string },
): string {
  const file = join(dataDir, 'orders', `${request.name}.json`);
  mkdirSync(join(dataDir, 'orders'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(request.body, null, 2)}\n`);
  return [
    `curl -X POST ${relayUrl}${request.path}`,
    `-H 'Authorization: Bearer ${key}'`,
    "-H 'Content-Type: application/json'",
    `-H 'Idempotency-Key: ${request.idempotencyKey}'`,
    `--data-binary @${shellPath(file)}`,
  ].join(' \\\n    ');
}

const jobCurl = (printer: DemoPrinter) => ({
  path: '/v1/jobs',
  name: printer,
  body: demoOrder(printer),
  idempotencyKey: demoIdempotencyKey(printer),
});

interface RunningPrinter {
  spec: (typeof PRINTERS)[number];
  printer: VirtualPrinter;
  control: ControlServer;
  out: WriteStream;
}

/** A virtual printer whose print-out shows on stdout, prefixed with its name, and goes to a file. */
async function demoPrinter(
  spec: (typeof PRINTERS)[number],
  opts: StartOptions,
  printedDir: string,
): Promise<RunningPrinter> {
  const printer = await startVirtualPrinter({ listen: `tcp://127.0.0.1:${spec.port(opts)}`, gsH: spec.gsH });
  const out = createWriteStream(join(printedDir, `${spec.id}.txt`), { flags: 'a' });
  const tag = `[${spec.id}]`.padEnd(10);
  printer.on('printed', (item) => {
    const line = formatPrintedItem(item);
    process.stdout.write(`${tag}│ ${line}\n`);
    out.write(`${line}\n`);
  });
  try {
    const control = await startControlServer(printer, `tcp://127.0.0.1:${spec.controlPort(opts)}`);
    return { spec, printer, control, out };
  } catch (err) {
    await printer.close();
    out.end();
    throw err;
  }
}

async function start(opts: StartOptions): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  const printedDir = join(dataDir, 'printed');
  mkdirSync(printedDir, { recursive: true });
  await assertPortsFree(wantedPorts(opts), '`printrelay start` or relay');

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  // Before anything says "Press Ctrl+C": whoever reads that may send the signal at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    stopAll().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(
          `printrelay: error while stopping: ${err instanceof Error ? err.message : String(err)}`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    const relay = await startRelay({
      dataDir: join(dataDir, 'relay'),
      host: opts.host,
      httpPort: opts.httpPort,
      mqttPort: opts.mqttPort,
      wsPort: opts.ws ? opts.wsPort : null,
      log: prefixed('relay'),
    });
    cleanups.push(() => relay.close());
    const state = await demoStore(relay, dataDir);

    const printers: RunningPrinter[] = [];
    for (const spec of PRINTERS) {
      const p = await demoPrinter(spec, opts, printedDir);
      printers.push(p);
      cleanups.push(async () => {
        await p.control.close();
        await p.printer.close();
        await new Promise<void>((done) => p.out.end(() => done()));
      });
    }

    // The agent reaches the relay on loopback even when the relay listens on every interface.
    const mqttUrl = relay.urls.mqtt.replace(/^mqtt:\/\/[^/]+:/, 'mqtt://127.0.0.1:');
    const agent: Agent = await startAgent({
      config: parseAgentConfig({
        storeId: state.storeId,
        relay: { url: mqttUrl, password: state.agent.password, clientId: state.agent.clientId },
        dataDir: join(dataDir, 'agent'),
        printers: printers.map(({ spec, printer }) => ({
          id: spec.id,
          name: spec.name,
          uri: printer.uri,
          profile: spec.profile,
          roles: [spec.id],
        })),
        localApi: { port: opts.localApiPort },
      }),
      log: prefixed('agent'),
    });
    cleanups.push(() => agent.close());

    const http = relay.urls.http;
    const lines = [
      '',
      `printrelay ${version} is running a local system (data in ${shellPath(dataDir)})`,
      `  HQ dashboard     ${http}/hq/   sign in as ${state.dashboard?.user} / ${state.dashboard?.password}`,
      `  HTTP API         ${http}   (OpenAPI: ${http}/openapi.json)`,
      `  MQTT             ${relay.urls.mqtt}${relay.urls.ws ? `   (WebSocket: ${relay.urls.ws})` : ''}`,
      `  store page       ${agent.localApiUrl ? `${agent.localApiUrl}/` : 'off'}   (store ${state.storeId}; its agent's local API: /v1/status)`,
      ...printers.map(
        (p) =>
          `  printer ${p.spec.id.padEnd(8)} ${p.printer.uri} (${p.spec.profile})   control: ${p.control.url}/status`,
      ),
      `  print-outs       here, and in ${shellPath(printedDir)}/<printer>.txt`,
      `  API key          ${state.apiKey.key}   (store ${state.storeId} only)`,
      '',
      'Send a 美团 order to the receipt printer (the same Idempotency-Key again prints nothing more):',
      `  ${curlCommand(dataDir, http, state.apiKey.key, jobCurl('receipt'))}`,
      'and its ticket to the kitchen:',
      `  ${curlCommand(dataDir, http, state.apiKey.key, jobCurl('kitchen'))}`,
      `Then follow it: curl -H 'Authorization: Bearer ${state.apiKey.key}' ${http}/v1/jobs/<jobId>`,
      // demo order finds this system's ports in <data-dir>/demo.json: it needs the data dir.
      `Or, all in one: npx printrelay demo order${dataDir === resolve(DEMO_DATA_DIR) ? '' : ` --data-dir ${shellPath(dataDir)}`} [--printer kitchen]`,
      'Or send the order itself: the relay makes the kitchen tickets (its stations have no printer of their own here, so the kitchen takes them) and the receipt:',
      `  ${curlCommand(dataDir, http, state.apiKey.key, { path: '/v1/orders', name: 'order', body: demoOrderData(), idempotencyKey: `meituan-${SAMPLE_ORDER_NO}` })}`,
      `  and follow it: curl -H 'Authorization: Bearer ${state.apiKey.key}' '${http}/v1/orders?source=meituan&orderNo=${SAMPLE_ORDER_NO}'`,
      ...printers
        .filter((p) => p.spec.id === 'kitchen')
        .map(
          ({ control }) =>
            `Paper out in the kitchen: curl -X POST ${control.url}/fault -d '{"fault":"paper-out","on":true}'` +
            `\n  and a new roll: curl -X POST ${control.url}/refill`,
        ),
      '',
      'Press Ctrl+C to stop.',
    ];
    console.log(lines.join('\n'));
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'Run a whole local system on embedded defaults (what `npm start` runs): relay, a demo store ' +
        'with its agent, and two virtual printers.',
    )
    .option('--data-dir <dir>', 'where everything is kept', DEMO_DATA_DIR)
    .option('--host <address>', 'interface the relay listens on', '127.0.0.1')
    .option('--http-port <port>', 'relay HTTP API port (0 = any free port)', port, 8080)
    .option('--mqtt-port <port>', 'relay MQTT port', port, 1883)
    .option('--ws-port <port>', 'relay MQTT over WebSocket port', port, 8083)
    .option('--no-ws', 'no WebSocket listener')
    .option('--receipt-port <port>', 'receipt virtual printer port', port, 9101)
    .option('--kitchen-port <port>', 'kitchen virtual printer port', port, 9102)
    .option('--receipt-control-port <port>', "receipt printer's control API port", port, 9201)
    .option('--kitchen-control-port <port>', "kitchen printer's control API port", port, 9202)
    .option('--local-api-port <port>', "the agent's local API port", port, 8765)
    .action((opts: StartOptions) => start(opts));
}
