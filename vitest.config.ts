import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The executables and installers: `npm run test:installers` (test/installers/vitest.config.ts).
    exclude: [...configDefaults.exclude, 'test/installers/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Driver and end-to-end suites open real sockets and ptys; two cores is the CI machine.
    maxWorkers: 2,
  },
});
