// Splits the byte stream an ESC/POS printer sends back into replies. Everything the agent
// learns from a printer (status, print confirmations, identity) arrives mixed on one stream,
// cut at arbitrary points by the transport, so this is a state machine fed chunk by chunk.
// See docs/escpos.md, "Telling the replies apart".

export type InboundEvent =
  | { kind: 'realtime-status'; byte: number } // DLE EOT n answer: (b & 0x93) === 0x12
  | { kind: 'asb'; bytes: [number, number, number, number] } // Automatic Status Back frame
  | { kind: 'answer'; byte: number } // one-byte GS r / GS I 1-3 answer: (b & 0x90) === 0
  | { kind: 'print-confirmed'; token: string } // GS ( H fn 48 answer 37 22 d1 d2 d3 d4 00
  | { kind: 'block'; header: number; data: Uint8Array } // other block replies (0x35/0x37/0x3B/0x3D/0x5F ... 0x00), data without header/NUL
  | { kind: 'xon' }
  | { kind: 'xoff' }
  | { kind: 'garbage'; byte: number }; // anything unclassifiable (logged, skipped)

const XON = 0x11;
const XOFF = 0x13;
const NUL = 0x00;
const BLOCK_HEADERS: ReadonlySet<number> = new Set([0x35, 0x37, 0x3b, 0x3d, 0x5f]);
/** GS ( H fn 48 answer: header 0x37, then 0x22 and the 4-byte token. */
const PROCESS_ID_HEADER = 0x37;
const PROCESS_ID_MARK = 0x22;

/**
 * Longest block reply data accepted. Real replies (GS I names, GS ( H) are well under 100
 * bytes; a longer one means the NUL was lost or the device is not an ESC/POS printer.
 */
export const MAX_BLOCK_DATA = 512;

/** A DLE EOT n answer byte (`0xx1xx10`). */
export const isRealtimeStatusByte = (b: number): boolean => (b & 0x93) === 0x12;
/** The first byte of an Automatic Status Back frame (`0xx1xx00`). */
export const isAsbFirstByte = (b: number): boolean => (b & 0x93) === 0x10;
/** A one-byte answer (GS r, GS I 1-3); also the form of ASB bytes 2-4. */
export const isPlainAnswerByte = (b: number): boolean => (b & 0x90) === 0;

export class InboundParser {
  #state: 'idle' | 'asb' | 'block' = 'idle';
  #asb: number[] = [];
  #blockHeader = 0;
  readonly #blockData = new Uint8Array(MAX_BLOCK_DATA);
  #blockLength = 0;

  /** Feeds the next bytes read; returns the replies completed by them. Never throws. */
  push(chunk: Uint8Array): InboundEvent[] {
    const events: InboundEvent[] = [];
    for (const b of chunk) this.#byte(b, events);
    return events;
  }

  /** Forgets any half-read reply, e.g. after a reconnect. */
  reset(): void {
    this.#state = 'idle';
    this.#asb = [];
    this.#blockLength = 0;
  }

  #byte(b: number, out: InboundEvent[]): void {
    // Serial flow control is sent whenever the printer's buffer fills or drains, even in
    // the middle of another reply; it never belongs to that reply.
    if (b === XON || b === XOFF) {
      out.push({ kind: b === XON ? 'xon' : 'xoff' });
      return;
    }
    if (this.#state === 'asb') {
      if (isPlainAnswerByte(b)) {
        this.#asb.push(b);
        if (this.#asb.length === 4) {
          out.push({ kind: 'asb', bytes: this.#asb as [number, number, number, number] });
          this.#asb = [];
          this.#state = 'idle';
        }
        return;
      }
      // A broken frame is dropped whole rather than re-read from its second byte: its tail
      // would read as one-byte answers, and a stray answer could fake a print confirmation.
      for (const x of this.#asb) out.push({ kind: 'garbage', byte: x });
      this.reset();
    } else if (this.#state === 'block') {
      if (b === NUL) {
        out.push(this.#finishBlock());
        this.reset();
        return;
      }
      if (this.#blockLength < MAX_BLOCK_DATA) {
        this.#blockData[this.#blockLength++] = b;
        return;
      }
      // Oversized: give the bytes up as garbage and classify this one afresh.
      out.push({ kind: 'garbage', byte: this.#blockHeader });
      for (const x of this.#blockData) out.push({ kind: 'garbage', byte: x });
      this.reset();
    }
    this.#classify(b, out);
  }

  #classify(b: number, out: InboundEvent[]): void {
    if (isRealtimeStatusByte(b)) {
      out.push({ kind: 'realtime-status', byte: b });
    } else if (isAsbFirstByte(b)) {
      this.#state = 'asb';
      this.#asb = [b];
    } else if (BLOCK_HEADERS.has(b)) {
      this.#state = 'block';
      this.#blockHeader = b;
      this.#blockLength = 0;
    } else if (isPlainAnswerByte(b)) {
      out.push({ kind: 'answer', byte: b });
    } else {
      out.push({ kind: 'garbage', byte: b });
    }
  }

  #finishBlock(): InboundEvent {
    const data = this.#blockData.slice(0, this.#blockLength);
    if (this.#blockHeader === PROCESS_ID_HEADER && data.length === 5 && data[0] === PROCESS_ID_MARK) {
      return { kind: 'print-confirmed', token: String.fromCharCode(...data.subarray(1)) };
    }
    return { kind: 'block', header: this.#blockHeader, data };
  }
}
