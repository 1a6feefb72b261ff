// Printer discovery: the subnet arithmetic, the profile suggestion rules, and a real scan of a
// loopback /24 with virtual printers on some of its addresses (tests never scan beyond loopback).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverPrinters } from '../agent/discovery/discover.js';
import { LIST_PRINTERS_SCRIPT } from '../agent/discovery/local-printers.js';
import { suggestProfile, unknownRuleProfiles } from '../agent/discovery/suggest-profile.js';
import { subnetHosts } from '../agent/discovery/tcp-scan.js';
import type { PrinterIdentity } from '../agent/printer/identify.js';
import { freePort } from '../harness/ports.js';
import { startVirtualPrinter, type VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { CliProcess } from './support/e2e.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function printerAt(host: string, port: number, faults: VirtualPrinter['status']['faults'] = []) {
  const vp = await startVirtualPrinter({ listen: `tcp://${host}:${port}`, faults });
  cleanups.push(() => vp.close());
  return vp;
}

const identity = (over: Partial<PrinterIdentity>): PrinterIdentity => ({
  maker: null,
  model: null,
  fontLanguage: null,
  modelId: 0x20,
  twoByteChars: false,
  autocutter: true,
  romVersion: 1,
  ...over,
});

describe('subnets', () => {
  it('lists the hosts of a /24 without network and broadcast addresses', () => {
    const hosts = subnetHosts('192.168.1.77/24');
    expect(hosts).toHaveLength(254);
    expect(hosts[0]).toBe('192.168.1.1');
    expect(hosts.at(-1)).toBe('192.168.1.254');
  });

  it('narrows a larger subnet to the /24 around the address, and keeps smaller ones', () => {
    expect(subnetHosts('10.20.30.40/16')).toEqual(subnetHosts('10.20.30.0/24'));
    expect(subnetHosts('10.0.0.9/30')).toEqual(['10.0.0.9', '10.0.0.10']);
  });

  it('names a bad subnet', () => {
    expect(() => subnetHosts('192.168.1/24')).toThrow('"192.168.1/24" is not an IPv4 subnet');
    expect(() => subnetHosts('300.1.1.1/24')).toThrow('is not an IPv4 subnet');
  });
});

describe('profile suggestion', () => {
  it('every rule names a shipped profile', () => {
    expect(unknownRuleProfiles()).toEqual([]);
  });

  it.each<[Partial<PrinterIdentity>, string | null]>([
    [{ maker: 'EPSON', model: 'TM-T88VI', fontLanguage: 'CHINA GB18030' }, 'epson-tm-t88'],
    [{ maker: 'EPSON', model: 'TM-T20III', fontLanguage: 'ANK' }, 'epson-tm-t20-latin'],
    [{ maker: 'Xprinter', model: 'XP-80C', twoByteChars: true }, 'xprinter-80'],
    [{ maker: 'Gprinter', model: 'GP-58130IVC' }, 'gprinter-58'],
    [{ maker: null, model: null, twoByteChars: true }, 'xprinter-80'],
    [{ maker: 'ACME', model: 'P1' }, null],
  ])('%o -> %s', (over, profile) => {
    expect(suggestProfile(identity(over))).toBe(profile);
  });
});

describe('discovery on a loopback /24', () => {
  it('finds the printers on the subnet, identifies them and says how they are', async () => {
    const port = await freePort();
    await printerAt('127.0.0.11', port);
    await printerAt('127.0.0.12', port, ['paper-out']);
    // Something on the port that is not a printer: it never answers a status request.
    const silent = net.createServer((socket) => socket.resume().on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.13', resolve));
    cleanups.push(() => new Promise((resolve) => silent.close(() => resolve())));

    const found = await discoverPrinters({
      subnets: ['127.0.0.0/24'],
      ports: [port],
      serial: false,
      usb: false,
      usblp: false,
      spooler: false,
      timeoutMs: 1500,
    });
    expect(found.map((p) => p.uri)).toEqual([
      `tcp://127.0.0.11:${port}`,
      `tcp://127.0.0.12:${port}`,
      `tcp://127.0.0.13:${port}`,
    ]);
    const [ready, paperOut, other] = found;
    expect(ready).toMatchObject({
      transport: 'tcp',
      identity: { maker: 'EPSON', model: 'TM-T88VI', fontLanguage: 'CHINA GB18030', autocutter: true },
      suggestedProfile: 'epson-tm-t88',
      twoWay: true,
      condition: 'ready',
      description: `EPSON TM-T88VI at 127.0.0.11:${port}`,
    });
    // Not ready, so it does not answer GS I: a person picks the profile.
    expect(paperOut).toMatchObject({
      twoWay: true,
      condition: 'paper-out',
      identity: null,
      suggestedProfile: null,
    });
    expect(other).toMatchObject({ twoWay: false, condition: null, identity: null });
  });

  it('printrelay printer discover prints a table, or JSON', async () => {
    const port = await freePort();
    await printerAt('127.0.0.21', port);
    await printerAt('127.0.0.22', port, ['cover-open']);
    const args = ['printer', 'discover', '--subnet', '127.0.0.0/24', '--port', String(port), '--no-serial'];
    const table = new CliProcess('discover', args);
    expect(await table.exited, table.output).toBe(0);
    expect(table.output).toMatch(
      new RegExp(
        `tcp://127\\.0\\.0\\.21:${port}\\s+EPSON TM-T88VI\\s+CHINA GB18030\\s+yes\\s+epson-tm-t88\\s+正常 Ready`,
      ),
    );
    expect(table.output).toContain('开盖 Cover open');
    const json = new CliProcess('discover', [...args, '--json']);
    expect(await json.exited).toBe(0);
    expect((JSON.parse(json.output) as { uri: string }[]).map((p) => p.uri)).toEqual([
      `tcp://127.0.0.21:${port}`,
      `tcp://127.0.0.22:${port}`,
    ]);
  });
});

describe('printers attached to this PC', () => {
  it('finds USB printers (identified when two-way), usblp device nodes and Windows spooler printers', async () => {
    const twoWay = await startVirtualPrinter({ listen: 'usb' });
    cleanups.push(() => twoWay.close());
    const oneWay = await startVirtualPrinter({ listen: 'usb-one-way' });
    cleanups.push(() => oneWay.close());
    // Both virtual printers have the same ids: list them as two USB buses would.
    const devices = async () => [
      ...((await twoWay.usb?.getDevices()) ?? []),
      ...((await oneWay.usb?.getDevices()) ?? []).map(
        (d) =>
          new Proxy(d, {
            get: (target, key) => {
              if (key === 'serialNumber') return 'ONEWAY';
              const value: unknown = Reflect.get(target, key);
              return typeof value === 'function' ? value.bind(target) : value;
            },
          }),
      ),
    ];
    const dev = mkdtempSync(join(tmpdir(), 'printrelay-devusb-'));
    cleanups.push(async () => rmSync(dev, { recursive: true, force: true }));
    writeFileSync(join(dev, 'lp0'), '');
    writeFileSync(join(dev, 'hiddev0'), '');
    const scripts: string[] = [];
    const found = await discoverPrinters({
      tcp: false,
      serial: false,
      usbBackend: async () => ({ getDevices: devices }),
      usblpDir: dev,
      powershell: async (script) => {
        scripts.push(script);
        return {
          code: 0,
          stdout: '{"name":"Kitchen 100%","driver":"EPSON TM-T88V Receipt5","port":"USB001"}',
          stderr: '',
        };
      },
      timeoutMs: 1500,
    });
    expect(scripts).toEqual([LIST_PRINTERS_SCRIPT]);
    expect(found.map((p) => [p.uri, p.transport, p.twoWay])).toEqual([
      ['usb://04b8:0e28?serial=VP00000001', 'usb', true],
      ['usb://04b8:0e28?serial=ONEWAY', 'usb', false],
      [`file://${join(dev, 'lp0')}`, 'usblp', false],
      ['spooler://Kitchen 100%25', 'spooler', false],
    ]);
    expect(found[0]).toMatchObject({
      identity: { maker: 'EPSON', model: 'TM-T88VI' },
      suggestedProfile: 'epson-tm-t88',
      condition: 'ready',
    });
    // One-way: connected, its port status read, but it cannot say who it is.
    expect(found[1]).toMatchObject({ identity: null, suggestedProfile: null, condition: 'ready' });
    expect(found[3]?.description).toContain('Windows printer "Kitchen 100%"');
    expect(found.slice(2).map((p) => p.condition)).toEqual(['unknown', 'unknown']);
  });
});
