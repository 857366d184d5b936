import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { hashPassword } from '../../src/core/passwords.ts';
import { newToken } from '../../src/core/tokens.ts';
import { SESSION_TTL_SECONDS } from '../../src/auth/service.ts';
import { queryRows } from '../../src/db/client.ts';
import type { Role } from '../../src/db/schema.ts';
import { sessions, users } from '../../src/db/schema.ts';
import { insertMembership } from '../../src/orgs/queries.ts';
import type { TestClock } from './clock.ts';
import type { TestDatabase } from './engine.ts';
import type { Http } from './http.ts';

export const PASSWORD = 'correct horse battery staple';

export interface TestUser {
  id: string;
  email: string;
  name: string;
  token: string;
}

export interface TestOrg {
  id: string;
  slug: string;
  owner: TestUser;
  admins: TestUser[];
  members: TestUser[];
}

export interface TestInvitation {
  id: string;
  email: string;
  role: 'admin' | 'member';
  /** The secret a link carries (`/invite/<token>`). */
  token: string;
}

export interface TestApiToken {
  id: string;
  name: string;
  token: string;
}

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}@example.com`;
}

export type Given = ReturnType<typeof createGiven>;

/**
 * Factories that build what a test needs. Users come through the real signup route; members are
 * inserted directly (test-only: in the product they join by invitation).
 */
export function createGiven(deps: { database: TestDatabase; http: Http; clock: TestClock }) {
  const { database, http } = deps;
  let cachedHash: Promise<string> | undefined;

  async function user(options: { email?: string; name?: string } = {}): Promise<TestUser> {
    const email = options.email ?? uniqueEmail();
    const name = options.name ?? email.split('@')[0] ?? 'User';
    const reply = await http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return { id: reply.body.user.id, email, name, token: reply.body.token };
  }

  /** Inserts a user with a session directly: fast, for building large orgs. */
  async function insertedUser(options: { email?: string; name?: string } = {}): Promise<TestUser> {
    const email = options.email ?? uniqueEmail();
    const name = options.name ?? email.split('@')[0] ?? 'User';
    cachedHash ??= hashPassword(PASSWORD);
    const [row] = await database.db
      .insert(users)
      .values({ email, emailNormalized: email.toLowerCase(), name, passwordHash: await cachedHash })
      .returning({ id: users.id });
    if (!row) throw new Error('no user row');
    const { token, hash } = newToken('session');
    const now = deps.clock.now();
    await database.db.insert(sessions).values({
      userId: row.id,
      tokenHash: hash,
      createdAt: now,
      expiresAt: new Date(now.getTime() + SESSION_TTL_SECONDS * 1000),
    });
    return { id: row.id, email, name, token };
  }

  async function subscribedUser(options: { seats?: number; email?: string } = {}): Promise<TestUser> {
    const owner = await user({ email: options.email });
    const checkout = await http.post('/api/v1/billing/checkout', {
      as: owner,
      body: { plan: 'team', seats: options.seats ?? 5, scope: 'personal' },
    });
    expect(checkout.status, JSON.stringify(checkout.body)).toBe(200);
    return owner;
  }

  async function org(options: { seats?: number; admins?: number; members?: number; slug?: string } = {}): Promise<TestOrg> {
    const owner = await subscribedUser({ seats: options.seats ?? 10 });
    const slug = options.slug ?? `org-${randomBytes(4).toString('hex')}`;
    const created = await http.post('/api/v1/org', { as: owner, body: { name: `Org ${slug}`, slug } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const orgId: string = created.body.org.id;
    const admins = await addMembers(orgId, 'admin', options.admins ?? 0);
    const members = await addMembers(orgId, 'member', options.members ?? 0);
    return { id: orgId, slug, owner, admins, members };
  }

  async function addMembers(orgId: string, role: Role, count: number): Promise<TestUser[]> {
    const added: TestUser[] = [];
    for (let index = 0; index < count; index += 1) {
      const member = await insertedUser();
      await database.db.transaction((tx) => insertMembership(tx, { orgId, userId: member.id, role, now: new Date() }));
      added.push(member);
    }
    return added;
  }

  async function roleOf(orgId: string, userId: string): Promise<Role | undefined> {
    const rows = await queryRows<{ role: Role }>(
      database.db,
      sql`SELECT role FROM memberships WHERE org_id = ${orgId} AND user_id = ${userId}`,
    );
    return rows[0]?.role;
  }

  /**
   * A pending invitation inserted directly (no email queued), expiring in a day unless told; the
   * returned token opens it like a link's token.
   */
  async function invitation(
    org: TestOrg,
    options: { email?: string; role?: 'admin' | 'member'; expiresAt?: Date; invitedBy?: TestUser } = {},
  ): Promise<TestInvitation> {
    const email = options.email ?? uniqueEmail('invitee');
    const role = options.role ?? 'member';
    const { token, hash } = newToken('invite');
    const expiresAt = options.expiresAt ?? new Date(deps.clock.now().getTime() + 86_400_000);
    const rows = await queryRows<{ id: string }>(
      database.db,
      sql`INSERT INTO invitations (org_id, email, email_normalized, role, status, token_hash, invited_by, created_at, expires_at)
          VALUES (${org.id}, ${email}, ${email.toLowerCase()}, ${role}, 'pending', ${hash},
                  ${(options.invitedBy ?? org.owner).id}, ${deps.clock.now()}, ${expiresAt})
          RETURNING id`,
    );
    const id = rows[0]?.id;
    if (!id) throw new Error('no invitation row');
    return { id, email, role, token };
  }

  /** An API token of `user`, created through the API. */
  async function apiToken(owner: TestUser, options: { name?: string } = {}): Promise<TestApiToken> {
    const reply = await http.post('/api/v1/tokens', { as: owner, body: { name: options.name ?? 'test token' } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return { id: reply.body.id, name: reply.body.name, token: reply.body.token };
  }

  /** Sets a member's usage limits through the API, as `as` (an admin or the owner of the member's org). */
  async function usageLimit(input: { as: TestUser; member: { id: string }; daily: number | null; monthly: number | null }) {
    const reply = await http.put(`/api/v1/org/members/${input.member.id}/usage-limit`, {
      as: input.as,
      body: { daily: input.daily, monthly: input.monthly },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply;
  }

  return { user, insertedUser, subscribedUser, org, addMembers, roleOf, invitation, apiToken, usageLimit };
}
