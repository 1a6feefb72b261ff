// A Windows printer installed with its vendor's driver, printed to RAW through the spooler
// (winspool: OpenPrinter, StartDocPrinter with datatype RAW, StartPagePrinter, WritePrinter,
// EndPagePrinter, EndDocPrinter, ClosePrinter), so the driver stays as the vendor installed
// it. There is no native addon for winspool here: the calls are made by PowerShell through a
// small inline C# P/Invoke class, which every Windows 10/11 has. Each write is one spooler
// document. The spooler gives no printer status back: the transport is one-way.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Transport, TransportEvents } from './transport.js';

/** Runs a PowerShell script with stdin; the seam tests replace (no Windows here). */
export type PowerShellRunner = (
  script: string,
  stdin: string,
) => Promise<{ code: number; stdout: string; stderr: string }>;

export const runPowerShell: PowerShellRunner = (script, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn(
      'powershell.exe',
      ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', script],
      {
        windowsHide: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin);
  });

/**
 * The PowerShell script: reads the printer name and the bytes (base64) as two lines of stdin,
 * so neither is ever quoted into the script, and prints "WIN32 <step> <code>" on failure.
 * No bytes only opens and closes the printer: the check that it exists, made on connect.
 */
export const RAW_PRINT_SCRIPT = `$ErrorActionPreference = 'Stop'
Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
public static class PrintrelayRaw {
  [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
  public class DOCINFO { public string pDocName; public string pOutputFile; public string pDatatype; }
  [DllImport("winspool.drv", CharSet = CharSet.Unicode, SetLastError = true)]
  static extern bool OpenPrinter(string name, out IntPtr h, IntPtr defaults);
  [DllImport("winspool.drv", CharSet = CharSet.Unicode, SetLastError = true)]
  static extern int StartDocPrinter(IntPtr h, int level, DOCINFO di);
  [DllImport("winspool.drv", SetLastError = true)] static extern bool StartPagePrinter(IntPtr h);
  [DllImport("winspool.drv", SetLastError = true)] static extern bool WritePrinter(IntPtr h, byte[] b, int n, out int written);
  [DllImport("winspool.drv", SetLastError = true)] static extern bool EndPagePrinter(IntPtr h);
  [DllImport("winspool.drv", SetLastError = true)] static extern bool EndDocPrinter(IntPtr h);
  [DllImport("winspool.drv", SetLastError = true)] static extern bool ClosePrinter(IntPtr h);
  static void Fail(string step) { throw new Exception("WIN32 " + step + " " + Marshal.GetLastWin32Error()); }
  public static void Check(string name) {
    IntPtr h;
    if (!OpenPrinter(name, out h, IntPtr.Zero)) Fail("OpenPrinter");
    ClosePrinter(h);
  }
  public static void Print(string name, string doc, byte[] bytes) {
    IntPtr h;
    if (!OpenPrinter(name, out h, IntPtr.Zero)) Fail("OpenPrinter");
    try {
      DOCINFO di = new DOCINFO(); di.pDocName = doc; di.pDatatype = "RAW";
      if (StartDocPrinter(h, 1, di) == 0) Fail("StartDocPrinter");
      try {
        if (!StartPagePrinter(h)) Fail("StartPagePrinter");
        int written;
        if (!WritePrinter(h, bytes, bytes.Length, out written)) Fail("WritePrinter");
        if (written != bytes.Length) throw new Exception("WIN32 WritePrinter short " + written);
        if (!EndPagePrinter(h)) Fail("EndPagePrinter");
      } finally { EndDocPrinter(h); }
    } finally { ClosePrinter(h); }
  }
}
'@
$name = [Console]::In.ReadLine()
$bytes = [Convert]::FromBase64String([Console]::In.ReadLine())
try { if ($bytes.Length -eq 0) { [PrintrelayRaw]::Check($name) } else { [PrintrelayRaw]::Print($name, 'printrelay', $bytes) } } catch { [Console]::Error.WriteLine($_.Exception.InnerException.Message + $_.Exception.Message); exit 2 }
`;

/** Win32 errors a cashier or tech can act on, in their words. */
const WIN32_ERRORS: Record<string, string> = {
  '1801': 'no Windows printer has this name (see Printers & scanners)',
  '5': 'access denied by the spooler',
  '1722': 'the print spooler service is not running',
  '1804': 'the driver does not accept RAW data',
  '1905': 'the printer was deleted',
  '6': 'the printer handle is invalid',
};

/** Turns the script's failure into a sentence naming the printer and the cause. */
export function spoolerError(printerName: string, result: { code: number; stderr: string }): Error {
  const m = /WIN32 (\w+) (\d+|short \d+)/.exec(result.stderr);
  const where = `Windows printer "${printerName}"`;
  if (!m)
    return new Error(
      `cannot print to ${where}: PowerShell exited with ${result.code}: ${result.stderr.trim() || 'no message'}`,
    );
  const [, step, code] = m;
  const why =
    WIN32_ERRORS[code ?? ''] ??
    (code?.startsWith('short') ? `only ${code.slice(6)} bytes were taken` : `Windows error ${code}`);
  return new Error(`cannot print to ${where}: ${why} (${step})`);
}

export class SpoolerTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  /** One write is one spooler document: large, so a ticket is one document. */
  readonly chunkSize = 1024 * 1024;
  /** The spooler says nothing of the printer's state to a RAW writer. */
  readonly statusChannel = 'none';
  readonly #printerName: string;
  readonly #run: PowerShellRunner;
  #open = false;

  constructor(opts: { printerName: string; runner?: PowerShellRunner }) {
    super();
    this.#printerName = opts.printerName;
    this.#run = opts.runner ?? runPowerShell;
    this.description = `Windows printer "${opts.printerName}"`;
  }

  async open(): Promise<void> {
    if (process.platform !== 'win32' && this.#run === runPowerShell) {
      throw new Error(`cannot open ${this.description}: the Windows spooler exists only on Windows`);
    }
    // A mistyped or deleted printer is a connect error (printer offline), not a job lost later.
    const result = await this.#script(new Uint8Array(0));
    if (result.code !== 0) throw spoolerError(this.#printerName, result);
    this.#open = true;
  }

  #script(bytes: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdin = `${this.#printerName}\n${Buffer.from(bytes).toString('base64')}\n`;
    return this.#run(RAW_PRINT_SCRIPT, stdin).catch((err: Error) => ({
      code: -1,
      stdout: '',
      stderr: err.message,
    }));
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.#open) throw new Error(`${this.description} is not open`);
    if (bytes.byteLength === 0) return;
    const result = await this.#script(bytes);
    if (result.code !== 0) {
      const error = spoolerError(this.#printerName, result);
      this.#open = false;
      this.emit('close', error);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.emit('close', undefined);
  }
}
