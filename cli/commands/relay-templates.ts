// `printrelay relay templates show|set|rollback|preview`: the ticket templates orders are laid
// out with (docs/orders.md). show/set/rollback run through the relay's admin operations (live,
// or on its database); preview needs no relay: it lays out the sample order with a template file.
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { previewTicketWithWarnings } from '../../escpos/preview.js';
import { resolveProfile } from '../../escpos/profiles/index.js';
import { parseTicketTemplate, TEMPLATE_KINDS, type TemplateKind } from '../../protocol/template.js';
import { renderTemplate } from '../../relay/orders/template.js';
import { sampleView } from '../../relay/orders/templates.js';
import type { RunAdmin } from './relay-users.js';

function kind(value: string): TemplateKind {
  if (!(TEMPLATE_KINDS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`"${value}" is not a kind of ticket: ${TEMPLATE_KINDS.join(', ')}`);
  return value as TemplateKind;
}

function readTemplateFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the template ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function registerRelayTemplates(
  relay: Command,
  dataDirOption: readonly [string, string, string],
  admin: RunAdmin,
): void {
  const templates = relay
    .command('templates')
    .description("Ticket templates for orders: HQ's for every store, or a store's own (--store).");
  const owner = (store: string | undefined) => (store === undefined ? {} : { storeId: store });

  templates
    .command('show <kind>')
    .description(
      `The template in use and its versions; --json prints the template (kinds: ${TEMPLATE_KINDS.join(', ')}).`,
    )
    .option('--store <id>', "a store's own template")
    .option('--json', 'print the template in use as JSON, to edit and `set` again')
    .option(...dataDirOption)
    .action(async (k: string, opts: { store?: string; json?: boolean; dataDir: string }) => {
      const { result } = await admin(opts.dataDir, 'templates.show', { kind: kind(k), ...owner(opts.store) });
      if (opts.json) return console.log(JSON.stringify(result.inUse.template, null, 2));
      const { from, version } = result.inUse;
      console.log(
        `In use: ${from === 'built-in' ? 'the built-in template' : `${from === 'hq' ? "HQ's" : "the store's own"} version ${version}`} ("${result.inUse.template.name}")`,
      );
      if (result.versions.length === 0) return console.log('No saved versions here.');
      for (const v of result.versions) {
        console.log(
          `  v${String(v.version).padEnd(4)} ${new Date(v.savedAt).toISOString()}  ${v.savedBy}${v.comment ? `  ${v.comment}` : ''}`,
        );
      }
    });

  templates
    .command('set <kind> <file>')
    .description('Save a template file as the newest version, once it lays out the sample order.')
    .option('--store <id>', "a store's own template")
    .option('--comment <text>', 'why (kept with the version)')
    .option(...dataDirOption)
    .action(async (k: string, file: string, opts: { store?: string; comment?: string; dataDir: string }) => {
      const { result } = await admin(opts.dataDir, 'templates.set', {
        kind: kind(k),
        template: readTemplateFile(file),
        ...owner(opts.store),
        ...(opts.comment === undefined ? {} : { comment: opts.comment }),
      });
      console.log(
        `Saved as version ${result.version} of the ${result.kind} template${opts.store ? ` of store ${opts.store}` : ''}.`,
      );
    });

  templates
    .command('rollback <kind> <version>')
    .description('Save an earlier version again, as the newest.')
    .option('--store <id>', "a store's own template")
    .option(...dataDirOption)
    .action(async (k: string, version: string, opts: { store?: string; dataDir: string }) => {
      const { result } = await admin(opts.dataDir, 'templates.rollback', {
        kind: kind(k),
        version: Number(version),
        ...owner(opts.store),
      });
      console.log(`Version ${version} saved again as version ${result.version}.`);
    });

  templates
    .command('preview <file>')
    .description(
      'Lay out the sample order (examples/orders/meituan-order.json) with a template file and show the paper.',
    )
    .option(
      '--profile <name>',
      'printer profile: its paper width (e.g. gprinter-58 for 58 mm)',
      'epson-tm-t88',
    )
    .action((file: string, opts: { profile: string }) => {
      const template = parseTicketTemplate(readTemplateFile(file));
      const ticket = renderTemplate(template, sampleView(template.kind));
      const { text, warnings } = previewTicketWithWarnings(ticket, resolveProfile(opts.profile));
      process.stdout.write(text);
      for (const w of warnings) console.error(`warning: ${w}`);
    });
}
