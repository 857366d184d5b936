import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorReplies } from '../http/errors.ts';
import { presentAuditEntry } from './present.ts';
import { auditQuery, auditReply } from './schema.ts';
import { listAudit } from './service.ts';

/** Read-only: no route changes or deletes audit entries (the table refuses it too). */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/org/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log of your organization, newest first, filterable by action, actor and target',
        querystring: auditQuery,
        response: { 200: auditReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const query = request.query;
      const page = await listAudit(request.ctx, {
        limit: query.limit,
        cursor: query.cursor ?? null,
        action: query.action ?? null,
        actor: query.actor ?? null,
        targetType: query.target_type ?? null,
        targetId: query.target_id ?? null,
      });
      return { entries: page.entries.map(presentAuditEntry), next_cursor: page.nextCursor };
    },
  );
};
