import { useState } from 'react';
import { Link } from 'react-router';
import { Inbox, Mail } from 'lucide-react';
import { useMailbox, useMe } from '../../api/queries';
import { errorMessage } from '../../api/errors';
import type { MailboxMessage } from '../../api/types';
import { ShellFrame } from '../../components/AppShell';
import { Alert, Badge, Card, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/Feedback';
import { Logo } from '../../components/Logo';
import { cn } from '../../lib/cn';
import { formatDateTime } from '../../lib/format';

/** Development-only: the emails Roster would have sent, when no SMTP server is configured. */
export function MailboxPage() {
  const me = useMe();
  const content = <MailboxContent />;
  if (me.data?.org) return <ShellFrame>{content}</ShellFrame>;
  return (
    <div className="min-h-dvh">
      <header className="border-b border-zinc-200 bg-white px-6 py-4">
        <Link to="/" aria-label="Roster home">
          <Logo />
        </Link>
      </header>
      <main className="mx-auto max-w-5xl px-4 py-8 sm:px-6">{content}</main>
    </div>
  );
}

function MailboxContent() {
  const mailbox = useMailbox({ poll: true });
  const [openId, setOpenId] = useState<string | null>(null);
  return (
    <div>
      <PageHeader
        title="Mailbox"
        description="Development only: emails Roster has sent while no SMTP server is configured. Open an invitation link here to try the flow on this machine."
      />
      {mailbox.isPending ? (
        <LoadingBlock label="Loading the mailbox…" />
      ) : mailbox.isError ? (
        <ErrorState message={errorMessage(mailbox.error)} onRetry={() => void mailbox.refetch()} />
      ) : mailbox.data === null ? (
        <Alert tone="info" title="The development mailbox is off">
          This server sends real email (SMTP is configured) or runs in production, so there is no local mailbox.
        </Alert>
      ) : mailbox.data.messages.length === 0 ? (
        <Card>
          <EmptyState title="No emails yet" icon={<Inbox className="size-5" />}>
            Invitations and verification emails show up here as soon as they are sent.
          </EmptyState>
        </Card>
      ) : (
        <Card>
          <ul className="divide-y divide-zinc-100">
            {[...mailbox.data.messages]
              .sort((a, b) => b.created_at.localeCompare(a.created_at))
              .map((message) => (
                <MessageRow
                  key={message.id}
                  message={message}
                  isOpen={openId === message.id}
                  onToggle={() => setOpenId(openId === message.id ? null : message.id)}
                />
              ))}
          </ul>
        </Card>
      )}
    </div>
  );
}

function MessageRow({ message, isOpen, onToggle }: { message: MailboxMessage; isOpen: boolean; onToggle: () => void }) {
  return (
    <li className="px-4 py-3 sm:px-5" data-mail-to={message.to}>
      <div className="flex items-start gap-3">
        <Mail className="mt-0.5 size-4 shrink-0 text-zinc-400" aria-hidden />
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
            <p className="font-medium text-zinc-900">{message.subject}</p>
            <Badge tone={message.status === 'failed' ? 'red' : message.status === 'sent' ? 'green' : 'neutral'}>
              {message.status}
            </Badge>
          </div>
          <p className="mt-0.5 text-sm text-zinc-500">
            To <span className="text-zinc-700">{message.to}</span> · {formatDateTime(message.created_at)}
          </p>
          {message.links.length > 0 ? (
            <ul className="mt-2 space-y-1">
              {message.links.map((link) => (
                <li key={link} className="truncate text-sm">
                  <a href={link} className="break-all text-brand-700 hover:underline">
                    {link}
                  </a>
                </li>
              ))}
            </ul>
          ) : null}
          <button
            type="button"
            onClick={onToggle}
            className="mt-2 text-xs font-medium text-zinc-500 hover:text-zinc-800"
            aria-expanded={isOpen}
          >
            {isOpen ? 'Hide message' : 'Show message'}
          </button>
          <pre
            className={cn(
              'mt-2 overflow-x-auto rounded-md bg-zinc-50 p-3 font-sans text-sm whitespace-pre-wrap text-zinc-700 ring-1 ring-zinc-200',
              !isOpen && 'hidden',
            )}
          >
            {message.text}
          </pre>
        </div>
      </div>
    </li>
  );
}
