// Where the agent's local API is listening, for the tray app on the same PC: the agent writes
// DATADIR/local-api.json each time its API starts (the configured port may be 0, any free
// port), and the tray reads it, falling back to the port in the config. Not secret (a URL and a
// process id): readable by the cashier's session even when the agent runs as a service user.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCAL_API_FILE = 'local-api.json';

export interface LocalApiFile {
  /** http://127.0.0.1:PORT */
  url: string;
  pid: number;
  startedAt: string;
}

export function writeLocalApiFile(dataDir: string, url: string): void {
  const body: LocalApiFile = { url, pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(join(dataDir, LOCAL_API_FILE), `${JSON.stringify(body)}\n`, { mode: 0o644 });
}

/** The URL the agent last wrote, or null when there is none (or it is not one of ours). */
export function readLocalApiUrl(dataDir: string): string | null {
  try {
    const body = JSON.parse(readFileSync(join(dataDir, LOCAL_API_FILE), 'utf8')) as Partial<LocalApiFile>;
    return typeof body.url === 'string' && /^http:\/\/127\.0\.0\.1:\d{1,5}$/.test(body.url) ? body.url : null;
  } catch {
    return null;
  }
}
