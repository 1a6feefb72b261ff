// A Node child process (a printrelay build, or a bare node) as the tests, benchmarks and chaos
// runs drive it: its output is kept (the tail) to explain a failure, a line can be awaited
// (with the monotonic time it appeared, for benchmarks), and a kill -9 is a real one.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { nowMs } from './clock.js';

/** Sends `signal` to a child that still runs and resolves once it has exited. */
export async function signalAndWait(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill(signal);
  await exited;
}

export interface NodeChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Also append everything the child writes to this file (a long run keeps all of it there). */
  logFile?: string;
  /** Run this program (a single executable of printrelay) instead of node; node options then go in NODE_OPTIONS. */
  executable?: string;
}

export interface OutputSeen {
  /** nowMs() (./clock.ts) when the output arrived. */
  at: number;
  match: RegExpExecArray;
}

const escaped = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

export class NodeChild {
  readonly proc: ChildProcess;
  /** nowMs() just before the spawn. */
  readonly spawnedAt: number;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  #output = '';
  #waiters: { re: RegExp; resolve: (seen: OutputSeen) => void }[] = [];

  /** `node ...args`: args start with node's own options or the script (`executable ...args` with that option). */
  constructor(
    readonly name: string,
    args: string[],
    opts: NodeChildOptions = {},
  ) {
    this.spawnedAt = nowMs();
    this.proc = spawn(opts.executable ?? process.execPath, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { logFile } = opts;
    const keep = (chunk: Buffer) => {
      const at = nowMs();
      // The newest output explains a failure; a long run must not grow without bound.
      this.#output = (this.#output + chunk.toString('utf8')).slice(-200_000);
      if (logFile) appendFileSync(logFile, chunk);
      this.#check(at);
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** What it wrote to stdout and stderr (the newest 200,000 characters). */
  get output(): string {
    return this.#output;
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  #check(at: number): void {
    this.#waiters = this.#waiters.filter((w) => {
      const match = w.re.exec(this.#output);
      if (match) w.resolve({ at, match });
      return !match;
    });
  }

  /** When `text` first showed in the output; rejects with the output if the child exits or the time runs out first. */
  async waitForOutput(text: string | RegExp, timeoutMs = 15_000): Promise<OutputSeen> {
    const re = typeof text === 'string' ? escaped(text) : text;
    const seen = new Promise<OutputSeen>((resolve) => {
      this.#waiters.push({ re, resolve });
      this.#check(nowMs());
    });
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      const fail = (why: string) =>
        reject(new Error(`${this.name} ${why} before "${text}":\n${this.#output.slice(-3000)}`));
      timer = setTimeout(() => fail(`did not print it within ${timeoutMs} ms`), timeoutMs);
      void this.exited.then(() => fail(`exited (${this.proc.exitCode ?? this.proc.signalCode})`));
    });
    try {
      return await Promise.race([seen, failed]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (default: kill -9) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.running) this.proc.kill(signal);
    return this.exited;
  }
}
