// USB printers without a USB bus: the real USB transport and driver against the virtual
// printer behind a fake WebUSB device; usblp against a real FIFO; the Windows spooler through
// its injectable PowerShell runner (the script and the error mapping; Windows itself is not here).
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrinterAddress } from '../agent/printer/address.js';
import { Printer, SENT_UNCONFIRMED } from '../agent/printer/printer.js';
import { RAW_PRINT_SCRIPT, SpoolerTransport } from '../agent/printer/transports/spooler.js';
import { decodePortStatus, type UsbBackend, UsbTransport } from '../agent/printer/transports/usb.js';
import { UsblpTransport } from '../agent/printer/transports/usblp.js';
import { getProfile } from '../escpos/profiles/index.js';
import { waitFor } from '../harness/wait.js';
import { isReady, notReadyReasons } from '../protocol/status.js';
import { printerCondition } from '../shared/printer-state.js';
import { startVirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { fifoPrinter } from './support/fifo-printer.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const text = (s: string) => new TextEncoder().encode(`${s}\n`);

describe('printer addresses for USB, usblp and the spooler', () => {
  it('parses usb://, file:// and spooler:// and names what is wrong', () => {
    expect(parsePrinterAddress('usb://04b8:0E28?serial=X1')).toEqual({
      kind: 'usb',
      vendorId: 0x04b8,
      productId: 0x0e28,
      serialNumber: 'X1',
    });
    expect(parsePrinterAddress('file:///dev/usb/lp0')).toEqual({ kind: 'usblp', path: '/dev/usb/lp0' });
    expect(parsePrinterAddress('spooler://EPSON%20TM-T88V%20Receipt')).toEqual({
      kind: 'spooler',
      printerName: 'EPSON TM-T88V Receipt',
    });
    expect(() => parsePrinterAddress('usb://4b8:e28')).toThrow(/usb:\/\/VID:PID/);
    expect(() => parsePrinterAddress('usb://04b8:0e28?port=1')).toThrow(/unknown parameter "port"/);
    expect(() => parsePrinterAddress('file://dev/usb/lp0')).toThrow(/must be absolute/);
    expect(() => parsePrinterAddress('spooler://')).toThrow(/Windows printer's name/);
  });
});

describe('USB transport against the virtual printer as a fake WebUSB device', () => {
  it('prints, reads status and identity through bulk IN, and reconnects after a power cycle', async () => {
    const vp = await startVirtualPrinter({ listen: 'usb' });
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
    const vp = await startVirtualPrinter({ listen: 'usb-one-way' });
    cleanups.push(() => vp.close());
    const usb = vp.usb;
    if (!usb) throw new Error('no USB backend');
    const t = new UsbTransport({
      vendorId: 0x04b8,
      productId: 0x0e28,
      serialNumber: 'VP00000001',
      backend: async () => usb,
    });
    cleanups.push(() => t.close());
    await t.open();
    expect(t.statusChannel).toBe('port-status');
    expect(await t.readPortStatus()).toEqual({ paperEmpty: false, selected: true, error: false });
    vp.setFault('paper-out', true);
    expect(await t.readPortStatus()).toEqual({ paperEmpty: true, selected: false, error: false });
    vp.setFault('paper-out', false);
    vp.setFault('cover-open', true);
    expect((await t.readPortStatus()).error).toBe(true);
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
    const dir = mkdtempSync(join(tmpdir(), 'printrelay-usblp-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fifo = join(dir, 'lp0');
    execFileSync('mkfifo', [fifo]);
    const t = new UsblpTransport({ path: fifo });
    await t.open();
    const reader = createReadStream(fifo);
    const got: Buffer[] = [];
    reader.on('data', (c) => got.push(Buffer.from(c)));
    cleanups.push(() => reader.destroy());
    await t.write(text('lp0 ticket'));
    await waitFor(
      () => Buffer.concat(got).toString().includes('lp0 ticket'),
      'bytes through the FIFO',
      5_000,
    );
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
    // Opening checks the printer exists: the name and no bytes.
    expect(calls).toEqual([{ script: RAW_PRINT_SCRIPT, stdin: 'EPSON TM-T88V Receipt\n\n' }]);
    await t.write(Uint8Array.of(0x1b, 0x40, 0x41, 0x0a));
    expect(calls).toHaveLength(2);
    expect(calls[1]?.script).toBe(RAW_PRINT_SCRIPT);
    expect(calls[1]?.stdin).toBe(
      `EPSON TM-T88V Receipt\n${Buffer.of(0x1b, 0x40, 0x41, 0x0a).toString('base64')}\n`,
    );
    expect(RAW_PRINT_SCRIPT).toContain('if ($bytes.Length -eq 0) { [PrintrelayRaw]::Check($name) }');
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

  it('maps Win32 errors to words a tech can act on: a wrong name fails to connect, a failed write ends the connection', async () => {
    const missing = new SpoolerTransport({
      printerName: 'Kitchen',
      runner: async () => ({ code: 2, stdout: '', stderr: 'WIN32 OpenPrinter 1801\n' }),
    });
    await expect(missing.open()).rejects.toThrow(
      'cannot print to Windows printer "Kitchen": no Windows printer has this name (see Printers & scanners) (OpenPrinter)',
    );
    let answer = { code: 0, stdout: '', stderr: '' };
    const t = new SpoolerTransport({ printerName: 'Kitchen', runner: async () => answer });
    await t.open();
    const closed = new Promise<Error | undefined>((resolve) => t.once('close', resolve));
    answer = { code: 2, stdout: '', stderr: 'WIN32 StartDocPrinter 1804\n' };
    await expect(t.write(text('x'))).rejects.toThrow(
      'cannot print to Windows printer "Kitchen": the driver does not accept RAW data (StartDocPrinter)',
    );
    expect((await closed)?.message).toMatch(/does not accept RAW data/);
    answer = { code: 1, stdout: '', stderr: 'Add-Type : compilation failed' };
    const other = new SpoolerTransport({ printerName: 'Bar', runner: async () => answer });
    await expect(other.open()).rejects.toThrow(
      'cannot print to Windows printer "Bar": PowerShell exited with 1: Add-Type : compilation failed',
    );
  });

  it('is refused off Windows with the default runner', async () => {
    if (process.platform === 'win32') return;
    await expect(new SpoolerTransport({ printerName: 'X' }).open()).rejects.toThrow(/only on Windows/);
  });
});

describe('one-way printers through the driver', () => {
  it('a usblp printer is connected with status unknown (never ready), and its jobs are printed unconfirmed', async () => {
    const lp = fifoPrinter();
    cleanups.push(() => lp.close());
    const printer = new Printer({ uri: lp.uri, profile: getProfile('epson-tm-t88'), pollIntervalMs: 100 });
    cleanups.push(() => printer.close());
    printer.start();
    expect(await printer.whenConnected(5_000)).toBe(true);
    const status = printer.status;
    expect(status).toMatchObject({ connected: true, source: 'unreadable', paper: 'unknown' });
    expect(isReady(status)).toBe(false);
    expect(notReadyReasons(status)).toEqual(['status-unknown']);
    expect(printerCondition(status)).toBe('unknown');
    // ...yet the driver sends to it.
    expect(printer.notReadyReasons).toEqual([]);
    const job = printer.print(text('FIFO 厨房'));
    expect(await job.done).toMatchObject({ state: 'printed', reason: SENT_UNCONFIRMED });
    await waitFor(() => lp.received().includes(Buffer.from('FIFO')), 'the ticket at the FIFO', 5_000);
    const bytes = lp.received();
    // Nothing that expects an answer went out: no DLE EOT, no GS ( H confirmation, no ASB.
    expect(bytes.includes(Buffer.of(0x10, 0x04))).toBe(false);
    expect(bytes.includes(Buffer.of(0x1d, 0x28, 0x48))).toBe(false);
    expect(bytes.includes(Buffer.of(0x1d, 0x61))).toBe(false);
    await expect(printer.identify({ timeoutMs: 1_000 })).rejects.toThrow(/one-way: it cannot answer/);
    await printer.close();
    expect(printer.status.connected).toBe(false);
  });

  it('a usblp printer unplugged (its device file gone) is disconnected at once, and back when it returns', async () => {
    const lp = fifoPrinter();
    cleanups.push(() => lp.close());
    const printer = new Printer({ uri: lp.uri, profile: getProfile('epson-tm-t88'), pollIntervalMs: 100 });
    cleanups.push(() => printer.close());
    const errors: string[] = [];
    printer.on('disconnected', (e) => errors.push(e.message));
    printer.start();
    expect(await printer.whenConnected(5_000)).toBe(true);
    const path = lp.uri.slice('file://'.length);
    rmSync(path);
    await waitFor(() => !printer.status.connected, 'the unplugged printer disconnected', 5_000);
    expect(errors[0]).toMatch(/printer device .*lp0 is gone \(printer unplugged or off\?\): ENOENT/);
    expect(notReadyReasons(printer.status)).toEqual(['disconnected']);
    execFileSync('mkfifo', [path]);
    await waitFor(() => printer.status.connected, 'the printer back', 10_000);
    expect(printer.status.source).toBe('unreadable');
  });

  it('a one-way USB printer is read through GET_PORT_STATUS: paper out holds jobs, printed is unconfirmed', async () => {
    const vp = await startVirtualPrinter({ listen: 'usb-one-way' });
    cleanups.push(() => vp.close());
    const usb = vp.usb;
    if (!usb) throw new Error('no USB backend');
    const printer = new Printer({
      uri: vp.uri,
      profile: getProfile('epson-tm-t88'),
      usb: async () => usb,
      pollIntervalMs: 100,
    });
    cleanups.push(() => printer.close());
    printer.start();
    expect(await printer.whenConnected(5_000)).toBe(true);
    expect(printer.status).toMatchObject({
      connected: true,
      online: true,
      paper: 'ok',
      source: 'port-status',
    });
    expect(isReady(printer.status)).toBe(true);

    vp.setFault('paper-out', true);
    await waitFor(() => printer.status.paper === 'out', 'paper out through GET_PORT_STATUS', 5_000);
    const job = printer.print(text('USB ONE WAY'));
    await waitFor(() => job.reason?.includes('paper-out'), 'the job held for paper', 5_000);
    expect(job.state).toBe('queued');
    vp.setFault('paper-out', false);
    expect(await job.done).toMatchObject({ state: 'printed', reason: SENT_UNCONFIRMED });
    await waitFor(() => vp.printedText().includes('USB ONE WAY'), 'printed through bulk OUT', 5_000);
  });

  it('a USB printer with neither bulk IN nor GET_PORT_STATUS is status unknown', async () => {
    const vp = await startVirtualPrinter({ listen: 'usb-one-way' });
    cleanups.push(() => vp.close());
    const usb = vp.usb;
    if (!usb) throw new Error('no USB backend');
    // The same device, stalling the class request as printers without it do.
    const silent: UsbBackend = {
      getDevices: async () =>
        (await usb.getDevices()).map(
          (d) =>
            new Proxy(d, {
              get: (target, key) => {
                if (key === 'controlTransferIn') return async () => ({ status: 'stall' });
                const value: unknown = Reflect.get(target, key);
                // Bound to the real device: its methods use private fields.
                return typeof value === 'function' ? value.bind(target) : value;
              },
            }),
        ),
    };
    const printer = new Printer({
      uri: vp.uri,
      profile: getProfile('epson-tm-t88'),
      usb: async () => silent,
      pollIntervalMs: 100,
    });
    cleanups.push(() => printer.close());
    printer.start();
    expect(await printer.whenConnected(5_000)).toBe(true);
    expect(printer.status).toMatchObject({ connected: true, source: 'unreadable' });
    expect(printerCondition(printer.status)).toBe('unknown');
    expect(await printer.print(text('BLIND')).done).toMatchObject({
      state: 'printed',
      reason: SENT_UNCONFIRMED,
    });
    await waitFor(() => vp.printedText().includes('BLIND'), 'printed through bulk OUT', 5_000);
  });
});
