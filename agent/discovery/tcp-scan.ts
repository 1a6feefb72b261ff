// Finding network printers: a bounded scan of the PC's own subnet for their raw port (9100).
// Only the local subnet is scanned, at most a /24 around the PC's own address, with a cap on
// connections in flight and a short connect timeout, so a /24 takes seconds and nothing
// beyond the store's own network is ever touched.
import net from 'node:net';
import { networkInterfaces } from 'node:os';

export const RAW_PORT = 9100;
/** A printer on a store LAN answers a connect in milliseconds. */
const CONNECT_TIMEOUT_MS = 400;
const CONCURRENCY = 64;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * The addresses of a subnet given as CIDR (a.b.c.d/n), without its network and broadcast
 * addresses; a subnet larger than /24 is narrowed to the /24 around `a.b.c.d`.
 */
export function subnetHosts(cidr: string): string[] {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr.trim());
  const ip = m?.[1];
  if (!m || !ip || !net.isIPv4(ip) || Number(m[2]) > 32) {
    throw new Error(`"${cidr}" is not an IPv4 subnet such as 192.168.1.0/24`);
  }
  const bits = Math.max(Number(m[2]), 24);
  const size = 2 ** (32 - bits);
  const base = ipToInt(ip) - (ipToInt(ip) % size);
  if (size <= 2) return Array.from({ length: size }, (_, i) => intToIp(base + i));
  return Array.from({ length: size - 2 }, (_, i) => intToIp(base + 1 + i));
}

/** The /24 (or smaller) subnet of each IPv4 LAN interface of this PC. */
export function localSubnets(): string[] {
  const subnets = new Set<string>();
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== 'IPv4' || a.internal || !a.cidr) continue;
      const prefix = Math.max(Number(a.cidr.split('/')[1]), 24);
      subnets.add(`${a.address}/${prefix}`);
    }
  }
  return [...subnets];
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** The host:port pairs that accept a connection, at most CONCURRENCY connects at a time. */
export async function scanPorts(
  hosts: readonly string[],
  ports: readonly number[],
): Promise<{ host: string; port: number }[]> {
  const targets = hosts.flatMap((host) => ports.map((port) => ({ host, port })));
  const open: { host: string; port: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++] as { host: string; port: number };
      if (await portOpen(target.host, target.port)) open.push(target);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, targets.length) }, worker));
  return open.sort((a, b) => ipToInt(a.host) - ipToInt(b.host) || a.port - b.port);
}
