// Which template lays out a ticket, and saving new ones: a store's own, else HQ's, else the one
// built in. Every save is a new version (who, when, why); a rollback saves an earlier one again.
// A template is checked before it is saved, by its schema and by laying out a sample order
// with it at every kind of ticket it may make, so that a broken one never reaches an order.
import sampleOrder from '../../examples/orders/meituan-order.json' with { type: 'json' };
import { parseOrderRequest } from '../../protocol/order.js';
import {
  parseTicketTemplate,
  TEMPLATE_KINDS,
  type TemplateKind,
  type TicketTemplate,
} from '../../protocol/template.js';
import type { Ticket } from '../../protocol/ticket.js';
import { Refused } from '../errors.js';
import type { JobStore, TemplateVersion } from '../store/job-store.js';
import {
  DEFAULT_CANCEL,
  DEFAULT_CHANGE,
  DEFAULT_KITCHEN,
  DEFAULT_LABEL,
  DEFAULT_RECEIPT,
} from './default-templates.js';
import { renderTemplate, TemplateError, type View } from './template.js';
import { orderView } from './view.js';

export const BUILT_IN: Record<TemplateKind, TicketTemplate> = {
  kitchen: DEFAULT_KITCHEN,
  receipt: DEFAULT_RECEIPT,
  label: DEFAULT_LABEL,
  change: DEFAULT_CHANGE,
  cancel: DEFAULT_CANCEL,
};

export interface ResolvedTemplate {
  template: TicketTemplate;
  /** Where it comes from. */
  from: 'store' | 'hq' | 'built-in';
  version: number | null;
}

/** A ticket and, when its template failed, why the built-in one laid it out instead. */
export interface RenderedTicket {
  ticket: Ticket;
  warning?: string;
}

const SAMPLE = parseOrderRequest(sampleOrder);

export class TemplateService {
  constructor(private readonly jobs: JobStore) {}

  /** `storeId` null: what stores without their own use. */
  async resolve(kind: TemplateKind, storeId: string | null): Promise<ResolvedTemplate> {
    const owners = [
      [storeId, 'store'],
      [null, 'hq'],
    ] as const;
    for (const [owner, from] of owners.filter(([o, f]) => o !== null || f === 'hq')) {
      const [latest] = await this.jobs.templateVersions(kind, owner);
      if (latest)
        return { template: parseTicketTemplate(JSON.parse(latest.body)), from, version: latest.version };
    }
    return { template: BUILT_IN[kind], from: 'built-in', version: null };
  }

  /** Lays out a ticket; a template that fails is replaced by the built-in one, and the reason kept. */
  async render(kind: TemplateKind, storeId: string, view: View): Promise<RenderedTicket> {
    const { template, from, version } = await this.resolve(kind, storeId);
    try {
      return { ticket: renderTemplate(template, view) };
    } catch (err) {
      if (from === 'built-in') throw err;
      const why = err instanceof Error ? err.message : String(err);
      return {
        ticket: renderTemplate(BUILT_IN[kind], view),
        warning: `the ${from === 'store' ? "store's" : "HQ's"} ${kind} template (version ${version}) failed, so the built-in one printed it: ${why}`,
      };
    }
  }

  versions(kind: TemplateKind, storeId: string | null): Promise<TemplateVersion[]> {
    return this.jobs.templateVersions(kind, storeId);
  }

  /** Checks `body` and saves it as the next version; a TemplateError or ValidationError says what is wrong. */
  async save(
    kind: TemplateKind,
    storeId: string | null,
    body: unknown,
    by: { savedBy: string; comment: string | null },
  ): Promise<TemplateVersion> {
    const template = parseTicketTemplate(body);
    if (template.kind !== kind) {
      throw new TemplateError('/kind', `is "${template.kind}", but this is the ${kind} template`);
    }
    trialRender(template);
    return this.jobs.addTemplateVersion({
      kind,
      storeId,
      body: JSON.stringify(template),
      savedBy: by.savedBy,
      comment: by.comment,
      savedAt: Date.now(),
    });
  }

  /** Saves an earlier version again, as the newest. */
  async rollback(
    kind: TemplateKind,
    storeId: string | null,
    version: number,
    savedBy: string,
  ): Promise<TemplateVersion> {
    const earlier = (await this.jobs.templateVersions(kind, storeId)).find((v) => v.version === version);
    if (!earlier) throw new Refused('not-found', `the ${kind} template has no version ${version}`);
    return this.save(kind, storeId, JSON.parse(earlier.body), {
      savedBy,
      comment: `rollback to version ${version}`,
    });
  }
}

const SAMPLE_STORE = '样板店 Sample store';
const SAMPLE_STATION = 'pizza';

/**
 * What a `kind` template sees of the sample order (examples/orders/meituan-order.json): the
 * pizza station's items on a kitchen ticket, all of them on a receipt or labels, one taken off
 * and one added on a change, the station's items on a cancellation. Previews lay it out.
 */
export function sampleView(kind: TemplateKind): View {
  const all = SAMPLE.items;
  const station = all.filter((i) => i.station === SAMPLE_STATION);
  switch (kind) {
    case 'receipt':
    case 'label':
      return orderView(SAMPLE, { storeName: SAMPLE_STORE, items: all });
    case 'change':
      return orderView(SAMPLE, {
        storeName: SAMPLE_STORE,
        items: station,
        station: SAMPLE_STATION,
        changes: all.slice(0, 2).map((item, i) => ({ change: i % 2 ? '+1' : '-1', item })),
      });
    default:
      return orderView(SAMPLE, { storeName: SAMPLE_STORE, items: station, station: SAMPLE_STATION });
  }
}

/** A template that fails on any kind's sample would fail at an order: checked before saving. */
function trialRender(template: TicketTemplate): void {
  for (const kind of TEMPLATE_KINDS) renderTemplate(template, sampleView(kind));
}
