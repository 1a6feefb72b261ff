// Ports for the processes the tests, benchmarks and chaos runs start on loopback.
import net, { type AddressInfo } from 'node:net';

/** A port that was free a moment ago: children get fixed ports so a restart comes back on them. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
