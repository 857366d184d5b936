import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Logo } from '../../components/Logo';

export function AuthLayout({
  title,
  subtitle,
  children,
  footer,
  aside,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
  aside?: ReactNode;
}) {
  return (
    <div className="flex min-h-dvh flex-col bg-gradient-to-b from-brand-50/70 via-zinc-50 to-zinc-50">
      <header className="px-6 py-5">
        <Link to="/" aria-label="Roster home">
          <Logo />
        </Link>
      </header>
      <main className="flex flex-1 items-start justify-center px-4 pt-4 pb-16 sm:pt-10">
        <div className="w-full max-w-md">
          {aside}
          <div className="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-zinc-200 sm:p-8">
            <h1 className="text-xl font-semibold tracking-tight text-zinc-900">{title}</h1>
            {subtitle ? <p className="mt-1.5 text-sm text-zinc-500">{subtitle}</p> : null}
            <div className="mt-6">{children}</div>
          </div>
          {footer ? <div className="mt-6 text-center text-sm text-zinc-600">{footer}</div> : null}
        </div>
      </main>
    </div>
  );
}
