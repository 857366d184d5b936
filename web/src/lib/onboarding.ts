// Onboarding answers are kept in this browser: the v1 API has no profile-update route yet.
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
