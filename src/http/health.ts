import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../db/client.ts';
import { isReady } from '../db/health.ts';
import { errorReplies, statusForCode } from './errors.ts';

export const healthRoutes: FastifyPluginAsyncZod<{ database: Database }> = async (app, { database }) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'The process is up', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'The database is reachable and every migration is applied',
        response: { 200: z.object({ status: z.literal('ready') }), ...errorReplies(503) },
      },
    },
    async (_request, reply) => {
      if (await isReady(database.db)) return { status: 'ready' as const };
      return reply
        .status(statusForCode('not_ready'))
        .send({ error: { code: 'not_ready', message: 'The database is unreachable or not migrated.' } });
    },
  );
};
