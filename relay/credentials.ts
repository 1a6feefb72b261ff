// Secrets the relay hands out (agent passwords, API keys, enrolment codes) and how they are
// stored. Only hashes are stored, never the secrets themselves.
//
// Agent passwords and API keys carry 256 random bits: a fast hash (SHA-256) is as safe as a
// slow one against guessing, and checking one costs microseconds on every MQTT connect and
// HTTP request. Enrolment codes are short enough to type, so they get scrypt.
import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptOnPool = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number) => Promise<Buffer>;

// scrypt runs on the libuv pool (4 threads), off the event loop, but the relay's WAL fsyncs
// wait for the same pool: one slow hash at a time leaves them three threads whatever arrives.
let slowHashes: Promise<unknown> = Promise.resolve();
function scryptAsync(secret: string, salt: Buffer, keylen: number): Promise<Buffer> {
  const run = slowHashes.then(() => scryptOnPool(secret, salt, keylen));
  slowHashes = run.catch(() => undefined);
  return run;
}

/** URL-safe random text with `bytes` of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A short random id (lowercase letters and digits) for keys and credentials. */
export function randomId(length = 12): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  let id = '';
  for (let i = 0; i < length; i++) id += alphabet[randomInt(alphabet.length)];
  return id;
}

/** Hash of a high-entropy token, stored instead of the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A token that names its own record, `<prefix>_<id>_<secret>`, so it is found with one
 * indexed lookup and then checked against the stored hash.
 */
export function makeToken(prefix: string): { id: string; token: string; hash: string } {
  const id = randomId();
  const secret = randomSecret();
  return { id, token: `${prefix}_${id}_${secret}`, hash: hashToken(secret) };
}

/** Split a token made by makeToken; null when it is not one. */
export function parseToken(prefix: string, token: string): { id: string; secret: string } | null {
  const m = new RegExp(`^${prefix}_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$`).exec(token);
  return m ? { id: m[1] as string, secret: m[2] as string } : null;
}

// Enrolment codes look like `ABCD-EFGH-JKMN`: the first group names the record, the last two
// (40 bits) are the secret. Letters that are easy to misread are left out.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

function codeGroup(): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return s;
}

export function makeEnrolmentCode(): { id: string; code: string; secret: string } {
  const id = codeGroup();
  const secret = `${codeGroup()}${codeGroup()}`;
  return { id, code: `${id}-${secret.slice(0, 4)}-${secret.slice(4)}`, secret };
}

/** Accepts the code as typed (any case, with or without dashes or spaces). */
export function parseEnrolmentCode(code: string): { id: string; secret: string } | null {
  const clean = code.toUpperCase().replace(/[\s-]/g, '');
  if (clean.length !== 12 || [...clean].some((c) => !CODE_ALPHABET.includes(c))) return null;
  return { id: clean.slice(0, 4), secret: clean.slice(4) };
}

export async function hashSlow(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, 32);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function slowHashMatches(secret: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}
