import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { linksIn, mailboxMessages } from './mailbox.ts';
import { outboxKey } from './sealing.ts';

const messageSchema = z.object({
  id: z.string(),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  created_at: z.string(),
  status: z.enum(['pending', 'sent', 'failed']),
  links: z.array(z.string()).describe('Links found in the text part'),
});

/**
 * `GET /api/dev/mailbox`: the local development mailbox. Registered only when no SMTP server is
 * configured and NODE_ENV is not production, because it shows every email, links included.
 */
export const mailboxRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/mailbox',
    {
      schema: {
        tags: ['development'],
        summary: 'Development only (no SMTP_URL, NODE_ENV not production): the emails Roster would have sent, newest first',
        security: [],
        querystring: z.strictObject({
          to: z.string().max(320).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ messages: z.array(messageSchema) }), ...errorReplies(400) },
      },
    },
    async (request) => {
      const key = await outboxKey(request.ctx.config, request.ctx.db);
      const messages = await mailboxMessages(request.ctx.db, key, { to: request.query.to, limit: request.query.limit });
      return {
        messages: messages.map((message) => ({
          id: message.id,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          created_at: message.createdAt.toISOString(),
          status: message.status,
          links: linksIn(message.text),
        })),
      };
    },
  );
};
