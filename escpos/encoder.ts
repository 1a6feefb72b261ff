// Ticket + printer profile -> ESC/POS bytes. The layout (layout.ts) decides what goes where;
// this module only turns it into commands, sending a style command only when the style
// changes.
import type { PrinterProfile } from '../protocol/profile.js';
import type { Align, Ticket } from '../protocol/ticket.js';
import { ByteWriter } from './byte-writer.js';
import * as cmd from './commands.js';
import { type Bitmap, base64PngToBitmap, qrBitmap } from './image.js';
import {
  type Layout,
  type LayoutOp,
  layoutTicket,
  QR_QUIET_MODULES,
  RenderError,
  type Style,
} from './layout.js';
import { codecFor, type TextCodec } from './text.js';

export interface RenderOptions {
  /**
   * Token of the GS ( H print confirmation appended at the end (profiles without GS ( H get
   * GS r 1 instead). Default DEFAULT_CONFIRM_TOKEN; false appends nothing (the driver adds its own).
   */
  confirmToken?: string | false;
}

export interface RenderResult {
  bytes: Uint8Array;
  /** Things printed differently from what the ticket asked (unprintable characters, no buzzer, ...). */
  warnings: string[];
}

export const DEFAULT_CONFIRM_TOKEN = 'PRLY';

/** Rows per GS v 0 command: small enough for the receive buffers of cheap printers. */
export const RASTER_BAND_ROWS = 255;

/** What follows every ESC @: character mode (and code page), and status back on again. */
const setupCache = new WeakMap<PrinterProfile, Uint8Array>();
function setupAfterInitialize(profile: PrinterProfile): Uint8Array {
  let setup = setupCache.get(profile);
  if (!setup) {
    const w = new ByteWriter(16);
    if (codecFor(profile.text.encoding).chinese) w.bytes(cmd.chineseModeOn);
    else {
      w.bytes(cmd.chineseModeOff);
      // Profiles with single-byte encodings are checked to have a code page when loaded.
      if (profile.text.codePage !== undefined) w.bytes(cmd.selectCodePage(profile.text.codePage));
    }
    if (profile.status.asb) w.bytes(cmd.enableAsb());
    setup = w.toBytes();
    setupCache.set(profile, setup);
  }
  return setup;
}

const DEFAULT_STYLE: Style = { bold: false, underline: false, invert: false, width: 1, height: 1, font: 'A' };

/** The printer's current modes as far as we know; undefined after raw bytes (anything goes). */
class PrinterModes {
  align: Align | undefined = 'left';
  style: Partial<Style> = { ...DEFAULT_STYLE };

  constructor(
    private readonly out: ByteWriter,
    private readonly chinese: boolean,
  ) {}

  forget(): void {
    this.align = undefined;
    this.style = {};
  }

  setAlign(align: Align): void {
    if (this.align === align) return;
    this.out.bytes(cmd.justify(align));
    this.align = align;
  }

  setStyle(s: Style): void {
    const cur = this.style;
    const o = this.out;
    if (cur.font !== s.font) o.bytes(cmd.selectFont(s.font));
    if (cur.bold !== s.bold) o.bytes(cmd.emphasize(s.bold));
    if (cur.underline !== s.underline) {
      o.bytes(cmd.underline(s.underline));
      if (this.chinese) o.bytes(cmd.underlineChinese(s.underline));
    }
    if (cur.invert !== s.invert) o.bytes(cmd.reverse(s.invert));
    if (cur.width !== s.width || cur.height !== s.height) o.bytes(cmd.characterSize(s.width, s.height));
    this.style = { ...s };
  }
}

function writeRaster(out: ByteWriter, bitmap: Bitmap): void {
  for (let y = 0; y < bitmap.height; y += RASTER_BAND_ROWS) {
    const rows = Math.min(RASTER_BAND_ROWS, bitmap.height - y);
    out.bytes(cmd.rasterImageHeader(bitmap.widthBytes, rows));
    out.bytes(bitmap.data.subarray(y * bitmap.widthBytes, (y + rows) * bitmap.widthBytes));
  }
}

/** Whether raw bytes contain ESC @ (possibly inside other data: then re-sending the setup is harmless). */
function containsInitialize(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0x1b); i >= 0; i = bytes.indexOf(0x1b, i + 1))
    if (bytes[i + 1] === 0x40) return true;
  return false;
}

function writeOp(
  op: LayoutOp,
  out: ByteWriter,
  modes: PrinterModes,
  codec: TextCodec,
  profile: PrinterProfile,
): void {
  switch (op.kind) {
    case 'lines':
      modes.setAlign(op.align);
      modes.setStyle(op.style);
      for (const line of op.lines) {
        codec.encodeInto(line, out);
        out.byte(cmd.LF);
      }
      return;
    case 'feed':
      out.bytes(cmd.feedLines(op.lines));
      return;
    case 'qr':
      modes.setAlign(op.align);
      if (op.matrix) writeRaster(out, qrBitmap(op.matrix, op.moduleDots, QR_QUIET_MODULES));
      else {
        out.bytes(cmd.qrSelectModel2);
        out.bytes(cmd.qrModuleSize(op.moduleDots));
        out.bytes(cmd.qrErrorLevel(op.errorLevel));
        out.bytes(cmd.qrStore(op.bytes));
        out.bytes(cmd.qrPrint);
      }
      return;
    case 'barcode':
      modes.setAlign(op.align);
      out.bytes(cmd.barcodeHeight(op.height));
      out.bytes(cmd.barcodeModuleWidth(op.moduleWidth));
      out.bytes(cmd.barcodeHriPosition(op.hri));
      out.bytes(cmd.barcode(op.symbology, op.payload));
      return;
    case 'image': {
      modes.setAlign(op.align);
      let bitmap: Bitmap;
      try {
        bitmap = base64PngToBitmap(op.png, op, op.dither);
      } catch (err) {
        // The layout only read the PNG header; broken pixel data shows up here.
        throw new RenderError(op.path, err instanceof Error ? err.message : String(err));
      }
      writeRaster(out, bitmap);
      return;
    }
    case 'cut':
      if (op.feedLines > 0) out.bytes(cmd.feedLines(op.feedLines));
      if (op.mode) out.bytes(cmd.cutPaper(op.mode));
      return;
    case 'drawer':
      out.bytes(cmd.drawerPulse(op.pin, op.onUnits, op.offUnits));
      return;
    case 'beep':
      out.bytes(cmd.buzzer(op.times, op.units50ms));
      return;
    case 'raw':
      out.bytes(op.bytes);
      modes.forget();
      // Raw bytes that reset the printer also reset its character mode and status back.
      if (containsInitialize(op.bytes)) out.bytes(setupAfterInitialize(profile));
      return;
  }
}

/**
 * Renders a ticket for a printer. Throws RenderError (with the block's JSON path) when
 * something cannot be printed at all, e.g. a wrong EAN13 check digit or a broken PNG.
 */
export function renderTicket(
  ticket: Ticket,
  profile: PrinterProfile,
  opts: RenderOptions = {},
): RenderResult {
  return renderLayout(layoutTicket(ticket, profile), profile, opts);
}

/** Renders a ticket laid out already (by layoutTicket), for a caller that needs the layout too. */
export function renderLayout(
  { ops, warnings }: Layout,
  profile: PrinterProfile,
  opts: RenderOptions = {},
): RenderResult {
  const codec = codecFor(profile.text.encoding);
  const out = new ByteWriter(8192);
  out.bytes(cmd.initialize);
  out.bytes(setupAfterInitialize(profile));
  const modes = new PrinterModes(out, codec.chinese);
  for (const op of ops) writeOp(op, out, modes, codec, profile);
  if (opts.confirmToken !== false) {
    out.bytes(cmd.confirmationRequest(profile, opts.confirmToken ?? DEFAULT_CONFIRM_TOKEN));
  }
  return { bytes: out.toBytes(), warnings };
}
