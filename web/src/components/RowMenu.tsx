import { useRef, type ReactNode } from 'react';
import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { cn } from '../lib/cn';
import { rememberMenuTrigger } from './focusReturn';

export interface RowMenuItem {
  label: string;
  onSelect: () => void;
  tone?: 'default' | 'danger';
  icon?: ReactNode;
  separatorBefore?: boolean;
}

/** The "…" menu of a table row. Its accessible name includes what it acts on. */
export function RowMenu({ subject, items }: { subject: string; items: RowMenuItem[] }) {
  const triggerRef = useRef<HTMLButtonElement>(null);
  if (items.length === 0) return null;
  return (
    <DropdownMenu.Root modal={false}>
      <DropdownMenu.Trigger
        ref={triggerRef}
        className="inline-flex h-8 min-w-8 items-center justify-center rounded-md px-2 text-lg leading-none text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 data-[state=open]:bg-zinc-100"
      >
        <span aria-hidden>…</span>
        <span className="sr-only">… Actions for {subject}</span>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content
          align="end"
          sideOffset={4}
          className="z-50 min-w-48 rounded-lg bg-white p-1 shadow-lg ring-1 ring-zinc-200"
        >
          {items.map((item) => (
            <div key={item.label}>
              {item.separatorBefore ? <DropdownMenu.Separator className="my-1 h-px bg-zinc-100" /> : null}
              <DropdownMenu.Item
                onSelect={() => {
                  // A dialog this item opens gives focus back to the "…" button when it closes.
                  rememberMenuTrigger(triggerRef.current);
                  item.onSelect();
                }}
                className={cn(
                  'flex cursor-pointer items-center gap-2 rounded-md px-2.5 py-2 text-sm outline-none select-none',
                  item.tone === 'danger'
                    ? 'text-red-700 data-[highlighted]:bg-red-50'
                    : 'text-zinc-700 data-[highlighted]:bg-zinc-100 data-[highlighted]:text-zinc-900',
                )}
              >
                {item.icon}
                {item.label}
              </DropdownMenu.Item>
            </div>
          ))}
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
