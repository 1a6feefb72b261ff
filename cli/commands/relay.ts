// `printrelay relay ...`: run the cloud relay and manage its stores, API keys and webhooks.
// The management commands talk to the running relay through its admin socket in the data dir
// (relay/admin-channel.ts), so they act on the live relay at once; with no relay running they
// open its database, and refuse a data dir that holds none.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { AdminInput, AdminOperationName, AgentCredentials } from '../../relay/admin.js';
import { type AdminVia, runAdmin } from '../../relay/admin-channel.js';
import { describeListeners } from '../../relay/listeners.js';
import { startRelay } from '../../relay/relay.js';
import { type StoreScope, WEBHOOK_EVENT_TYPES } from '../../relay/store/job-store.js';
import { openFilesLimit, RELAY_FEW_OPEN_FILES } from '../../shared/open-files.js';
import { version } from '../../shared/version.js';
import { listenPort, portOrOff } from '../options.js';
import { assertPortsFree, explainListenError, relayPorts } from '../ports.js';
import { printTable } from '../table.js';
import { registerRelayTemplates } from './relay-templates.js';
import { registerRelayUsers } from './relay-users.js';

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

/** Runs an admin operation on the relay of `dataDir` (live, or its database). */
function admin<N extends AdminOperationName>(dataDir: string, name: N, input: AdminInput<N>) {
  return runAdmin(resolve(dataDir), name, input);
}

function disconnectedText(disconnected: number, via: AdminVia): string {
  if (via === 'database') return ' (no relay is running: nothing to disconnect)';
  return disconnected > 0 ? `; its connected agent was disconnected` : '';
}

/** A shell word for a path, quoted when it needs to be. */
function shellWord(text: string): string {
  return /^[\w./:@-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

function printCredentials(
  c: AgentCredentials,
  enrolment: { code: string; expiresAt: number },
  mqttUrl: string | null,
): void {
  console.log('Agent credentials (shown once: only a hash is kept):');
  console.log(`  username   ${c.username}`);
  console.log(`  password   ${c.password}`);
  console.log(`  client id  ${c.clientId}\n`);
  console.log(
    `Enrolment code (one use, valid until ${iso(enrolment.expiresAt)}; it replaces the password above):`,
  );
  console.log(`  ${enrolment.code}`);
  console.log('  An agent trades it for its own credentials at POST /v1/enrol.');
  if (mqttUrl) {
    console.log('\nOn the store PC:');
    console.log(
      `  printrelay agent init --store ${c.storeId} --relay ${mqttUrl} --password ${c.password} --printer <id>=<uri>,<profile>,<role>`,
    );
  }
}

interface StartOptions {
  dataDir: string;
  host: string;
  httpPort: number | 'off';
  mqttPort: number | 'off';
  wsPort: number | 'off';
  ws: boolean;
  plain: boolean;
  tlsCert?: string;
  tlsKey?: string;
  httpsPort: number | 'off';
  mqttsPort: number | 'off';
  wssPort: number | 'off';
  webhooksAllowPrivate?: boolean;
  db?: string;
  redis?: string;
}

function readTlsFiles(opts: StartOptions): { cert: Buffer; key: Buffer } | null {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new Error('TLS needs both --tls-cert and --tls-key');
  }
  if (!opts.tlsCert || !opts.tlsKey) return null;
  return { cert: readPem(opts.tlsCert, 'certificate'), key: readPem(opts.tlsKey, 'key') };
}

async function start(opts: StartOptions): Promise<void> {
  // Processes on one broker but each on its own relay.db would each know half of every job.
  if (opts.redis && !opts.db)
    throw new Error('--redis needs --db: relay processes on one broker share one database');
  const tls = readTlsFiles(opts);
  if (!opts.plain && !tls) throw new Error('--no-plain needs --tls-cert and --tls-key');
  const plain = (p: number | 'off') => (opts.plain ? listenPort(p) : null);
  const dataDir = resolve(opts.dataDir);
  const ports = relayPorts({
    host: opts.host,
    ws: opts.ws,
    httpPort: plain(opts.httpPort),
    mqttPort: plain(opts.mqttPort),
    wsPort: plain(opts.wsPort),
    httpsPort: tls ? listenPort(opts.httpsPort) : null,
    mqttsPort: tls ? listenPort(opts.mqttsPort) : null,
    wssPort: tls ? listenPort(opts.wssPort) : null,
  });
  await assertPortsFree(ports, 'relay');
  const relay = await startRelay({
    dataDir,
    database: opts.db,
    redis: opts.redis,
    host: opts.host,
    httpPort: plain(opts.httpPort),
    mqttPort: plain(opts.mqttPort),
    wsPort: opts.ws ? plain(opts.wsPort) : null,
    tls: tls && {
      ...tls,
      httpsPort: listenPort(opts.httpsPort),
      mqttsPort: listenPort(opts.mqttsPort),
      wssPort: opts.ws ? listenPort(opts.wssPort) : null,
    },
    webhooks: { allowPrivateNetworks: opts.webhooksAllowPrivate ?? false },
  }).catch((err: unknown) => {
    throw explainListenError(err, ports, 'relay');
  });
  // Before saying "Press Ctrl+C": whoever reads that may send the signal at once.
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
  const { urls } = relay;
  // Every hint names this relay's data dir: a command run without it would look elsewhere.
  const data = `--data-dir ${shellWord(dataDir)}`;
  console.log(`printrelay relay ${version} is running`);
  for (const line of describeListeners(relay.listeners)) console.log(`  ${line}`);
  console.log(`  OpenAPI     ${urls.http}/openapi.json`);
  console.log(`  data        ${dataDir}`);
  console.log(
    `Manage it with \`printrelay relay stores|keys|webhooks ... ${data}\` (or PRINTRELAY_RELAY_DATA=${shellWord(dataDir)}).`,
  );
  if ((await relay.store.listStores()).length === 0) {
    console.log(
      `No stores yet: add one with \`printrelay relay stores add <storeId> --name "..." ${data}\`;`,
    );
    console.log(
      `  its agent then connects with \`printrelay agent init --store <storeId> --relay ${urls.mqtts ?? urls.mqtt} --password <pw> ...\`.`,
    );
  }
  if ((await relay.store.listApiKeys()).length === 0) {
    console.log(`No API keys yet: make one with \`printrelay relay keys add --stores all ${data}\`;`);
    console.log(`  order sources then POST ${urls.http}/v1/jobs with it.`);
  }
  const files = openFilesLimit();
  if (files !== null && files < RELAY_FEW_OPEN_FILES) {
    console.log(
      `WARNING: this process may have only ${files.toLocaleString('en-US')} files open, and each connected agent takes one: ` +
        `at most about ${Math.max(0, files - 100).toLocaleString('en-US')} agents can be connected at once.\n` +
        '  Raise the limit: LimitNOFILE= in its systemd unit (the installed unit sets it), or `ulimit -n` in a shell.',
    );
  }
  if (relay.listeners.some((l) => !l.tls) && !/^(127\.|::1$|localhost$)/.test(opts.host)) {
    console.log(
      'WARNING: plain listeners are open to the network: agent passwords and API keys cross it in clear.\n' +
        `  ${tls ? 'Close them' : 'Serve TLS with --tls-cert/--tls-key and close them'} with --no-plain (docs/security.md).`,
    );
  }
  // A renewed certificate (e.g. by certbot) without dropping the connected agents.
  process.on('SIGHUP', () => {
    try {
      const files = readTlsFiles(opts);
      if (!files) throw new Error('TLS is off (no --tls-cert/--tls-key)');
      relay.reloadTls(files);
      console.log(`${new Date().toISOString()} SIGHUP: TLS certificate reloaded from ${opts.tlsCert}`);
    } catch (err) {
      console.error(
        `${new Date().toISOString()} ERROR SIGHUP: TLS certificate not reloaded, the old one stays: ${(err as Error).message}`,
      );
    }
  });
  console.log('Press Ctrl+C to stop.');
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
    .option('--http-port <port|off>', 'plain HTTP API port', portOrOff, 8080)
    .option('--mqtt-port <port|off>', 'plain MQTT (TCP) port', portOrOff, 1883)
    .option('--ws-port <port|off>', 'plain MQTT over WebSocket port', portOrOff, 8083)
    .option('--no-ws', 'no WebSocket listeners (neither ws nor wss)')
    .option(
      '--tls-cert <file>',
      'PEM certificate (chain): also serve HTTPS, MQTTS and WSS; reloaded on SIGHUP',
    )
    .option('--tls-key <file>', 'PEM private key for --tls-cert; reloaded on SIGHUP')
    .option('--https-port <port|off>', 'HTTPS API port', portOrOff, 8443)
    .option('--mqtts-port <port|off>', 'MQTT over TLS port', portOrOff, 8883)
    .option('--wss-port <port|off>', 'MQTT over secure WebSocket port', portOrOff, 8884)
    .option('--no-plain', 'no plain HTTP, MQTT or WebSocket listener (needs --tls-cert/--tls-key)')
    .option('--webhooks-allow-private', 'let webhooks reach loopback and private addresses')
    .option(
      '--db <url>',
      'postgres:// URL: keep jobs and stores in PostgreSQL, shared with other relay processes (default: relay.db in the data dir)',
      process.env.PRINTRELAY_DB || undefined,
    )
    .option(
      '--redis <url>',
      'redis:// URL: one MQTT broker with every relay process on this Redis (needs --db; see docs/scaling.md)',
      process.env.PRINTRELAY_REDIS || undefined,
    )
    .addHelpText(
      'after',
      '\nWebhook secrets are stored encrypted with the key in PRINTRELAY_SECRET_KEY (64 hex digits), or else\n' +
        'with <data-dir>/secret.key, made on first start. See docs/security.md.',
    )
    .action((opts: StartOptions) => start(opts));

  registerRelayUsers(relay, dataDirOption, admin);
  registerRelayTemplates(relay, dataDirOption, admin);

  const stores = relay.command('stores').description('Stores and their agent credentials.');
  stores
    .command('add <storeId>')
    .description('Create a store; prints its agent credentials and a one-time enrolment code.')
    .requiredOption('--name <name>', 'store name shown to people')
    .option(...dataDirOption)
    .action(async (storeId: string, opts: { name: string; dataDir: string }) => {
      const { result } = await admin(opts.dataDir, 'stores.add', { storeId, name: opts.name });
      console.log(`Store ${storeId} "${result.store.name}" created.\n`);
      printCredentials(result.credentials, result.enrolment, result.mqttUrl);
    });
  stores
    .command('list')
    .description('List stores with their agent presence.')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const { result: list } = await admin(opts.dataDir, 'stores.list', {});
      if (list.length === 0) return console.log('No stores.');
      printTable([
        ['STORE', 'NAME', 'ONLINE', 'LAST SEEN', 'AGENT', 'DISABLED'],
        ...list.map((s) => [
          s.id,
          s.name,
          s.online ? 'yes' : 'no',
          iso(s.lastSeenAt),
          s.agentVersion ?? '-',
          s.disabledAt === null ? '-' : iso(s.disabledAt),
        ]),
      ]);
    });
  stores
    .command('rotate <storeId>')
    .description(
      'New agent password and enrolment code; the old password is refused at once and a connected agent disconnected.',
    )
    .option(...dataDirOption)
    .action(async (storeId: string, opts: { dataDir: string }) => {
      const { result, via } = await admin(opts.dataDir, 'stores.rotate', { storeId });
      console.log(
        `Store ${storeId}: ${result.revoked} old password(s) revoked${disconnectedText(result.disconnected, via)}.\n`,
      );
      printCredentials(result.credentials, result.enrolment, null);
    });
  stores
    .command('disable <storeId>')
    .description("Refuse the store's agent (disconnecting it now) and new jobs for it, until enabled again.")
    .option(...dataDirOption)
    .action(async (storeId: string, opts: { dataDir: string }) => {
      const { result, via } = await admin(opts.dataDir, 'stores.disable', { storeId });
      console.log(
        `Store ${storeId} ${result.alreadyDisabled ? 'was already' : 'is now'} disabled${disconnectedText(result.disconnected, via)}.`,
      );
    });
  stores
    .command('enable <storeId>')
    .description("Let a disabled store's agent connect and its jobs in again.")
    .option(...dataDirOption)
    .action(async (storeId: string, opts: { dataDir: string }) => {
      const { result } = await admin(opts.dataDir, 'stores.enable', { storeId });
      console.log(`Store ${storeId} ${result.wasDisabled ? 'is enabled again' : 'was not disabled'}.`);
    });
  stores
    .command('remove <storeId>')
    .description(
      'Delete a store with its credentials and job history (refused while it has unfinished jobs).',
    )
    .option(...dataDirOption)
    .action(async (storeId: string, opts: { dataDir: string }) => {
      const { result, via } = await admin(opts.dataDir, 'stores.remove', { storeId });
      console.log(`Store ${storeId} removed${disconnectedText(result.disconnected, via)}.`);
    });

  const keys = relay.command('keys').description('API keys for order sources.');
  keys
    .command('add')
    .description('Create an API key; prints it once.')
    .requiredOption('--stores <all|ids>', '"all" or a comma-separated list of store ids')
    .option('--name <name>', 'what the key is for', 'api key')
    .option(...dataDirOption)
    .action(async (opts: { stores: string; name: string; dataDir: string }) => {
      const { result } = await admin(opts.dataDir, 'keys.add', { name: opts.name, stores: opts.stores });
      console.log(
        `API key ${result.id} "${opts.name}" for ${scopeText(result.scope)} (shown once: only a hash is kept):`,
      );
      console.log(`  ${result.key}`);
      console.log(`Send it as the header  Authorization: Bearer ${result.key}`);
    });
  keys
    .command('list')
    .description('List API keys (never the keys themselves).')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const { result: list } = await admin(opts.dataDir, 'keys.list', {});
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
      await admin(opts.dataDir, 'keys.revoke', { id });
      console.log(`API key ${id} revoked.`);
    });

  const hooks = relay
    .command('webhooks')
    .description('Webhooks: signed POSTs on job, printer and store presence changes.');
  hooks
    .command('add <url>')
    .description('Subscribe a URL; prints the signing secret once.')
    .option('--events <list>', WEBHOOK_EVENT_TYPES.join(', '), WEBHOOK_EVENT_TYPES.join(','))
    .option('--stores <all|ids>', '"all" or a comma-separated list of store ids', 'all')
    .option(
      '--allow-private',
      'accept a loopback or private address (the relay needs --webhooks-allow-private)',
    )
    .option(...dataDirOption)
    .action(
      async (
        url: string,
        opts: { events: string; stores: string; allowPrivate?: boolean; dataDir: string },
      ) => {
        const { result } = await admin(opts.dataDir, 'webhooks.add', {
          url,
          events: opts.events,
          stores: opts.stores,
          allowPrivateNetworks: opts.allowPrivate ?? false,
        });
        console.log(`Webhook ${result.id} -> ${url} (${result.events.join(', ')})`);
        console.log(`Signing secret (not shown again): ${result.secret}`);
        console.log(
          'Each POST carries X-Printrelay-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">.',
        );
      },
    );
  hooks
    .command('list')
    .description('List webhooks.')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const { result: list } = await admin(opts.dataDir, 'webhooks.list', {});
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
      await admin(opts.dataDir, 'webhooks.remove', { id });
      console.log(`Webhook ${id} removed.`);
    });
}
