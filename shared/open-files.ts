// Every connected agent holds one socket, so one open file, of the relay process: its limit of
// open files (RLIMIT_NOFILE) caps how many agents it can hold. Under systemd that limit is
// 1,024 unless the unit raises it (installers/linux/printrelay-relay.service does).
import { readFileSync } from 'node:fs';

/** This process's limit of open files (the soft one, which applies), read from /proc on Linux; null elsewhere. */
export function openFilesLimit(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(soft);
  return Number.isFinite(n) ? n : null;
}

/** Below this many open files, a relay is told at start how few agents it can hold. */
export const RELAY_FEW_OPEN_FILES = 16_384;
