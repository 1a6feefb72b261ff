// The repository root, wherever the benchmark was compiled to (see bench/tsconfig.json).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'printrelay'
    ) {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no printrelay package.json above ${from}`);
  }
}

export const REPO_ROOT = findRoot(import.meta.dirname);
