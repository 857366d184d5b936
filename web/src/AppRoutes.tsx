import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from './components/AppShell';
import { RequireAuth, RequireOrg, HomeRedirect } from './components/guards';
import { LoginPage } from './pages/auth/LoginPage';
import { SignupPage } from './pages/auth/SignupPage';
import { InvitePage } from './pages/invite/InvitePage';
import { VerifyEmailPage } from './pages/verify-email/VerifyEmailPage';
import { ForgotPasswordPage } from './pages/password-reset/ForgotPasswordPage';
import { ResetPasswordPage } from './pages/password-reset/ResetPasswordPage';
import { OnboardingPage } from './pages/onboarding/OnboardingPage';
import { CreateOrgPage } from './pages/create-org/CreateOrgPage';
import { BillingReturnPage } from './pages/create-org/BillingReturnPage';
import { MembersPage } from './pages/members/MembersPage';
import { OrganizationPage } from './pages/organization/OrganizationPage';
import { BillingPage } from './pages/billing/BillingPage';
import { UsagePage } from './pages/usage/UsagePage';
import { AuditPage } from './pages/audit/AuditPage';
import { MailboxPage } from './pages/mailbox/MailboxPage';
import { ProjectsPage } from './pages/projects/ProjectsPage';
import { ProjectPage } from './pages/projects/ProjectPage';
import { AccountPage } from './pages/account/AccountPage';
import { NotFoundPage } from './pages/NotFoundPage';

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<HomeRedirect />} />
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route path="/invite/:token" element={<InvitePage />} />
      <Route path="/verify-email" element={<VerifyEmailPage />} />
      <Route path="/forgot-password" element={<ForgotPasswordPage />} />
      <Route path="/reset-password" element={<ResetPasswordPage />} />
      <Route path="/mailbox" element={<MailboxPage />} />
      <Route element={<RequireAuth />}>
        <Route path="/onboarding" element={<OnboardingPage />} />
        <Route path="/create-org" element={<CreateOrgPage />} />
        <Route path="/billing/success" element={<BillingReturnPage />} />
        <Route path="/billing/cancel" element={<BillingReturnPage canceled />} />
        {/* Outside RequireOrg: a user in no organization yet manages their account too. */}
        <Route element={<AppShell />}>
          <Route path="/account" element={<AccountPage />} />
        </Route>
        <Route element={<RequireOrg />}>
          <Route element={<AppShell />}>
            <Route path="/projects" element={<ProjectsPage />} />
            <Route path="/projects/:id" element={<ProjectPage />} />
            <Route path="/settings" element={<Navigate to="/settings/members" replace />} />
            <Route path="/settings/members" element={<MembersPage />} />
            <Route path="/settings/organization" element={<OrganizationPage />} />
            <Route path="/settings/billing" element={<BillingPage />} />
            <Route path="/settings/usage" element={<UsagePage />} />
            <Route path="/settings/audit" element={<AuditPage />} />
          </Route>
        </Route>
      </Route>
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
