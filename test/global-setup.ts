// Compiles the project once per test run into a private directory, so suites that run the
// CLI or a relay/agent as child processes (for kill -9) share one build that matches the
// sources under test; a stale dist/ never leaks into a run, and runs side by side never share
// one. Type errors do not stop tsc from emitting; `npm test` type-checks (tests included) first.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT } from './support/repo.js';

function build(outDir: string): void {
  try {
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', REPO_ROOT, '--outDir', outDir],
      { stdio: 'pipe' },
    );
  } catch {
    // Reported by `npm run typecheck`; a missing module makes the suites that need it fail.
  }
  // The launcher runs the bundle, as `npm run build` makes it.
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/bundle.js'), outDir], { stdio: 'inherit' });
}

export default function setup(project: TestProject): () => void {
  const cache = join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const buildDir = mkdtempSync(join(cache, 'printrelay-test-'));
  build(join(buildDir, 'dist'));
  mkdirSync(join(buildDir, 'bin'));
  copyFileSync(join(REPO_ROOT, 'bin', 'printrelay.js'), join(buildDir, 'bin', 'printrelay.js'));
  writeFileSync(join(buildDir, 'package.json'), '{"type":"module"}');
  project.provide('buildDir', buildDir);
  return () => rmSync(buildDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    buildDir: string;
  }
}
