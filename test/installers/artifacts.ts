// What `npm run build:installers` made (dist/installers/manifest.json), for these tests.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/repo.js';

interface Manifest {
  version: string;
  nodeVersion: string;
  /** The Linux Node binary the executables are made of. */
  node: string;
  linuxPackage: string;
  /** The unpacked Linux package: printrelay, node_modules/, install.sh, the units. */
  linuxDir: string;
  windowsSetup: string;
  /** The win-x64 executable's folder the setup was made of. */
  windowsExecutableDir: string;
}

const file = join(REPO_ROOT, 'dist', 'installers', 'manifest.json');
if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build:installers\` first`);
const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;

export const built = {
  version: manifest.version,
  nodeVersion: manifest.nodeVersion,
  node: join(REPO_ROOT, manifest.node),
  linuxDir: join(REPO_ROOT, manifest.linuxDir),
  windowsSetup: join(REPO_ROOT, manifest.windowsSetup),
  windowsExecutableDir: join(REPO_ROOT, manifest.windowsExecutableDir),
};
