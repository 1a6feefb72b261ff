// What came out on paper, told by a unique marker line at the top of each ticket: the
// end-to-end tests count a marker on one printer; the chaos suite tallies every marker on
// every printer as it prints, telling plain prints from REPRINT-marked ones.
import type { Ticket } from '../protocol/ticket.js';
import type { PrintedItem, VirtualPrinter } from '../virtual-printer/virtual-printer.js';

/** A ticket whose first line is `marker`: ticketsWith() and PaperTally count it on paper. */
export function markedTicket(marker: string, extraLines = 0): Ticket {
  const lines = Array.from({ length: extraLines }, (_, i) => `宫保鸡丁 第${i + 1}行`);
  return {
    blocks: [
      { type: 'text', text: marker },
      { type: 'text', text: `美团外卖 #${marker}`, bold: true },
      ...lines.map((text) => ({ type: 'text' as const, text })),
      { type: 'cut' },
    ],
  };
}

/** How many tickets with this marker came out of the printer. */
export function ticketsWith(printer: VirtualPrinter, marker: string): number {
  return printer.printed.filter((i) => i.kind === 'text' && i.text.trim() === marker).length;
}

/** One marker line on paper. */
export interface PaperPrint {
  printer: string;
  /** Date.now() when it printed. */
  at: number;
  /** Right below a REPRINT banner (protocol/reprint.ts puts it above the ticket's first line). */
  reprintMarked: boolean;
}

/**
 * Every marker that `isMarker` recognises, on every watched printer, as it prints. Listens to
 * the printers' 'printed' events rather than reading their logs afterwards, which keep only
 * the newest items.
 */
export class PaperTally {
  readonly #prints = new Map<string, PaperPrint[]>();
  #count = 0;

  constructor(private readonly isMarker: (text: string) => boolean) {}

  watch(name: string, printer: VirtualPrinter): void {
    let previous: PrintedItem | undefined;
    printer.on('printed', (item) => {
      if (item.kind === 'text') {
        const text = item.text.trim();
        if (this.isMarker(text)) {
          this.#count++;
          const reprintMarked = previous?.kind === 'text' && /\bREPRINT #\d+/.test(previous.text);
          const list = this.#prints.get(text) ?? [];
          list.push({ printer: name, at: Date.now(), reprintMarked });
          this.#prints.set(text, list);
        }
      }
      previous = item;
    });
  }

  prints(marker: string): readonly PaperPrint[] {
    return this.#prints.get(marker) ?? [];
  }

  markers(): IterableIterator<string> {
    return this.#prints.keys();
  }

  /** Marker prints in all. */
  get count(): number {
    return this.#count;
  }
}
