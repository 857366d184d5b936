// Fastify adapter: `authenticate` as a preHandler sets `request.roster` or answers Roster's 401/403;
// `recordUsage` records the member's usage and answers Roster's 429 (with Retry-After) itself.
// Anything else is thrown as a RosterMiddlewareError that Fastify's default error handler answers
// with its statusCode (503 while Roster is unavailable, 500 for a host misconfiguration) and headers.
import type { FastifyReply, FastifyRequest } from 'fastify';
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

declare module 'fastify' {
  interface FastifyRequest {
    /** The Roster member behind this request, set by `roster.authenticate`; `null` for a user in no org let through by `allowNoOrg`. */
    roster?: RosterMember | null;
  }
}

export type UsageResult = { ok: true; receipt: UsageReceipt } | { ok: false };

export interface RosterFastify {
  /** preHandler: `request.roster` for a member, else the reply is Roster's 401/403. */
  authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  /**
   * Records usage for `request.roster`. `{ ok: false }` means a refusal (429 past a limit, with
   * Retry-After and Roster's error body; 403 `not_a_member` for a user in no org) has been sent:
   * return the reply from the handler.
   */
  recordUsage(request: FastifyRequest, reply: FastifyReply, input: UsageInput): Promise<UsageResult>;
  /**
   * May the member take `action` now? Asks Roster's policy (`GET /authz/check`; needs the service
   * token with `authz:read`): `{allowed, role, org_id, reason}`, `reason` a stable code when refused.
   */
  check(request: FastifyRequest, action: CheckAction, options?: { projectId?: string }): Promise<AccessDecision>;
  client: ReturnType<typeof createRosterCore>['client'];
}

export function createRosterFastify(options: RosterMiddlewareOptions<FastifyRequest>): RosterFastify {
  const core = createRosterCore(options);
  return {
    client: core.client,
    check(request, action, options) {
      if (request.roster === undefined) throw new Error('check needs request.roster: use roster.authenticate first');
      return core.check(request.roster, action, options);
    },
    async authenticate(request, reply) {
      const outcome = await core.authenticate(request, request.headers);
      if (outcome.ok) {
        request.roster = outcome.value;
        return undefined;
      }
      // An async hook that has replied returns the reply, so Fastify runs no handler after it.
      return send(reply, outcome.refusal);
    },
    async recordUsage(request, reply, input) {
      if (request.roster === undefined) {
        throw new Error('recordUsage needs request.roster: add roster.authenticate as the route preHandler');
      }
      const outcome = await core.recordUsage(request.roster, request.headers, input);
      if (outcome.ok) return { ok: true, receipt: outcome.value };
      send(reply, outcome.refusal);
      return { ok: false };
    },
  };
}

function send(reply: FastifyReply, refusal: Refusal): FastifyReply {
  return reply.status(refusal.status).headers(refusal.headers).send(refusal.body);
}
