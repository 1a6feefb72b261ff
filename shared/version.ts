import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// dist/shared/version.js -> ../../package.json; shared/version.ts (vitest) -> ../package.json
function readVersion(): string {
  for (const p of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'printrelay' && pkg.version) return pkg.version;
    } catch {}
  }
  return '0.0.0';
}
export const version = readVersion();
