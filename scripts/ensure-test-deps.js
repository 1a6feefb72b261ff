#!/usr/bin/env node
// Installs what the test suite needs from Debian when it is missing (socat makes the pty
// pairs for the serial tests). Run by `npm test`, so nobody installs anything by hand.
import { execFileSync } from 'node:child_process';

const needed = [
  { bin: 'socat', pkg: 'socat' },
  { bin: 'openssl', pkg: 'openssl' },
];

function has(bin) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = needed.filter((n) => !has(n.bin)).map((n) => n.pkg);
if (missing.length > 0) {
  if (process.platform !== 'linux' || !has('apt-get')) {
    console.error(`the tests need ${missing.join(', ')}: install them with your package manager`);
    process.exit(1);
  }
  const asRoot = (args) =>
    process.getuid?.() === 0
      ? execFileSync(args[0], args.slice(1), { stdio: 'inherit' })
      : execFileSync('sudo', args, { stdio: 'inherit' });
  console.log(`installing test dependencies from Debian: ${missing.join(', ')}`);
  asRoot(['apt-get', 'update', '-qq']);
  asRoot(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
}
