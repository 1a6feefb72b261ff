// What the relay and the agent leave on disk: owner-only folders and database files
// (including SQLite's -wal and -shm), and webhook signing secrets sealed with AES-256-GCM.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentStore } from '../agent/store/agent-store.js';
import { addWebhook } from '../relay/admin.js';
import { SECRET_KEY_ENV, SecretBox } from '../relay/secret-box.js';
import { openRelayStore } from '../relay/store/open.js';
import { jobBody, startTestRelay, type TestRelay, tempDir } from './relay-helpers.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const dirs: string[] = [];
let t: TestRelay | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function parent(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

/** Reads relay.db beside the store (WAL allows it): the rows are not in the store's interfaces. */
function readDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'relay.db'), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function expectOwnerOnly(dir: string, files: string[]): void {
  expect(mode(dir).toString(8)).toBe('700');
  for (const f of files) {
    const path = join(dir, f);
    expect(existsSync(path), f).toBe(true);
    expect(mode(path).toString(8), f).toBe('600');
  }
}

describe('file modes', () => {
  it('relay: data folder 0700; relay.db, its -wal and -shm, and secret.key 0600', async () => {
    const dataDir = join(parent(), 'relay-data');
    t = await startTestRelay({ dataDir });
    await t.store('s1');
    await t.createJob(jobBody('s1'));
    expectOwnerOnly(dataDir, ['relay.db', 'relay.db-wal', 'relay.db-shm', 'secret.key']);
  });

  it('relay: tightens a folder and files left readable by an older version', async () => {
    const dataDir = join(parent(), 'relay-data');
    const store = openRelayStore(dataDir);
    await store.close();
    chmodSync(dataDir, 0o755);
    for (const f of ['relay.db', 'secret.key']) chmodSync(join(dataDir, f), 0o644);
    const again = openRelayStore(dataDir);
    await again.close();
    expectOwnerOnly(dataDir, ['relay.db', 'secret.key']);
  });

  it('agent: data folder 0700; agent.db, its -wal and -shm 0600', () => {
    const dataDir = join(parent(), 'agent-data');
    const store = AgentStore.open(dataDir);
    try {
      expectOwnerOnly(dataDir, ['agent.db', 'agent.db-wal', 'agent.db-shm']);
    } finally {
      store.close();
    }
  });
});

describe('webhook secrets at rest', () => {
  it('are stored sealed: neither the database nor its WAL holds the secret, and signing still uses it', async () => {
    const dataDir = join(parent(), 'relay-data');
    const store = openRelayStore(dataDir);
    const { id, secret } = await addWebhook(
      store,
      'https://hooks.example.com/printrelay',
      ['job.state'],
      'all',
    );
    const row = readDb(dataDir, (db) => db.prepare('SELECT secret FROM webhooks WHERE id = ?').get(id)) as {
      secret: string;
    };
    expect(row.secret).toMatch(/^aes256gcm:/);
    expect(row.secret).not.toContain(secret);
    for (const f of ['relay.db', 'relay.db-wal']) {
      expect(readFileSync(join(dataDir, f)).includes(Buffer.from(secret)), f).toBe(false);
    }
    expect((await store.listWebhooks())[0]?.secret).toBe(secret);
    await store.close();
  });

  it('kept in clear by an older version are sealed when the store opens', async () => {
    const dataDir = join(parent(), 'relay-data');
    // The schema as an older relay left it, with a secret in clear.
    await openRelayStore(dataDir).close();
    const old = new Database(join(dataDir, 'relay.db'));
    old
      .prepare(
        "INSERT INTO webhooks (id, url, secret, events, stores, created_at) VALUES ('old', 'https://x.example/h', 'clear-secret', '[\"job.state\"]', 'all', 0)",
      )
      .run();
    old.close();
    const store = openRelayStore(dataDir);
    const row = readDb(dataDir, (db) => db.prepare("SELECT secret FROM webhooks WHERE id = 'old'").get()) as {
      secret: string;
    };
    expect(row.secret).toMatch(/^aes256gcm:/);
    expect((await store.listWebhooks())[0]?.secret).toBe('clear-secret');
    await store.close();
  });

  it(`use ${SECRET_KEY_ENV} when it is set (no key file), and say so when the key does not open them`, () => {
    const dataDir = parent();
    const key = randomBytes(32);
    const box = SecretBox.forDataDir(dataDir, { [SECRET_KEY_ENV]: key.toString('hex') });
    expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
    const sealed = box.seal('s3cret', 'hook1');
    expect(
      SecretBox.forDataDir(dataDir, { [SECRET_KEY_ENV]: key.toString('base64') }).open(sealed, 'hook1'),
    ).toBe('s3cret');
    // Bound to its record: copied onto another webhook it does not open.
    expect(() => box.open(sealed, 'hook2')).toThrow(/does not open with this relay's key/);
    const other = SecretBox.forDataDir(dataDir, { [SECRET_KEY_ENV]: randomBytes(32).toString('hex') });
    expect(() => other.open(sealed, 'hook1')).toThrow(/PRINTRELAY_SECRET_KEY or secret.key changed/);
    expect(() => SecretBox.forDataDir(dataDir, { [SECRET_KEY_ENV]: 'short' })).toThrow(
      /PRINTRELAY_SECRET_KEY must be 32 random bytes/,
    );
  });
});
