#!/usr/bin/env node
// Type-checks the tray app (tray-app/, its own package) against Electron's own types. The root
// `npm install` never installs Electron; this installs the tray app's packages without their
// install scripts (so Electron's binary is never downloaded: only its npm package with the
// type definitions) when they are missing, then runs tsc on tray-app/tsconfig.json.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tray = join(root, 'tray-app');

if (!existsSync(join(tray, 'node_modules', 'electron', 'electron.d.ts'))) {
  console.log('tray-app: installing its packages for their types (no Electron binary)');
  execFileSync(
    process.platform === 'win32' ? 'npm.cmd' : 'npm',
    ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: tray, stdio: 'inherit', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } },
  );
}
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(tray, 'tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
