// The visible REPRINT mark, shared by the relay (reprints through the API) and the agent
// (local reprints, and jobs a crash left uncertain), so both print the same banner.
import { parseTicket, type Ticket } from './ticket.js';

const REPRINT_LABEL = (n: number) => `REPRINT #${n}`;

/** The visible mark on a reprint: a reverse, double-size banner at the top of the ticket. */
export function markTicketAsReprint(ticket: Ticket, count: number): Ticket {
  const marked: Ticket = {
    ...ticket,
    blocks: [
      {
        type: 'text',
        text: `重印 ${REPRINT_LABEL(count)}`,
        align: 'center',
        bold: true,
        invert: true,
        width: 2,
        height: 2,
      },
      ...ticket.blocks,
    ],
  };
  return parseTicket(marked);
}

/** The same for raw ESC/POS: centred, double size, ASCII only (safe in any code page or Chinese mode). */
export function markRawAsReprint(base64: string, count: number): string {
  const esc = 0x1b;
  const gs = 0x1d;
  const banner = Buffer.concat([
    Buffer.from([esc, 0x61, 1, gs, 0x21, 0x11]),
    Buffer.from(`** ${REPRINT_LABEL(count)} **\n`, 'ascii'),
    Buffer.from([gs, 0x21, 0, esc, 0x61, 0]),
  ]);
  return Buffer.concat([banner, Buffer.from(base64, 'base64')]).toString('base64');
}
