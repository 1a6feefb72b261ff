// A throwaway PostgreSQL server for the tests, the cluster demo and the benchmarks: Debian's
// binaries (scripts/ensure-test-deps.js installs them), a fresh cluster in a temp dir, on a
// free loopback port, trust authentication for the one local user. PostgreSQL refuses to run
// as root, so as root it runs as the `postgres` user the Debian package creates.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { signalAndWait } from './child.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const USER = 'printrelay';

/** Debian keeps initdb and postgres under /usr/lib/postgresql/<major>/bin, off the PATH. */
export function postgresBinDir(): string {
  for (const major of ['17', '16', '15', '14']) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  throw new Error(
    'PostgreSQL is not installed: run `node scripts/ensure-test-deps.js` (Debian package postgresql)',
  );
}

/** As root: the command run as the postgres user (setpriv execs it, so a kill reaches the server itself). */
function asServerUser(): { prefix: string[]; uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  let uid: number;
  try {
    uid = id('-u');
  } catch {
    throw new Error(
      'running as root, PostgreSQL needs the `postgres` user (Debian package postgresql creates it)',
    );
  }
  return {
    prefix: ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'],
    uid,
    gid: id('-g'),
  };
}

export class PostgresServer {
  #proc: ChildProcess | null = null;
  #output = '';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  /** initdb and start; `stop()` ends it and removes its files. */
  static async start(): Promise<PostgresServer> {
    const bin = postgresBinDir();
    const dir = mkdtempSync(join(tmpdir(), 'printrelay-pg-'));
    const user = asServerUser();
    if (user) chownSync(dir, user.uid, user.gid);
    const run = (cmd: string, args: string[]) => {
      const [file, ...rest] = [...(user?.prefix ?? []), cmd, ...args];
      execFileSync(file as string, rest, { stdio: 'pipe' });
    };
    const dataDir = join(dir, 'data');
    run(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      USER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C',
    ]);
    const server = new PostgresServer(dataDir, await freePort(), bin);
    await server.resume();
    return server;
  }

  /** A connection URL for `database`. */
  url(database = 'postgres'): string {
    return `postgres://${USER}@127.0.0.1:${this.port}/${database}`;
  }

  /** A new empty database; its URL. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** Starts the server (again) on the same port and data. */
  async resume(): Promise<void> {
    const user = asServerUser();
    const args = [
      ...(user?.prefix ?? []),
      join(this.bin, 'postgres'),
      '-D',
      this.dataDir,
      '-p',
      String(this.port),
      '-k',
      this.dataDir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
    ];
    const proc = spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => this.#keep(d));
    proc.stderr?.on('data', (d: Buffer) => this.#keep(d));
    this.#proc = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`PostgreSQL exited (${proc.exitCode}):\n${this.#output}`);
        const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
      'PostgreSQL to accept connections',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  #keep(chunk: Buffer): void {
    this.#output = (this.#output + chunk.toString()).slice(-4000);
  }

  /**
   * Ends the server as a crash would (SIGQUIT: an immediate shutdown, no checkpoint; it recovers
   * from its WAL on the next start). A SIGKILL of the postmaster would leave its backends behind.
   */
  async crash(): Promise<void> {
    if (this.#proc) await signalAndWait(this.#proc, 'SIGQUIT');
    this.#proc = null;
  }

  async stop(): Promise<void> {
    await this.crash();
    rmSync(join(this.dataDir, '..'), { recursive: true, force: true });
  }
}
