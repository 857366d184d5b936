// Express adapter: `authenticate` as middleware sets `req.roster` or answers Roster's 401/403;
// `recordUsage` records the member's usage and answers Roster's 429 (with Retry-After) itself.
// Anything else is thrown (passed to `next`) as a RosterMiddlewareError that Express's default
// handler answers with its status (503 while Roster is unavailable, 500 for a host misconfiguration)
// and headers.
import type { NextFunction, Request, Response } from 'express';
import {
  createRosterCore,
  type AccessDecision,
  type CheckAction,
  type Refusal,
  type RosterMember,
  type RosterMiddlewareOptions,
  type UsageInput,
  type UsageReceipt,
} from './middleware.ts';

export type {
  AccessDecision,
  CheckAction,
  RosterMember,
  RosterMiddlewareOptions,
  UsageInput,
  UsageReceipt,
} from './middleware.ts';
export { RosterMiddlewareError } from './middleware-errors.ts';
export { isRosterCsrfToken, ROSTER_SESSION_COOKIE } from './csrf.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types requests through this global namespace
  namespace Express {
    interface Request {
      /** The Roster member behind this request, set by `roster.authenticate`; `null` for a user in no org let through by `allowNoOrg`. */
      roster?: RosterMember | null;
    }
  }
}

export type UsageResult = { ok: true; receipt: UsageReceipt } | { ok: false };

export interface RosterExpress {
  /** Middleware: `req.roster` for a member, else the response is Roster's 401/403. */
  authenticate(req: Request, res: Response, next: NextFunction): void;
  /**
   * Records usage for `req.roster`. `{ ok: false }` means a refusal (429 past a limit, with
   * Retry-After and Roster's error body; 403 `not_a_member` for a user in no org) has been sent:
   * stop handling the request.
   */
  recordUsage(req: Request, res: Response, input: UsageInput): Promise<UsageResult>;
  /**
   * May the member take `action` now? Asks Roster's policy (`GET /authz/check`; needs the service
   * token with `authz:read`): `{allowed, role, org_id, reason}`, `reason` a stable code when refused.
   */
  check(req: Request, action: CheckAction, options?: { projectId?: string }): Promise<AccessDecision>;
  client: ReturnType<typeof createRosterCore>['client'];
}

export function createRosterExpress(options: RosterMiddlewareOptions<Request>): RosterExpress {
  const core = createRosterCore(options);
  return {
    client: core.client,
    check(req, action, options) {
      if (req.roster === undefined) throw new Error('check needs req.roster: use roster.authenticate first');
      return core.check(req.roster, action, options);
    },
    authenticate(req, res, next) {
      core.authenticate(req, req.headers).then((outcome) => {
        if (!outcome.ok) return send(res, outcome.refusal);
        req.roster = outcome.value;
        next();
      }, next);
    },
    async recordUsage(req, res, input) {
      if (req.roster === undefined) throw new Error('recordUsage needs req.roster: use roster.authenticate before the route');
      const outcome = await core.recordUsage(req.roster, req.headers, input);
      if (outcome.ok) return { ok: true, receipt: outcome.value };
      send(res, outcome.refusal);
      return { ok: false };
    },
  };
}

function send(res: Response, refusal: Refusal): void {
  res.status(refusal.status).set(refusal.headers).json(refusal.body);
}
