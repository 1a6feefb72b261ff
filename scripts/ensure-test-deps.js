#!/usr/bin/env node
// Installs what the test suite needs from Debian when it is missing, so nobody installs
// anything by hand: socat makes the pty pairs for the serial tests; chromium runs the page
// tests (driven by playwright-core, which never downloads a browser of its own); without
// fonts-noto-cjk, Chromium draws Han characters as boxes in the screenshots.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needed = [
  { pkg: 'socat', present: () => has('socat') },
  { pkg: 'chromium', present: () => has('chromium') },
  {
    pkg: 'fonts-noto-cjk',
    present: () => existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'),
  },
];

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
