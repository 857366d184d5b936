import type { AuditEntry, Member } from '../../api/types';

/** What a person knows a user by: "Name (email)", or the email. */
function personLabel(person: { email: string | null; display_name?: string | null }): string | null {
  if (!person.email) return null;
  return person.display_name ? `${person.display_name} (${person.email})` : person.email;
}

/**
 * User ids the page can name from what it already has: the org's members (GET /org), and the
 * actors and user targets of the entries loaded (their email or the server's `target_label`).
 */
export function peopleDirectory(
  entries: readonly AuditEntry[],
  members: ReadonlyArray<Pick<Member, 'user_id' | 'email' | 'display_name'>>,
): ReadonlyMap<string, string> {
  const people = new Map<string, string>();
  for (const member of members) {
    const label = personLabel(member);
    if (label) people.set(member.user_id, label);
  }
  for (const entry of entries) {
    if (entry.actor && !people.has(entry.actor.user_id)) {
      const label = entry.actor.email ?? entry.actor_label;
      if (label) people.set(entry.actor.user_id, label);
    }
    if (entry.target_type === 'user' && entry.target_id && entry.target_label && !people.has(entry.target_id)) {
      people.set(entry.target_id, entry.target_label);
    }
  }
  return people;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the ids under these keys of before/after values are ids of (src/audit/record.ts). */
const ID_KINDS: Readonly<Record<string, string>> = {
  owner: 'User',
  owner_user_id: 'Owner',
  user_id: 'User',
  editor: 'User',
  invite_id: 'Invitation',
  org_id: 'Organization',
};

/** "new_owner_role" -> "New owner role"; a key holding an id is named after what it shows ("user_id" -> "User"). */
export function fieldLabel(key: string): string {
  if (key.endsWith('_id') && ID_KINDS[key]) return ID_KINDS[key];
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Keys whose values are codes (statuses, roles, plans) shown by their display label. */
const CODED_KEY = /^(status|role|plan|tier|provider)$|_role$|_status$|_plan$/;

/** The labels the rest of the dashboard shows for these codes. */
const CODE_LABELS: Readonly<Record<string, string>> = {
  active: 'Active',
  disabled: 'Disabled',
  owner: 'Owner',
  admin: 'Admin',
  member: 'Member',
  team: 'Team',
  enterprise: 'Enterprise',
  past_due: 'Payment failed',
};

/** "active" -> "Active", "past_due" -> "Payment failed", an unknown "some_code" -> "Some code". */
function codeLabel(code: string): string {
  const known = CODE_LABELS[code];
  if (known) return known;
  const words = code.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * One recorded value as a person reads it: a user id as the member it names, an id the page cannot
 * name as what it is an id of (never a bare UUID), a status, role or plan by its label, a boolean
 * as Yes or No, anything else as written.
 */
export function displayValue(key: string, value: unknown, people: ReadonlyMap<string, string>): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') {
    const person = people.get(value);
    if (person) return person;
    if (UUID.test(value)) return `${ID_KINDS[key] ?? 'Id'} id ${value}`;
    if (CODED_KEY.test(key)) return codeLabel(value);
    return value;
  }
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value, null, 2);
}

/** Whether before/after values can be shown as a list of fields (a plain object), not as JSON. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
