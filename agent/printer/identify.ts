// Printer identification with GS I (docs/escpos.md, "Identification"): three one-byte answers
// every ESC/POS printer gives, and five text blocks (5F ... 00) that Epson-like printers add.

export interface PrinterIdentity {
  /** GS I 66, e.g. "EPSON"; null when the profile says the printer has no GS I 65-69. */
  maker: string | null;
  /** GS I 67, e.g. "TM-T88VI". */
  model: string | null;
  /** GS I 69, e.g. "CHINA GB18030": which Han encoding the font expects. */
  fontLanguage: string | null;
  /** GS I 65. */
  firmware?: string;
  /** GS I 68. */
  serial?: string;
  /** GS I 1. */
  modelId: number;
  /** GS I 2 bit 0. */
  twoByteChars: boolean;
  /** GS I 2 bit 1. */
  autocutter: boolean;
  /** GS I 3. */
  romVersion: number;
}

/** The one-byte requests, in the order they are sent and answered. */
export const ONE_BYTE_REQUESTS = [1, 2, 3] as const;
/** The block requests, in the order they are sent and answered. */
export const BLOCK_REQUESTS = {
  65: 'firmware',
  66: 'maker',
  67: 'model',
  68: 'serial',
  69: 'fontLanguage',
} as const;
export type BlockField = (typeof BLOCK_REQUESTS)[keyof typeof BLOCK_REQUESTS];

/** GS I n for each n, in one buffer. */
export function identifyRequests(ns: readonly number[]): Uint8Array {
  return Uint8Array.from(ns.flatMap((n) => [0x1d, 0x49, n]));
}

/** Text of a block reply: printable ASCII, trimmed (names are padded with spaces on some models). */
export function blockText(data: Uint8Array): string {
  return Buffer.from(data).toString('latin1').trim();
}

export function buildIdentity(
  bytes: readonly [modelId: number, type: number, romVersion: number],
  blocks: Partial<Record<BlockField, string>>,
): PrinterIdentity {
  const [modelId, type, romVersion] = bytes;
  const identity: PrinterIdentity = {
    maker: blocks.maker ?? null,
    model: blocks.model ?? null,
    fontLanguage: blocks.fontLanguage ?? null,
    modelId,
    twoByteChars: (type & 0x01) !== 0,
    autocutter: (type & 0x02) !== 0,
    romVersion,
  };
  if (blocks.firmware !== undefined) identity.firmware = blocks.firmware;
  if (blocks.serial !== undefined) identity.serial = blocks.serial;
  return identity;
}
