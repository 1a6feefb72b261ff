// A growable byte buffer. The renderer writes every command and character into one of these
// instead of concatenating arrays, which keeps rendering a receipt to a few allocations.

export class ByteWriter {
  #buf: Uint8Array;
  #length = 0;

  constructor(initialCapacity = 4096) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.#length;
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const needed = this.#length + n;
    if (needed <= this.#buf.length) return;
    let capacity = this.#buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#buf.subarray(0, this.#length));
    this.#buf = grown;
  }

  byte(b: number): void {
    if (this.#length === this.#buf.length) this.reserve(1);
    this.#buf[this.#length++] = b;
  }

  bytes(data: ArrayLike<number>): void {
    this.reserve(data.length);
    this.#buf.set(data, this.#length);
    this.#length += data.length;
  }

  /** Writes `count` copies of `b`. */
  fill(b: number, count: number): void {
    this.reserve(count);
    this.#buf.fill(b, this.#length, this.#length + count);
    this.#length += count;
  }

  /**
   * For hot loops: makes room for up to `maxBytes`, lets `write` fill the buffer from `start`
   * and keeps what it wrote (`write` returns where it stopped).
   */
  writeDirect(maxBytes: number, write: (buf: Uint8Array, start: number) => number): void {
    this.reserve(maxBytes);
    this.#length = write(this.#buf, this.#length);
  }

  /** The bytes written so far, as a right-sized copy. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#length);
  }
}
