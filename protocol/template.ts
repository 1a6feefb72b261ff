// Ticket templates (docs/orders.md): a declarative layout over the ticket document's blocks, whose
// strings hold Mustache tags filled from an order's view, plus `each` and `if` blocks and
// generated table rows. The schema checks a template's shape; a trial render checks the rest.
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './schema.js';
import {
  BarcodeBlock,
  BeepBlock,
  CutBlock,
  DrawerBlock,
  FeedBlock,
  ImageBlock,
  QrBlock,
  RawBlock,
  RuleBlock,
  TableBlock,
  TextBlock,
} from './ticket.js';
import { validator } from './validate.js';

export const TEMPLATE_KINDS = ['kitchen', 'receipt', 'label', 'change', 'cancel'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

const ListPath = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_.]{0,63}$',
  description: 'A list of the view, e.g. "items", "fees", "changes".',
});

/** A table whose rows may be generated, one per element of a list. */
const TemplateTable = Type.Object(
  {
    ...TableBlock.properties,
    rows: Type.Array(
      Type.Union([
        TableBlock.properties.rows.items,
        Type.Object(
          { each: ListPath, row: TableBlock.properties.rows.items },
          { additionalProperties: false },
        ),
      ]),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);

export const TemplateBlock = Type.Recursive(
  (This) =>
    Type.Union([
      TextBlock,
      TemplateTable,
      RuleBlock,
      FeedBlock,
      QrBlock,
      BarcodeBlock,
      ImageBlock,
      CutBlock,
      DrawerBlock,
      BeepBlock,
      RawBlock,
      Type.Object(
        { each: ListPath, blocks: Type.Array(This, { maxItems: 200 }) },
        { additionalProperties: false, description: 'Its blocks once per element of the list.' },
      ),
      Type.Object(
        {
          if: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.]{0,63}$' }),
          blocks: Type.Array(This, { maxItems: 200 }),
          else: Type.Optional(Type.Array(This, { maxItems: 200 })),
        },
        { additionalProperties: false, description: 'Its blocks when the value is present and not empty.' },
      ),
    ]),
  { $id: 'TemplateBlock' },
);
export type TemplateBlock = Static<typeof TemplateBlock>;

export const TicketTemplate = Type.Object(
  {
    format: Type.Literal(1),
    kind: StringEnum(TEMPLATE_KINDS),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    blocks: Type.Array(TemplateBlock, { minItems: 1, maxItems: 500 }),
  },
  { $id: 'TicketTemplate', additionalProperties: false },
);
export type TicketTemplate = Static<typeof TicketTemplate>;

export const parseTicketTemplate = validator(TicketTemplate, 'template');
