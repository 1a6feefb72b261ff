// The visible mark on a ticket that a backup printer prints: whoever stands at that printer
// must see at once that the ticket belongs elsewhere and take it there. Chinese first, then
// English, naming the printer the job was meant for and the one that printed it.
import type { Ticket } from '../../protocol/ticket.js';

export interface NamedPrinter {
  id: string;
  /** Shown to people (agent config), e.g. "后厨 Kitchen"; the id when absent. */
  name?: string | undefined;
}

const label = (p: NamedPrinter) => p.name ?? p.id;

/** The mark's two lines; `ref` is what the job named (a role such as "kitchen", or a printer id). */
export function backupMarkText(ref: string, intended: NamedPrinter, actual: NamedPrinter): string {
  return (
    `【转单】${label(intended)} 的单 → 转至 ${label(actual)} 打印\n` +
    `${ref} ticket for ${label(intended)}, printed at ${label(actual)}`
  );
}

/** `ticket` with the mark on top: centred, bold, in reverse so it cannot be missed. */
export function markTicketForBackup(
  ticket: Ticket,
  ref: string,
  intended: NamedPrinter,
  actual: NamedPrinter,
): Ticket {
  return {
    ...ticket,
    blocks: [
      {
        type: 'text',
        text: backupMarkText(ref, intended, actual),
        align: 'center',
        bold: true,
        invert: true,
      },
      ...ticket.blocks,
    ],
  };
}
