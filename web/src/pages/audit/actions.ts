import { humanizeAction } from '../../lib/format';

/**
 * The actions an organization's audit log records (docs/api.md, "Audit log": `Actions recorded`),
 * with the label the log shows for each. The Action filter offers these labels and sends the code.
 */
export const AUDIT_ACTION_LABELS: Readonly<Record<string, string>> = {
  'org.created': 'Organization created',
  'org.renamed': 'Organization renamed',
  'org.ownership_transferred': 'Ownership transferred',
  'member.joined': 'Member joined',
  'member.role_changed': 'Member role changed',
  'member.removed': 'Member removed',
  'member.left': 'Member left',
  'member.disabled': 'Member disabled',
  'member.enabled': 'Member enabled',
  'member.usage_limit_changed': 'Member usage limit changed',
  'usage.allocation_changed': 'Usage allocation changed',
  'usage.allocation_low': 'Usage allocation low',
  'usage.allocation_exhausted': 'Usage allocation used up',
  'storage.recounted': 'Storage recounted',
  'invite.sent': 'Invite sent',
  'invite.resent': 'Invite resent',
  'invite.revoked': 'Invite revoked',
  'invite.expired': 'Invite expired',
  'invite.accepted': 'Invite accepted',
  'billing.subscription_changed': 'Subscription changed',
  'billing.status_changed': 'Subscription status changed',
  'project.created': 'Project created',
  'project.updated': 'Project updated',
  'project.member_changed': 'Project member changed',
  'project.member_removed': 'Project member removed',
  'project.deleted': 'Project deleted',
};

/** The label of an action code; one the table does not know yet still reads as words. */
export function actionLabel(action: string): string {
  return AUDIT_ACTION_LABELS[action] ?? humanizeAction(action);
}

/** The Action filter's choices: every known action by its label, alphabetically, after "All actions". */
export const ACTION_FILTER_OPTIONS: Array<{ value: string; label: string }> = [
  { value: '', label: 'All actions' },
  ...Object.entries(AUDIT_ACTION_LABELS)
    .map(([value, label]) => ({ value, label }))
    .sort((a, b) => a.label.localeCompare(b.label)),
];
