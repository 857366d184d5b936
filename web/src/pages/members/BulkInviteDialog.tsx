import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import { CircleCheck, CircleX } from 'lucide-react';
import * as api from '../../api/client';
import { useRefreshOrg } from '../../api/queries';
import { ApiError, errorMessage } from '../../api/errors';
import type { BulkInviteResponse, InvitableRole } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { SelectField, TextAreaField } from '../../components/Field';
import { Dialog } from '../../components/Dialog';
import { useOrgPermissions } from '../../components/permissions';
import { bulkLimitMessage, bulkToastMessage, seatShortfallMessage, summarizeBulkResults } from './bulkSummary';

const ROLE_OPTIONS = [
  { value: 'member', label: 'Member' },
  { value: 'admin', label: 'Admin' },
];

type Phase = { name: 'edit' } | { name: 'preview'; preview: BulkInviteResponse } | { name: 'done'; outcome: BulkInviteResponse };

export function BulkInviteDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const [text, setText] = useState('');
  const [role, setRole] = useState<InvitableRole>('member');
  const [phase, setPhase] = useState<Phase>({ name: 'edit' });
  const [problem, setProblem] = useState<string | null>(null);
  const refreshOrg = useRefreshOrg();

  function reset() {
    setText('');
    setRole('member');
    setPhase({ name: 'edit' });
    setProblem(null);
  }

  /** Every way out (Cancel, Done, Escape, ×) clears the dialog, so it opens fresh next time. */
  function close() {
    onOpenChange(false);
    reset();
  }

  function describe(error: unknown) {
    return error instanceof ApiError && error.code === 'bulk_limit_exceeded' ? bulkLimitMessage(error) : errorMessage(error);
  }

  const preview = useMutation({
    mutationFn: () => api.bulkInvite({ text, role, dry_run: true }),
    meta: { inlineErrors: true },
    onMutate: () => setProblem(null),
    onSuccess: (response) => setPhase({ name: 'preview', preview: response }),
    onError: (error) => setProblem(describe(error)),
  });

  const send = useMutation({
    mutationFn: () => api.bulkInvite({ text, role }),
    meta: { inlineErrors: true },
    onMutate: () => setProblem(null),
    onSuccess: (response) => {
      setPhase({ name: 'done', outcome: response });
      const message = bulkToastMessage(response.invited, response.failed);
      if (response.failed === 0) toast.success(message);
      else if (response.invited === 0) toast.error(message);
      else toast.warning(message);
      void refreshOrg();
    },
    onError: (error) => setProblem(describe(error)),
  });

  const canSend = phase.name === 'preview' && phase.preview.results.some((result) => result.ok);
  let footer;
  if (phase.name === 'edit') {
    footer = (
      <>
        <Button variant="secondary" onClick={close}>
          Cancel
        </Button>
        <Button onClick={() => preview.mutate()} isLoading={preview.isPending} disabled={!text.trim()}>
          Extract emails
        </Button>
      </>
    );
  } else if (phase.name === 'preview') {
    footer = (
      <>
        <Button variant="secondary" onClick={() => setPhase({ name: 'edit' })}>
          Edit addresses
        </Button>
        <Button onClick={() => send.mutate()} isLoading={send.isPending} disabled={!canSend}>
          Send invitations
        </Button>
      </>
    );
  } else {
    footer = (
      <>
        <Button variant="secondary" onClick={reset}>
          Invite more
        </Button>
        <Button onClick={close}>Done</Button>
      </>
    );
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => (next ? onOpenChange(true) : close())}
      title="Bulk invite"
      description="Paste addresses separated by commas, spaces or new lines — or any text that contains them."
      size="lg"
      footer={footer}
    >
      <div className="space-y-4">
        {phase.name !== 'done' ? (
          <div className="grid gap-4 sm:grid-cols-[1fr_10rem]">
            <TextAreaField
              label="Addresses"
              autoFocus
              rows={phase.name === 'edit' ? 8 : 3}
              value={text}
              placeholder={'ada@example.com, grace@example.com\nLinus <linus@example.com>'}
              onChange={(event) => {
                setText(event.target.value);
                // An edited list needs a fresh preview before anything is sent.
                if (phase.name === 'preview') setPhase({ name: 'edit' });
              }}
            />
            <SelectField
              label="Role"
              value={role}
              options={ROLE_OPTIONS}
              onChange={(event) => {
                setRole(event.target.value as InvitableRole);
                if (phase.name === 'preview') setPhase({ name: 'edit' });
              }}
            />
          </div>
        ) : null}
        {problem ? <Alert tone="error">{problem}</Alert> : null}
        {phase.name === 'preview' ? <BulkInvitePreview preview={phase.preview} /> : null}
        {phase.name === 'done' ? <BulkInviteResults outcome={phase.outcome} /> : null}
      </div>
    </Dialog>
  );
}

/** What a send would do, per distinct address, as the server answered the dry run. */
export function BulkInvitePreview({ preview }: { preview: BulkInviteResponse }) {
  const can = useOrgPermissions();
  const summary = summarizeBulkResults(preview.results);
  const seatShortfall = seatShortfallMessage(summary);
  if (summary.distinct === 0) {
    return (
      <Alert tone="warning" title="No email addresses found">
        Paste addresses such as ada@example.com, one per line or separated by commas.
      </Alert>
    );
  }
  return (
    <section aria-label="Preview" className="space-y-3">
      <p className="text-sm text-zinc-700" data-testid="bulk-preview-summary">
        <strong className="font-semibold text-zinc-900">{summary.distinct}</strong> distinct{' '}
        {summary.distinct === 1 ? 'address' : 'addresses'} found ·{' '}
        <strong className="font-semibold text-emerald-700">{summary.accepted.length}</strong> ready to invite ·{' '}
        <strong className="font-semibold text-red-700">{summary.invalid.length}</strong> invalid
        {summary.refused.length > 0 ? (
          <>
            {' '}
            · <strong className="font-semibold text-amber-700">{summary.refused.length}</strong> cannot be invited
          </>
        ) : null}
      </p>
      {seatShortfall ? (
        <Alert tone="warning">
          <span data-testid="bulk-preview-seats">{seatShortfall}</span>
          {can('manage_billing') ? (
            <>
              {' '}
              <Link to="/settings/billing" className="font-medium underline underline-offset-2">
                Add seats under Billing
              </Link>
            </>
          ) : null}
        </Alert>
      ) : null}
      <div className="grid gap-3 sm:grid-cols-2">
        <AddressList
          title={`Ready to invite (${summary.accepted.length})`}
          tone="ok"
          items={summary.accepted.map((email) => ({ email }))}
          empty="No address can be invited."
        />
        <AddressList
          title={`Invalid or not possible (${summary.invalid.length + summary.refused.length})`}
          tone="failed"
          items={[...summary.invalid, ...summary.refused]}
          empty="Every address is valid."
        />
      </div>
    </section>
  );
}

export function BulkInviteResults({ outcome }: { outcome: BulkInviteResponse }) {
  const invited = outcome.results.filter((result) => result.ok).map((result) => ({ email: result.email }));
  const failed = outcome.results.flatMap((result) => (result.ok ? [] : [{ email: result.email, message: result.error.message }]));
  return (
    <section aria-label="Results" className="space-y-3">
      <Alert tone={outcome.failed === 0 ? 'info' : 'warning'} title={bulkToastMessage(outcome.invited, outcome.failed)}>
        {outcome.failed === 0
          ? 'Everyone on the list has been sent an invitation email.'
          : 'The addresses below were not invited, with the reason for each.'}
      </Alert>
      <div className="grid gap-3 sm:grid-cols-2">
        <AddressList title={`Invited (${invited.length})`} tone="ok" items={invited} empty="Nobody was invited." />
        <AddressList title={`Failed (${failed.length})`} tone="failed" items={failed} empty="Nothing failed." />
      </div>
    </section>
  );
}

function AddressList({
  title,
  tone,
  items,
  empty,
}: {
  title: string;
  tone: 'ok' | 'failed';
  items: Array<{ email: string; message?: string }>;
  empty: string;
}) {
  return (
    <div className="rounded-lg ring-1 ring-zinc-200">
      <h3 className="border-b border-zinc-100 bg-zinc-50 px-3 py-2 text-xs font-semibold tracking-wide text-zinc-600 uppercase">
        {title}
      </h3>
      {items.length === 0 ? (
        <p className="px-3 py-3 text-sm text-zinc-500">{empty}</p>
      ) : (
        <ul className="max-h-56 divide-y divide-zinc-100 overflow-y-auto">
          {items.map((item) => (
            <li key={item.email} className="flex items-start gap-2 px-3 py-2 text-sm">
              {tone === 'ok' ? (
                <CircleCheck className="mt-0.5 size-4 shrink-0 text-emerald-600" aria-label="OK" />
              ) : (
                <CircleX className="mt-0.5 size-4 shrink-0 text-red-600" aria-label="Failed" />
              )}
              <span className="min-w-0">
                <span className="block break-all text-zinc-900">{item.email}</span>
                {item.message ? <span className="block text-xs text-zinc-500">{item.message}</span> : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
