import { useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Check } from 'lucide-react';
import * as api from '../../api/client';
import { queryKeys, useMe, useMySubscription, usePlans } from '../../api/queries';
import { ApiError, errorMessage } from '../../api/errors';
import type { PersonalSubscription, Plan } from '../../api/types';
import { Button } from '../../components/Button';
import { Alert, ErrorState, LoadingBlock } from '../../components/Feedback';
import { TextField } from '../../components/Field';
import { CheckoutConfirmDialog } from '../../components/Dialog';
import { MAX_SEATS, SEATS_RANGE_HINT, parseSeatCount, useTeamSeatPrice } from '../../components/SeatPrice';
import { Logo } from '../../components/Logo';
import { planName } from '../../components/SubscriptionFacts';
import { formatBytes, formatPrice, plural } from '../../lib/format';
import { isCheckoutSuccess, sameOriginPath } from '../../lib/navigation';
import { cn } from '../../lib/cn';
import { slugProblem, suggestSlug } from './slug';

/** A subscription that POST /org moves to the new organization (the server's rule: any status but canceled). */
function liveSubscription(subscription: PersonalSubscription | null | undefined): PersonalSubscription | null {
  return subscription && subscription.status !== 'canceled' ? subscription : null;
}

export function CreateOrgPage() {
  const me = useMe();
  const queryClient = useQueryClient();
  const mySubscription = useMySubscription();
  const [searchParams, setSearchParams] = useSearchParams();
  const step = searchParams.get('step') === 'details' ? 'details' : 'plan';
  // Kept here, above both steps, so a trip back to the plan step does not lose what was typed.
  const [draft, setDraft] = useState<OrgDraft>({ name: '', slug: '', isSlugEdited: false });
  // True after a checkout that completed here (the local provider applies it before answering),
  // before GET /me/subscription has been asked again.
  const [isSubscribedNow, setSubscribedNow] = useState(false);
  // A 402 subscription_required from POST /org is the server's last word: until a checkout completes
  // here, it beats what GET /me/subscription answered before (canceled since, a webhook in between).
  const [isRefusedByServer, setRefusedByServer] = useState(false);
  // While it loads or when it fails, the page works as without it: the person says whether they paid.
  const subscription = isRefusedByServer ? null : liveSubscription(mySubscription.data);
  // A Stripe webhook may land at any time after the return from checkout: ask again at each step change.
  const refreshSubscription = () => void queryClient.invalidateQueries({ queryKey: queryKeys.mySubscription });
  if (me.data?.org) return <Navigate to="/settings/members" replace />;
  return (
    <div className="flex min-h-dvh flex-col bg-gradient-to-b from-brand-50/70 via-zinc-50 to-zinc-50">
      <header className="flex items-center justify-between px-6 py-5">
        <Logo />
        {/* A user in no organization has no sidebar here: their account page is still theirs. */}
        <Link to="/account" className="text-sm font-medium text-zinc-600 hover:text-zinc-900 hover:underline">
          Account
        </Link>
      </header>
      <main className="flex flex-1 justify-center px-4 pt-2 pb-16 sm:pt-8">
        <div className="w-full max-w-3xl">
          <ol className="mb-6 flex items-center justify-center gap-3 text-sm" aria-label="Create organization steps">
            <StepLabel index={1} label="Choose a plan" isActive={step === 'plan'} isDone={step === 'details'} />
            <span className="h-px w-10 bg-zinc-300" aria-hidden />
            <StepLabel index={2} label="Name your organization" isActive={step === 'details'} isDone={false} />
          </ol>
          {step === 'plan' ? (
            <PlanStep
              subscription={subscription}
              isCheckingSubscription={!isRefusedByServer && mySubscription.isPending}
              onContinue={(hasCheckedOutHere) => {
                if (hasCheckedOutHere) setRefusedByServer(false);
                setSubscribedNow(hasCheckedOutHere);
                refreshSubscription();
                setSearchParams({ step: 'details' });
              }}
            />
          ) : (
            <DetailsStep
              draft={draft}
              onDraftChange={setDraft}
              isSubscribed={isSubscribedNow || subscription !== null}
              onSubscriptionRequired={() => {
                setRefusedByServer(true);
                setSubscribedNow(false);
                refreshSubscription();
              }}
              onChoosePlan={() => {
                setSubscribedNow(false);
                setSearchParams({});
              }}
            />
          )}
        </div>
      </main>
    </div>
  );
}

function StepLabel({ index, label, isActive, isDone }: { index: number; label: string; isActive: boolean; isDone: boolean }) {
  return (
    <li className="flex items-center gap-2" aria-current={isActive ? 'step' : undefined}>
      <span
        className={cn(
          'flex size-6 items-center justify-center rounded-full text-xs font-semibold',
          isActive || isDone ? 'bg-brand-600 text-white' : 'bg-zinc-200 text-zinc-600',
        )}
      >
        {isDone ? <Check className="size-3.5" aria-hidden /> : index}
      </span>
      <span className={isActive ? 'font-medium text-zinc-900' : 'text-zinc-500'}>{label}</span>
    </li>
  );
}

/**
 * `onContinue(true)`: a checkout completed here; `onContinue(false)`: the person says they subscribed,
 * or GET /me/subscription does (`subscription`: their live one, shown instead of a second checkout).
 */
function PlanStep({
  subscription,
  isCheckingSubscription,
  onContinue,
}: {
  subscription: PersonalSubscription | null;
  isCheckingSubscription: boolean;
  onContinue: (hasCheckedOutHere: boolean) => void;
}) {
  const plans = usePlans();
  const navigate = useNavigate();
  // null: untouched, the plan's default seats; a cleared field stays empty (and shows no price).
  const [seats, setSeats] = useState<string | null>(null);
  const [seatsError, setSeatsError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const price = useTeamSeatPrice();
  const checkout = useMutation({
    mutationFn: api.startCheckout,
    meta: { inlineErrors: true },
    onSettled: () => setConfirming(null),
    onSuccess: ({ url }) => {
      // The local billing provider completes at once and answers with its success page
      // (built from PUBLIC_URL, which may name this host differently): carry on in the app.
      if (isCheckoutSuccess(url)) {
        onContinue(true);
        return;
      }
      const inApp = sameOriginPath(url);
      if (inApp === null) window.location.assign(url);
      else void navigate(inApp);
    },
  });

  // Waited for like the plans (both are asked at once): a checkout button shown for a moment to
  // someone who has paid is one click from a second subscription.
  if (plans.isPending || isCheckingSubscription) return <LoadingBlock label="Loading plans…" />;
  if (subscription) return <SubscribedPlan subscription={subscription} onContinue={() => onContinue(false)} />;
  if (plans.isError) return <ErrorState message={errorMessage(plans.error)} onRetry={() => void plans.refetch()} />;
  const team = plans.data.plans.find((plan) => plan.id === 'team');
  const enterprise = plans.data.plans.find((plan) => plan.id === 'enterprise');
  const seatsText = seats ?? String(team?.default_seats ?? 5);
  const seatCount = parseSeatCount(seatsText);

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (seatCount === null) {
      setSeatsError(SEATS_RANGE_HINT);
      return;
    }
    setSeatsError(null);
    checkout.reset();
    setConfirming(seatCount);
  }

  return (
    <div>
      <div className="mb-6 text-center">
        <h1 className="text-2xl font-semibold tracking-tight text-zinc-900">Create your organization</h1>
        <p className="mt-1.5 text-sm text-zinc-500">Start with the Team plan. You can add seats at any time.</p>
      </div>
      <div className="grid gap-4 md:grid-cols-2">
        {team ? (
          <form onSubmit={onSubmit} className="flex flex-col rounded-2xl bg-white p-6 shadow-sm ring-2 ring-brand-600">
            <PlanSummary plan={team} highlight="Self-serve" seats={seatCount ?? team.default_seats} />
            <div className="mt-5">
              <TextField
                label="Seats"
                type="number"
                inputMode="numeric"
                min={1}
                max={MAX_SEATS}
                step={1}
                value={seatsText}
                onChange={(event) => setSeats(event.target.value)}
                error={seatsError}
                // A price only for a seat count the checkout accepts: none for "2.5" or an empty field.
                hint={
                  seatCount === null
                    ? SEATS_RANGE_HINT
                    : `${formatPrice((team.price_cents_per_seat ?? 0) * seatCount, team.currency)} per month`
                }
              />
            </div>
            <CheckoutConfirmDialog
              seats={confirming}
              price={price}
              isPending={checkout.isPending}
              onCancel={() => setConfirming(null)}
              onConfirm={(seats) => checkout.mutate({ plan: 'team', seats, scope: 'personal' })}
            />
            {checkout.isError ? (
              <Alert tone="error" className="mt-4">
                {errorMessage(checkout.error)}
              </Alert>
            ) : null}
            <Button type="submit" className="mt-5 w-full">
              Continue to checkout
            </Button>
            <button
              type="button"
              onClick={() => onContinue(false)}
              className="mt-3 text-center text-xs text-zinc-500 underline-offset-2 hover:text-zinc-700 hover:underline"
            >
              Already subscribed? Continue
            </button>
          </form>
        ) : null}
        {enterprise ? (
          <div className="flex flex-col rounded-2xl bg-white p-6 shadow-sm ring-1 ring-zinc-200">
            <PlanSummary plan={enterprise} highlight="Set up for you" />
            {/* Roster is self-hosted: the operators of this server move an organization to Enterprise with their CLI. */}
            <p className="mt-5 text-sm text-zinc-600">
              Enterprise, with custom seats and unlimited storage, is set up for you by the team that runs Roster at your company:
              ask them to move your organization to Enterprise.
            </p>
          </div>
        ) : null}
      </div>
    </div>
  );
}

/** The plan step of someone who has paid: their subscription, and on to naming the organization. */
function SubscribedPlan({ subscription, onContinue }: { subscription: PersonalSubscription; onContinue: () => void }) {
  const article = subscription.plan === 'enterprise' ? 'an' : 'a';
  return (
    <div className="mx-auto max-w-md rounded-2xl bg-white p-6 shadow-sm ring-1 ring-zinc-200 sm:p-8">
      <h1 className="text-xl font-semibold tracking-tight text-zinc-900">Create your organization</h1>
      <p className="mt-3 text-sm text-zinc-900">
        You have {article} {planName(subscription.plan)} subscription for {plural(subscription.seats, 'seat')}.
      </p>
      <p className="mt-1.5 text-sm text-zinc-500">It moves to the organization you create next.</p>
      {subscription.status === 'past_due' ? (
        <Alert tone="warning" className="mt-4">
          Its last payment did not go through. You can update your payment method from your{' '}
          <Link to="/account" className="font-medium underline underline-offset-2">
            Account
          </Link>{' '}
          page.
        </Alert>
      ) : null}
      <Button className="mt-6 w-full" onClick={onContinue}>
        Continue
      </Button>
    </div>
  );
}

/** A plan's card; `seats`: the count chosen so far (the plan's default until one is chosen). */
function PlanSummary({ plan, highlight, seats = plan.default_seats }: { plan: Plan; highlight: string; seats?: number }) {
  const features = [
    `${plural(seats, 'seat')} to start`,
    plan.storage_bytes_per_seat === null ? 'Unlimited storage' : `${formatBytes(plan.storage_bytes_per_seat)} storage per seat`,
    'Roles, invitations and bulk invites',
    'Usage limits and audit log',
  ];
  return (
    <div>
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-lg font-semibold text-zinc-900">{plan.name}</h2>
        <span className="rounded-full bg-brand-50 px-2.5 py-0.5 text-xs font-medium text-brand-700">{highlight}</span>
      </div>
      <p className="mt-2">
        {plan.price_cents_per_seat === null ? (
          <span className="text-2xl font-semibold text-zinc-900">{formatPrice(null, plan.currency)}</span>
        ) : (
          <>
            <span className="text-3xl font-semibold tracking-tight text-zinc-900">
              {formatPrice(plan.price_cents_per_seat, plan.currency)}
            </span>
            <span className="text-sm text-zinc-500"> / seat / month</span>
          </>
        )}
      </p>
      <ul className="mt-4 space-y-2 text-sm text-zinc-700">
        {features.map((feature) => (
          <li key={feature} className="flex items-center gap-2">
            <Check className="size-4 text-brand-600" aria-hidden />
            {feature}
          </li>
        ))}
      </ul>
    </div>
  );
}

type DetailsField = 'name' | 'slug';

interface OrgDraft {
  name: string;
  slug: string;
  isSlugEdited: boolean;
}

function DetailsStep({
  draft,
  onDraftChange,
  isSubscribed,
  onSubscriptionRequired,
  onChoosePlan,
}: {
  draft: OrgDraft;
  onDraftChange: (draft: OrgDraft) => void;
  isSubscribed: boolean;
  onSubscriptionRequired: () => void;
  onChoosePlan: () => void;
}) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { name, slug, isSlugEdited } = draft;
  const [needsPlan, setNeedsPlan] = useState(false);
  const [hasTriedSubmit, setTriedSubmit] = useState(false);
  const [serverErrors, setServerErrors] = useState<Partial<Record<DetailsField | 'form', string>>>({});
  const liveSlugProblem = slug.length > 0 || hasTriedSubmit ? slugProblem(slug) : null;

  const createOrg = useMutation({
    mutationFn: api.createOrg,
    meta: { inlineErrors: true },
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      await queryClient.fetchQuery({ queryKey: queryKeys.me, queryFn: api.getMe });
      void navigate('/settings/members', { replace: true });
    },
    onError: (error) => {
      if (error instanceof ApiError) {
        if (error.code === 'subscription_required') {
          // Say why (402) and keep the form: the person chooses when to go to the plan step.
          setNeedsPlan(true);
          setServerErrors({ form: errorMessage(error) });
          onSubscriptionRequired();
          return;
        }
        if (error.code === 'slug_taken' || error.code === 'invalid_slug') {
          setServerErrors({ slug: error.message });
          return;
        }
        if (error.code === 'already_in_org') {
          void queryClient.invalidateQueries({ queryKey: queryKeys.me });
        }
      }
      setServerErrors({ form: errorMessage(error) });
    },
  });

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setTriedSubmit(true);
    setServerErrors({});
    setNeedsPlan(false);
    if (!name.trim()) {
      setServerErrors({ name: 'Enter your organization’s name.' });
      return;
    }
    if (slugProblem(slug)) return;
    createOrg.mutate({ name: name.trim(), slug });
  }

  return (
    <form
      onSubmit={onSubmit}
      noValidate
      className="mx-auto max-w-md rounded-2xl bg-white p-6 shadow-sm ring-1 ring-zinc-200 sm:p-8"
    >
      <h1 className="text-xl font-semibold tracking-tight text-zinc-900">Name your organization</h1>
      {/* A 402 subscription_required proves otherwise, whatever happened before. */}
      {isSubscribed && !needsPlan ? (
        <p className="mt-1.5 text-sm text-zinc-500">Your Team plan is active. You become the owner of the new organization.</p>
      ) : (
        <p className="mt-1.5 text-sm text-zinc-500">
          If you have subscribed to a plan, name your organization: you become its owner, and your subscription moves to it.{' '}
          <button type="button" onClick={onChoosePlan} className="font-medium text-brand-700 underline-offset-2 hover:underline">
            Not subscribed yet? Choose a plan
          </button>
        </p>
      )}
      <div className="mt-6 space-y-4">
        {serverErrors.form ? (
          <Alert
            tone="error"
            action={
              needsPlan ? (
                <Button variant="secondary" size="sm" onClick={onChoosePlan}>
                  Choose a plan
                </Button>
              ) : undefined
            }
          >
            {serverErrors.form}
          </Alert>
        ) : null}
        <TextField
          label="Organization name"
          value={name}
          onChange={(event) =>
            onDraftChange({
              ...draft,
              name: event.target.value,
              slug: isSlugEdited ? slug : suggestSlug(event.target.value),
            })
          }
          error={serverErrors.name}
          autoFocus
        />
        <TextField
          label="Slug"
          value={slug}
          onChange={(event) => {
            setServerErrors((current) => ({ ...current, slug: undefined }));
            onDraftChange({ ...draft, slug: event.target.value, isSlugEdited: true });
          }}
          error={serverErrors.slug ?? liveSlugProblem}
          hint="3 to 63 lowercase letters, digits and hyphens."
          autoCapitalize="none"
          spellCheck={false}
        />
      </div>
      <Button type="submit" className="mt-6 w-full" isLoading={createOrg.isPending}>
        Create organization
      </Button>
    </form>
  );
}
