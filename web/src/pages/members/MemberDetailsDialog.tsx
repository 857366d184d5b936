import type { Member } from '../../api/types';
import { Dialog } from '../../components/Dialog';
import { Badge } from '../../components/Feedback';
import { formatDate, formatNumber, initials, roleLabel } from '../../lib/format';

function limitText(value: number | null | undefined) {
  return value === null || value === undefined ? 'No limit' : formatNumber(value);
}

export function MemberDetailsDialog({ member, onClose }: { member: Member | null; onClose: () => void }) {
  return (
    <Dialog open={member !== null} onOpenChange={(open) => (open ? undefined : onClose())} title="Member details">
      {member ? (
        <div>
          <div className="flex items-center gap-3">
            <span
              aria-hidden
              className="flex size-11 items-center justify-center rounded-full bg-brand-100 text-sm font-semibold text-brand-700"
            >
              {initials(member.display_name || member.email)}
            </span>
            <div className="min-w-0">
              <p className="truncate font-semibold text-zinc-900">{member.display_name || '—'}</p>
              <p className="truncate text-sm text-zinc-500">{member.email}</p>
            </div>
          </div>
          <dl className="mt-5 grid grid-cols-2 gap-x-4 gap-y-3 text-sm">
            <dt className="text-zinc-500">Role</dt>
            <dd className="text-zinc-900">{roleLabel(member.role)}</dd>
            <dt className="text-zinc-500">Status</dt>
            <dd>{member.status === 'disabled' ? <Badge tone="red">Disabled</Badge> : <Badge tone="green">Active</Badge>}</dd>
            <dt className="text-zinc-500">Joined</dt>
            <dd className="text-zinc-900">{formatDate(member.joined_at)}</dd>
            <dt className="text-zinc-500">Daily usage limit</dt>
            <dd className="text-zinc-900">{limitText(member.usage_limit?.daily)}</dd>
            <dt className="text-zinc-500">Monthly usage limit</dt>
            <dd className="text-zinc-900">{limitText(member.usage_limit?.monthly)}</dd>
          </dl>
        </div>
      ) : null}
    </Dialog>
  );
}
