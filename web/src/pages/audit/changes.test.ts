import { describe, expect, it } from 'vitest';
import { displayValue, fieldLabel } from './changes';

const people = new Map([['0197f3a2-cccc-7000-8000-000000000003', 'Ann Archer (ann@example.com)']]);

describe('audit changes', () => {
  it('regression: shows statuses, roles and plans by their labels, not their codes', () => {
    expect(displayValue('status', 'active', people)).toBe('Active');
    expect(displayValue('status', 'disabled', people)).toBe('Disabled');
    expect(displayValue('status', 'past_due', people)).toBe('Payment failed');
    expect(displayValue('status', 'revoked', people)).toBe('Revoked');
    expect(displayValue('role', 'member', people)).toBe('Member');
    expect(displayValue('role', 'admin', people)).toBe('Admin');
    expect(displayValue('new_owner_role', 'owner', people)).toBe('Owner');
    expect(displayValue('plan', 'team', people)).toBe('Team');
    expect(displayValue('plan', 'enterprise', people)).toBe('Enterprise');
  });

  it('regression: shows booleans as Yes or No', () => {
    expect(displayValue('editor', true, people)).toBe('Yes');
    expect(displayValue('editor', false, people)).toBe('No');
  });

  it('keeps other values as written', () => {
    expect(displayValue('email', 'ann@example.com', people)).toBe('ann@example.com');
    expect(displayValue('name', 'active', people)).toBe('active');
    expect(displayValue('seats', 5, people)).toBe('5');
  });

  it('regression: labels a field holding a user id "User", as it shows a person', () => {
    expect(fieldLabel('user_id')).toBe('User');
    expect(fieldLabel('owner_user_id')).toBe('Owner');
    expect(displayValue('user_id', '0197f3a2-cccc-7000-8000-000000000003', people)).toBe('Ann Archer (ann@example.com)');
    expect(fieldLabel('invite_id')).toBe('Invitation');
    expect(fieldLabel('new_owner_role')).toBe('New owner role');
  });
});
