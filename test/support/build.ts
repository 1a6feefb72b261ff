// The compiled project that test/global-setup.ts made for this run, for suites that spawn it.
import { join } from 'node:path';
import { inject } from 'vitest';

export { REPO_ROOT } from './repo.js';

const buildDir = inject('buildDir');
/** The `printrelay` launcher of the test build: run it with `node CLI_PATH ...args`. */
export const CLI_PATH = join(buildDir, 'bin', 'printrelay.js');
/** A compiled module of the test build, e.g. builtModule('relay/relay.js'). */
export function builtModule(path: string): string {
  return join(buildDir, 'dist', path);
}
