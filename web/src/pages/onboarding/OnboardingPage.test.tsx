import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes, useLocation } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../../test/render';
import { OnboardingPage, stepFromParam } from './OnboardingPage';

function WhereAmI() {
  const location = useLocation();
  return <p data-testid="location">{`${location.pathname}${location.search}`}</p>;
}

function renderOnboarding(route: string) {
  mockFetch((request) =>
    request.url === '/api/v1/me'
      ? { status: 200, body: { user: { id: 'u-1', email: 'ann@example.com', name: 'Ann', email_verified: true }, org: null } }
      : { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } },
  );
  return renderWithProviders(
    <Routes>
      <Route
        path="/onboarding"
        element={
          <>
            <OnboardingPage />
            <WhereAmI />
          </>
        }
      />
      <Route path="*" element={<WhereAmI />} />
    </Routes>,
    { route },
  );
}

describe('OnboardingPage', () => {
  it('regression: keeps the step in the URL (with `next`), so a reload stays on it', async () => {
    const user = userEvent.setup();
    renderOnboarding('/onboarding?next=%2Fprojects');
    expect(await screen.findByRole('heading', { name: 'Welcome! What should we call you?' })).toBeInTheDocument();
    await user.type(screen.getByLabelText('Your name'), 'Ann');
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    expect(await screen.findByRole('group', { name: 'What do you work on?' })).toBeInTheDocument();
    expect(screen.getByTestId('location')).toHaveTextContent('/onboarding?next=%2Fprojects&step=2');
    await user.click(screen.getByRole('button', { name: 'Back' }));
    expect(screen.getByTestId('location')).toHaveTextContent('/onboarding?next=%2Fprojects&step=1');
  });

  it('opens on the step the URL names, and still follows `next` when finished', async () => {
    const user = userEvent.setup();
    renderOnboarding('/onboarding?step=3&next=%2Fprojects');
    expect(await screen.findByRole('heading', { name: 'A quick tour of Roster' })).toBeInTheDocument();
    expect(screen.getByText('Step 3 of 3')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Finish' }));
    expect(await screen.findByTestId('location')).toHaveTextContent(/^\/projects$/);
  });

  it('reads a missing or unknown step as the first', () => {
    expect(stepFromParam(null)).toBe(0);
    expect(stepFromParam('2')).toBe(1);
    expect(stepFromParam('9')).toBe(0);
    expect(stepFromParam('1.5')).toBe(0);
  });
});
