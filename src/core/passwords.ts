import argon2 from 'argon2';
import { AppError } from './errors.ts';

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~20 ms here, small enough for the
// libuv pool on two cores, large enough to make offline guessing expensive.
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 200;

// The most common passwords of at least 10 characters in public breach corpora.
const COMMON_PASSWORDS = new Set([
  '1234567890',
  '0123456789',
  '0987654321',
  '1111111111',
  '0000000000',
  '1234512345',
  '1q2w3e4r5t',
  'qwertyuiop',
  'password1',
  'password12',
  'password123',
  'password1234',
  'passw0rd123',
  'iloveyou12',
  'qwerty1234',
  'qwerty12345',
  'qwerty123456',
  'abcdefghij',
  'abc1234567',
  'a1b2c3d4e5',
  'letmein123',
  'welcome123',
  'welcome1234',
  'football12',
  'baseball12',
  'monkey1234',
  'dragon1234',
  'sunshine12',
  'princess12',
  'trustno1234',
  'administrator',
  'admin12345',
  'admin123456',
  'changeme123',
  'zaq12wsxcde',
  '1qaz2wsx3edc',
  'qazwsxedcrfv',
  'asdfghjkl1',
  'zxcvbnm123',
  'superman12',
  'starwars12',
  'master1234',
  'michael123',
  'computer12',
  'internet12',
  'whatever12',
  'password!!',
  'p@ssw0rd12',
  'p@ssword123',
  'passwordpassword',
  '12345678910',
  '123456789a',
  'a123456789',
  'q1w2e3r4t5',
  '987654321a',
  'iloveyou123',
  'qwertyuiop1',
  'aaaaaaaaaa',
  '1234567890a',
  'test123456',
]);

export function assertStrongPassword(password: string, context: { email?: string; name?: string } = {}): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError('weak_password', `Use at least ${MIN_PASSWORD_LENGTH} characters for your password.`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new AppError('weak_password', `Use at most ${MAX_PASSWORD_LENGTH} characters for your password.`);
  }
  const lowered = password.toLowerCase();
  const personal = [context.email?.toLowerCase(), context.email?.split('@')[0]?.toLowerCase()];
  if (COMMON_PASSWORDS.has(lowered) || /^(.)\1+$/.test(password) || personal.includes(lowered)) {
    throw new AppError('weak_password', 'That password is too common or too easy to guess. Choose another.');
  }
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, HASH_OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// Verifying against this when no account matches makes unknown and known emails take the same time.
let dummyHash: Promise<string> | undefined;
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword('roster-dummy-password-for-timing');
  await verifyPassword(await dummyHash, password);
  return false;
}
