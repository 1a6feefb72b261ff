import { describe, expect, it } from 'vitest';
import { parsePrinterAddress } from '../agent/printer/address.js';

describe('parsePrinterAddress', () => {
  it('reads tcp addresses, with port 9100 by default', () => {
    expect(parsePrinterAddress('tcp://192.168.1.50:9100')).toEqual({
      kind: 'tcp',
      host: '192.168.1.50',
      port: 9100,
    });
    expect(parsePrinterAddress('tcp://printer.local')).toEqual({
      kind: 'tcp',
      host: 'printer.local',
      port: 9100,
    });
    expect(parsePrinterAddress('tcp://127.0.0.1:4000/')).toEqual({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 4000,
    });
    expect(parsePrinterAddress('TCP://[::1]:9101')).toEqual({ kind: 'tcp', host: '::1', port: 9101 });
  });

  it('reads serial addresses, 9600 baud and no flow control by default', () => {
    expect(parsePrinterAddress('serial:///dev/ttyUSB0')).toEqual({
      kind: 'serial',
      path: '/dev/ttyUSB0',
      baudRate: 9600,
      flow: 'none',
    });
    expect(parsePrinterAddress('serial:///dev/ttyS1?baud=19200&flow=rtscts')).toEqual({
      kind: 'serial',
      path: '/dev/ttyS1',
      baudRate: 19200,
      flow: 'rtscts',
    });
    expect(parsePrinterAddress('serial://COM3?flow=xonxoff')).toEqual({
      kind: 'serial',
      path: 'COM3',
      baudRate: 9600,
      flow: 'xonxoff',
    });
    expect(parsePrinterAddress('serial:///tmp/print%20relay/host?baud=115200')).toMatchObject({
      path: '/tmp/print relay/host',
      baudRate: 115200,
    });
  });

  it('reads usb, file (usblp) and spooler addresses', () => {
    expect(parsePrinterAddress('usb://04b8:0E28')).toEqual({
      kind: 'usb',
      vendorId: 0x04b8,
      productId: 0x0e28,
      serialNumber: null,
    });
    expect(parsePrinterAddress('usb://0416:5011?serial=X%2012')).toMatchObject({ serialNumber: 'X 12' });
    expect(parsePrinterAddress('file:///dev/usb/lp0')).toEqual({ kind: 'usblp', path: '/dev/usb/lp0' });
    expect(parsePrinterAddress('spooler://EPSON TM-T88V Receipt')).toEqual({
      kind: 'spooler',
      printerName: 'EPSON TM-T88V Receipt',
    });
    expect(parsePrinterAddress('spooler://%E5%8E%A8%E6%88%BF')).toEqual({
      kind: 'spooler',
      printerName: '厨房',
    });
  });

  it.each([
    ['', /empty/],
    ['192.168.1.50:9100', /no scheme/],
    ['lpt://1', /unknown scheme "lpt": use tcp:\/\/, serial:\/\/, usb:\/\/, file:\/\/ or spooler:\/\//],
    ['usb://4b8:202', /usb:\/\/VID:PID with 4 hex digits/],
    ['usb://04b8', /usb:\/\/VID:PID/],
    ['usb://04b8:0e28?sn=1', /unknown parameter "sn"/],
    ['usb://04b8:0e28?serial=', /empty serial/],
    ['file://dev/usb/lp0', /must be absolute \(file:\/\/\/dev\/usb\/lp0\)/],
    ['file:///dev/usb/lp0?x=1', /query or fragment/],
    ['file://', /no device path/],
    ['spooler://', /needs the Windows printer's name/],
    ['spooler://%zz', /badly %-encoded printer name/],
    ['tcp://host:0', /bad port "0"/],
    ['tcp://host:65536', /bad port "65536"/],
    ['tcp://host:abc', /bad port "abc"/],
    ['tcp://host:', /bad port ""/],
    ['tcp://', /must be tcp:\/\/HOST/],
    ['tcp://host:9100/queue', /must be tcp:\/\/HOST/],
    ['serial://', /no device path/],
    ['serial://dev/ttyUSB0', /must be absolute/],
    ['serial:///dev/ttyUSB0?baud=fast', /bad baud "fast"/],
    ['serial:///dev/ttyUSB0?baud=0', /bad baud "0"/],
    ['serial:///dev/ttyUSB0?flow=dtrdsr', /unknown flow "dtrdsr": must be one of none, rtscts, xonxoff/],
    ['serial:///dev/ttyUSB0?baudrate=9600', /unknown parameter "baudrate"/],
  ])('rejects %j naming the problem', (uri, message) => {
    expect(() => parsePrinterAddress(uri)).toThrow(message);
  });
});
