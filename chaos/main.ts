// `npm run chaos [-- --duration 420 --stores 6 --rate 10 --seed N --report chaos-report.json --cluster]`:
// a chaos run against this repository's build, its report written as JSON and Markdown.
// Exit 0 when the ledger holds (no job lost, no silent duplicate), 1 when it does not.
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { positiveInteger, positiveNumber } from '../cli/options.js';
import { runChaos } from './run.js';

function reportFile(value: string): string {
  if (!/\.(json|md)$/i.test(value)) throw new InvalidArgumentError(`"${value}" does not end in .json or .md`);
  return value;
}

const program = new Command('npm run chaos --')
  .description(
    'Thousands of orders across many stores while the relay and agents are killed, links cut and printers ' +
      'fail; then a ledger check of every accepted job against what came out on paper.',
  )
  .option(
    '--duration <seconds>',
    'how long orders arrive and faults strike (a drain follows)',
    positiveNumber,
    420,
  )
  .option('--stores <n>', 'stores, one agent each', positiveInteger, 6)
  .option('--printers <n>', 'virtual printers per store', positiveInteger, 2)
  .option('--rate <orders>', 'orders per second, over all stores', positiveNumber, 10)
  .option('--fault-every <seconds>', 'mean gap between faults', positiveNumber, 4)
  .option('--drain-timeout <seconds>', 'how long the drain may take', positiveNumber, 120)
  .option('--seed <n>', 'seed of the orders and faults (default: a random one, printed)', positiveInteger)
  .option('--report <file>', 'report file, .json or .md (both are written)', reportFile, 'chaos-report.json')
  .option('--keep', 'keep logs and databases of a run that passed (a failed run always keeps them)', false)
  .option(
    '--cluster',
    'two relay processes on throwaway PostgreSQL and Redis (docs/scaling.md), killed one at a time',
    false,
  )
  .parse();

const o = program.opts<{
  duration: number;
  stores: number;
  printers: number;
  rate: number;
  faultEvery: number;
  drainTimeout: number;
  seed?: number;
  report: string;
  keep: boolean;
  cluster: boolean;
}>();
const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31) + 1;
const log = (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
log(`chaos run, seed ${seed} (repeat it with --seed ${seed})`);
try {
  const report = await runChaos({
    cliPath: join(import.meta.dirname, '..', '..', 'bin', 'printrelay.js'),
    durationMs: Math.round(o.duration * 1000),
    stores: o.stores,
    printersPerStore: o.printers,
    ordersPerSecond: o.rate,
    seed,
    reportFile: o.report,
    faultEveryMs: Math.round(o.faultEvery * 1000),
    drainTimeoutMs: Math.round(o.drainTimeout * 1000),
    keepWorkDir: o.keep,
    cluster: o.cluster,
    log,
  });
  log(`report: ${report.reportFiles.join(', ')}`);
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  log(`the chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(2);
}
