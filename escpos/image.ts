// Pictures for the printer: PNG decoding, scaling to the paper, grey to 1 bit, and packing
// into GS v 0 raster rows (width in bytes, MSB = leftmost dot, 1 = black).
import { PNG } from 'pngjs';

/** A 1-bit picture in raster order: `widthBytes` bytes per row, MSB leftmost, 1 = black. */
export interface Bitmap {
  width: number;
  height: number;
  widthBytes: number;
  data: Uint8Array;
}

export interface Size {
  width: number;
  height: number;
}

export type Dither = 'floyd-steinberg' | 'threshold';

/** Source pictures larger than this are refused before decoding (RGBA needs 4 bytes a pixel). */
const MAX_SOURCE_PIXELS = 16_000_000;
/** Printed pictures taller than this (about 1 m of paper at 203 dpi) are refused. */
const MAX_HEIGHT_DOTS = 8_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from the PNG header, without decoding the pixels. Throws when it is not a PNG. */
function pngSize(png: Uint8Array): Size {
  const isPng = png.length >= 24 && PNG_SIGNATURE.every((b, i) => png[i] === b);
  // The first chunk must be IHDR: length 13, then the type, then width and height big-endian.
  if (!isPng || String.fromCharCode(...png.subarray(12, 16)) !== 'IHDR') throw new Error('is not a PNG file');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const size = { width: view.getUint32(16), height: view.getUint32(20) };
  if (size.width === 0 || size.height === 0) throw new Error('PNG has no pixels');
  if (size.width * size.height > MAX_SOURCE_PIXELS) {
    throw new Error(`PNG is ${size.width}x${size.height}, larger than ${MAX_SOURCE_PIXELS} pixels`);
  }
  return size;
}

/** Printed size: `target` (or the natural width) capped at the paper width, height in proportion. */
export function scaledSize(source: Size, paperDots: number, target?: number): Size {
  const width = Math.min(target ?? source.width, paperDots);
  const height = Math.max(1, Math.round((source.height * width) / source.width));
  if (height > MAX_HEIGHT_DOTS)
    throw new Error(`image would be ${height} dots tall (limit ${MAX_HEIGHT_DOTS})`);
  return { width, height };
}

/** Decodes a PNG and turns it into a `size` bitmap. */
function pngToBitmap(png: Buffer, size: Size, dither: Dither): Bitmap {
  let decoded: PNG;
  try {
    decoded = PNG.sync.read(png);
  } catch (err) {
    throw new Error(`PNG cannot be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
  const grey = toGrey(decoded.data, decoded.width * decoded.height);
  const scaled = resample(grey, decoded.width, decoded.height, size.width, size.height);
  return dither === 'threshold' ? threshold(scaled, size) : floydSteinberg(scaled, size);
}

/**
 * Recently printed pictures, by PNG (base64) and printed size: a store's logo is on every
 * receipt, and decoding and dithering it costs more than rendering all the text.
 */
const bitmapCache = new Map<string, Bitmap>();
const BITMAP_CACHE_ENTRIES = 16;
const BITMAP_CACHE_MAX_BASE64 = 256 * 1024;

/** `pngToBitmap` for a base64 PNG, cached for small pictures (logos). */
export function base64PngToBitmap(base64: string, size: Size, dither: Dither): Bitmap {
  const cacheable = base64.length <= BITMAP_CACHE_MAX_BASE64;
  const key = `${size.width}x${size.height} ${dither} ${base64}`;
  const cached = cacheable ? bitmapCache.get(key) : undefined;
  if (cached) return cached;
  const bitmap = pngToBitmap(Buffer.from(base64, 'base64'), size, dither);
  if (cacheable) {
    if (bitmapCache.size >= BITMAP_CACHE_ENTRIES) bitmapCache.delete(bitmapCache.keys().next().value ?? '');
    bitmapCache.set(key, bitmap);
  }
  return bitmap;
}

/** `pngSize` from the start of a base64 PNG, without decoding the rest. */
export function base64PngSize(base64: string): Size {
  // 32 base64 characters are 24 bytes: signature, IHDR length and type, width, height.
  return pngSize(Buffer.from(base64.slice(0, 32), 'base64'));
}

/** Luminance 0-255 (Rec. 601) of RGBA pixels, composited over white paper. */
function toGrey(rgba: Uint8Array, pixels: number): Float32Array {
  const grey = new Float32Array(pixels);
  for (let i = 0, p = 0; i < pixels; i++, p += 4) {
    const luminance =
      0.299 * (rgba[p] as number) + 0.587 * (rgba[p + 1] as number) + 0.114 * (rgba[p + 2] as number);
    grey[i] = 255 - ((rgba[p + 3] as number) / 255) * (255 - luminance);
  }
  return grey;
}

interface Weights {
  /** Per destination index d: its source taps are start[d] .. start[d + 1] - 1. */
  start: Int32Array;
  index: Int32Array;
  weight: Float32Array;
}

/**
 * For each destination index along one axis, the source indices it covers and their weights
 * (box filter: area averaging when shrinking, smooth enlargement when growing).
 */
function boxWeights(sourceLength: number, targetLength: number): Weights {
  const scale = sourceLength / targetLength;
  const start = new Int32Array(targetLength + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let d = 0; d < targetLength; d++) {
    start[d] = index.length;
    const from = d * scale;
    const to = Math.min(sourceLength, (d + 1) * scale);
    for (let s = Math.floor(from); s < to; s++) {
      const overlap = Math.min(to, s + 1) - Math.max(from, s);
      if (overlap <= 0) continue;
      index.push(s);
      weight.push(overlap / (to - from));
    }
  }
  start[targetLength] = index.length;
  return { start, index: Int32Array.from(index), weight: Float32Array.from(weight) };
}

/** Separable box resampling of a grey image, rows first. */
function resample(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  if (sw === dw && sh === dh) return src;
  const xs = boxWeights(sw, dw);
  const ys = boxWeights(sh, dh);
  const rows = new Float32Array(dw * sh);
  for (let y = 0; y < sh; y++) {
    const srcRow = y * sw;
    const dstRow = y * dw;
    for (let x = 0; x < dw; x++) {
      let v = 0;
      const end = xs.start[x + 1] as number;
      for (let k = xs.start[x] as number; k < end; k++) {
        v += (src[srcRow + (xs.index[k] as number)] as number) * (xs.weight[k] as number);
      }
      rows[dstRow + x] = v;
    }
  }
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const dstRow = y * dw;
    const end = ys.start[y + 1] as number;
    for (let k = ys.start[y] as number; k < end; k++) {
      const srcRow = (ys.index[k] as number) * dw;
      const w = ys.weight[k] as number;
      for (let x = 0; x < dw; x++)
        out[dstRow + x] = (out[dstRow + x] as number) + (rows[srcRow + x] as number) * w;
    }
  }
  return out;
}

function emptyBitmap({ width, height }: Size): Bitmap {
  const widthBytes = Math.ceil(width / 8);
  return { width, height, widthBytes, data: new Uint8Array(widthBytes * height) };
}

/** Blackens dot `x` of the row starting at byte `row` (MSB = leftmost dot). */
function setDot(data: Uint8Array, row: number, x: number): void {
  const i = row + (x >> 3);
  data[i] = (data[i] as number) | (0x80 >> (x & 7));
}

function threshold(grey: Float32Array, size: Size): Bitmap {
  const bitmap = emptyBitmap(size);
  const { width, height } = size;
  for (let y = 0; y < height; y++) {
    const row = y * bitmap.widthBytes;
    for (let x = 0; x < width; x++) {
      if ((grey[y * width + x] as number) < 128) setDot(bitmap.data, row, x);
    }
  }
  return bitmap;
}

/** Floyd-Steinberg error diffusion (7/16 right, 3/16 down-left, 5/16 down, 1/16 down-right). */
function floydSteinberg(grey: Float32Array, size: Size): Bitmap {
  const { width, height } = size;
  const bitmap = emptyBitmap(size);
  // Errors carried into the current and the next row; one spare cell on each side.
  let current = new Float32Array(width + 2);
  let next = new Float32Array(width + 2);
  for (let y = 0; y < height; y++) {
    const row = y * bitmap.widthBytes;
    for (let x = 0; x < width; x++) {
      const value = (grey[y * width + x] as number) + (current[x + 1] as number);
      const black = value < 128;
      if (black) setDot(bitmap.data, row, x);
      const err = black ? value : value - 255;
      current[x + 2] = (current[x + 2] as number) + err * 0.4375;
      next[x] = (next[x] as number) + err * 0.1875;
      next[x + 1] = (next[x + 1] as number) + err * 0.3125;
      next[x + 2] = (next[x + 2] as number) + err * 0.0625;
    }
    [current, next] = [next, current];
    next.fill(0);
  }
  return bitmap;
}

/** A QR module matrix (1 = dark, row-major) drawn with `moduleDots` per module and a quiet zone. */
export function qrBitmap(
  matrix: { size: number; data: Uint8Array },
  moduleDots: number,
  quietModules: number,
): Bitmap {
  const side = (matrix.size + 2 * quietModules) * moduleDots;
  const bitmap = emptyBitmap({ width: side, height: side });
  for (let my = 0; my < matrix.size; my++) {
    for (let mx = 0; mx < matrix.size; mx++) {
      if (!matrix.data[my * matrix.size + mx]) continue;
      const x0 = (mx + quietModules) * moduleDots;
      const y0 = (my + quietModules) * moduleDots;
      for (let y = y0; y < y0 + moduleDots; y++) {
        for (let x = x0; x < x0 + moduleDots; x++) setDot(bitmap.data, y * bitmap.widthBytes, x);
      }
    }
  }
  return bitmap;
}
