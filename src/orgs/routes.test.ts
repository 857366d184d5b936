import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const slug = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

async function auditActions(orgId: string): Promise<string[]> {
  const rows = await queryRows<{ action: string }>(
    t.database.db,
    sql`SELECT action FROM audit_log WHERE org_id = ${orgId} ORDER BY id`,
  );
  return rows.map((row) => row.action);
}

describe('POST /api/v1/org', () => {
  it('creates the org with the creator as owner, seats from the subscription, 1 GiB per seat', async () => {
    const owner = await t.given.subscribedUser({ seats: 7 });
    const reply = await t.http.post('/api/v1/org', { as: owner, body: { name: 'Acme', slug: 'acme-create' } });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      org: {
        id: expect.any(String),
        name: 'Acme',
        slug: 'acme-create',
        tier: 'team',
        seats: { used: 1, limit: 7, active_members: 1, pending_invites: 0 },
        storage_used_bytes: 0,
        storage_limit_bytes: 7 * 1024 ** 3,
        members_without_limit: 1,
      },
    });
    const me = await t.http.get('/api/v1/me', { as: owner });
    expect(me.body.org).toEqual({
      id: reply.body.org.id,
      slug: 'acme-create',
      name: 'Acme',
      role: 'owner',
      permissions: [
        'rename_org',
        'invite',
        'manage_members',
        'disable_members',
        'set_usage_limits',
        'view_org_usage',
        'manage_billing',
        'view_audit',
        'create_project',
        'transfer_ownership',
      ],
    });
    expect(await auditActions(reply.body.org.id)).toEqual(['org.created']);
  });

  it('moves the personal subscription to the org', async () => {
    const owner = await t.given.subscribedUser({ seats: 4 });
    await t.http.post('/api/v1/org', { as: owner, body: { name: 'Moved', slug: slug('moved') } });
    const rows = await queryRows<{ user_id: string | null; org_id: string | null }>(
      t.database.db,
      sql`SELECT s.user_id, s.org_id FROM subscriptions s JOIN memberships m ON m.org_id = s.org_id WHERE m.user_id = ${owner.id}`,
    );
    expect(rows).toEqual([{ user_id: null, org_id: expect.any(String) }]);
  });

  it.each([['AB'], ['Acme'], ['ac'], ['acme_corp'], ['acme corp'], ['a'.repeat(64)], ['']])(
    'refuses slug %j with invalid_slug',
    async (badSlug) => {
      const owner = await t.given.subscribedUser();
      const reply = await t.http.post('/api/v1/org', { as: owner, body: { name: 'X', slug: badSlug } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('invalid_slug');
    },
  );

  it('refuses a taken slug with slug_taken', async () => {
    const first = await t.given.org();
    const owner = await t.given.subscribedUser();
    const reply = await t.http.post('/api/v1/org', { as: owner, body: { name: 'X', slug: first.slug } });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('slug_taken');
  });

  it('needs a subscription (402 subscription_required)', async () => {
    const user = await t.given.user();
    const reply = await t.http.post('/api/v1/org', { as: user, body: { name: 'X', slug: slug('nosub') } });
    expect(reply.status).toBe(402);
    expect(reply.body.error.code).toBe('subscription_required');
  });

  it('refuses a member of another org with already_in_org, telling an owner to transfer ownership first', async () => {
    const org = await t.given.org({ members: 1 });
    const reply = await t.http.post('/api/v1/org', { as: org.owner, body: { name: 'X', slug: slug('second') } });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('already_in_org');
    // Regression: it said only "Leave it first", which an owner cannot do (owner_must_transfer).
    expect(reply.body.error.message).toContain('transfers ownership');
  });

  it('needs authentication and rejects unknown fields', async () => {
    expect((await t.http.post('/api/v1/org', { body: { name: 'X', slug: slug('anon') } })).status).toBe(401);
    const owner = await t.given.subscribedUser();
    const reply = await t.http.post('/api/v1/org', { as: owner, body: { name: 'X', slug: slug('extra'), seats: 1000 } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_request');
  });
});

describe('GET /api/v1/org', () => {
  it('answers {} for a user in no org', async () => {
    const user = await t.given.user();
    const reply = await t.http.get('/api/v1/org', { as: user });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({});
  });

  it('answers exactly the contract fields, for any member', async () => {
    const org = await t.given.org({ seats: 5, admins: 1, members: 1 });
    const reply = await t.http.get('/api/v1/org', { as: org.members[0]! });
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body).sort()).toEqual([
      'members',
      'members_next_cursor',
      'members_total',
      'org',
      'permissions',
      'role',
    ]);
    expect(reply.body.permissions).toEqual(['create_project', 'leave_org']);
    expect(reply.body.members_total).toBe(3);
    expect(reply.body.members_next_cursor).toBeNull();
    expect(Object.keys(reply.body.org).sort()).toEqual(
      ['id', 'members_without_limit', 'name', 'seats', 'slug', 'storage_limit_bytes', 'storage_used_bytes', 'tier'].sort(),
    );
    expect(reply.body.org.seats).toEqual({ used: 3, limit: 5, active_members: 3, pending_invites: 0 });
    expect(reply.body.role).toBe('member');
    expect(reply.body.members).toHaveLength(3);
    for (const member of reply.body.members) {
      expect(Object.keys(member).sort()).toEqual([
        'display_name',
        'email',
        'joined_at',
        'permissions',
        'role',
        'status',
        'usage_limit',
        'user_id',
      ]);
      // A plain member may do nothing to anyone.
      expect(member.permissions).toEqual([]);
    }
    expect(reply.body.members.map((member: { role: string }) => member.role).sort()).toEqual(['admin', 'member', 'owner']);
  });
});

describe('GET /api/v1/org with a large org', () => {
  it('shows the first 100 members and continues with GET /org/members from members_next_cursor', async () => {
    const org = await t.given.org({ seats: 200, members: 149 });
    const reply = await t.http.get('/api/v1/org', { as: org.owner });
    expect(reply.status).toBe(200);
    expect(reply.body.members).toHaveLength(100);
    expect(reply.body.members_total).toBe(150);
    expect(reply.body.members[0].user_id).toBe(org.owner.id);
    expect(typeof reply.body.members_next_cursor).toBe('string');
    const rest = await t.http.get('/api/v1/org/members', {
      as: org.owner,
      query: { cursor: reply.body.members_next_cursor, limit: '200' },
    });
    expect(rest.status).toBe(200);
    expect(rest.body.next_cursor).toBeNull();
    const all = [...reply.body.members, ...rest.body.members].map((member: { user_id: string }) => member.user_id);
    expect(all).toHaveLength(150);
    expect(new Set(all).size).toBe(150);
  });
});

describe('GET /api/v1/org/members', () => {
  it('pages by cursor without gaps or repeats', async () => {
    const org = await t.given.org({ members: 6 });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply: { status: number; body: { members: { user_id: string }[]; next_cursor: string | null } } = await t.http.get(
        '/api/v1/org/members',
        { as: org.owner, query: { limit: '3', ...(cursor ? { cursor } : {}) } },
      );
      expect(reply.status).toBe(200);
      seen.push(...reply.body.members.map((member) => member.user_id));
      cursor = reply.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('pages members who joined within the same millisecond without repeats or gaps (regression: µs lost in the cursor)', async () => {
    const org = await t.given.org({ seats: 10 });
    const joiners = await t.given.addMembers(org.id, 'member', 4);
    // joined_at has microseconds in the database; a JavaScript Date keeps only milliseconds.
    for (const [index, joiner] of joiners.entries()) {
      const joinedAt = `2030-01-01T00:00:00.000${index + 1}00Z`;
      await t.database.db.execute(
        sql`UPDATE memberships SET joined_at = ${joinedAt}::timestamptz WHERE org_id = ${org.id} AND user_id = ${joiner.id}`,
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const reply: { status: number; body: { members: { user_id: string }[]; next_cursor: string | null } } = await t.http.get(
        '/api/v1/org/members',
        { as: org.owner, query: { limit: '1', ...(cursor ? { cursor } : {}) } },
      );
      expect(reply.status).toBe(200);
      seen.push(...reply.body.members.map((member) => member.user_id));
      cursor = reply.body.next_cursor;
    } while (cursor && seen.length < 20);
    expect(seen).toEqual([org.owner.id, ...joiners.map((joiner) => joiner.id)]);
  });

  it('searches by email or name prefix, and filters by role and status', async () => {
    const org = await t.given.org({ members: 2 });
    const [first] = org.members;
    await t.database.db.execute(sql`UPDATE users SET name = 'Zelda Quinn' WHERE id = ${first!.id}`);
    const byName = await t.http.get('/api/v1/org/members', { as: org.owner, query: { q: 'zel' } });
    expect(byName.body.members.map((member: { user_id: string }) => member.user_id)).toEqual([first!.id]);
    const byEmail = await t.http.get('/api/v1/org/members', {
      as: org.owner,
      query: { q: first!.email.slice(0, 12).toUpperCase() },
    });
    expect(byEmail.body.members.map((member: { user_id: string }) => member.user_id)).toContain(first!.id);
    const owners = await t.http.get('/api/v1/org/members', { as: org.owner, query: { role: 'owner' } });
    expect(owners.body.members.map((member: { user_id: string }) => member.user_id)).toEqual([org.owner.id]);
    await t.database.db.execute(sql`UPDATE users SET disabled_at = now() WHERE id = ${org.members[1]!.id}`);
    const disabled = await t.http.get('/api/v1/org/members', { as: org.owner, query: { status: 'disabled' } });
    expect(disabled.body.members).toEqual([expect.objectContaining({ user_id: org.members[1]!.id, status: 'disabled' })]);
  });

  it('treats % and _ in the search as plain characters', async () => {
    const org = await t.given.org({ members: 1 });
    const reply = await t.http.get('/api/v1/org/members', { as: org.owner, query: { q: '%' } });
    expect(reply.body.members).toEqual([]);
  });

  it('refuses limits above 200 and a forged cursor', async () => {
    const org = await t.given.org();
    const tooMany = await t.http.get('/api/v1/org/members', { as: org.owner, query: { limit: '201' } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('invalid_request');
    const forged = await t.http.get('/api/v1/org/members', { as: org.owner, query: { cursor: 'bm9wZQ' } });
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('invalid_cursor');
  });

  it('is for members only (403 forbidden outside any org)', async () => {
    const user = await t.given.user();
    const reply = await t.http.get('/api/v1/org/members', { as: user });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('forbidden');
  });
});

describe('PATCH /api/v1/org', () => {
  it('refuses a blank name with invalid_name and keeps the old one', async () => {
    const org = await t.given.org();
    const reply = await t.http.patch('/api/v1/org', { as: org.owner, body: { name: '   ' } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_name');
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org.name).toBe(`Org ${org.slug}`);
  });

  it('lets an admin rename the org, audited with before and after', async () => {
    const org = await t.given.org({ admins: 1 });
    const reply = await t.http.patch('/api/v1/org', { as: org.admins[0]!, body: { name: 'New name' } });
    expect(reply.status).toBe(200);
    expect(reply.body.org.name).toBe('New name');
    const rows = await queryRows<{ before: unknown; after: unknown; actor_user_id: string }>(
      t.database.db,
      sql`SELECT before, after, actor_user_id FROM audit_log WHERE org_id = ${org.id} AND action = 'org.renamed'`,
    );
    expect(rows).toEqual([
      { before: { name: `Org ${org.slug}` }, after: { name: 'New name' }, actor_user_id: org.admins[0]!.id },
    ]);
  });

  it('refuses a member with 403 forbidden and changes nothing', async () => {
    const org = await t.given.org({ members: 1 });
    const reply = await t.http.patch('/api/v1/org', { as: org.members[0]!, body: { name: 'Hijacked' } });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('forbidden');
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org.name).toBe(`Org ${org.slug}`);
  });
});

describe('PUT /api/v1/org/members/{user_id}/role', () => {
  const setRole = (as: { token: string }, userId: string, role: string) =>
    t.http.put(`/api/v1/org/members/${userId}/role`, { as, body: { role } });

  it('promotes and demotes, audited', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    const promoted = await setRole(org.owner, member.id, 'admin');
    expect(promoted.status).toBe(200);
    expect(promoted.body.member).toMatchObject({ user_id: member.id, role: 'admin' });
    expect(await t.given.roleOf(org.id, member.id)).toBe('admin');
    expect((await setRole(org.owner, member.id, 'member')).status).toBe(200);
    expect((await auditActions(org.id)).filter((action) => action === 'member.role_changed')).toHaveLength(2);
  });

  it('refuses changing your own role (400 cannot_change_own_role)', async () => {
    const org = await t.given.org({ admins: 1 });
    const reply = await setRole(org.admins[0]!, org.admins[0]!.id, 'member');
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('cannot_change_own_role');
  });

  it("refuses changing the owner's role (403 cannot_change_owner)", async () => {
    const org = await t.given.org({ admins: 1 });
    const reply = await setRole(org.admins[0]!, org.owner.id, 'member');
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('cannot_change_owner');
    expect(await t.given.roleOf(org.id, org.owner.id)).toBe('owner');
  });

  it('answers 404 not_a_member for ids of another org and unknown ids', async () => {
    const org = await t.given.org();
    const other = await t.given.org({ members: 1 });
    for (const id of [other.members[0]!.id, '00000000-0000-4000-8000-000000000000', 'nope']) {
      const reply = await setRole(org.owner, id, 'admin');
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('not_a_member');
    }
    expect(await t.given.roleOf(other.id, other.members[0]!.id)).toBe('member');
  });

  it('refuses members (403 forbidden) and rejects roles outside admin/member', async () => {
    const org = await t.given.org({ members: 2 });
    const forbidden = await setRole(org.members[0]!, org.members[1]!.id, 'admin');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
    const owner = await setRole(org.owner, org.members[1]!.id, 'owner');
    expect(owner.status).toBe(400);
    expect(owner.body.error.code).toBe('invalid_request');
  });

  it('a demoted admin loses admin rights on the very next request', async () => {
    const org = await t.given.org({ admins: 1, members: 1 });
    const admin = org.admins[0]!;
    expect((await t.http.patch('/api/v1/org', { as: admin, body: { name: 'Before demotion' } })).status).toBe(200);
    expect((await setRole(org.owner, admin.id, 'member')).status).toBe(200);
    const after = await t.http.patch('/api/v1/org', { as: admin, body: { name: 'After demotion' } });
    expect(after.status).toBe(403);
  });

  it('never lets the last admin go (409 last_admin), even in an org that lost its owner row', async () => {
    const org = await t.given.org({ admins: 1, members: 1 });
    // With an owner the rule is implied; it must still hold for data repaired by hand.
    await t.database.db.execute(sql`DELETE FROM memberships WHERE org_id = ${org.id} AND role = 'owner'`);
    const admin = org.admins[0]!;
    const reply = await t.http.post('/api/v1/org/leave', { as: admin });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('last_admin');
    expect(await t.given.roleOf(org.id, admin.id)).toBe('admin');
  });
});

describe('DELETE /api/v1/org/members/{user_id}', () => {
  it('removes a member, audited, and frees the seat', async () => {
    const org = await t.given.org({ members: 1 });
    const reply = await t.http.delete(`/api/v1/org/members/${org.members[0]!.id}`, { as: org.owner });
    expect(reply.status).toBe(204);
    expect(await t.given.roleOf(org.id, org.members[0]!.id)).toBeUndefined();
    expect((await t.http.get('/api/v1/org', { as: org.owner })).body.org.seats.active_members).toBe(1);
    expect(await auditActions(org.id)).toContain('member.removed');
    expect((await t.http.get('/api/v1/me', { as: org.members[0]! })).body.org).toBeNull();
  });

  it('refuses removing yourself (400 cannot_remove_self)', async () => {
    const org = await t.given.org({ admins: 1 });
    const reply = await t.http.delete(`/api/v1/org/members/${org.admins[0]!.id}`, { as: org.admins[0]! });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('cannot_remove_self');
  });

  it('refuses removing the owner (403 cannot_remove_owner)', async () => {
    const org = await t.given.org({ admins: 1 });
    const reply = await t.http.delete(`/api/v1/org/members/${org.owner.id}`, { as: org.admins[0]! });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('cannot_remove_owner');
  });

  it('answers 404 for a member of another org and leaves them alone', async () => {
    const org = await t.given.org();
    const other = await t.given.org({ members: 1 });
    const reply = await t.http.delete(`/api/v1/org/members/${other.members[0]!.id}`, { as: org.owner });
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('not_a_member');
    expect(await t.given.roleOf(other.id, other.members[0]!.id)).toBe('member');
  });

  it('refuses plain members (403 forbidden)', async () => {
    const org = await t.given.org({ members: 2 });
    const reply = await t.http.delete(`/api/v1/org/members/${org.members[1]!.id}`, { as: org.members[0]! });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('forbidden');
  });
});

describe('POST /api/v1/org/leave', () => {
  it('lets a member leave', async () => {
    const org = await t.given.org({ members: 1 });
    expect((await t.http.post('/api/v1/org/leave', { as: org.members[0]! })).status).toBe(204);
    expect(await t.given.roleOf(org.id, org.members[0]!.id)).toBeUndefined();
    expect(await auditActions(org.id)).toContain('member.left');
  });

  it('refuses the owner (409 owner_must_transfer)', async () => {
    const org = await t.given.org();
    const reply = await t.http.post('/api/v1/org/leave', { as: org.owner });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('owner_must_transfer');
  });

  it('refuses a user in no org (403 forbidden)', async () => {
    const user = await t.given.user();
    expect((await t.http.post('/api/v1/org/leave', { as: user })).status).toBe(403);
  });
});

describe('POST /api/v1/org/transfer-ownership', () => {
  it('makes the target owner and the old owner admin, audited', async () => {
    const org = await t.given.org({ members: 1 });
    const target = org.members[0]!;
    const reply = await t.http.post('/api/v1/org/transfer-ownership', { as: org.owner, body: { user_id: target.id } });
    expect(reply.status).toBe(200);
    expect(reply.body.owner).toMatchObject({ user_id: target.id, role: 'owner' });
    expect(reply.body.previous_owner).toMatchObject({ user_id: org.owner.id, role: 'admin' });
    expect(await t.given.roleOf(org.id, target.id)).toBe('owner');
    expect(await t.given.roleOf(org.id, org.owner.id)).toBe('admin');
    expect(await auditActions(org.id)).toContain('org.ownership_transferred');
  });

  it('answers 404 not_a_member for someone outside the org', async () => {
    const org = await t.given.org();
    const stranger = await t.given.user();
    const reply = await t.http.post('/api/v1/org/transfer-ownership', { as: org.owner, body: { user_id: stranger.id } });
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('not_a_member');
  });

  it('is for the owner only (403 forbidden for an admin)', async () => {
    const org = await t.given.org({ admins: 2 });
    const reply = await t.http.post('/api/v1/org/transfer-ownership', {
      as: org.admins[0]!,
      body: { user_id: org.admins[1]!.id },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('forbidden');
    expect(await t.given.roleOf(org.id, org.owner.id)).toBe('owner');
  });
});
