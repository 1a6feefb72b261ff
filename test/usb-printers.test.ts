// USB printers without a USB bus: the real USB transport and driver against the virtual
// printer behind a fake WebUSB device; usblp against a real FIFO; the Windows spooler through
// its injectable PowerShell runner (the script and the error mapping; Windows itself is not here).
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ONE_WAY_UNCONFIRMED, Printer } from '../agent/printer/printer.js';
import { RAW_PRINT_SCRIPT, SpoolerTransport } from '../agent/printer/transports/spooler.js';
import { decodePortStatus, UsbTransport } from '../agent/printer/transports/usb.js';
import { UsblpTransport } from '../agent/printer/transports/usblp.js';
import { getProfile } from '../agent/profiles/index.js';
import { waitFor } from '../harness/wait.js';
import { printerCondition } from '../shared/printer-state.js';
import { startVirtualPrinter } from '../virtual-printer/virtual-printer.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const text = (s: string) => new TextEncoder().encode(`${s}\n`);

/** A virtual printer on fake USB and the driver connected to it (not started). */
async function usbPrinter(listen: 'usb' | 'usb-one-way') {
  const vp = await startVirtualPrinter({ listen });
  cleanups.push(() => vp.close());
  const usb = vp.usb;
  if (!usb) throw new Error('the virtual printer has no USB backend');
  const printer = new Printer({
    uri: vp.uri,
    profile: getProfile('epson-tm-t88'),
    usb: async () => usb,
    pollIntervalMs: 100,
  });
  cleanups.push(() => printer.close());
  return { vp, usb, printer };
}

/** A FIFO standing in for /dev/usb/lp0, with what was written to it so far. */
function fifo() {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-usblp-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'lp0');
  execFileSync('mkfifo', [path]);
  // r+ so that opening does not wait for the writer.
  const reader = createReadStream(path, { flags: 'r+' });
  const got: Buffer[] = [];
  reader.on('data', (c) => got.push(Buffer.from(c)));
  cleanups.push(() => reader.destroy());
  return { path, written: () => Buffer.concat(got) };
}

describe('USB transport against the virtual printer as a fake WebUSB device', () => {
  it('prints, reads status and identity through bulk IN, and reconnects after a power cycle', async () => {
    const { vp, printer } = await usbPrinter('usb');
    printer.start();
    expect(await printer.whenConnected(5_000)).toBe(true);
    expect(printer.status.online).toBe(true);
    const identity = await printer.identify({ timeoutMs: 3_000 });
    expect(identity.maker).toBe('EPSON');
    const job = printer.print(text('USB 你好'));
    expect((await job.done).state).toBe('printed');
    expect(vp.printedText()).toContain('USB');

    vp.setFault('paper-out', true);
    await waitFor(() => printer.status.paper === 'out', 'paper out seen over USB', 5_000);
    vp.setFault('paper-out', false);

    const cycle = vp.powerCycle(300);
    await waitFor(() => !printer.status.connected, 'unplugged seen', 5_000);
    await cycle;
    await waitFor(() => printer.status.connected && printer.status.online, 'back after power-on', 10_000);
  });

  it('a printer not plugged in, or without a printer interface, is a clear error', async () => {
    const none = new UsbTransport({
      vendorId: 1,
      productId: 2,
      serialNumber: null,
      backend: async () => ({ getDevices: async () => [] }),
    });
    await expect(none.open()).rejects.toThrow(/USB printer 0001:0002 is not plugged in/);
    const broken = new UsbTransport({
      vendorId: 1,
      productId: 2,
      serialNumber: null,
      backend: async () => {
        throw new Error('LIBUSB_ERROR_ACCESS');
      },
    });
    await expect(broken.open()).rejects.toThrow(/cannot list USB devices .*LIBUSB_ERROR_ACCESS/);
  });

  it('a one-way USB printer has no bulk IN; GET_PORT_STATUS follows the device condition', async () => {
    const { vp, usb } = await usbPrinter('usb-one-way');
    const t = new UsbTransport({
      vendorId: 0x04b8,
      productId: 0x0e28,
      serialNumber: 'VP00000001',
      backend: async () => usb,
    });
    cleanups.push(() => t.close());
    await t.open();
    expect(t.twoWay).toBe(false);
    expect(await t.portStatus()).toEqual({ paperEmpty: false, selected: true, error: false });
    vp.setFault('paper-out', true);
    expect(await t.portStatus()).toEqual({ paperEmpty: true, selected: false, error: false });
    vp.setFault('paper-out', false);
    vp.setFault('cover-open', true);
    expect((await t.portStatus()).error).toBe(true);
    vp.setFault('cover-open', false);
    await t.write(text('one way'));
    await waitFor(() => vp.printedText().includes('one way'), 'printed through bulk OUT', 5_000);
  });

  it('decodes the GET_PORT_STATUS bits', () => {
    expect(decodePortStatus(0x18)).toEqual({ paperEmpty: false, selected: true, error: false });
    expect(decodePortStatus(0x20)).toEqual({ paperEmpty: true, selected: false, error: true });
  });
});

describe('usblp device file', () => {
  it('writes to a FIFO as to /dev/usb/lp0, and closes without holding the process', async () => {
    const lp0 = fifo();
    const t = new UsblpTransport({ path: lp0.path });
    await t.open();
    await t.write(text('lp0 ticket'));
    await waitFor(() => lp0.written().includes('lp0 ticket'), 'bytes through the FIFO', 5_000);
    const closed = new Promise((resolve) => t.once('close', resolve));
    await t.close();
    expect(await closed).toBeUndefined();
    await expect(t.write(text('late'))).rejects.toThrow(/is not open/);
  });

  it('a missing device is named', async () => {
    await expect(new UsblpTransport({ path: '/nonexistent/lp9' }).open()).rejects.toThrow(
      /cannot open printer device \/nonexistent\/lp9: no such device/,
    );
  });
});

describe('Windows spooler (through the injectable PowerShell runner)', () => {
  it('sends the printer name and the bytes on stdin to the RAW winspool script', async () => {
    const calls: { script: string; stdin: string }[] = [];
    const t = new SpoolerTransport({
      printerName: 'EPSON TM-T88V Receipt',
      runner: async (script, stdin) => {
        calls.push({ script, stdin });
        return { code: 0, stdout: '', stderr: '' };
      },
    });
    await t.open();
    await t.write(Uint8Array.of(0x1b, 0x40, 0x41, 0x0a));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.script).toBe(RAW_PRINT_SCRIPT);
    expect(calls[0]?.stdin).toBe(
      `EPSON TM-T88V Receipt\n${Buffer.of(0x1b, 0x40, 0x41, 0x0a).toString('base64')}\n`,
    );
    for (const call of [
      'OpenPrinter',
      'StartDocPrinter',
      'StartPagePrinter',
      'WritePrinter',
      'EndPagePrinter',
      'EndDocPrinter',
      'ClosePrinter',
    ]) {
      expect(RAW_PRINT_SCRIPT).toContain(`${call}(`);
    }
    expect(RAW_PRINT_SCRIPT).toContain('pDatatype = "RAW"');
  });

  it('maps Win32 errors to words a tech can act on, and the connection ends', async () => {
    const t = new SpoolerTransport({
      printerName: 'Kitchen',
      runner: async () => ({ code: 2, stdout: '', stderr: 'WIN32 OpenPrinter 1801\n' }),
    });
    await t.open();
    const closed = new Promise<Error | undefined>((resolve) => t.once('close', resolve));
    await expect(t.write(text('x'))).rejects.toThrow(
      'cannot print to Windows printer "Kitchen": no Windows printer has this name (see Printers & scanners) (OpenPrinter)',
    );
    expect((await closed)?.message).toMatch(/no Windows printer has this name/);
  });

  it('is refused off Windows with the default runner', async () => {
    if (process.platform === 'win32') return;
    await expect(new SpoolerTransport({ printerName: 'X' }).open()).rejects.toThrow(/only on Windows/);
  });
});

describe('one-way printers in the driver', () => {
  it('a usblp printer that never answers is "status unknown", never ready, and printed only with the caveat', async () => {
    const lp0 = fifo();
    const printer = new Printer({
      uri: `file://${lp0.path}`,
      profile: getProfile('epson-tm-t88'),
      pollIntervalMs: 100,
    });
    cleanups.push(() => printer.close());
    printer.start();
    expect(await printer.whenConnected(5_000)).toBe(true);
    expect(printer.status.source).toBe('none');
    expect(printer.notReadyReasons).toEqual(['status-unknown']);
    expect(printerCondition(printer.status)).toBe('unknown');
    const job = printer.print(text('blind ticket'));
    expect(await job.done).toMatchObject({ state: 'printed', reason: ONE_WAY_UNCONFIRMED });
    await waitFor(() => lp0.written().includes('blind ticket'), 'ticket through the FIFO', 5_000);
    // Several poll intervals later: still connected, and no status request was ever sent.
    await new Promise((r) => setTimeout(r, 400));
    expect(printer.status.connected).toBe(true);
    expect(lp0.written().includes(Buffer.of(0x10, 0x04))).toBe(false);
    await expect(printer.identify({ timeoutMs: 500 })).rejects.toThrow(/one-way/);
  });

  it('a one-way USB printer takes its status from GET_PORT_STATUS and waits while out of paper', async () => {
    const { vp, printer } = await usbPrinter('usb-one-way');
    printer.start();
    await waitFor(() => printer.status.online, 'online by port status', 5_000);
    expect(printer.status.source).toBe('port-status');
    vp.setFault('paper-out', true);
    await waitFor(() => printer.status.paper === 'out', 'paper out by port status', 5_000);
    const job = printer.print(text('after refill'));
    await waitFor(() => job.state === 'queued' && job.reason === 'paper-out', 'job held for paper', 5_000);
    vp.setFault('paper-out', false);
    expect(await job.done).toMatchObject({ state: 'printed', reason: ONE_WAY_UNCONFIRMED });
    await waitFor(() => vp.printedText().includes('after refill'), 'printed after refill', 5_000);
  });
});
