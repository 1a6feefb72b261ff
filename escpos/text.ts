// Text for the printer: which characters a profile's encoding can print, their bytes, which
// of them print wide, and wrapping by width on paper.
//
// In Chinese mode (FS &, GB18030/GBK) a character encoded as two or more bytes prints wide (a
// 24-dot glyph) and ASCII narrow; in a single-byte code page everything is narrow. How many
// dots each takes in a given font and size is charDots (protocol/profile.ts). Each codec
// keeps a table over the BMP filled on first sight of a character, so iconv runs once per
// distinct character per process and every later lookup is an array read.
import iconv from 'iconv-lite';
import type { TextEncoding } from '../protocol/profile.js';
import type { ByteWriter } from './byte-writer.js';

const QUESTION = 0x3f;
const YEN = 0xa5; // ¥: not in GBK; four bytes in GB18030, which GBK-font printers print as garbage
const FULLWIDTH_YEN = 0xffe5; // ￥: A3 A4 in GBK and GB18030

// Entries of the length table besides a byte count of 1-4.
const UNKNOWN = 0; // not looked up yet (Chinese encodings are filled lazily)
const SPECIAL = 0xfe; // needs `prepare`: CR, tab, invisible, a yen sign to swap, a surrogate
const UNPRINTABLE = 0xff; // printed as '?'

/** Invisible formatting characters, dropped: zero-width space/joiners, word joiner, BOM. */
const INVISIBLE = [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff];

const label = (ch: string) => {
  const c = ch.codePointAt(0) ?? 0;
  return c < 0x20 || c === 0x7f ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}` : ch;
};

export class TextCodec {
  readonly chinese: boolean;
  readonly #encoding: TextEncoding;
  /** Per UTF-16 code unit: UNKNOWN, SPECIAL, UNPRINTABLE, or the number of bytes it is sent as. */
  readonly #length = new Uint8Array(0x10000);
  /** Per UTF-16 code unit: its bytes, packed big-endian. */
  readonly #code = new Uint32Array(0x10000);

  constructor(encoding: TextEncoding) {
    this.#encoding = encoding;
    this.chinese = encoding === 'gb18030' || encoding === 'gbk';
    const length = this.#length;
    // Control characters would be read as commands. C1 controls are not characters at all.
    length.fill(UNPRINTABLE, 0, 0x20);
    length.fill(UNPRINTABLE, 0x7f, 0xa0);
    for (let c = 0x20; c < 0x7f; c++) {
      length[c] = 1;
      this.#code[c] = c;
    }
    length[0x0a] = 1; // kept for wrapping to split lines at
    if (!this.chinese) this.#loadCodePage();
    for (const c of [0x09, 0x0d, ...INVISIBLE]) length[c] = SPECIAL;
    length.fill(SPECIAL, 0xfe00, 0xfe10); // variation selectors (the U+FE0F after many emoji): dropped
    length.fill(SPECIAL, 0xd800, 0xe000); // printer fonts stop at the BMP: no emoji
    if (this.chinese) length[YEN] = SPECIAL;
    else if (length[YEN] === 1) length[FULLWIDTH_YEN] = SPECIAL;
  }

  /** Single-byte code pages are small: map all 128 upper characters at once. */
  #loadCodePage(): void {
    this.#length.fill(UNPRINTABLE, 0x80);
    const upper = Buffer.alloc(128);
    for (let i = 0; i < 128; i++) upper[i] = 0x80 + i;
    const chars = iconv.decode(upper, this.#encoding);
    for (let i = 0; i < 128; i++) {
      const c = chars.charCodeAt(i);
      if (c === 0xfffd || this.#length[c] === 1) continue;
      this.#length[c] = 1;
      this.#code[c] = 0x80 + i;
    }
  }

  /** The length table entry of `c`, looking a Chinese character up on first sight. */
  #lengthOf(c: number): number {
    const n = this.#length[c] as number;
    if (n !== UNKNOWN) return n;
    // One byte back means iconv's '?' for unencodable, or cp936's 0x80 for €: in Chinese mode
    // a lone byte >= 0x80 is a broken lead byte.
    const encoded = iconv.encode(String.fromCharCode(c), this.#encoding);
    let packed = 0;
    for (const b of encoded) packed = packed * 256 + b;
    const length = encoded.length > 1 ? encoded.length : UNPRINTABLE;
    this.#length[c] = length;
    this.#code[c] = packed;
    return length;
  }

  /**
   * Makes `text` printable: maps ¥/￥ to the one the encoding has, drops invisible formatting
   * characters, turns tabs into spaces and CR LF into LF, and replaces every other character
   * the printer cannot print (control characters, emoji, Han on a Latin printer) with '?',
   * adding them to `unprintable`.
   */
  prepare(text: string, unprintable: Set<string>): string {
    let i = 0;
    for (; i < text.length; i++) if (this.#lengthOf(text.charCodeAt(i)) >= SPECIAL) break;
    if (i === text.length) return text; // the usual case: nothing to change
    let out = text.slice(0, i);
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const n = this.#lengthOf(c);
      if (n < SPECIAL) out += text[i];
      else if (c === 0x0d) {
        out += '\n';
        if (text.charCodeAt(i + 1) === 0x0a) i++;
      } else if (c === 0x09) out += ' ';
      else if (c === YEN || c === FULLWIDTH_YEN) out += String.fromCharCode(c === YEN ? FULLWIDTH_YEN : YEN);
      else if (c >= 0xd800 && c < 0xe000) {
        const ch = String.fromCodePoint(text.codePointAt(i) ?? c);
        i += ch.length - 1;
        out += '?';
        unprintable.add(ch);
      } else if (n === UNPRINTABLE) {
        out += '?';
        unprintable.add(label(text[i] ?? ''));
      } // else: invisible, dropped
    }
    return out;
  }

  /** Width of a prepared string, each character measured as `size` says. */
  width(text: string, size: CharSize = COLUMNS): number {
    let w = 0;
    for (let i = 0; i < text.length; i++) w += this.isWide(text.charCodeAt(i)) ? size.wide : size.narrow;
    return w;
  }

  /** Whether one UTF-16 code unit of a prepared string prints as a wide (two-byte) character. */
  isWide(c: number): boolean {
    const n = this.#lengthOf(c);
    return n >= 2 && n <= 4;
  }

  /** Writes a prepared string's bytes. */
  encodeInto(text: string, out: ByteWriter): void {
    const length = this.#length;
    const codes = this.#code;
    out.writeDirect(text.length * 4, (buf, start) => {
      let pos = start;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        const n = length[c] === UNKNOWN ? this.#lengthOf(c) : (length[c] as number);
        const code = codes[c] as number;
        if (n === 1) buf[pos++] = code;
        else if (n <= 4)
          for (let shift = (n - 1) * 8; shift >= 0; shift -= 8) buf[pos++] = (code >>> shift) & 0xff;
        else buf[pos++] = QUESTION;
      }
      return pos;
    });
  }
}

/**
 * How wide a narrow and a wide character are, in one unit: dots of one font and size on
 * paper (from charDots), or display columns.
 */
export interface CharSize {
  narrow: number;
  wide: number;
}

/** Display columns: a wide character takes two. */
export const COLUMNS: CharSize = { narrow: 1, wide: 2 };

const codecs = new Map<TextEncoding, TextCodec>();
/** The shared codec for an encoding (its character cache lives as long as the process). */
export function codecFor(encoding: TextEncoding): TextCodec {
  let codec = codecs.get(encoding);
  if (!codec) {
    codec = new TextCodec(encoding);
    codecs.set(encoding, codec);
  }
  return codec;
}

/** Spaces before a piece `free` units short of its room, aligned as asked (in the same units). */
export function alignOffset(free: number, align: 'left' | 'center' | 'right'): number {
  if (free <= 0 || align === 'left') return 0;
  return align === 'right' ? free : Math.floor(free / 2);
}

/** Pads `text` (of display width `width`) to `columns` with spaces, aligned as asked. */
export function alignText(
  text: string,
  width: number,
  columns: number,
  align: 'left' | 'center' | 'right',
): string {
  const free = columns - width;
  if (free <= 0) return text;
  const left = alignOffset(free, align);
  return ' '.repeat(left) + text + ' '.repeat(free - left);
}

/** Characters a line must not end with (opening brackets and quotes, currency signs). */
const NO_BREAK_AFTER = new Set(
  '([{\u201c\u2018\uff08\u3010\u300a\u300c\u300e\u3008\uff3b\uff5b$\u00a5\uffe5\u20ac',
);
/** Characters a line must not start with (closing brackets, quotes and punctuation). */
const NO_BREAK_BEFORE = new Set(
  ')]}\u201d\u2019,.;:!?%\uff09\u3011\u300b\u300d\u300f\u3009\uff3d\uff5d\uff0c\u3002\u3001\uff1b\uff1a\uff01\uff1f\uff05\u30fb',
);

interface Token {
  text: string;
  width: number;
  space: boolean;
}

/**
 * Splits a paragraph into unbreakable pieces: runs of spaces, runs of narrow characters
 * (words), single wide characters; pieces that must stay together are glued (no line starts
 * with "，" or ")", none ends with "(" or "￥", a number keeps its unit).
 */
function tokenize(paragraph: string, codec: TextCodec, size: CharSize): Token[] {
  const tokens: Token[] = [];
  const n = paragraph.length;
  for (let i = 0; i < n; ) {
    const c = paragraph.charCodeAt(i);
    const space = c === 0x20;
    let end = i + 1;
    const wide = codec.isWide(c);
    let width = wide ? size.wide : size.narrow;
    if (!wide) {
      while (end < n) {
        const d = paragraph.charCodeAt(end);
        if ((d === 0x20) !== space || codec.isWide(d)) break;
        end++;
        width += size.narrow;
      }
    }
    const text = paragraph.slice(i, end);
    i = end;
    const prev = tokens[tokens.length - 1];
    const last = prev?.text.at(-1) ?? '';
    const glue =
      NO_BREAK_AFTER.has(last) || NO_BREAK_BEFORE.has(text[0] ?? '') || (wide && last >= '0' && last <= '9'); // a number and its unit: 12寸, 6只
    if (prev && !prev.space && !space && glue) {
      prev.text += text;
      prev.width += width;
    } else tokens.push({ text, width, space });
  }
  return tokens;
}

/**
 * Wraps prepared text to lines at most `columns` wide, measured as `size` says (display
 * columns by default; the layout measures dots on paper). "\n" starts a new line; words and
 * glued punctuation move to the next line whole when they fit on one, Han characters may
 * break anywhere else; spaces at a wrap point are dropped. A piece longer than a line is
 * broken between characters (a wide character wider than the line gets a line of its own).
 * Returns at least one (possibly empty) line.
 */
export function wrapText(
  text: string,
  columns: number,
  codec: TextCodec,
  size: CharSize = COLUMNS,
): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    if (codec.width(paragraph, size) <= columns) {
      lines.push(paragraph);
      continue;
    }
    let line = '';
    let lineWidth = 0;
    let wrapped = false; // the current line continues a wrapped one: no leading spaces
    const breakLine = () => {
      lines.push(line.trimEnd());
      line = '';
      lineWidth = 0;
      wrapped = true;
    };
    for (const token of tokenize(paragraph, codec, size)) {
      if (token.space) {
        if (lineWidth + token.width > columns) breakLine();
        else if (!(wrapped && lineWidth === 0)) {
          line += token.text;
          lineWidth += token.width;
        }
        continue;
      }
      if (lineWidth + token.width > columns && lineWidth > 0) breakLine();
      if (token.width <= columns) {
        line += token.text;
        lineWidth += token.width;
        continue;
      }
      for (let i = 0; i < token.text.length; i++) {
        const w = codec.isWide(token.text.charCodeAt(i)) ? size.wide : size.narrow;
        if (lineWidth + w > columns && lineWidth > 0) breakLine();
        line += token.text[i];
        lineWidth += w;
      }
    }
    if (line !== '' || !wrapped) lines.push(line.trimEnd());
  }
  return lines;
}
