import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../core/tokens.ts';
import { inviteTokenFor, issueInviteTokens, orgOfInviteToken, storedInviteToken } from './link-token.ts';

describe('invitation link tokens', () => {
  it('issues a batch of tokens exactly as one is rebuilt from its stored nonce (the list shows the link it sent)', () => {
    const key = randomBytes(32);
    const orgId = randomUUID();
    const tokens = issueInviteTokens(key, orgId, 3);
    expect(new Set(tokens.map((issued) => issued.token)).size).toBe(3);
    for (const issued of tokens) {
      expect(issued.token).toBe(inviteTokenFor(key, orgId, Buffer.from(issued.nonce)));
      expect(issued.hash.equals(hashToken(issued.token))).toBe(true);
      expect(orgOfInviteToken(issued.token)).toBe(orgId);
      expect(storedInviteToken(key, { orgId, tokenNonce: Buffer.from(issued.nonce), tokenHash: issued.hash })).toBe(issued.token);
    }
    // Another key names no invitation of these.
    expect(inviteTokenFor(randomBytes(32), orgId, Buffer.from(tokens[0]!.nonce))).not.toBe(tokens[0]!.token);
  });
});
