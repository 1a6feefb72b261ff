// The agent's health report (a `health` event every healthIntervalMs) and the paper estimate
// behind its paperUsedMm counter.

import type { Layout } from '../escpos/layout.js';
import type { HealthEvent, PrinterHealth } from '../protocol/messages.js';
import { version } from '../shared/version.js';

/** 203 dpi, the resolution of nearly every receipt printer. */
const DOTS_PER_MM = 8;
/** The ESC/POS default line spacing, 1/6 inch. */
const LINE_MM = 25.4 / 6;
/** A native QR code's size is decided by the printer; assume a version 4 code (33 modules). */
const NATIVE_QR_MODULES = 33;

/**
 * Paper one copy uses, in millimetres: an estimate, not a measurement. Tickets: from their
 * layout (text lines times their height multiplier at the default line spacing, feeds, the
 * feed before the cut, and the dot height of pictures, barcodes and QR codes). Raw jobs:
 * their line feeds (LF bytes) times the default line spacing.
 */
export function estimatePaperMm(content: { layout: Layout } | { raw: string }): number {
  if (!('layout' in content)) {
    const bytes = Buffer.from(content.raw, 'base64');
    let lf = 0;
    for (const b of bytes) if (b === 0x0a) lf++;
    return lf * LINE_MM;
  }
  let mm = 0;
  for (const op of content.layout.ops) {
    switch (op.kind) {
      case 'lines':
        mm += op.lines.length * op.style.height * LINE_MM;
        break;
      case 'feed':
        mm += op.lines * LINE_MM;
        break;
      case 'cut':
        mm += op.feedLines * LINE_MM;
        break;
      case 'image':
        mm += op.height / DOTS_PER_MM;
        break;
      case 'barcode':
        mm += op.height / DOTS_PER_MM + (op.hri === 'none' ? 0 : op.hri === 'both' ? 2 : 1) * LINE_MM;
        break;
      case 'qr':
        mm += ((op.matrix?.size ?? NATIVE_QR_MODULES) * op.moduleDots) / DOTS_PER_MM + LINE_MM;
        break;
      case 'raw':
        for (const b of op.bytes) if (b === 0x0a) mm += LINE_MM;
        break;
      default:
        break;
    }
  }
  return mm;
}

export interface HealthInput {
  startedAt: number;
  heldJobs: number;
  printers: PrinterHealth[];
}

export function healthEvent(input: HealthInput): Omit<HealthEvent, 'id' | 'at'> {
  return {
    type: 'health',
    agentVersion: version,
    uptimeSeconds: Math.round((Date.now() - input.startedAt) / 1000),
    memoryRssBytes: process.memoryUsage.rss(),
    heldJobs: input.heldJobs,
    printers: input.printers.map((p) => ({ ...p, paperUsedMm: Math.round(p.paperUsedMm) })),
  };
}
