#!/usr/bin/env node
// Thin launcher: `npm install` (prepare) or `npm run build` compiles the CLI to dist/ and
// bundles it into dist/printrelay.mjs (scripts/bundle.js).
import('../dist/printrelay.mjs').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/printrelay.mjs')) {
    console.error(
      'printrelay is not built yet: run `npm install` (or `npm run build`) in the repository first.',
    );
    process.exit(1);
  }
  throw err;
});
