// Every socket the relay listens on (HTTP API, MQTT, MQTT over WebSocket, each plain and/or
// TLS), what start-up output and /healthz say about them, and the one TLS certificate they all
// serve, which can be swapped while connections stay up.
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { createSecureContext, type Server as TlsServer } from 'node:tls';

export const LISTENER_KINDS = ['http', 'https', 'mqtt', 'mqtts', 'ws', 'wss'] as const;
export type ListenerKind = (typeof LISTENER_KINDS)[number];

export interface ListenerInfo {
  kind: ListenerKind;
  url: string;
  /** false: credentials and API keys cross the network in clear. */
  tls: boolean;
}

export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * The certificate and key shared by every TLS listener. reload() checks the new pair first and
 * then gives it to each server: new connections get it, open ones keep the one they started with.
 */
export class TlsCertificate {
  private readonly servers = new Set<TlsServer>();

  constructor(private files: TlsFiles) {
    checkTlsFiles(files);
  }

  /** Options for creating a server with the current certificate. */
  get options(): TlsFiles {
    return this.files;
  }

  /** Reloads `server` too on every reload() (https.Server is a tls.Server). */
  serve(server: TlsServer): void {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
  }

  /** Throws (and changes nothing) when the pair is not usable. */
  reload(files: TlsFiles): void {
    checkTlsFiles(files);
    this.files = files;
    for (const server of this.servers) server.setSecureContext(files);
  }
}

/** A certificate that does not parse, or a key that is not the certificate's, fails here with the reason. */
function checkTlsFiles(files: TlsFiles): void {
  try {
    createSecureContext(files);
  } catch (err) {
    throw new Error(`unusable TLS certificate or key: ${(err as Error).message}`);
  }
}

/** The host part of a URL for a listener on `host` (0.0.0.0 and :: are reached as localhost). */
export function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: Server | HttpServer): Promise<void> {
  if (!server.listening) return;
  // An HTTP server also closes its idle keep-alive connections here (Node 19+).
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** One line per listener for start-up output: what it is, its URL, plain or TLS. */
export function describeListeners(listeners: ListenerInfo[]): string[] {
  const names: Record<ListenerKind, string> = {
    http: 'HTTP API',
    https: 'HTTP API',
    mqtt: 'MQTT',
    mqtts: 'MQTT',
    ws: 'MQTT/WebSocket',
    wss: 'MQTT/WebSocket',
  };
  return listeners.map(
    (l) => `${names[l.kind].padEnd(15)} ${l.url.padEnd(32)} ${l.tls ? 'TLS' : 'plain (not encrypted)'}`,
  );
}
