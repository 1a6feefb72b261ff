// A throwaway Redis server for the tests, the cluster demo and the benchmarks: Debian's
// redis-server (scripts/ensure-test-deps.js installs it) on a free loopback port, nothing saved
// to disk, killable with -9 and restartable on the same port.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signalAndWait } from './child.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

function redisServerBin(): string {
  for (const bin of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(bin)) return bin;
  throw new Error(
    'redis-server is not installed: run `node scripts/ensure-test-deps.js` (Debian package redis-server)',
  );
}

/** One PING over a fresh connection: whether the server answers. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.on('connect', () => socket.write('PING\r\n'));
  });
}

export class RedisServer {
  #proc: ChildProcess | null = null;
  #output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(mkdtempSync(join(tmpdir(), 'printrelay-redis-')), await freePort());
    await server.resume();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const proc = spawn(redisServerBin(), [...args, '--dir', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.#output = (this.#output + d.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.#proc = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`redis-server exited (${proc.exitCode}):\n${this.#output}`);
        return ping(this.port);
      },
      'Redis to answer PING',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  }

  /** kill -9: everything Redis held in memory is gone, as after a crash without persistence. */
  async kill9(): Promise<void> {
    if (this.#proc) await signalAndWait(this.#proc, 'SIGKILL');
    this.#proc = null;
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
