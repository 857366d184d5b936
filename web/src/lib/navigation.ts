/** Only same-origin paths are followed after login, signup or acceptance (no open redirects). */
export function safeNextPath(value: string | null | undefined, fallback = '/'): string {
  if (!value) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  return value;
}

/** A checkout URL from the billing provider: in-app path when same-origin, else external. */
export function sameOriginPath(url: string): string | null {
  try {
    const parsed = new URL(url, window.location.origin);
    if (parsed.origin !== window.location.origin) return null;
    return `${parsed.pathname}${parsed.search}${parsed.hash}`;
  } catch {
    return null;
  }
}

/** True for the dashboard's own checkout-success page (local billing provider). */
export function isCheckoutSuccess(url: string): boolean {
  try {
    return new URL(url, window.location.origin).pathname === '/billing/success';
  } catch {
    return false;
  }
}

/**
 * True for the dashboard's own billing page: the local billing provider (development, demos) has
 * no payment portal and answers a portal request with it (built from PUBLIC_URL, which may name
 * this host differently or add a path before it, so neither the origin nor a prefix is compared).
 */
export function isLocalBillingPortal(url: string): boolean {
  try {
    return /\/settings\/billing\/*$/.test(new URL(url, window.location.origin).pathname);
  } catch {
    return false;
  }
}
