import { useEffect, useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { toast } from 'sonner';
import * as api from '../../api/client';
import { useRefreshOrg } from '../../api/queries';
import { isApiError } from '../../api/errors';
import type { Member } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { Dialog } from '../../components/Dialog';
import { formatNumber } from '../../lib/format';
import { toFieldErrors } from '../../lib/formErrors';

/**
 * The largest limit the server accepts (MAX_LIMIT of its members service). Checked here only to
 * say so before sending — the server refuses anything larger with invalid_limit anyway, and past
 * 2^53 a typed number could not even be sent unrounded.
 */
const MAX_USAGE_LIMIT = 1_000_000_000_000_000;
const OUT_OF_RANGE = `Enter a whole number up to ${formatNumber(MAX_USAGE_LIMIT)}, or leave it empty for no limit.`;

type LimitErrors = { daily?: string; monthly?: string; form?: string };

function toInput(value: number | null | undefined) {
  return value === null || value === undefined ? '' : String(value);
}

/** Digits, grouped or not by commas, spaces or underscores ("1,000", "1 000", "1_000"). */
const GROUPED_DIGITS = /^\d+(?:[,_ \u00a0\u202f]\d+)*$/;

function parseLimit(value: string): number | null | 'invalid' | 'too_large' {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (!GROUPED_DIGITS.test(trimmed)) return 'invalid';
  const limit = Number(trimmed.replace(/[,_ \u00a0\u202f]/g, ''));
  return limit > MAX_USAGE_LIMIT ? 'too_large' : limit;
}

/** A refused save, in the dialog's words: `invalid_limit` names its field in `details.field`. */
function saveErrors(error: unknown): LimitErrors {
  if (!isApiError(error, 'invalid_limit')) return toFieldErrors(error, {}, ['daily', 'monthly'] as const);
  const field = error.details?.field;
  return field === 'daily' || field === 'monthly' ? { [field]: OUT_OF_RANGE } : { form: OUT_OF_RANGE };
}

/** Both limits set and the daily one higher: legal, but the daily limit then never applies. */
function dailyAboveMonthly(daily: string, monthly: string): boolean {
  const dailyLimit = parseLimit(daily);
  const monthlyLimit = parseLimit(monthly);
  return typeof dailyLimit === 'number' && typeof monthlyLimit === 'number' && dailyLimit > monthlyLimit;
}

export function UsageLimitDialog({ member, onClose }: { member: Member | null; onClose: () => void }) {
  const [daily, setDaily] = useState('');
  const [monthly, setMonthly] = useState('');
  const [errors, setErrors] = useState<LimitErrors>({});
  const refreshOrg = useRefreshOrg();

  useEffect(() => {
    setDaily(toInput(member?.usage_limit?.daily));
    setMonthly(toInput(member?.usage_limit?.monthly));
    setErrors({});
  }, [member]);

  const save = useMutation({
    mutationFn: (limit: { daily: number | null; monthly: number | null }) => api.setUsageLimit(member?.user_id ?? '', limit),
    meta: { inlineErrors: true },
    onSuccess: () => {
      toast.success(`Usage limit saved for ${member?.display_name || member?.email}`);
      void refreshOrg();
      onClose();
    },
    onError: (error) => setErrors(saveErrors(error)),
  });

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const dailyLimit = parseLimit(daily);
    const monthlyLimit = parseLimit(monthly);
    const problems: LimitErrors = {};
    if (dailyLimit === 'invalid') problems.daily = 'Enter a whole number (such as 1,000), or leave empty for no daily limit.';
    if (dailyLimit === 'too_large') problems.daily = OUT_OF_RANGE;
    if (monthlyLimit === 'invalid') {
      problems.monthly = 'Enter a whole number (such as 1,000), or leave empty for no monthly limit.';
    }
    if (monthlyLimit === 'too_large') problems.monthly = OUT_OF_RANGE;
    setErrors(problems);
    if (typeof dailyLimit === 'string' || typeof monthlyLimit === 'string') return;
    save.mutate({ daily: dailyLimit, monthly: monthlyLimit });
  }

  return (
    <Dialog
      open={member !== null}
      onOpenChange={(open) => (open ? undefined : onClose())}
      title="Set usage limit"
      description={
        member ? (
          <>
            Limits for <span className="font-medium text-zinc-700">{member.display_name || member.email}</span>, counted across
            all activity types. Leave a field empty for no limit.
          </>
        ) : undefined
      }
    >
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        {errors.form ? <Alert tone="error">{errors.form}</Alert> : null}
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField
            label="Daily limit"
            inputMode="numeric"
            placeholder="No limit"
            value={daily}
            onChange={(event) => setDaily(event.target.value)}
            error={errors.daily}
            hint="Per UTC day"
            autoFocus
          />
          <TextField
            label="Monthly limit"
            inputMode="numeric"
            placeholder="No limit"
            value={monthly}
            onChange={(event) => setMonthly(event.target.value)}
            error={errors.monthly}
            hint="Per UTC calendar month"
          />
        </div>
        {dailyAboveMonthly(daily, monthly) ? (
          <Alert tone="warning">The daily limit is above the monthly one: the monthly limit will stop usage first.</Alert>
        ) : null}
        <div className="flex justify-end gap-2 pt-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" isLoading={save.isPending}>
            Save limits
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
