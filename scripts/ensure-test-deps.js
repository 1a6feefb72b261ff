#!/usr/bin/env node
// Installs what the test suite needs from Debian when it is missing (socat makes the pty
// pairs for serial tests). Run by `npm test`; never needs to be done by hand.
import { execFileSync } from 'node:child_process';

const needed = [{ bin: 'socat', pkg: 'socat' }];

function has(bin) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = needed.filter((n) => !has(n.bin));
if (missing.length > 0) {
  const pkgs = missing.map((m) => m.pkg);
  if (process.platform !== 'linux' || !has('apt-get')) {
    console.error(`tests need: ${pkgs.join(', ')}; install them with your package manager`);
    process.exit(1);
  }
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  console.log(`installing test dependencies from Debian: ${pkgs.join(', ')}`);
  const run = (args) => execFileSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit' });
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
}
