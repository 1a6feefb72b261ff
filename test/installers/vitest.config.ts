// `npm run test:installers`: the executables and installers that `npm run build:installers`
// made, tested where they run (the Linux executable here, the Windows installer under wine).
// Kept out of `npm test`: building them fetches two Node binaries and takes minutes.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/installers/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
