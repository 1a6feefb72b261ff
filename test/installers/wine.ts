// Debian's wine64 in a throw-away prefix, for trying the Windows installer and executable here.
// Node under wine cannot write to a pipe (EBADF), so what a Windows program prints goes to a
// file that is read back.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WINE = '/usr/lib/wine/wine64';
const WINESERVER = '/usr/lib/wine/wineserver';

export interface WineRun {
  status: number | null;
  output: string;
}

export class WinePrefix {
  readonly dir = mkdtempSync(join(tmpdir(), 'printrelay-wine-'));
  readonly env: NodeJS.ProcessEnv = {
    ...process.env,
    WINEPREFIX: this.dir,
    WINEDEBUG: '-all',
    // No Mono or Gecko (they would be downloaded): nothing here needs .NET or a browser.
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
  };
  #runs = 0;

  /** C:\ of this prefix, as a Linux path. */
  get driveC(): string {
    return join(this.dir, 'drive_c');
  }

  /** Makes the prefix and says it is Windows 10 (Node refuses older Windows). */
  init(): void {
    for (const args of [
      ['wineboot', '-i'],
      ['winecfg', '/v', 'win10'],
    ]) {
      const r = this.run(args, 120_000);
      if (r.status !== 0) throw new Error(`wine ${args.join(' ')} failed (${r.status}): ${r.output}`);
    }
  }

  /** Runs a Windows program to its end; its output (stdout and stderr) comes from a file. */
  run(args: string[], timeoutMs = 60_000): WineRun {
    const log = join(this.dir, `run-${++this.#runs}.log`);
    const fd = openSync(log, 'w');
    try {
      const r = spawnSync(WINE, args, { env: this.env, stdio: ['ignore', fd, fd], timeout: timeoutMs });
      return { status: r.status, output: readFileSync(log, 'utf8').replaceAll('\r\n', '\n') };
    } finally {
      closeSync(fd);
    }
  }

  /** `reg query KEY /s` as text ('' when the key does not exist). */
  regQuery(key: string): string {
    const r = this.run(['reg', 'query', key, '/s']);
    return r.status === 0 ? r.output : '';
  }

  /** Starts a Windows program in the background (its output in `log`); returns its pid. */
  start(args: string[], log: string): number {
    const fd = openSync(log, 'a');
    const child = spawn(WINE, args, { env: this.env, stdio: ['ignore', fd, fd], detached: false });
    closeSync(fd);
    child.unref();
    if (child.pid === undefined) throw new Error(`wine ${args.join(' ')} did not start`);
    return child.pid;
  }

  /** Ends every Windows process of this prefix (services included) and removes it. */
  close(): void {
    spawnSync(WINESERVER, ['-k'], { env: this.env, timeout: 30_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The Windows path of a Linux path (wine maps / to Z:\). */
export function windowsPath(linuxPath: string): string {
  return `Z:${linuxPath.replaceAll('/', '\\')}`;
}
