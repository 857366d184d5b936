import { useState, type FormEvent, type ReactNode } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { BarChart3, Check, MailPlus, ScrollText, ShieldCheck } from 'lucide-react';
import { useQueryClient } from '@tanstack/react-query';
import { updateMe } from '../../api/client';
import { queryKeys, useMe } from '../../api/queries';
import { Button } from '../../components/Button';
import { TextField } from '../../components/Field';
import { Logo } from '../../components/Logo';
import { cn } from '../../lib/cn';
import { readOnboarding, saveOnboarding } from '../../lib/onboarding';
import { safeNextPath } from '../../lib/navigation';

const STEPS = ['Your name', 'Your role', 'Quick tour'] as const;

const JOB_ROLES = [
  'Engineering',
  'Product',
  'Design',
  'Operations',
  'Sales or support',
  'Founder or leadership',
  'Something else',
];

const TOUR: Array<{ icon: ReactNode; title: string; text: string }> = [
  {
    icon: <MailPlus className="size-5" aria-hidden />,
    title: 'Invite your team',
    text: 'Invite one person or paste a whole list. Pending invitations hold a seat until they are accepted.',
  },
  {
    icon: <ShieldCheck className="size-5" aria-hidden />,
    title: 'Roles that mean something',
    text: 'One owner, admins who manage people, and members who get on with their work.',
  },
  {
    icon: <BarChart3 className="size-5" aria-hidden />,
    title: 'Usage with limits',
    text: 'See usage per person and activity, and set daily or monthly limits so nobody uses up everything.',
  },
  {
    icon: <ScrollText className="size-5" aria-hidden />,
    title: 'A complete audit log',
    text: 'Every change to members, roles, invitations and limits is recorded with who did it and when.',
  },
];

/** The step index (from 0) a `step` query parameter (from 1) names: the first step when absent or not a step. */
export function stepFromParam(value: string | null): number {
  const step = Number(value);
  return Number.isInteger(step) && step >= 1 && step <= STEPS.length ? step - 1 : 0;
}

export function OnboardingPage() {
  const me = useMe();
  const navigate = useNavigate();
  const [searchParams, setSearchParams] = useSearchParams();
  const user = me.data?.user;
  const fallbackNext = me.data?.org ? '/settings/members' : '/create-org';
  const next = safeNextPath(searchParams.get('next'), fallbackNext);
  const saved = user ? readOnboarding(user.id) : null;
  const step = stepFromParam(searchParams.get('step'));
  const [name, setName] = useState(user?.name || saved?.name || '');
  const [jobRole, setJobRole] = useState(saved?.jobRole ?? '');
  const [nameError, setNameError] = useState<string | null>(null);

  const queryClient = useQueryClient();

  /** The step lives in the URL (`step`, from 1), replacing the entry: a reload stays on it, `next` is kept. */
  function setStep(index: number) {
    setSearchParams(
      (params) => {
        const updated = new URLSearchParams(params);
        updated.set('step', String(index + 1));
        return updated;
      },
      { replace: true },
    );
  }

  async function finish() {
    if (user) {
      const chosenName = name.trim() || user.name;
      saveOnboarding(user.id, { name: chosenName, jobRole, completedAt: new Date().toISOString() });
      // The name is the account's display name; the job role stays in this browser (no API field).
      if (chosenName !== user.name) {
        try {
          await updateMe({ name: chosenName });
          await queryClient.invalidateQueries({ queryKey: queryKeys.me });
        } catch {
          // Onboarding is optional: a failed save must not trap the user here.
        }
      }
    }
    void navigate(next, { replace: true });
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (step === 0 && !name.trim()) {
      setNameError('Enter the name your colleagues know you by.');
      return;
    }
    setNameError(null);
    if (step < STEPS.length - 1) setStep(step + 1);
    else void finish();
  }

  return (
    <div className="flex min-h-dvh flex-col bg-gradient-to-b from-brand-50/70 via-zinc-50 to-zinc-50">
      <header className="flex items-center justify-between px-6 py-5">
        <Logo />
        <Button variant="ghost" size="sm" onClick={() => void finish()}>
          Skip for now
        </Button>
      </header>
      <main className="flex flex-1 justify-center px-4 pt-4 pb-16 sm:pt-10">
        <div className="w-full max-w-xl">
          <ol className="mb-6 flex items-center gap-2" aria-label="Onboarding steps">
            {STEPS.map((label, index) => (
              <li key={label} className="flex flex-1 items-center gap-2" aria-current={index === step ? 'step' : undefined}>
                <span
                  className={cn(
                    'flex size-6 shrink-0 items-center justify-center rounded-full text-xs font-semibold',
                    index < step && 'bg-brand-600 text-white',
                    index === step && 'bg-brand-600 text-white ring-4 ring-brand-100',
                    index > step && 'bg-zinc-200 text-zinc-600',
                  )}
                >
                  {index < step ? <Check className="size-3.5" aria-hidden /> : index + 1}
                </span>
                <span className={cn('hidden text-sm sm:inline', index === step ? 'font-medium text-zinc-900' : 'text-zinc-500')}>
                  {label}
                </span>
                {index < STEPS.length - 1 ? <span className="h-px flex-1 bg-zinc-200" aria-hidden /> : null}
              </li>
            ))}
          </ol>
          <form onSubmit={onSubmit} className="rounded-2xl bg-white p-6 shadow-sm ring-1 ring-zinc-200 sm:p-8">
            <p className="text-xs font-medium tracking-wide text-brand-700 uppercase">
              Step {step + 1} of {STEPS.length}
            </p>
            {step === 0 ? (
              <>
                <h1 className="mt-1 text-xl font-semibold tracking-tight text-zinc-900">Welcome! What should we call you?</h1>
                <p className="mt-1.5 text-sm text-zinc-500">This is how you appear in this dashboard.</p>
                <div className="mt-6">
                  <TextField
                    label="Your name"
                    value={name}
                    onChange={(event) => setName(event.target.value)}
                    error={nameError}
                    autoComplete="name"
                    autoFocus
                  />
                </div>
              </>
            ) : null}
            {step === 1 ? (
              <fieldset>
                <legend className="mt-1 text-xl font-semibold tracking-tight text-zinc-900">What do you work on?</legend>
                <p className="mt-1.5 text-sm text-zinc-500">It helps us show you what matters first. Optional.</p>
                <div className="mt-6 grid gap-2 sm:grid-cols-2">
                  {JOB_ROLES.map((option) => (
                    <label
                      key={option}
                      className={cn(
                        'flex cursor-pointer items-center gap-3 rounded-lg px-3 py-2.5 text-sm ring-1 ring-inset',
                        jobRole === option ? 'bg-brand-50 ring-brand-600' : 'ring-zinc-200 hover:bg-zinc-50',
                      )}
                    >
                      <input
                        type="radio"
                        name="job-role"
                        value={option}
                        checked={jobRole === option}
                        onChange={() => setJobRole(option)}
                        className="accent-brand-600"
                      />
                      {option}
                    </label>
                  ))}
                </div>
              </fieldset>
            ) : null}
            {step === 2 ? (
              <>
                <h1 className="mt-1 text-xl font-semibold tracking-tight text-zinc-900">A quick tour of Roster</h1>
                <p className="mt-1.5 text-sm text-zinc-500">Four things worth knowing before you start.</p>
                <ul className="mt-6 grid gap-3 sm:grid-cols-2">
                  {TOUR.map((item) => (
                    <li key={item.title} className="rounded-xl bg-zinc-50 p-4 ring-1 ring-zinc-200">
                      <span className="inline-flex rounded-lg bg-white p-2 text-brand-700 shadow-sm ring-1 ring-zinc-200">
                        {item.icon}
                      </span>
                      <p className="mt-3 text-sm font-semibold text-zinc-900">{item.title}</p>
                      <p className="mt-1 text-sm text-zinc-600">{item.text}</p>
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
            <div className="mt-8 flex items-center justify-between gap-3">
              {step > 0 ? (
                <Button variant="ghost" onClick={() => setStep(step - 1)}>
                  Back
                </Button>
              ) : (
                <span />
              )}
              <Button type="submit">{step === STEPS.length - 1 ? 'Finish' : 'Continue'}</Button>
            </div>
          </form>
        </div>
      </main>
    </div>
  );
}
