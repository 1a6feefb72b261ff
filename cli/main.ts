// The one command-line entry point: `printrelay <command>`. Each command lives in
// cli/commands/<name>.ts and registers itself on the program. Only the module of the command
// being run is loaded (the relay and agent pull in SQLite, MQTT and HTTP servers, which a
// `render` or `printer status` does not need); help and unknown commands load them all.
import { Command } from 'commander';
import { version } from '../shared/version.js';

type Register = (program: Command) => void;

// In the order `printrelay --help` lists them: getting started first.
const modules: Record<string, () => Promise<Register>> = {
  start: async () => (await import('./commands/start.js')).registerStart,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
  relay: async () => (await import('./commands/relay.js')).registerRelay,
  agent: async () => (await import('./commands/agent.js')).registerAgent,
  render: async () => (await import('./commands/render.js')).registerRender,
  printer: async () => (await import('./commands/printer.js')).registerPrinter,
  'virtual-printer': async () => (await import('./commands/virtual-printer.js')).registerVirtualPrinter,
};
// Commands registered by another command's module.
const registeredBy: Record<string, string> = { profiles: 'render' };

async function main(): Promise<void> {
  const program = new Command('printrelay')
    .description('Cloud receipt and kitchen-ticket printing: render, drive printers, relay and agent.')
    .version(version)
    .showHelpAfterError('(run `printrelay --help` for the list of commands)');
  const name = process.argv[2] ?? '';
  const only = modules[registeredBy[name] ?? name];
  for (const load of only ? [only] : Object.values(modules)) (await load())(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  console.error(`printrelay: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
