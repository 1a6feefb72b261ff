// Ticket templates: a declarative layout over the ticket document's blocks (protocol/ticket.ts).
// Every string of a block may hold Mustache tags ({{order.orderNo}}, {{#order.note}}...{{/order.note}})
// filled from the order's view (./view.ts); structure comes from two more blocks, `each` (once per
// element of a list, its fields over the outer ones) and `if` (a value that is present and not
// empty). Mustache is logic-less and the view is plain data, so a template cannot run code: one
// that HQ staff edit can at worst print the wrong words (docs/orders.md).
import Mustache from 'mustache';
import type { TemplateBlock, TicketTemplate } from '../../protocol/template.js';
import { type Block, parseTicket, type Ticket } from '../../protocol/ticket.js';
import { ValidationError } from '../../protocol/validate.js';
import { Refused } from '../errors.js';

export type View = Record<string, unknown>;

/** What is wrong with a template, and where (a JSON pointer into it): the caller's mistake, refused as such. */
export class TemplateError extends Refused {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('invalid', `template ${path}: ${message}`, [{ path, message }]);
    this.name = 'TemplateError';
  }
}

/** The value at a dotted path ("order.note") of the view; undefined when absent. */
function lookup(view: View, path: string): unknown {
  let at: unknown = view;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

const present = (value: unknown): boolean =>
  value !== undefined &&
  value !== null &&
  value !== false &&
  value !== '' &&
  !(Array.isArray(value) && value.length === 0);

function list(view: View, path: string, where: string): View[] {
  const value = lookup(view, path);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TemplateError(where, `"${path}" is not a list`);
  return value.map((element) => ({ ...view, ...(element as View) }));
}

function text(template: string, view: View, where: string): string {
  try {
    // No HTML here: what the order says is printed as it is.
    return Mustache.render(template, view, {}, { escape: (value: unknown) => String(value) });
  } catch (err) {
    throw new TemplateError(where, err instanceof Error ? err.message : String(err));
  }
}

/** Every string of a block filled in; numbers and flags stay as they are. */
function fill(value: unknown, view: View, where: string): unknown {
  if (typeof value === 'string') return text(value, view, where);
  if (Array.isArray(value)) return value.map((v, i) => fill(v, view, `${where}/${i}`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, view, `${where}/${k}`)]));
  }
  return value;
}

function expand(blocks: TemplateBlock[], view: View, where: string): Block[] {
  return blocks.flatMap((block, i): Block[] => {
    const at = `${where}/${i}`;
    if ('each' in block) {
      return list(view, block.each, `${at}/each`).flatMap((element) =>
        expand(block.blocks, element, `${at}/blocks`),
      );
    }
    if ('if' in block) {
      return present(lookup(view, block.if))
        ? expand(block.blocks, view, `${at}/blocks`)
        : expand(block.else ?? [], view, `${at}/else`);
    }
    if (block.type === 'table') {
      // Each row filled once, with its own view: order data is never read as a template.
      const rows = block.rows.flatMap((row, r) =>
        Array.isArray(row)
          ? [fill(row, view, `${at}/rows/${r}`) as string[]]
          : list(view, row.each, `${at}/rows/${r}/each`).map(
              (element) => fill(row.row, element, `${at}/rows/${r}/row`) as string[],
            ),
      );
      const { rows: _rows, ...rest } = block;
      return [{ ...(fill(rest, view, at) as Omit<Extract<Block, { type: 'table' }>, 'rows'>), rows }];
    }
    return [fill(block, view, at) as Block];
  });
}

/** The ticket document `template` makes of `view`; a TemplateError says where it went wrong. */
export function renderTemplate(template: TicketTemplate, view: View): Ticket {
  const blocks = expand(template.blocks, view, '/blocks');
  try {
    return parseTicket({ version: 1, blocks });
  } catch (err) {
    if (err instanceof ValidationError) {
      const first = err.issues[0];
      throw new TemplateError(first?.path ?? '/blocks', `the ticket it makes is invalid: ${err.message}`);
    }
    throw err;
  }
}
