#!/usr/bin/env node
// Bundles the compiled CLI (DIST/cli/main.js, from tsc) and the JavaScript it depends on into
// one file, DIST/printrelay.mjs, which bin/printrelay.js runs. One minified file instead of
// about a thousand ES modules halves the start-up time of `printrelay agent` on a cashier PC
// and saves about ten MB of its memory; it is also what a single executable is built from.
// Packages with native bindings stay outside and are loaded from node_modules.
// It also bundles the HQ dashboard's front-end (relay/dashboard/web, Preact + htm) into
// DIST/hq/app.js and app.css, which the relay serves: minified, no CDN at run time; and it
// builds the store page (agent/store-page: Preact + htm, from the TypeScript sources) into
// DIST/store-page/, which the agent serves from beside its bundle: no CDN, works offline.
// Usage: node scripts/bundle.js [DIST]   (default: dist)
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = resolve(process.argv[2] ?? 'dist');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: {
    app: resolve(root, 'relay/dashboard/web/main.ts'),
  },
  outdir: resolve(dist, 'hq'),
  entryNames: '[name]',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  // The page takes its printer-state wording from shared/, which imports the status schema
  // from protocol/. Those schemas are never used in the browser, so TypeBox (60 KB) is
  // replaced by a stub whose builders return empty objects.
  plugins: [
    {
      name: 'no-typebox-in-the-page',
      setup(b) {
        b.onResolve({ filter: /^@sinclair\/typebox$/ }, () => ({ path: 'typebox', namespace: 'stub' }));
        b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
          contents: 'export const Type = new Proxy({}, { get: () => () => ({}) });',
        }));
      },
    },
  ],
  logLevel: 'warning',
});

await build({
  entryPoints: [resolve(dist, 'cli/main.js')],
  outfile: resolve(dist, 'printrelay.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // Function and class names stay readable in stack traces and logs.
  keepNames: true,
  sourcemap: 'linked',
  external: ['better-sqlite3', 'serialport', '@serialport/*', 'usb', '@node-usb/*'],
  // The bundled CommonJS packages call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __printrelayCreateRequire } from 'node:module'; const require = __printrelayCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

const pageSource = join(root, 'agent', 'store-page');
const pageOut = join(dist, 'store-page');
mkdirSync(pageOut, { recursive: true });
await build({
  entryPoints: [join(pageSource, 'app.ts')],
  outfile: join(pageOut, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'chrome100',
  minify: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) copyFileSync(join(pageSource, file), join(pageOut, file));
