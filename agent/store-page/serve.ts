// Serves the built store page (scripts/bundle.js writes it next to the agent's bundle) from
// the local API: / is the page, /assets/NAME its script and style. Everything is on this PC,
// so the page works while the internet is down. Files are read per request: an idle agent
// keeps none of them in memory.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the build puts the page: dist/store-page/, beside dist/printrelay.mjs that runs the agent. */
export const STORE_PAGE_DIR = fileURLToPath(new URL('store-page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function listAssets(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir).filter((f) => TYPES[extname(f)] !== undefined));
  } catch {
    return new Set();
  }
}

/** A file of the page, ready to send. */
export interface PageFile {
  type: string;
  body: Buffer;
}

/** The page's files: only those the build made; any other name is null (a 404). */
export function storePageFiles(dir: string): {
  index(): Promise<PageFile | null>;
  asset(name: string): Promise<PageFile | null>;
} {
  const assets = listAssets(dir);
  const read = async (name: string): Promise<PageFile> => ({
    type: TYPES[extname(name)] as string,
    body: await readFile(join(dir, name)),
  });
  return {
    index: async () => (assets.has('index.html') ? read('index.html') : null),
    asset: async (name) => (assets.has(name) && name !== 'index.html' ? read(name) : null),
  };
}
