import { useOrgStorage } from '../api/queries';
import { errorMessage } from '../api/errors';
import { cn } from '../lib/cn';
import { formatBytes } from '../lib/format';

/** "1.2 GiB of 5.0 GiB used" and a bar, from GET /org/storage (any member); "Unlimited" when there is no limit. */
export function StorageBar({ className }: { className?: string }) {
  const storage = useOrgStorage();
  if (storage.isPending) {
    return <div className={cn('h-12 w-64 animate-pulse rounded-lg bg-zinc-100', className)} aria-label="Loading storage" />;
  }
  if (storage.isError) return <p className={cn('text-sm text-zinc-500', className)}>{errorMessage(storage.error)}</p>;
  const { storage_used_bytes: used, storage_limit_bytes: limit } = storage.data;
  const percent = limit ? Math.round(Math.min(1, used / limit) * 100) : 0;
  const isFull = limit !== null && used >= limit;
  return (
    <div className={cn('min-w-0', className)} data-testid="storage-bar">
      <p className="text-sm font-medium text-zinc-800">
        {limit === null ? `${formatBytes(used)} used · Unlimited` : `${formatBytes(used)} of ${formatBytes(limit)} used`}
      </p>
      {limit !== null ? (
        <div
          className="mt-2 h-2 w-full max-w-xs overflow-hidden rounded-full bg-zinc-200"
          role="progressbar"
          aria-label="Storage used"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
          aria-valuetext={`${formatBytes(used)} of ${formatBytes(limit)}`}
        >
          <div className={cn('h-full rounded-full', isFull ? 'bg-amber-500' : 'bg-brand-600')} style={{ width: `${percent}%` }} />
        </div>
      ) : null}
      {isFull ? (
        <p className="mt-1.5 text-xs text-amber-800">Storage is full: new uploads are refused until space is freed.</p>
      ) : null}
    </div>
  );
}
