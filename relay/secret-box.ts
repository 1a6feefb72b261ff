// Encryption at rest for the secrets the relay must be able to read back (webhook signing
// secrets: the relay signs with them, so a hash would not do). AES-256-GCM with a random
// 96-bit nonce per value; the record's id is bound in as associated data, so a sealed value
// copied onto another record does not open.
//
// The key comes from PRINTRELAY_SECRET_KEY (32 bytes, hex or base64) when set, else from
// `secret.key` in the data folder, created (0600) on first use. See docs/security.md for
// what each choice protects against.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCHEME = 'aes256gcm';
export const SECRET_KEY_ENV = 'PRINTRELAY_SECRET_KEY';
export const SECRET_KEY_FILE = 'secret.key';

function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) {
    throw new Error(
      `${where} must be 32 random bytes as 64 hex digits or base64 (e.g. \`openssl rand -hex 32\`); it is ${key.length} bytes`,
    );
  }
  return key;
}

function keyFromFile(file: string): Buffer {
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(file, 0o600);
  return parseKey(readFileSync(file, 'utf8'), file);
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The relay's key: from the environment if set, else the data folder's key file. */
  static forDataDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
    const fromEnv = env[SECRET_KEY_ENV];
    return new SecretBox(
      fromEnv ? parseKey(fromEnv, SECRET_KEY_ENV) : keyFromFile(join(dataDir, SECRET_KEY_FILE)),
    );
  }

  static isSealed(value: string): boolean {
    return value.startsWith(`${SCHEME}:`);
  }

  /** `aes256gcm:<nonce>:<tag>:<ciphertext>`, each base64url. */
  seal(plain: string, recordId: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce).setAAD(Buffer.from(recordId, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [SCHEME, nonce, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join(':');
  }

  open(sealed: string, recordId: string): string {
    const [scheme, nonce, tag, data] = sealed.split(':');
    if (scheme !== SCHEME || nonce === undefined || tag === undefined || data === undefined) {
      throw new Error(`secret of ${recordId} is not sealed with ${SCHEME}`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'))
        .setAAD(Buffer.from(recordId, 'utf8'))
        .setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new Error(
        `the secret of ${recordId} does not open with this relay's key: was ${SECRET_KEY_ENV} or ${SECRET_KEY_FILE} changed?`,
      );
    }
  }
}
