// Printers attached to this PC other than by network or serial port: USB printer-class devices
// (through `usb`), Linux usblp device nodes (/dev/usb/lpN) and, on Windows, the printers the
// spooler knows (installed with a vendor driver). Each returns what to probe or list.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type PowerShellRunner, runPowerShell } from '../printer/transports/spooler.js';
import { findPrinterInterface, hex4, systemUsb, type UsbBackend } from '../printer/transports/usb.js';

export interface UsbPrinterFound {
  uri: string;
  /** "EPSON TM-T88VI (04b8:0e28)" */
  label: string;
}

/** USB devices with a printer interface (class 7); none when USB cannot be listed here. */
export async function usbPrinters(
  backend: () => Promise<UsbBackend> = systemUsb,
): Promise<UsbPrinterFound[]> {
  let devices: Awaited<ReturnType<UsbBackend['getDevices']>>;
  try {
    devices = await (await backend()).getDevices();
  } catch {
    return []; // no USB bus visible (containers, no permission): nothing to offer
  }
  return devices
    .filter((d) => findPrinterInterface(d) !== null)
    .map((d) => {
      const ids = `${hex4(d.vendorId)}:${hex4(d.productId)}`;
      const serial = d.serialNumber ? `?serial=${encodeURIComponent(d.serialNumber)}` : '';
      const name = [d.manufacturerName, d.productName].filter(Boolean).join(' ');
      return { uri: `usb://${ids}${serial}`, label: name ? `${name} (${ids})` : `USB ${ids}` };
    });
}

/** /dev/usb/lpN device nodes (Linux usblp); none elsewhere. */
export async function usblpDevices(dir = '/dev/usb'): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => /^lp\d+$/.test(n))
      .map((n) => join(dir, n))
      .sort();
  } catch {
    return [];
  }
}

export interface SpoolerPrinter {
  name: string;
  driver: string;
  port: string;
}

/** The spooler's printers as Get-Printer lists them, one JSON array on stdout. */
export const LIST_PRINTERS_SCRIPT =
  '@(Get-Printer | ForEach-Object { [pscustomobject]@{ name = $_.Name; driver = $_.DriverName; port = $_.PortName } }) | ConvertTo-Json -Compress';

/** Windows printers; an empty list off Windows or when PowerShell fails. */
export async function spoolerPrinters(run: PowerShellRunner = runPowerShell): Promise<SpoolerPrinter[]> {
  if (run === runPowerShell && process.platform !== 'win32') return [];
  try {
    const { code, stdout } = await run(LIST_PRINTERS_SCRIPT, '');
    if (code !== 0 || stdout.trim() === '') return [];
    const parsed: unknown = JSON.parse(stdout);
    // ConvertTo-Json turns a one-element array into the object itself.
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list
      .filter((p): p is SpoolerPrinter => typeof p === 'object' && p !== null && typeof p.name === 'string')
      .map((p) => ({ name: p.name, driver: String(p.driver ?? ''), port: String(p.port ?? '') }));
  } catch {
    return [];
  }
}

/** spooler:// URI for a printer name; only '%' needs escaping (the parser decodes). */
export const spoolerUri = (name: string): string => `spooler://${name.replace(/%/g, '%25')}`;
