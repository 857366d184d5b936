// An example host app: a product backend that uses Roster for its members. It has one protected
// route that records usage (429 past the member's limit) and one webhook receiver. This is the
// whole integration; see README.md beside this file to run it.
import Fastify, { type FastifyInstance } from 'fastify';
import { createRosterFastify } from '@roster/client/fastify';
import { verifyWebhook, type RosterWebhookEvent } from '@roster/client/webhooks';

export interface HostAppOptions {
  /** Where Roster answers, e.g. http://127.0.0.1:3000 */
  rosterUrl: string;
  /** A service token with usage:write: usage is recorded on behalf of the member. Without it, with the member's own token. */
  serviceToken?: string;
  /** The endpoint's signing secret (`whsec_…`), shown once when the endpoint was registered. */
  webhookSecret: () => string | undefined;
  /** Called once per verified event (deduplicated on its id). */
  onEvent?: (event: RosterWebhookEvent) => void;
  logLevel?: string;
}

export async function buildHostApp(options: HostAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: options.logLevel ?? 'info' } });
  const roster = createRosterFastify({ baseUrl: options.rosterUrl, serviceToken: options.serviceToken });

  // Members call with their Roster session cookie or token; request.roster says who they are.
  app.post('/reports', { preHandler: roster.authenticate }, async (request, reply) => {
    const usage = await roster.recordUsage(request, reply, { activity: 'report.generate', quantity: 1 });
    if (!usage.ok) return reply; // 429 with Retry-After (or 401/403), already sent
    const member = request.roster!;
    return { report: `Report for ${member.org.name}`, role: member.role, used_today: usage.receipt.day.used };
  });

  // Webhooks are verified over the raw body, so this scope keeps JSON bodies as text.
  const seen = new Set<string>(); // a real app keeps delivered ids in its database
  await app.register(async (receiver) => {
    receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    receiver.post('/webhooks/roster', async (request, reply) => {
      const secret = options.webhookSecret();
      if (!secret) return reply.status(503).send({ error: 'webhook secret not configured' });
      let event: RosterWebhookEvent;
      try {
        event = verifyWebhook(secret, request.headers, request.body as string);
      } catch {
        return reply.status(400).send({ error: 'invalid signature' });
      }
      if (seen.has(event.id)) return reply.status(204).send(); // a retry of a delivered event
      seen.add(event.id);
      if (event.type === 'member.disabled') request.log.info({ org: event.org_id, data: event.data }, 'member disabled');
      options.onEvent?.(event);
      return reply.status(204).send();
    });
  });
  return app;
}
