// The one command-line entry point: `printrelay <command>`. Each command lives in
// cli/commands/<name>.ts and registers itself on the program.
import { Command } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerDemo } from './commands/demo.js';
import { registerPrinter } from './commands/printer.js';
import { registerRelay } from './commands/relay.js';
import { registerRender } from './commands/render.js';
import { registerStart } from './commands/start.js';
import { registerVirtualPrinter } from './commands/virtual-printer.js';
import { version } from './version.js';

const program = new Command('printrelay')
  .description('Cloud receipt and kitchen-ticket printing: render, drive printers, relay and agent.')
  .version(version)
  .showHelpAfterError('(run `printrelay --help` for the list of commands)');

registerRender(program);
registerPrinter(program);
registerVirtualPrinter(program);
registerRelay(program);
registerAgent(program);
registerStart(program);
registerDemo(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`printrelay: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
