// `printrelay agent`: runs the store agent from its JSON config until SIGINT/SIGTERM. What it
// does afterwards (relay connections, printer status changes, jobs) goes to the log, one line each.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { startAgent } from '../../agent/agent.js';
import {
  type AgentConfig,
  type AgentPrinterConfig,
  loadAgentConfig,
  parseAgentConfig,
} from '../../agent/config.js';
import { consoleLog } from '../../shared/log.js';
import { version } from '../../shared/version.js';

const DEFAULT_CONFIG = process.env.PRINTRELAY_AGENT_CONFIG ?? 'agent.json';

async function run(opts: { config: string }): Promise<void> {
  const file = resolve(opts.config);
  if (!existsSync(file)) {
    throw new Error(
      `no agent config at ${file}: pass --config <file> or set PRINTRELAY_AGENT_CONFIG ` +
        '(examples/agent.json is a starting point)',
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

interface InitOptions {
  store: string;
  relay: string;
  password: string;
  printer: AgentPrinterConfig[];
  dataDir: string;
  out: string;
  force: boolean;
}

function init(opts: InitOptions): void {
  const file = resolve(opts.out);
  if (existsSync(file) && !opts.force) throw new Error(`${file} exists; add --force to replace it`);
  const config: AgentConfig = {
    storeId: opts.store,
    relay: { url: opts.relay, password: opts.password },
    dataDir: opts.dataDir,
    printers: opts.printer,
  };
  try {
    parseAgentConfig(config);
  } catch (err) {
    throw new Error(`not written: ${(err as Error).message}`);
  }
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  console.log(`Wrote ${file} (it holds the agent password: keep it private).`);
  console.log(`Run the agent with: printrelay agent --config ${opts.out}`);
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

  agent
    .command('init')
    .description('Write an agent config file (checked like the agent checks it).')
    .requiredOption('--store <id>', 'store id')
    .requiredOption('--relay <url>', 'relay MQTT URL, e.g. mqtts://relay.example.com:8883')
    .requiredOption('--password <password>', 'the agent password from `printrelay relay stores add`')
    .option('--printer <spec>', 'id=uri,profile[,role...]; repeat for each printer', collectPrinter, [])
    .option('--data-dir <dir>', 'agent data directory, relative to the config file', 'agent-data')
    .option('-o, --out <file>', 'where to write the config', 'agent.json')
    .option('--force', 'replace an existing file', false)
    .action((opts: InitOptions) => init(opts));
}
