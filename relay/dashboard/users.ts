// Dashboard users as plain operations, shared by `printrelay relay users` and the dashboard's
// own user admin: add (password hashed with scrypt, off the event loop), list, remove, and the
// password check at sign-in.
import { hashSlow, randomSecret, slowHashMatches } from '../credentials.js';
import { Refused } from '../errors.js';
import { type DashboardStore, ROLES, type Role, type UserRecord } from '../store/dashboard-store.js';
import type { StoreScope } from '../store/job-store.js';

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 10;

export function parseRole(text: string): Role {
  if (!(ROLES as readonly string[]).includes(text)) {
    throw new Refused('invalid', `unknown role ${JSON.stringify(text)}: use ${ROLES.join(', ')}`);
  }
  return text as Role;
}

export interface NewUser {
  name: string;
  role: Role;
  stores: StoreScope;
  /** Made up (and returned) when not given. */
  password?: string | undefined;
}

/** Creates a user; returns the password (shown once: only its scrypt hash is kept). */
export async function addUser(
  store: DashboardStore,
  input: NewUser,
  now = Date.now(),
): Promise<{ user: UserRecord; password: string }> {
  if (!USER_NAME.test(input.name)) {
    throw new Refused(
      'invalid',
      `invalid user name ${JSON.stringify(input.name)}: letters, digits and . _ @ -, at most 64 characters`,
    );
  }
  const password = input.password ?? randomSecret(12);
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new Refused('invalid', `the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const user: UserRecord = {
    name: input.name,
    passwordHash: await hashSlow(password),
    role: parseRole(input.role),
    stores: input.stores,
    createdAt: now,
  };
  await store.addUser(user);
  return { user, password };
}

// Checked against when the user does not exist, so that an unknown name takes as long as a
// wrong password and does not tell which names exist.
let decoyHash: Promise<string> | null = null;

/** The user if the password is theirs, else null. */
export async function checkPassword(
  store: DashboardStore,
  name: string,
  password: string,
): Promise<UserRecord | null> {
  const user = await store.getUser(name);
  if (!user) {
    decoyHash ??= hashSlow(randomSecret());
    await slowHashMatches(password, await decoyHash);
    return null;
  }
  return (await slowHashMatches(password, user.passwordHash)) ? user : null;
}
