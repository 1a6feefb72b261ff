// Ports a command is about to listen on: which are taken, by what they would be used for and
// which option moves them, said all at once before anything starts (not a raw EADDRINUSE).
import net from 'node:net';

export interface WantedPort {
  host: string;
  port: number;
  /** What would listen there, e.g. "relay HTTP API". */
  what: string;
  /** The option that moves it, e.g. "--http-port". */
  option: string;
}

function portFree(host: string, p: number): Promise<boolean> {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(p, host, () => server.close(() => done(true)));
  });
}

function takenError(taken: WantedPort[], who: string): Error {
  const lines = taken.map((w) => `  port ${w.port} (${w.what}): choose another with ${w.option}`);
  return new Error(
    `cannot start: ${taken.length === 1 ? 'a port is' : 'ports are'} already in use (is another ${who} running?)\n${lines.join('\n')}`,
  );
}

/** Throws naming every taken port and the option that moves it. `who`: what may hold them. */
export async function assertPortsFree(wanted: WantedPort[], who: string): Promise<void> {
  const taken: WantedPort[] = [];
  for (const w of wanted) if (w.port !== 0 && !(await portFree(w.host, w.port))) taken.push(w);
  if (taken.length > 0) throw takenError(taken, who);
}

/** The same message for an EADDRINUSE that came anyway (a port taken in the meantime). */
export function explainListenError(err: unknown, wanted: WantedPort[], who: string): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code !== 'EADDRINUSE') return err;
  const taken = wanted.filter((w) => w.port === e.port);
  return taken.length > 0 ? takenError(taken, who) : err;
}

/** The relay's listeners, as `relay start` and `start` take them (null: that listener is off). */
export function relayPorts(o: {
  host: string;
  httpPort: number | null;
  mqttPort: number | null;
  ws: boolean;
  wsPort: number | null;
  httpsPort?: number | null;
  mqttsPort?: number | null;
  wssPort?: number | null;
}): WantedPort[] {
  const wanted: [number | null | undefined, string, string][] = [
    [o.httpPort, 'relay HTTP API', '--http-port'],
    [o.mqttPort, 'relay MQTT', '--mqtt-port'],
    [o.ws ? o.wsPort : null, 'relay MQTT over WebSocket', '--ws-port or --no-ws'],
    [o.httpsPort, 'relay HTTPS API', '--https-port'],
    [o.mqttsPort, 'relay MQTT over TLS', '--mqtts-port'],
    [o.ws ? o.wssPort : null, 'relay MQTT over secure WebSocket', '--wss-port or --no-ws'],
  ];
  return wanted.flatMap(([port, what, option]) =>
    port === null || port === undefined ? [] : [{ host: o.host, port, what, option }],
  );
}
