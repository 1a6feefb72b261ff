#!/usr/bin/env node
// Installs what the test suite needs from Debian when it is missing, so nobody installs
// anything by hand: socat makes the pty pairs for the serial tests; chromium runs the page
// tests (driven by playwright-core, which never downloads a browser of its own); without
// fonts-noto-cjk, Chromium draws Han characters as boxes in the screenshots; openssl makes
// the private CA and certificates of the TLS tests; redis-server and postgresql are the engines
// the relay cluster runs on, started by the tests in throwaway data dirs on free ports.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needed = [
  { pkg: 'socat', present: () => has('socat') },
  { pkg: 'chromium', present: () => has('chromium') },
  {
    pkg: 'fonts-noto-cjk',
    present: () => existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'),
  },
  { pkg: 'openssl', present: () => has('openssl') },
  { pkg: 'redis-server', present: () => has('redis-server') },
  { pkg: 'postgresql', present: () => postgresBin() !== null },
];
// `--installers` (npm run test:installers): makensis builds the Windows installer, wine64 runs
// it, systemd-analyze checks the Linux units.
if (process.argv.includes('--installers')) {
  needed.push(
    { pkg: 'nsis', present: () => has('makensis') },
    { pkg: 'wine64', present: () => existsSync('/usr/lib/wine/wine64') },
    { pkg: 'systemd', present: () => has('systemd-analyze') },
  );
}

// Debian puts initdb and postgres under /usr/lib/postgresql/<major>/bin, off the PATH.
function postgresBin() {
  for (const major of ['17', '16', '15']) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    if (existsSync(`${dir}/initdb`) && existsSync(`${dir}/postgres`)) return dir;
  }
  return null;
}

function has(bin) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = needed.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length > 0) {
  if (process.platform !== 'linux' || !has('apt-get')) {
    console.error(`the tests need ${missing.join(', ')}: install them with your package manager`);
    process.exit(1);
  }
  const options = { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  const asRoot = (args) =>
    process.getuid?.() === 0
      ? execFileSync(args[0], args.slice(1), options)
      : execFileSync('sudo', ['--preserve-env=DEBIAN_FRONTEND', ...args], options);
  console.log(`installing test dependencies from Debian: ${missing.join(', ')}`);
  asRoot(['apt-get', 'update', '-qq']);
  asRoot(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
}
