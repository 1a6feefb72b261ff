// `printrelay relay ...`: run the cloud relay and manage its stores, API keys and webhooks.
// The management commands open the relay's database directly (SQLite WAL allows this while
// the relay runs), so they work on the relay machine without any extra credentials.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addApiKey, addStore, addWebhook, parseStoreScope, parseWebhookEvents } from '../../relay/admin.js';
import { startRelay } from '../../relay/relay.js';
import type { RelayStore, StoreScope } from '../../relay/store/job-store.js';
import { openRelayStore } from '../../relay/store/open.js';
import { version } from '../../shared/version.js';
import { port } from '../options.js';

const DEFAULT_DATA_DIR = process.env.PRINTRELAY_RELAY_DATA ?? 'relay-data';

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
  }
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function scopeText(scope: StoreScope): string {
  return scope === 'all' ? 'all stores' : scope.join(', ');
}

/** Opens the database, runs `fn`, and always closes it again. */
async function withStore<T>(dataDir: string, fn: (store: RelayStore) => Promise<T>): Promise<T> {
  const store = openRelayStore(resolve(dataDir));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

interface StartOptions {
  dataDir: string;
  host: string;
  httpPort: number;
  mqttPort: number;
  wsPort: number;
  ws: boolean;
  tlsCert?: string;
  tlsKey?: string;
  mqttsPort: number;
}

async function start(opts: StartOptions): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new Error('TLS needs both --tls-cert and --tls-key');
  }
  const tls =
    opts.tlsCert && opts.tlsKey
      ? { cert: readPem(opts.tlsCert, 'certificate'), key: readPem(opts.tlsKey, 'key'), port: opts.mqttsPort }
      : null;
  const dataDir = resolve(opts.dataDir);
  const relay = await startRelay({
    dataDir,
    host: opts.host,
    httpPort: opts.httpPort,
    mqttPort: opts.mqttPort,
    wsPort: opts.ws ? opts.wsPort : null,
    tls,
  });
  const { urls } = relay;
  console.log(`printrelay relay ${version} is running`);
  console.log(`  HTTP API    ${urls.http}   (OpenAPI: ${urls.http}/openapi.json)`);
  console.log(`  MQTT        ${urls.mqtt}`);
  if (urls.mqtts) console.log(`  MQTT (TLS)  ${urls.mqtts}`);
  if (urls.ws) console.log(`  WebSocket   ${urls.ws}`);
  console.log(`  data        ${dataDir}`);
  if ((await relay.store.listStores()).length === 0) {
    console.log('No stores yet: add one with `printrelay relay stores add <storeId> --name "..."`.');
  }
  if ((await relay.store.listApiKeys()).length === 0) {
    console.log('No API keys yet: make one with `printrelay relay keys add --stores all`.');
  }
  console.log('Press Ctrl+C to stop.');

  const stop = (signal: string) => {
    console.log(`\n${signal}: stopping the relay...`);
    relay.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`printrelay: error while stopping: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export function registerRelay(program: Command): void {
  const relay = program
    .command('relay')
    .description('Run the cloud relay (MQTT broker + HTTP API) and manage it.');
  const dataDirOption = [
    '--data-dir <dir>',
    'relay data directory (env PRINTRELAY_RELAY_DATA)',
    DEFAULT_DATA_DIR,
  ] as const;

  relay
    .command('start')
    .description('Start the relay: MQTT for store agents, HTTP API for order sources.')
    .option(...dataDirOption)
    .option('--host <address>', 'interface to listen on', '0.0.0.0')
    .option('--http-port <port>', 'HTTP API port', port, 8080)
    .option('--mqtt-port <port>', 'MQTT (TCP) port', port, 1883)
    .option('--ws-port <port>', 'MQTT over WebSocket port', port, 8083)
    .option('--no-ws', 'no WebSocket listener')
    .option('--tls-cert <file>', 'PEM certificate: also listen for MQTT over TLS')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--mqtts-port <port>', 'MQTT over TLS port', port, 8883)
    .action((opts: StartOptions) => start(opts));

  const stores = relay.command('stores').description('Stores and their agent credentials.');
  stores
    .command('add <storeId>')
    .description('Create a store; prints its agent credentials and a one-time enrolment code.')
    .requiredOption('--name <name>', 'store name shown to people')
    .option(...dataDirOption)
    .action(async (storeId: string, opts: { name: string; dataDir: string }) => {
      const created = await withStore(opts.dataDir, (s) => addStore(s, storeId, opts.name));
      const { credentials: c, enrolment } = created;
      console.log(`Store ${storeId} "${created.store.name}" created.\n`);
      console.log('Agent credentials (shown once: only a hash is kept):');
      console.log(`  username   ${c.username}`);
      console.log(`  password   ${c.password}`);
      console.log(`  client id  ${c.clientId}\n`);
      console.log(`Enrolment code (one use, valid until ${iso(enrolment.expiresAt)}):`);
      console.log(`  ${enrolment.code}`);
      console.log('  An agent trades it for its own credentials at POST /v1/enrol.');
    });
  stores
    .command('list')
    .description('List stores with their agent presence.')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const list = await withStore(opts.dataDir, (s) => s.listStores());
      if (list.length === 0) return console.log('No stores.');
      printTable([
        ['STORE', 'NAME', 'ONLINE', 'LAST SEEN', 'AGENT'],
        ...list.map((s) => [s.id, s.name, s.online ? 'yes' : 'no', iso(s.lastSeenAt), s.agentVersion ?? '-']),
      ]);
    });

  const keys = relay.command('keys').description('API keys for order sources.');
  keys
    .command('add')
    .description('Create an API key; prints it once.')
    .requiredOption('--stores <all|ids>', '"all" or a comma-separated list of store ids')
    .option('--name <name>', 'what the key is for', 'api key')
    .option(...dataDirOption)
    .action(async (opts: { stores: string; name: string; dataDir: string }) => {
      const { id, key, scope } = await withStore(opts.dataDir, async (s) => {
        const scope = await parseStoreScope(s, opts.stores);
        return { ...(await addApiKey(s, opts.name, scope)), scope };
      });
      console.log(`API key ${id} "${opts.name}" for ${scopeText(scope)} (shown once: only a hash is kept):`);
      console.log(`  ${key}`);
      console.log(`Send it as the header  Authorization: Bearer ${key}`);
    });
  keys
    .command('list')
    .description('List API keys (never the keys themselves).')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const list = await withStore(opts.dataDir, (s) => s.listApiKeys());
      if (list.length === 0) return console.log('No API keys.');
      printTable([
        ['ID', 'NAME', 'STORES', 'CREATED', 'REVOKED'],
        ...list.map((k) => [k.id, k.name, scopeText(k.stores), iso(k.createdAt), iso(k.revokedAt)]),
      ]);
    });
  keys
    .command('revoke <id>')
    .description('Revoke an API key at once.')
    .option(...dataDirOption)
    .action(async (id: string, opts: { dataDir: string }) => {
      const done = await withStore(opts.dataDir, (s) => s.revokeApiKey(id, Date.now()));
      if (!done) throw new Error(`no active API key ${JSON.stringify(id)}`);
      console.log(`API key ${id} revoked.`);
    });

  const hooks = relay
    .command('webhooks')
    .description('Webhooks: signed POSTs on job and printer status changes.');
  hooks
    .command('add <url>')
    .description('Subscribe a URL; prints the signing secret once.')
    .option('--events <list>', 'job.state, printer.status', 'job.state,printer.status')
    .option('--stores <all|ids>', '"all" or a comma-separated list of store ids', 'all')
    .option(...dataDirOption)
    .action(async (url: string, opts: { events: string; stores: string; dataDir: string }) => {
      const events = parseWebhookEvents(opts.events);
      const { id, secret } = await withStore(opts.dataDir, async (s) =>
        addWebhook(s, url, events, await parseStoreScope(s, opts.stores)),
      );
      console.log(`Webhook ${id} -> ${url} (${events.join(', ')})`);
      console.log(`Signing secret (not shown again): ${secret}`);
      console.log(
        'Each POST carries X-Printrelay-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">.',
      );
    });
  hooks
    .command('list')
    .description('List webhooks.')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const list = await withStore(opts.dataDir, (s) => s.listWebhooks());
      if (list.length === 0) return console.log('No webhooks.');
      printTable([
        ['ID', 'URL', 'EVENTS', 'STORES'],
        ...list.map((h) => [h.id, h.url, h.events.join(','), scopeText(h.stores)]),
      ]);
    });
  hooks
    .command('remove <id>')
    .description('Remove a webhook and its pending deliveries.')
    .option(...dataDirOption)
    .action(async (id: string, opts: { dataDir: string }) => {
      const done = await withStore(opts.dataDir, (s) => s.removeWebhook(id));
      if (!done) throw new Error(`no webhook ${JSON.stringify(id)}`);
      console.log(`Webhook ${id} removed.`);
    });
}
