// `printrelay render <ticket.json> --profile <name>`: a ticket document to ESC/POS bytes (to a
// file or a pipe) or to a text preview; and `printrelay profiles`: the shipped printer
// profiles. Output goes to stdout or -o; warnings and errors go to stderr.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { renderTicket } from '../../escpos/encoder.js';
import { previewTicketWithWarnings } from '../../escpos/preview.js';
import { listProfiles, resolveProfile } from '../../escpos/profiles/index.js';
import { parseTicket, type Ticket } from '../../protocol/ticket.js';
import { readJsonFile } from '../../shared/json-file.js';

interface RenderOptions {
  profile: string;
  output?: string;
  preview?: boolean;
}

/**
 * A ticket from the parsed JSON of `file`. An order file (a job request, as POST /v1/jobs
 * takes it) would fail with a screenful of schema errors; it gets one line saying where its
 * ticket is instead.
 */
export function ticketFromJson(value: unknown, file: string): Ticket {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(value) && isObject(value.ticket) && !('blocks' in value)) {
    throw new Error(
      `${file}: this looks like a job request; its ticket is under .ticket (give that object alone, e.g. jq .ticket ${file} > ticket.json)`,
    );
  }
  return parseTicket(value);
}

/** Reads and validates a ticket file; errors name the file, and the JSON path of each problem. */
export function readTicketFile(file: string): Ticket {
  return readJsonFile(file, 'ticket', (value) => ticketFromJson(value, file));
}

function writeStdout(data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(data, (err) => (err ? reject(err) : resolve())),
  );
}

async function render(file: string, opts: RenderOptions): Promise<void> {
  const profile = resolveProfile(opts.profile);
  const ticket = await readTicketFile(file);
  if (!opts.preview && opts.output === undefined && process.stdout.isTTY) {
    throw new Error(
      'not writing ESC/POS bytes to a terminal: use -o <file>, --preview, or redirect the output (> ticket.bin)',
    );
  }
  const warnings = new Set<string>();
  if (opts.preview) {
    const preview = previewTicketWithWarnings(ticket, profile);
    for (const w of preview.warnings) warnings.add(w);
    await writeStdout(preview.text);
  }
  if (!opts.preview || opts.output !== undefined) {
    const result = renderTicket(ticket, profile);
    for (const w of result.warnings) warnings.add(w);
    if (opts.output === undefined) await writeStdout(result.bytes);
    else {
      await writeFile(opts.output, result.bytes);
      console.error(`wrote ${result.bytes.length} bytes for ${profile.name} to ${opts.output}`);
    }
  }
  for (const w of warnings) console.error(`warning: ${w}`);
}

function printProfiles(opts: { json?: boolean }): void {
  const profiles = listProfiles();
  if (opts.json) {
    console.log(JSON.stringify(profiles, null, 2));
    return;
  }
  const nameWidth = Math.max(...profiles.map((p) => p.name.length));
  for (const p of profiles) {
    const features = [
      `${p.paper.widthMm} mm`,
      p.text.encoding,
      p.cutter === 'none' ? 'no cutter' : p.cutter === 'partial-only' ? 'partial cut' : 'full+partial cut',
      `QR ${p.qr}`,
      p.status.gsH ? 'GS ( H' : 'GS r 1',
      ...(p.status.asb ? ['ASB'] : []),
      ...(p.buzzer === 'none' ? [] : ['buzzer']),
    ];
    console.log(`${p.name.padEnd(nameWidth)}  ${features.join(', ')}  ${p.description}`);
  }
}

export function registerRender(program: Command): void {
  program
    .command('render <ticket>')
    .description(
      'Render a ticket document (JSON) to ESC/POS bytes for a printer profile, or preview it as text',
    )
    .requiredOption(
      '--profile <name>',
      'printer profile: a shipped one by name (see `printrelay profiles`), or a .json file',
    )
    .option(
      '-o, --output <file>',
      'write the bytes to this file (default: stdout, when it is not a terminal)',
    )
    .option('--preview', 'print what the paper would show, as text')
    .action((file: string, opts: RenderOptions) => render(file, opts));

  program
    .command('profiles')
    .description('List the printer profiles shipped with printrelay')
    .option('--json', 'print the full profiles as JSON')
    .action(printProfiles);
}
