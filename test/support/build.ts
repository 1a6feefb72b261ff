// Where test/global-setup.ts puts the compiled project, for suites that spawn it.
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const BUILD_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'printrelay-test');
/** The `printrelay` launcher of the test build: run it with `node CLI_PATH ...args`. */
export const CLI_PATH = join(BUILD_DIR, 'bin', 'printrelay.js');
/** A compiled module of the test build, e.g. builtModule('relay/relay.js'). */
export function builtModule(path: string): string {
  return join(BUILD_DIR, 'dist', path);
}
