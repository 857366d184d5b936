import type { ReactNode } from 'react';
import * as DialogPrimitive from '@radix-ui/react-dialog';
import * as AlertDialogPrimitive from '@radix-ui/react-alert-dialog';
import { X } from 'lucide-react';
import { cn } from '../lib/cn';
import { Button } from './Button';
import { useReturnFocus } from './focusReturn';
import { monthlyPriceText } from './SeatPrice';

const overlayClass = 'animate-overlay fixed inset-0 z-40 bg-zinc-950/40 backdrop-blur-[1px]';
const contentClass =
  'animate-dialog fixed top-1/2 left-1/2 z-50 flex max-h-[calc(100dvh-2rem)] w-[calc(100vw-2rem)] -translate-x-1/2 -translate-y-1/2 flex-col rounded-xl bg-white shadow-xl ring-1 ring-zinc-200 focus:outline-none';

interface DialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
  size?: 'md' | 'lg';
  /** Where focus starts; by default an `autoFocus` field, else the first focusable control. */
  onOpenAutoFocus?: (event: Event) => void;
}

export function Dialog({ open, onOpenChange, title, description, children, footer, size = 'md', onOpenAutoFocus }: DialogProps) {
  const returnFocus = useReturnFocus(open);
  return (
    <DialogPrimitive.Root open={open} onOpenChange={onOpenChange}>
      <DialogPrimitive.Portal>
        <DialogPrimitive.Overlay className={overlayClass} />
        <DialogPrimitive.Content
          className={cn(contentClass, size === 'lg' ? 'max-w-2xl' : 'max-w-md')}
          onOpenAutoFocus={onOpenAutoFocus}
          onCloseAutoFocus={returnFocus}
          {...(description ? {} : { 'aria-describedby': undefined })}
        >
          <div className="flex items-start justify-between gap-4 border-b border-zinc-100 px-5 py-4">
            <div>
              <DialogPrimitive.Title className="text-base font-semibold text-zinc-900">{title}</DialogPrimitive.Title>
              {description ? (
                <DialogPrimitive.Description className="mt-1 text-sm text-zinc-500">{description}</DialogPrimitive.Description>
              ) : null}
            </div>
            <DialogPrimitive.Close
              className="-m-1 rounded-md p-1 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-600"
              aria-label="Close"
            >
              <X className="size-5" aria-hidden />
            </DialogPrimitive.Close>
          </div>
          <div className="min-h-0 flex-1 overflow-y-auto px-5 py-4">{children}</div>
          {footer ? (
            <div className="flex flex-wrap justify-end gap-2 border-t border-zinc-100 bg-zinc-50/60 px-5 py-3">{footer}</div>
          ) : null}
        </DialogPrimitive.Content>
      </DialogPrimitive.Portal>
    </DialogPrimitive.Root>
  );
}

interface ConfirmDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  isPending?: boolean;
  tone?: 'danger' | 'primary';
  error?: string | null;
}

/** An accessible confirmation (alertdialog) for destructive or irreversible actions. */
export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  confirmLabel,
  onConfirm,
  isPending = false,
  tone = 'danger',
  error,
}: ConfirmDialogProps) {
  const returnFocus = useReturnFocus(open);
  return (
    <AlertDialogPrimitive.Root open={open} onOpenChange={onOpenChange}>
      <AlertDialogPrimitive.Portal>
        <AlertDialogPrimitive.Overlay className={overlayClass} />
        <AlertDialogPrimitive.Content className={cn(contentClass, 'max-w-md')} onCloseAutoFocus={returnFocus}>
          <div className="px-5 pt-5 pb-4">
            <AlertDialogPrimitive.Title className="text-base font-semibold text-zinc-900">{title}</AlertDialogPrimitive.Title>
            <AlertDialogPrimitive.Description asChild>
              <div className="mt-2 space-y-2 text-sm text-zinc-600">{description}</div>
            </AlertDialogPrimitive.Description>
            {error ? (
              <p className="mt-3 text-sm text-red-600" role="alert">
                {error}
              </p>
            ) : null}
          </div>
          <div className="flex flex-wrap justify-end gap-2 border-t border-zinc-100 bg-zinc-50/60 px-5 py-3">
            <AlertDialogPrimitive.Cancel asChild>
              <Button variant="secondary">Cancel</Button>
            </AlertDialogPrimitive.Cancel>
            <Button
              variant={tone === 'danger' ? 'danger' : 'primary'}
              isLoading={isPending}
              onClick={(event) => {
                // Keep the dialog open until the request settles, so errors can be shown in it.
                event.preventDefault();
                onConfirm();
              }}
            >
              {confirmLabel}
            </Button>
          </div>
        </AlertDialogPrimitive.Content>
      </AlertDialogPrimitive.Portal>
    </AlertDialogPrimitive.Root>
  );
}

/** Confirms a Team checkout: the seats and what they cost per month, before the provider's page. */
export function CheckoutConfirmDialog({
  seats,
  price,
  isPending,
  error,
  onCancel,
  onConfirm,
}: {
  seats: number | null;
  price: { cents: number; currency: string };
  isPending: boolean;
  error?: string | null;
  onCancel: () => void;
  onConfirm: (seats: number) => void;
}) {
  return (
    <ConfirmDialog
      open={seats !== null}
      onOpenChange={(open) => (open ? undefined : onCancel())}
      title="Subscribe to the Team plan?"
      description={
        <>
          <p className="font-medium text-zinc-900" data-testid="checkout-total">
            {monthlyPriceText(seats ?? 0, price)}
          </p>
          <p>You pay on the next page; seats can be changed at any time under Billing.</p>
        </>
      }
      confirmLabel="Confirm and check out"
      tone="primary"
      isPending={isPending}
      error={error}
      onConfirm={() => seats !== null && onConfirm(seats)}
    />
  );
}
