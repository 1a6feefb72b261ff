// `printrelay agent`: runs the store agent from its JSON config until SIGINT/SIGTERM. What it
// does afterwards (relay connections, printer status changes, jobs) goes to the log, one line each.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { startAgent } from '../../agent/agent.js';
import {
  type AgentConfig,
  type AgentPrinterConfig,
  loadAgentConfig,
  parseAgentConfig,
  plaintextRemoteHost,
} from '../../agent/config.js';
import { agentConfigReference } from '../../agent/config-reference.js';
import {
  chooseRelayUrl,
  ENROL_FILE,
  enrolledConfig,
  enrolOnFirstStart,
  proposeFoundPrinters,
  redeemEnrolmentCode,
} from '../../agent/enrol.js';
import { consoleLog } from '../../shared/log.js';
import { version } from '../../shared/version.js';
import { listenPort, port, portOrOff, positiveNumber } from '../options.js';

const DEFAULT_CONFIG = process.env.PRINTRELAY_AGENT_CONFIG ?? 'agent.json';

async function run(opts: { config: string }): Promise<void> {
  const file = resolve(opts.config);
  await enrolOnFirstStart(file, consoleLog);
  if (!existsSync(file)) {
    throw new Error(
      `no agent config at ${file}: run \`printrelay agent enrol\`, or pass --config <file> or set ` +
        `PRINTRELAY_AGENT_CONFIG (examples/agent.json is a starting point; an installer leaves ${ENROL_FILE} there instead)`,
    );
  }
  const config = loadAgentConfig(file);
  console.log(`printrelay agent ${version} for store ${config.storeId}`);
  console.log(`  config      ${file}`);
  console.log(`  relay       ${config.relay.url} (client id ${config.relay.clientId})`);
  console.log(`  data        ${config.dataDir}`);
  for (const p of config.printers) {
    const roles = p.roles.length > 0 ? `, roles ${p.roles.join(', ')}` : '';
    const backup = p.backup ? `, backup ${p.backup}` : '';
    console.log(`  printer     ${p.id}: ${p.uri} (${p.profile}${roles}${backup})`);
  }
  const agent = await startAgent({ config, log: consoleLog });
  console.log(`  local API   ${agent.localApiUrl ?? 'off'}`);
  console.log('Press Ctrl+C to stop.');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second Ctrl+C: the person does not want to wait for the printers.
      console.error(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping the agent (jobs stay queued in ${config.dataDir})...`);
    agent.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`printrelay: error while stopping: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** `id=uri,profile[,role...]`, e.g. `counter=tcp://192.168.1.50:9100,epson-tm-t88,receipt`. */
function collectPrinter(value: string, previous: AgentPrinterConfig[]): AgentPrinterConfig[] {
  const m = /^([^=,]+)=([^,]+),([^,]+)((?:,[^,]+)*)$/.exec(value.trim());
  if (!m) {
    throw new InvalidArgumentError(
      `"${value}" is not id=uri,profile[,role...] (e.g. counter=tcp://192.168.1.50:9100,epson-tm-t88,receipt)`,
    );
  }
  const [, id, uri, profile, roles] = m as unknown as [string, string, string, string, string];
  return [...previous, { id, uri, profile, roles: roles.split(',').filter(Boolean) }];
}

function collectText(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `id=value` pairs for the per-printer options (--name, --backup). */
function collectPair(value: string, previous: [string, string][]): [string, string][] {
  const m = /^([^=]+)=(.+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not printerId=value (e.g. kitchen=后厨 Kitchen)`);
  return [...previous, [m[1] as string, m[2] as string]];
}

function uncertainJobs(value: string): 'report' | 'reprint-marked' {
  if (value !== 'report' && value !== 'reprint-marked')
    throw new InvalidArgumentError(`"${value}" is not report or reprint-marked`);
  return value;
}

/** What `agent init` and `agent enrol` both set: the store's printers and how the agent treats them. */
interface SetupOptions {
  printer: AgentPrinterConfig[];
  name: [string, string][];
  backup: [string, string][];
  failover: boolean;
  failoverAfter?: number;
  uncertainJobs?: 'report' | 'reprint-marked';
  localApiPort?: number | 'off';
  dataDir: string;
  out: string;
  force: boolean;
  caFile?: string;
  allowPlaintext: boolean;
}

function setupOptions(cmd: Command): Command {
  return cmd
    .option('--ca-file <pem>', "the CA certificate that signed the relay's certificate (private CAs)")
    .option(
      '--allow-plaintext',
      'accept an unencrypted relay connection to another machine (trusted networks only)',
      false,
    )
    .option('--printer <spec>', 'id=uri,profile[,role...]; repeat for each printer', collectPrinter, [])
    .option(
      '--name <id=name>',
      'a printer\'s name shown to people, e.g. kitchen="后厨 Kitchen"',
      collectPair,
      [],
    )
    .option(
      '--backup <id=backupId>',
      'the printer that takes its jobs while it is out, e.g. counter=kitchen',
      collectPair,
      [],
    )
    .option(
      '--failover-after <seconds>',
      'how long a printer is out before its backup takes over (default 10)',
      positiveNumber,
    )
    .option('--no-failover', 'never move jobs to a backup printer')
    .option(
      '--uncertain-jobs <what>',
      'after a crash mid-job: report (default) or reprint-marked',
      uncertainJobs,
    )
    .option(
      '--local-api-port <port>',
      'local API on 127.0.0.1 (default 8765; 0 = any free port; off)',
      portOrOff,
    )
    .option('--data-dir <dir>', 'agent data directory, relative to the config file', 'agent-data')
    .option('-o, --out <file>', 'where to write the config', 'agent.json')
    .option('--force', 'replace an existing file', false);
}

/** The printers with their --name and --backup applied; a name or backup for no printer is an error. */
function printersOf(opts: SetupOptions, base: AgentPrinterConfig[]): AgentPrinterConfig[] {
  const printers = base.map((p) => ({ ...p }));
  const byId = (id: string, option: string) => {
    const p = printers.find((x) => x.id === id);
    if (!p)
      throw new Error(
        `${option} ${id}=...: no printer "${id}" (printers: ${printers.map((x) => x.id).join(', ') || 'none'})`,
      );
    return p;
  };
  for (const [id, name] of opts.name) byId(id, '--name').name = name;
  for (const [id, backup] of opts.backup) byId(id, '--backup').backup = backup;
  return printers;
}

/** The config's optional sections, only where an option set them (the defaults stay implicit). */
function behaviour(opts: SetupOptions): Partial<AgentConfig> {
  return {
    ...(opts.failover === false || opts.failoverAfter !== undefined
      ? {
          failover: {
            enabled: opts.failover,
            ...(opts.failoverAfter === undefined ? {} : { afterSeconds: opts.failoverAfter }),
          },
        }
      : {}),
    ...(opts.uncertainJobs === undefined ? {} : { uncertainJobs: opts.uncertainJobs }),
    ...(opts.localApiPort === undefined ? {} : { localApi: { port: listenPort(opts.localApiPort) } }),
  };
}

interface InitOptions extends SetupOptions {
  store: string;
  relay: string;
  alternateRelay: string[];
  password: string;
}

/** Refuses to overwrite a config unless asked to: it holds the store's only copy of its password. */
function checkOut(out: string, force: boolean): string {
  const file = resolve(out);
  if (existsSync(file) && !force) throw new Error(`${file} exists; add --force to replace it`);
  return file;
}

/** Checks the config like the agent will, and writes it readable by its owner only. */
function writeConfig(file: string, out: string, config: AgentConfig): void {
  try {
    parseAgentConfig(config);
  } catch (err) {
    throw new Error(`not written: ${(err as Error).message}`);
  }
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  console.log(`Wrote ${file} (it holds the agent password: keep it private).`);
  console.log(`Run the agent with: printrelay agent --config ${out}`);
}

function init(opts: InitOptions): void {
  const file = checkOut(opts.out, opts.force);
  writeConfig(file, opts.out, {
    storeId: opts.store,
    relay: {
      url: opts.relay,
      ...(opts.alternateRelay.length > 0 ? { alternateUrls: opts.alternateRelay } : {}),
      password: opts.password,
      ...transport(opts, opts.relay),
    },
    dataDir: opts.dataDir,
    printers: printersOf(opts, opts.printer),
    ...behaviour(opts),
  });
}

/** Discovery's proposal: printers that answered, in roles. */
async function findPrinters(opts: EnrolOptions): Promise<AgentPrinterConfig[]> {
  console.log('Looking for printers / 正在查找打印机...');
  const printers = await proposeFoundPrinters(
    {
      ...(opts.subnet.length > 0 ? { subnets: opts.subnet } : {}),
      ...(opts.scanPort.length > 0 ? { ports: opts.scanPort.map((p) => port(p)) } : {}),
    },
    consoleLog,
  );
  if (printers.length === 0) {
    throw new Error(
      'no printers found, so the code was not used: switch them on and connect them, or name each with --printer id=uri,profile[,role...]',
    );
  }
  return printers;
}

interface EnrolOptions extends SetupOptions {
  relay: string;
  code: string;
  yes: boolean;
  subnet: string[];
  scanPort: string[];
}

/** relay.caFile and relay.allowPlaintext as the options set them, for a config written here. */
function transport(opts: SetupOptions, url: string): Pick<AgentConfig['relay'], 'caFile' | 'allowPlaintext'> {
  return {
    // Absolute: the PEM is named from where the command runs, the config may be written elsewhere.
    ...(opts.caFile === undefined ? {} : { caFile: resolve(opts.caFile) }),
    ...(opts.allowPlaintext && plaintextRemoteHost(url) !== null ? { allowPlaintext: true } : {}),
  };
}

function describePrinters(printers: readonly AgentPrinterConfig[]): string {
  return printers
    .map((p) => {
      const roles = p.roles?.length ? p.roles.join(', ') : '-';
      const backup = p.backup ? `  backup: ${p.backup}` : '';
      return `  ${p.id} (${p.name ?? '-'}): ${p.uri}  ${p.profile}  roles: ${roles}${backup}`;
    })
    .join('\n');
}

/** Asks the tech to confirm the printers; without a terminal, only --yes goes on. */
async function confirm(printers: readonly AgentPrinterConfig[], yes: boolean): Promise<void> {
  console.log(`Printers / 打印机:\n${describePrinters(printers)}`);
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new Error('not a terminal, so nobody can confirm the printers: add --yes to take them as listed');
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await rl.question('用这些设置吗？Use these settings? [Y/n] ')).trim().toLowerCase();
    if (answer !== '' && answer !== 'y' && answer !== 'yes') {
      throw new Error('stopped: nothing was changed and the enrolment code is still unused');
    }
  } finally {
    rl.close();
  }
}

async function enrol(opts: EnrolOptions): Promise<void> {
  const file = checkOut(opts.out, opts.force);
  let relay: URL;
  try {
    relay = new URL(opts.relay);
  } catch {
    throw new Error(
      `--relay "${opts.relay}" is not a URL: give the relay's API address, e.g. https://relay.example.com`,
    );
  }
  const printers = printersOf(opts, opts.printer.length > 0 ? opts.printer : await findPrinters(opts));
  const settings = behaviour(opts);
  // Everything local is checked before the one-time code is spent.
  try {
    parseAgentConfig({
      storeId: 'check',
      relay: { url: 'mqtts://check', password: 'check' },
      dataDir: opts.dataDir,
      printers,
      ...settings,
    });
  } catch (err) {
    throw new Error(`the settings are not right, so the code was not used: ${(err as Error).message}`);
  }
  await confirm(printers, opts.yes);
  const caFile = opts.caFile === undefined ? undefined : resolve(opts.caFile);
  const credentials = await redeemEnrolmentCode(relay, opts.code, caFile ? { caFile } : {});
  const relayUrl = chooseRelayUrl(credentials.relayUrls, opts.allowPlaintext);
  const config = { ...enrolledConfig(credentials, relayUrl, printers, opts.dataDir), ...settings };
  config.relay = { ...config.relay, ...transport(opts, relayUrl), apiUrl: relay.origin };
  console.log(`Enrolled store ${credentials.storeId}; the agent will connect to ${relayUrl}.`);
  writeConfig(file, opts.out, config);
}

export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description(
      'Run the store agent: takes jobs from the relay, prints them on the store printers, ' +
        'reports back; local API on 127.0.0.1.',
    )
    .option('--config <file>', 'agent config JSON (env PRINTRELAY_AGENT_CONFIG)', DEFAULT_CONFIG)
    .action((opts: { config: string }) => run(opts));

  setupOptions(
    agent
      .command('init')
      .description('Write an agent config file (checked like the agent checks it).')
      .requiredOption('--store <id>', 'store id')
      .requiredOption('--relay <url>', 'relay MQTT URL, e.g. mqtts://relay.example.com:8883')
      .option(
        '--alternate-relay <url>',
        'another process of the same relay cluster, tried when the relay cannot be reached; repeat for more',
        collectText,
        [],
      )
      .requiredOption('--password <password>', 'the agent password from `printrelay relay stores add`'),
  ).action((opts: InitOptions) => init(opts));

  setupOptions(
    agent
      .command('enrol')
      .description(
        'Set up this PC for a store with the one-time code HQ gave you: gets the credentials from the relay and writes the agent config.',
      )
      .requiredOption('--relay <url>', "the relay's API address, e.g. https://relay.example.com")
      .requiredOption('--code <code>', 'the enrolment code, e.g. ABCD-EFGH-JKMN (works once)')
      .option('-y, --yes', 'take the printers as listed without asking', false)
      .option(
        '--subnet <cidr>',
        "without --printer: scan this subnet instead of the PC's own; repeat for more",
        collectText,
        [],
      )
      .option(
        '--scan-port <port>',
        'without --printer: raw printing port to try (default 9100); repeat for more',
        collectText,
        [],
      ),
  ).action((opts: EnrolOptions) => enrol(opts));

  agent
    .command('config-reference')
    .description('Print the reference of every agent config field (Markdown; docs/agent-config.md)')
    .action(() => {
      process.stdout.write(agentConfigReference());
    });
}
