// Compiles the project once per test run into a private directory, so suites that run the
// CLI or a relay/agent as child processes (for kill -9) share one build that matches the
// sources under test, and a stale dist/ never leaks into a run.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_DIR, REPO_ROOT } from './support/build.js';

function tsc(...args: string[]): void {
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), ...args], {
      stdio: 'pipe',
    });
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? String(err);
    throw new Error(`the project does not compile:\n${out}`);
  }
}

export default function setup(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(join(BUILD_DIR, 'bin'), { recursive: true });
  try {
    execFileSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        REPO_ROOT,
        '--outDir',
        join(BUILD_DIR, 'dist'),
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? String(err);
    throw new Error(`the project does not compile:\n${out}`);
  }
  copyFileSync(join(REPO_ROOT, 'bin', 'printrelay.js'), join(BUILD_DIR, 'bin', 'printrelay.js'));
  writeFileSync(join(BUILD_DIR, 'package.json'), '{"type":"module"}');
}
