// Real-time commands (DLE EOT, DLE ENQ, DLE DC4) are executed as the bytes arrive, before
// they reach the receive buffer: a printer answers them while offline, with a full buffer,
// and even when the bytes sit inside another command's data (an image), as real printers
// do (docs/escpos.md). This scanner finds them in the raw stream, across chunk boundaries.
// The bytes still go on into the receive buffer, where the interpreter skips them.

export type RealtimeCommand =
  | { kind: 'status'; n: 1 | 2 | 3 | 4 } // DLE EOT n
  | { kind: 'recover'; clearBuffers: boolean } // DLE ENQ 1 / 2
  | { kind: 'pulse'; pin: 2 | 5; onMs: number; offMs: number } // DLE DC4 1 m t
  | { kind: 'buzzer'; times: number } // DLE DC4 3 a n r t1 t2
  | { kind: 'send-status' } // DLE DC4 7 1: the basic ASB status, once
  | { kind: 'clear-buffers' }; // DLE DC4 8 1 3 20 1 6 2 8

const DLE = 0x10;
const EOT = 0x04;
const ENQ = 0x05;
const DC4 = 0x14;

/** Parameter bytes after `DLE DC4 fn`, by fn. Shared with the interpreter, which skips them. */
export const DC4_PARAM_BYTES: ReadonlyMap<number, number> = new Map([
  [1, 2], // m t: drawer pulse
  [2, 2], // a b: power-off sequence
  [3, 5], // a n r t1 t2: buzzer
  [7, 1], // m: transmit status
  [8, 7], // d1..d7: clear buffers
]);

/** Parameter bytes after `DLE EOT n`: 7 (ink) and 8 (other) take one more. */
export const eotParamBytes = (n: number): number => (n === 7 || n === 8 ? 1 : 0);

const CLEAR_KEY = [1, 3, 20, 1, 6, 2, 8];

export interface FoundCommand {
  /** Index in the chunk of the command's last byte. */
  end: number;
  command: RealtimeCommand;
}

export class RealtimeScanner {
  /** The bytes of the real-time command being read; empty when none is under way. */
  #cmd: number[] = [];

  /** Feeds the next bytes received; returns the real-time commands they complete. */
  push(chunk: Uint8Array): FoundCommand[] {
    const found: FoundCommand[] = [];
    chunk.forEach((b, i) => {
      const command = this.#byte(b);
      if (command) found.push({ end: i, command });
    });
    return found;
  }

  reset(): void {
    this.#cmd = [];
  }

  #byte(b: number): RealtimeCommand | undefined {
    const cmd = this.#cmd;
    if (cmd.length === 0) {
      if (b === DLE) cmd.push(b);
      return undefined;
    }
    if (cmd.length === 1) {
      // DLE DLE: the second DLE may start the command.
      if (b === EOT || b === ENQ || b === DC4) cmd.push(b);
      else if (b !== DLE) this.reset();
      return undefined;
    }
    cmd.push(b);
    const [, kind, fn = 0] = cmd;
    if (kind === EOT) {
      if (cmd.length < 3 + eotParamBytes(fn)) return undefined;
      this.reset();
      return fn >= 1 && fn <= 4 ? { kind: 'status', n: fn as 1 | 2 | 3 | 4 } : undefined;
    }
    if (kind === ENQ) {
      this.reset();
      return fn === 1 || fn === 2 ? { kind: 'recover', clearBuffers: fn === 2 } : undefined;
    }
    const params = DC4_PARAM_BYTES.get(fn);
    if (params === undefined) {
      this.reset();
      return undefined;
    }
    if (cmd.length < 3 + params) return undefined;
    const p = cmd.slice(3);
    this.reset();
    return dc4(fn, p);
  }
}

function dc4(fn: number, p: number[]): RealtimeCommand | undefined {
  const [a = 0, b = 0, c = 0] = p;
  switch (fn) {
    case 1:
      // m: 0 pin 2, 1 pin 5; t: 1-8, pulse on and off t x 100 ms.
      return (a === 0 || a === 1) && b >= 1 && b <= 8
        ? { kind: 'pulse', pin: a === 0 ? 2 : 5, onMs: b * 100, offMs: b * 100 }
        : undefined;
    case 3:
      // a n r t1 t2: r is the number of beeps.
      return c >= 1 ? { kind: 'buzzer', times: c } : undefined;
    case 7:
      return a === 1 ? { kind: 'send-status' } : undefined;
    case 8:
      return p.every((x, i) => x === CLEAR_KEY[i]) ? { kind: 'clear-buffers' } : undefined;
    default:
      // fn 2 (power-off sequence) is not modelled: use powerCycle().
      return undefined;
  }
}
