// `printrelay doctor`: checks a store PC end to end and says what to fix, in Chinese or
// English; exit 1 when something is wrong, so scripts and installers can act on it.
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { runDoctor } from '../../agent/doctor/checks.js';
import { jsonReport, systemLang, textReport } from '../../agent/doctor/report.js';
import { LANGS, type Lang } from '../../shared/printer-state.js';
import { version } from '../../shared/version.js';
import { positiveInteger } from '../options.js';

interface DoctorCliOptions {
  config: string;
  lang?: Lang;
  json: boolean;
  testPrint: boolean;
  timeout: number;
}

function lang(value: string): Lang {
  if (!(LANGS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`use ${LANGS.join(' or ')}`);
  return value as Lang;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check this store PC: config, relay (network, TLS, credentials, clock), disk, database, printers, local API; says what to fix',
    )
    .option(
      '--config <file>',
      'agent config JSON (env PRINTRELAY_AGENT_CONFIG)',
      process.env.PRINTRELAY_AGENT_CONFIG ?? 'agent.json',
    )
    .option('--lang <lang>', `language of the report: ${LANGS.join(' or ')} (default: the system's)`, lang)
    .option('--json', 'the report as JSON, for a support ticket', false)
    .option('--test-print', 'also print a test page on every printer that is ready', false)
    .option('--timeout <ms>', 'how long each network step may take', positiveInteger, 5000)
    .action(async (opts: DoctorCliOptions) => {
      const language = opts.lang ?? systemLang();
      const configFile = resolve(opts.config);
      const { storeId, results } = await runDoctor({
        configFile,
        testPrint: opts.testPrint,
        timeoutMs: opts.timeout,
      });
      if (opts.json) {
        console.log(JSON.stringify(jsonReport(language, storeId, results), null, 2));
      } else {
        const store = storeId ? (language === 'zh-CN' ? ` — 门店 ${storeId}` : ` — store ${storeId}`) : '';
        process.stdout.write(textReport(language, `printrelay doctor ${version}${store}`, results));
      }
      if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
    });
}
