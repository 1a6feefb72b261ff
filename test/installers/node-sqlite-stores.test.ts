// The stores on node:sqlite, the engine the executables carry: the agent's and the relay's
// store suites, run by vitest under the executables' own Node 22 with PRINTRELAY_SQLITE forcing
// node:sqlite (openDatabase fails rather than fall back when it is forced).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/repo.js';
import { built } from './artifacts.js';

const STORE_SUITES = [
  'test/agent-store.test.ts',
  'test/relay-store.test.ts',
  'test/relay-group-commit.test.ts',
  'test/relay-durability.test.ts',
];

describe('the stores on node:sqlite', () => {
  it(`pass the same store tests under Node ${built.nodeVersion} as on better-sqlite3`, () => {
    const run = spawnSync(
      built.node,
      [join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...STORE_SUITES],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, PRINTRELAY_SQLITE: 'node:sqlite', NO_COLOR: '1', FORCE_COLOR: '0' },
        encoding: 'utf8',
        timeout: 110_000,
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(0);
    // Every suite ran, none was skipped.
    expect(output).toMatch(
      new RegExp(`Test Files\\s+${STORE_SUITES.length} passed \\(${STORE_SUITES.length}\\)`),
    );
    expect(output).not.toMatch(/skipped/);
  });
});
