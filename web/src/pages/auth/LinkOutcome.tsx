import type { ReactNode } from 'react';
import { AuthLayout } from './AuthLayout';

const toneClass = {
  success: 'bg-emerald-50 text-emerald-700 ring-emerald-200',
  warning: 'bg-amber-50 text-amber-700 ring-amber-200',
} as const;

/** What came of opening a link from an email (an invitation, a confirmation): icon, title, then the next step. */
export function LinkOutcome({
  tone,
  icon,
  title,
  children,
}: {
  tone: keyof typeof toneClass;
  icon: ReactNode;
  title: string;
  children: ReactNode;
}) {
  return (
    <AuthLayout title={title}>
      <div className="flex flex-col items-center gap-4 py-2 text-center">
        <span className={`rounded-full p-3 ring-1 ${toneClass[tone]}`}>{icon}</span>
        {children}
      </div>
    </AuthLayout>
  );
}
