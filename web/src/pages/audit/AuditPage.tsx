import { useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { ScrollText } from 'lucide-react';
import { useAuditLog } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { AuditEntry, AuditQuery } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert, Badge, Card, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { SelectField, TextField } from '../../components/Field';
import { useOrgPermissions } from '../../components/permissions';
import { useMe, useOrg } from '../../api/queries';
import { formatDateTime } from '../../lib/format';
import { ACTION_FILTER_OPTIONS, actionLabel } from './actions';
import { displayValue, fieldLabel, isRecord, peopleDirectory } from './changes';

const DESCRIPTION = 'Every change to membership, roles, invitations, limits and billing, newest first.';

export function AuditPage() {
  const can = useOrgPermissions();
  const org = useOrg();
  const me = useMe();
  const hasPermissions = org.isSuccess || me.isSuccess;
  // The applied filters live in the URL (?action=&actor=), so a reload or a way back keeps them.
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = useMemo<AuditQuery>(
    () => ({ action: searchParams.get('action') || undefined, actor: searchParams.get('actor') || undefined }),
    [searchParams],
  );
  const [action, setAction] = useState(filters.action ?? '');
  const [actor, setActor] = useState(filters.actor ?? '');
  // Ask for the log only once the server's permissions allow it, so a member gets no 403 first.
  const canView = hasPermissions && can('view_audit');
  const audit = useAuditLog(filters, canView);
  const entries = useMemo(() => audit.data?.pages.flatMap((page) => page.entries) ?? [], [audit.data]);
  const orgMembers = org.data?.org ? org.data.members : undefined;
  const people = useMemo(() => peopleDirectory(entries, orgMembers ?? []), [entries, orgMembers]);
  if (hasPermissions && !canView) {
    // Said, like Billing does, rather than a silent trip to another page.
    return (
      <div>
        <PageHeader title="Audit log" description={DESCRIPTION} />
        <Alert>Only owners and admins see the audit log.</Alert>
      </div>
    );
  }

  function setFilters(next: AuditQuery) {
    setSearchParams(
      (params) => {
        const updated = new URLSearchParams(params);
        for (const key of ['action', 'actor'] as const) {
          const value = next[key];
          if (value) updated.set(key, value);
          else updated.delete(key);
        }
        return updated;
      },
      { replace: true },
    );
  }
  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFilters({ action: action || undefined, actor: actor.trim() || undefined });
  }
  function clear() {
    setAction('');
    setActor('');
    setFilters({});
  }
  const isFiltered = Boolean(filters.action || filters.actor);

  return (
    <div>
      <PageHeader title="Audit log" description={DESCRIPTION} />
      <Card>
        <form
          onSubmit={onSubmit}
          className="flex flex-col gap-3 border-b border-zinc-100 px-4 py-4 sm:flex-row sm:items-end sm:px-5"
        >
          {/* The list shows labels ("Invite sent"): the filter offers the same labels and sends the code. */}
          <div className="flex-1">
            <SelectField
              label="Action"
              options={ACTION_FILTER_OPTIONS}
              value={action}
              onChange={(event) => setAction(event.target.value)}
            />
          </div>
          <TextField
            label="Actor"
            placeholder="Email of who did it"
            value={actor}
            onChange={(event) => setActor(event.target.value)}
            containerClassName="flex-1"
          />
          <div className="flex gap-2">
            <Button type="submit" variant="secondary">
              Filter
            </Button>
            {isFiltered ? (
              <Button variant="ghost" onClick={clear}>
                Clear
              </Button>
            ) : null}
          </div>
        </form>
        {!canView || audit.isPending ? (
          <LoadingBlock label="Loading the audit log…" />
        ) : audit.isError ? (
          <ErrorState message={errorMessage(audit.error)} onRetry={() => void audit.refetch()} />
        ) : entries.length === 0 ? (
          <EmptyState
            title={isFiltered ? 'No entries match these filters' : 'Nothing recorded yet'}
            icon={<ScrollText className="size-5" />}
          >
            {isFiltered ? 'Try a broader action or another person.' : 'Changes to your organization appear here.'}
          </EmptyState>
        ) : (
          <ul className="divide-y divide-zinc-100">
            {entries.map((entry) => (
              <AuditRow key={entry.id} entry={entry} people={people} />
            ))}
          </ul>
        )}
        {audit.hasNextPage ? (
          <div className="border-t border-zinc-100 px-5 py-3 text-center">
            <Button variant="secondary" size="sm" onClick={() => void audit.fetchNextPage()} isLoading={audit.isFetchingNextPage}>
              Load older entries
            </Button>
          </div>
        ) : null}
      </Card>
    </div>
  );
}

/**
 * What a person recognises a target by: the server's `target_label` (the email or name now), else
 * an email or name from the values the entry recorded.
 */
export function targetName(entry: AuditEntry): string | null {
  if (entry.target_label) return entry.target_label;
  for (const values of [entry.after, entry.before]) {
    if (values === null || typeof values !== 'object') continue;
    const record = values as Record<string, unknown>;
    for (const key of ['email', 'display_name', 'name']) {
      const value = record[key];
      if (typeof value === 'string' && value.trim()) return value;
    }
  }
  return null;
}

function AuditRow({ entry, people }: { entry: AuditEntry; people: ReadonlyMap<string, string> }) {
  const hasChanges = entry.before !== null || entry.after !== null;
  const actorName = entry.actor_label || entry.actor?.email || 'System';
  const target = targetName(entry) ?? (entry.target_id ? (people.get(entry.target_id) ?? null) : null);
  return (
    <li className="px-4 py-3 sm:px-5">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
        <Badge tone="brand">{actionLabel(entry.action)}</Badge>
        <span className="text-zinc-900">
          <span className="font-medium">{actorName}</span>
          {entry.target_type ? (
            <span className="text-zinc-500">
              {' '}
              on {entry.target_type.replace(/_/g, ' ')}
              {target ? (
                <span className="font-medium text-zinc-700"> {target}</span>
              ) : entry.target_id ? (
                <span className="font-mono text-xs" title={entry.target_id}>
                  {' '}
                  {entry.target_id.slice(0, 8)}
                </span>
              ) : null}
            </span>
          ) : null}
        </span>
        <time className="ml-auto text-xs text-zinc-500" dateTime={entry.created_at}>
          {formatDateTime(entry.created_at)}
        </time>
      </div>
      {hasChanges ? (
        <details className="mt-2 text-xs">
          <summary className="cursor-pointer text-zinc-500 hover:text-zinc-800">Show changes</summary>
          <div className="mt-2 grid gap-2 sm:grid-cols-2">
            <ChangeBlock label="Before" value={entry.before} people={people} />
            <ChangeBlock label="After" value={entry.after} people={people} />
          </div>
          {entry.request_id ? <p className="mt-2 text-zinc-500">Request {entry.request_id}</p> : null}
        </details>
      ) : null}
    </li>
  );
}

/** Recorded values field by field, with user ids shown as the people they name. */
function ChangeBlock({ label, value, people }: { label: string; value: unknown; people: ReadonlyMap<string, string> }) {
  return (
    <div className="min-w-0 rounded-md bg-zinc-50 p-2 ring-1 ring-zinc-200" data-testid={`changes-${label.toLowerCase()}`}>
      <p className="mb-1 font-medium text-zinc-600">{label}</p>
      {isRecord(value) ? (
        <dl className="space-y-1">
          {Object.entries(value).map(([key, field]) => (
            <div key={key} className="grid grid-cols-[minmax(0,9rem)_1fr] gap-2">
              <dt className="text-zinc-500">{fieldLabel(key)}</dt>
              <dd className="min-w-0 font-mono text-[11px] break-words whitespace-pre-wrap text-zinc-800">
                {displayValue(key, field, people)}
              </dd>
            </div>
          ))}
        </dl>
      ) : (
        <pre className="overflow-x-auto font-mono text-[11px] whitespace-pre-wrap text-zinc-800">
          {value === null || value === undefined ? '—' : JSON.stringify(value, null, 2)}
        </pre>
      )}
    </div>
  );
}
