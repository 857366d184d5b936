import type { ReactNode } from 'react';
import { CircleCheck } from 'lucide-react';

/** A lasting confirmation beside the form it concerns, announced to screen readers (role="status"). */
export function SuccessNotice({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div
      role="status"
      className="flex gap-3 rounded-lg bg-emerald-50 px-4 py-3 text-sm text-emerald-800 ring-1 ring-emerald-200 ring-inset"
    >
      <CircleCheck className="mt-0.5 size-4 shrink-0" aria-hidden />
      <div className="min-w-0 flex-1">
        <p className="font-medium">{title}</p>
        {children ? <div className="mt-0.5">{children}</div> : null}
      </div>
    </div>
  );
}
