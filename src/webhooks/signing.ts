import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks 1.0 (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of
// random bytes; a delivery carries webhook-id, webhook-timestamp and webhook-signature, the latter
// `v1,` + base64(HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")). Any receiver verifies it
// with that project's libraries (the `standardwebhooks` npm package; see signing.test.ts).

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new signing secret: its bytes (kept encrypted) and the `whsec_…` form shown once. */
export function newSigningSecret(): { bytes: Buffer; shown: string } {
  const bytes = randomBytes(SECRET_BYTES);
  return { bytes, shown: `${SECRET_PREFIX}${bytes.toString('base64')}` };
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * The three Standard Webhooks headers of one attempt: the id is the event's, the same on every
 * retry. One signature per secret, space-separated (during a rotation: the new secret's first,
 * then the previous one's), so a receiver holding either secret verifies the delivery.
 */
export function signDelivery(secrets: Buffer | Buffer[], input: { id: string; timestamp: Date; body: string }): SignedHeaders {
  const seconds = Math.floor(input.timestamp.getTime() / 1000);
  const signatures = (Array.isArray(secrets) ? secrets : [secrets]).map(
    (secret) => `v1,${createHmac('sha256', secret).update(`${input.id}.${seconds}.${input.body}`).digest('base64')}`,
  );
  return { 'webhook-id': input.id, 'webhook-timestamp': String(seconds), 'webhook-signature': signatures.join(' ') };
}

// ---- the secret at rest -------------------------------------------------------------------------

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM under the server key, the endpoint id as associated data: a ciphertext copied onto
 * another endpoint's row does not decrypt. Stored as iv ‖ tag ‖ ciphertext.
 */
export function encryptSecret(key: Buffer, endpointId: string, secret: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(endpointId));
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

/** The secret's bytes; throws when the key is not the one it was stored with. */
export function decryptSecret(key: Buffer, endpointId: string, stored: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, stored.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(endpointId));
  decipher.setAuthTag(stored.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(stored.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error('The signing secret does not decrypt: WEBHOOK_SECRET_KEY is not the key it was stored with.');
  }
}
