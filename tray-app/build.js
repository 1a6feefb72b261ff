#!/usr/bin/env node
// Bundles the tray app's main process (src/main.ts and the agent modules it uses: the local
// API client, the config reader, the printer-state words) into dist/main.cjs, which Electron
// runs. Uses the repository's esbuild: run `npm install` at the repository root first.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(here, 'dist', 'main.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  // Electron provides it; better-sqlite3 and serialport are never reached from the tray's code.
  external: ['electron', 'better-sqlite3', 'serialport', '@serialport/*'],
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
