import { Link } from 'react-router';
import { AuthLayout } from './auth/AuthLayout';

export function NotFoundPage() {
  return (
    <AuthLayout title="Page not found" subtitle="The page you are looking for does not exist or has moved.">
      <Link to="/" className="text-sm font-medium text-brand-700 hover:underline">
        Go to the dashboard
      </Link>
    </AuthLayout>
  );
}
