import { useState, type ReactNode } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router';
import * as DialogPrimitive from '@radix-ui/react-dialog';
import { useQueryClient } from '@tanstack/react-query';
import {
  Building2,
  CircleUser,
  CreditCard,
  FolderKanban,
  Inbox,
  LogOut,
  Menu,
  Plus,
  ScrollText,
  Users,
  BarChart3,
  X,
} from 'lucide-react';
import * as api from '../api/client';
import { useMailbox, useMe, useOrg } from '../api/queries';
import { initials, roleLabel } from '../lib/format';
import { cn } from '../lib/cn';
import { useCurrentRoleLabel, useOrgPermissions } from './permissions';
import { Logo } from './Logo';

interface NavItem {
  to: string;
  label: string;
  icon: ReactNode;
}

const accountItem: NavItem = { to: '/account', label: 'Account', icon: <CircleUser className="size-4" aria-hidden /> };

function useNavItems(): NavItem[] {
  const can = useOrgPermissions();
  const mailbox = useMailbox();
  const me = useMe();
  const items: NavItem[] = [];
  // The account page is open to a user in no organization: the org's pages would only send them to /create-org.
  if (me.data?.org) {
    items.push(
      { to: '/settings/members', label: 'Members', icon: <Users className="size-4" aria-hidden /> },
      { to: '/settings/usage', label: 'Usage', icon: <BarChart3 className="size-4" aria-hidden /> },
    );
    if (can('view_audit')) {
      items.push({ to: '/settings/audit', label: 'Audit log', icon: <ScrollText className="size-4" aria-hidden /> });
    }
    items.push({ to: '/settings/organization', label: 'Organization', icon: <Building2 className="size-4" aria-hidden /> });
    if (can('manage_billing')) {
      items.push({ to: '/settings/billing', label: 'Billing', icon: <CreditCard className="size-4" aria-hidden /> });
    }
  }
  items.push(accountItem);
  if (mailbox.data) {
    items.push({ to: '/mailbox', label: 'Mailbox', icon: <Inbox className="size-4" aria-hidden /> });
  }
  return items;
}

/** What every org member works in, above the settings. */
const workspaceItems: NavItem[] = [{ to: '/projects', label: 'Projects', icon: <FolderKanban className="size-4" aria-hidden /> }];

function SidebarLink({ item, onNavigate }: { item: NavItem; onNavigate?: () => void }) {
  return (
    <NavLink
      to={item.to}
      onClick={onNavigate}
      className={({ isActive }) =>
        cn(
          'flex items-center gap-2.5 rounded-lg px-2.5 py-2 text-sm font-medium transition-colors',
          isActive ? 'bg-brand-50 text-brand-700' : 'text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900',
        )
      }
    >
      {item.icon}
      {item.label}
    </NavLink>
  );
}

/** "team" -> "Team": the tier's name as the plan is called ("Team plan", not "Team Plan"). */
function tierLabel(tier: string): string {
  return tier.charAt(0).toUpperCase() + tier.slice(1);
}

function SidebarContent({ onNavigate }: { onNavigate?: () => void }) {
  const items = useNavItems();
  const org = useOrg();
  const me = useMe();
  const role = useCurrentRoleLabel();
  const orgName = org.data?.org?.name ?? me.data?.org?.name ?? '';
  const tier = org.data?.org?.tier;
  const hasOrg = me.data?.org != null;
  return (
    <div className="flex h-full flex-col">
      <div className="px-4 pt-5 pb-4">
        <Logo />
      </div>
      {hasOrg ? (
        <div className="mx-3 mb-4 rounded-lg bg-zinc-50 px-3 py-2.5 ring-1 ring-zinc-200">
          <p className="truncate text-sm font-semibold text-zinc-900">{orgName || 'Organization'}</p>
          <p className="mt-0.5 flex items-center gap-1.5 text-xs text-zinc-500">
            {/* Capitalize the tier only ("Team plan"): `capitalize` on the span would give "Team Plan". */}
            {tier ? <span>{tierLabel(tier)} plan</span> : null}
            {tier && role ? <span aria-hidden>·</span> : null}
            {role ? <span>{roleLabel(role)}</span> : null}
          </p>
        </div>
      ) : (
        <div className="mx-3 mb-4 rounded-lg bg-zinc-50 px-3 py-2.5 ring-1 ring-zinc-200">
          <p className="text-sm font-semibold text-zinc-900">No organization yet</p>
          <NavLink
            to="/create-org"
            onClick={onNavigate}
            className="mt-1 inline-flex items-center gap-1 text-xs font-medium text-brand-700 hover:underline"
          >
            <Plus className="size-3.5" aria-hidden />
            Create an organization
          </NavLink>
        </div>
      )}
      <nav aria-label="Main" className="flex-1 space-y-0.5 px-3">
        {hasOrg ? workspaceItems.map((item) => <SidebarLink key={item.to} item={item} onNavigate={onNavigate} />) : null}
        <p className="px-2 pt-4 pb-1.5 text-xs font-medium tracking-wide text-zinc-500 uppercase">Settings</p>
        {items.map((item) => (
          <SidebarLink key={item.to} item={item} onNavigate={onNavigate} />
        ))}
      </nav>
      <UserFooter />
    </div>
  );
}

function UserFooter() {
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [isLoggingOut, setIsLoggingOut] = useState(false);
  const user = me.data?.user;
  if (!user) return null;
  // The account's name (onboarding and the account page save it there), not a copy kept in this browser.
  const displayName = user.name;
  async function logOut() {
    setIsLoggingOut(true);
    try {
      await api.logout();
    } catch {
      // The session may already be gone; signing out locally is still right.
    }
    queryClient.clear();
    void navigate('/login', { replace: true });
  }
  return (
    <div className="flex items-center gap-3 border-t border-zinc-200 px-4 py-3">
      <span
        aria-hidden
        className="flex size-8 shrink-0 items-center justify-center rounded-full bg-brand-100 text-xs font-semibold text-brand-700"
      >
        {initials(displayName || user.email)}
      </span>
      <div className="min-w-0 flex-1">
        <p className="truncate text-sm font-medium text-zinc-900">{displayName}</p>
        <p className="truncate text-xs text-zinc-500">{user.email}</p>
      </div>
      <button
        type="button"
        onClick={logOut}
        disabled={isLoggingOut}
        className="rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-800"
        aria-label="Log out"
        title="Log out"
      >
        <LogOut className="size-4" aria-hidden />
      </button>
    </div>
  );
}

/** The signed-in frame: a sidebar on wide screens, a top bar with a drawer on phones. */
export function ShellFrame({ children }: { children: ReactNode }) {
  const [isDrawerOpen, setDrawerOpen] = useState(false);
  const me = useMe();
  const user = me.data?.user;
  return (
    <div className="min-h-dvh lg:pl-64">
      <aside className="fixed inset-y-0 left-0 z-30 hidden w-64 border-r border-zinc-200 bg-white lg:block">
        <SidebarContent />
      </aside>
      <header className="sticky top-0 z-20 flex h-14 items-center justify-between gap-3 border-b border-zinc-200 bg-white/90 px-4 backdrop-blur lg:hidden">
        <DialogPrimitive.Root open={isDrawerOpen} onOpenChange={setDrawerOpen}>
          <DialogPrimitive.Trigger className="-ml-1 rounded-md p-1.5 text-zinc-600 hover:bg-zinc-100" aria-label="Open menu">
            <Menu className="size-5" aria-hidden />
          </DialogPrimitive.Trigger>
          <DialogPrimitive.Portal>
            <DialogPrimitive.Overlay className="animate-overlay fixed inset-0 z-40 bg-zinc-950/40" />
            <DialogPrimitive.Content
              className="fixed inset-y-0 left-0 z-50 w-72 max-w-[85vw] bg-white shadow-xl focus:outline-none"
              aria-describedby={undefined}
            >
              <DialogPrimitive.Title className="sr-only">Menu</DialogPrimitive.Title>
              <DialogPrimitive.Close
                className="absolute top-4 right-3 rounded-md p-1.5 text-zinc-500 hover:bg-zinc-100"
                aria-label="Close menu"
              >
                <X className="size-5" aria-hidden />
              </DialogPrimitive.Close>
              <SidebarContent onNavigate={() => setDrawerOpen(false)} />
            </DialogPrimitive.Content>
          </DialogPrimitive.Portal>
        </DialogPrimitive.Root>
        <Logo />
        {user ? (
          <span
            aria-hidden
            className="flex size-8 items-center justify-center rounded-full bg-brand-100 text-xs font-semibold text-brand-700"
          >
            {initials(user.name || user.email)}
          </span>
        ) : (
          <span className="size-8" />
        )}
      </header>
      <main className="mx-auto w-full max-w-6xl px-4 py-6 sm:px-6 lg:px-10 lg:py-10">{children}</main>
    </div>
  );
}

export function AppShell() {
  return (
    <ShellFrame>
      <Outlet />
    </ShellFrame>
  );
}
