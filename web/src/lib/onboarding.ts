// Onboarding answers are also kept in this browser: the name is saved to the account with
// PATCH /api/v1/me, the job role has no API field and stays here.
export interface OnboardingProfile {
  name: string;
  jobRole: string;
  completedAt: string | null;
}

const keyFor = (userId: string) => `roster.onboarding.${userId}`;

export function readOnboarding(userId: string): OnboardingProfile | null {
  try {
    const raw = window.localStorage.getItem(keyFor(userId));
    return raw ? (JSON.parse(raw) as OnboardingProfile) : null;
  } catch {
    return null;
  }
}

export function saveOnboarding(userId: string, profile: OnboardingProfile): void {
  try {
    window.localStorage.setItem(keyFor(userId), JSON.stringify(profile));
  } catch {
    // Private browsing may refuse storage; onboarding is optional, so carry on.
  }
}
