// Serves the built store page (scripts/bundle.js writes it next to the agent's bundle) from
// the local API: / is the page, /assets/NAME its script and style. Everything is on this PC,
// so the page works while the internet is down. Files are read per request: an idle agent
// keeps none of them in memory.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

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

export function registerStorePage(app: FastifyInstance, dir: string): void {
  // Only the files the build made: a request names one of them or gets a 404.
  const assets = listAssets(dir);
  const send = async (name: string) => ({
    type: TYPES[extname(name)] as string,
    body: await readFile(join(dir, name)),
  });

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    if (!assets.has('index.html')) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(`门店页面未构建 / The store page is not built: run npm run build (looked in ${dir})`);
    }
    const { type, body } = await send('index.html');
    return reply.type(type).send(body);
  });

  app.get('/assets/:name', { schema: { hide: true } }, async (request, reply) => {
    const { name } = request.params as { name: string };
    if (!assets.has(name) || name === 'index.html') return reply.callNotFound();
    const { type, body } = await send(name);
    return reply.type(type).send(body);
  });
}
