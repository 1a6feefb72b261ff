// The relay store contract (test/support/store-contract.ts) on the SQLite store, each test on
// a fresh relay.db.
import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { openRelayStore } from '../relay/store/open.js';
import { tempDir } from './relay-helpers.js';
import { storeContract } from './support/store-contract.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storeContract('SQLite (relay.db)', () => {
  const dir = tempDir();
  dirs.push(dir);
  return openRelayStore(dir);
});
