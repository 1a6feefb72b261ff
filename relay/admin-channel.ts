// The relay's admin channel: while the relay runs it serves the admin operations (relay/admin.ts)
// as HTTP/JSON on a Unix socket in its data dir, `<dataDir>/admin.sock`, mode 0600 in a 0700
// dir: only the OS user that owns the data dir can use it, with no password to leak. So
// `printrelay relay stores rotate` acts on the live relay (the agent is disconnected at once)
// and an admin command can never write to a second database. With no relay running, the
// commands open the database directly, and only one that exists.
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type ApiError, apiError } from '../protocol/api.js';
import { type Log, silentLog } from '../shared/log.js';
import {
  type AdminContext,
  type AdminInput,
  type AdminOperationName,
  type AdminOutput,
  isAdminOperation,
  runAdminOperation,
} from './admin.js';
import { errorResponse, HttpError } from './api/errors.js';
import { openStore } from './store/open.js';

export const ADMIN_SOCKET = 'admin.sock';
export const RELAY_DATABASE = 'relay.db';
const MAX_BODY = 64 * 1024;
// sun_path holds 108 bytes on Linux, 104 on macOS, with the terminating NUL.
const MAX_SOCKET_PATH = 103;

export interface AdminChannel {
  path: string;
  close(): Promise<void>;
}

/** Whether something answers on the socket (a running relay) rather than a file left by a crash. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
  }
  return text === '' ? {} : JSON.parse(text);
}

/**
 * Listens on `<dataDir>/admin.sock`. Refuses to start when another relay answers there: two
 * relays on one database would each think they hold every connection. Null (with a warning)
 * when the path is too long for a Unix socket: the admin commands then use the database.
 */
export async function startAdminChannel(
  dataDir: string,
  ctx: AdminContext,
  log: Log,
): Promise<AdminChannel | null> {
  const path = join(dataDir, ADMIN_SOCKET);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    log.warn(
      `admin channel: ${path} is too long for a Unix socket; admin commands will open the database directly, ` +
        'and revoking credentials takes effect on the next connect instead of at once',
    );
    return null;
  }
  if (existsSync(path)) {
    if (await answers(path)) {
      throw new Error(
        `another relay is running with the data dir ${dataDir} (it answers on ${path}): stop it first, or give another --data-dir`,
      );
    }
    unlinkSync(path); // left by a relay that was killed
  }
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/v1\//, '');
    if (req.method !== 'POST' || !isAdminOperation(name)) {
      send(res, 404, apiError(404, `no admin operation ${req.method} ${req.url}`));
      return;
    }
    readBody(req)
      .then((input) => runAdminOperation(ctx, name, input))
      .then(
        (result) => send(res, 200, result),
        (err: unknown) => {
          const known = errorResponse(err);
          if (known) return send(res, known.status, known.body);
          if (err instanceof SyntaxError) return send(res, 400, apiError(400, `not JSON: ${err.message}`));
          log.error(`admin ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          send(res, 500, apiError(500, 'internal error; the relay log has the details'));
        },
      );
  });
  // Created owner-only (no moment when another user could connect), then made sure of.
  const umask = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(umask);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  await chmod(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Calls the running relay on its admin socket; null when no relay answers there. */
function callRelay(
  path: string,
  name: string,
  input: unknown,
): Promise<{ status: number; body: unknown } | null> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(input);
    const req = request(
      {
        socketPath: path,
        path: `/v1/${name}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            reject(
              new Error(
                `the relay's admin channel answered ${res.statusCode} with no JSON: ${text.slice(0, 200)}`,
              ),
            );
          }
        });
      },
    );
    req.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else if (err.code === 'EACCES')
        reject(
          new Error(
            `the relay's admin socket ${path} is not yours: run this as the user that runs the relay`,
          ),
        );
      else reject(err);
    });
    req.end(body);
  });
}

function describe(error: ApiError): string {
  return [error.error, ...(error.issues ?? []).map((i) => `  ${i.path}: ${i.message}`)].join('\n');
}

/** How an admin command reached the relay's data: the live relay, or its database file. */
export type AdminVia = 'relay' | 'database';

/**
 * Runs an admin operation on the relay that uses `dataDir`: through its admin channel when it
 * runs, else on its database, which must exist there (a wrong dir never gets a new empty one).
 */
/** The relay's PostgreSQL URL, for commands run on the database while no relay process answers. */
export const DATABASE_ENV = 'PRINTRELAY_DB';

export async function runAdmin<N extends AdminOperationName>(
  dataDir: string,
  name: N,
  input: AdminInput<N>,
): Promise<{ result: AdminOutput<N>; via: AdminVia }> {
  const answer = await callRelay(join(dataDir, ADMIN_SOCKET), name, input);
  if (answer) {
    if (answer.status !== 200) throw new Error(describe(answer.body as ApiError));
    return { result: answer.body as AdminOutput<N>, via: 'relay' };
  }
  const shared = process.env[DATABASE_ENV];
  const database = join(dataDir, RELAY_DATABASE);
  if (!shared && (!existsSync(database) || !statSync(database).isFile())) {
    throw new Error(
      `no relay data in ${dataDir}: neither a running relay (${ADMIN_SOCKET}) nor a relay database (${RELAY_DATABASE}) is there.\n` +
        'Give the data dir the relay was started with: --data-dir DIR or PRINTRELAY_RELAY_DATA=DIR ' +
        '(`printrelay relay start` prints it, with the commands to use); for a relay on PostgreSQL, ' +
        `its URL in ${DATABASE_ENV}.`,
    );
  }
  const store = await openStore(dataDir, shared, silentLog);
  try {
    return {
      result: await runAdminOperation(
        { directory: store, jobs: store, dashboard: store.dashboard },
        name,
        input,
      ),
      via: 'database',
    };
  } finally {
    await store.close();
  }
}
