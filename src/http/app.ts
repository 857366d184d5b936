import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.ts';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { authenticatorOf } from '../auth/authenticate.ts';
import { drainUsage } from '../usage/batch.ts';
import { auditRoutes } from '../audit/routes.ts';
import { authRoutes } from '../auth/routes.ts';
import { createBillingProvider } from '../billing/select-provider.ts';
import type { BillingProvider } from '../billing/provider.ts';
import { billingRoutes } from '../billing/routes.ts';
import type { Config } from '../config.ts';
import { systemClock, type Clock, type Ctx } from '../core/context.ts';
import { AppError, isDatabaseUnavailable } from '../core/errors.ts';
import { redactSecrets } from '../core/tokens.ts';
import { serializeError, serializeRequest } from '../core/logging.ts';
import type { Database } from '../db/client.ts';
import { memberRoutes } from '../members/routes.ts';
import { inviteRoutes } from '../invites/routes.ts';
import { mailboxRoutes } from '../mail/routes.ts';
import { orgRoutes } from '../orgs/routes.ts';
import { projectRoutes } from '../projects/routes.ts';
import { usageRoutes } from '../usage/routes.ts';
import { webhookRoutes } from '../webhooks/routes.ts';
import { healthRoutes } from './health.ts';
import { clientErrorReply, noBodyExpected, nulInUrl, unstorableStringIn } from './request-checks.ts';
import { isApiRoute, registerSecurityHooks } from './security.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { registerServiceScopes } from './service-scopes.ts';
import { authzRoutes } from '../authz/routes.ts';
import { errorBody, statusForCode, type ErrorCode } from './errors.ts';
import { createMetrics, errorReplies, registerMetrics, type Metrics } from './metrics.ts';

export type App = FastifyInstance;
export type RouteApp = ReturnType<FastifyInstance['withTypeProvider']> & FastifyInstance;

declare module 'fastify' {
  interface FastifyRequest {
    ctx: Ctx;
  }
}

export interface AppOptions {
  config: Config;
  database: Database;
  clock?: Clock;
  billing?: BillingProvider;
  /** pino options, or false for no logs (tests). */
  logger?: boolean | Record<string, unknown>;
  /** With METRICS_TOKEN set: the metrics to serve at /metrics (created here when not given). */
  metrics?: Metrics;
  /** Registers extra routes (the benchmark's baseline routes). */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** The built dashboard's directory (tests); `web/dist` of the package otherwise. */
  webDist?: string;
}

const WEB_DIST = join(PACKAGE_ROOT, 'web', 'dist');
const REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, database } = options;
  const webDist = options.webDist ?? WEB_DIST;
  const clock = options.clock ?? systemClock;
  const billing = options.billing ?? createBillingProvider(config);
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: config.logLevel,
            redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
            // Secrets can travel in paths (invitation links) and in a failed statement's parameters:
            // never let one reach a log line.
            serializers: { req: serializeRequest, err: serializeError },
            ...(typeof options.logger === 'object' ? options.logger : {}),
          },
    bodyLimit: 512 * 1024,
    trustProxy: config.trustProxy,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    // On shutdown, a request that arrives on a connection the server already holds (keep-alive,
    // pipelined) is served like the ones in flight, with `Connection: close`. Fastify's default
    // answers it 503 with a body outside the API's error shape, and a client cannot tell whether
    // such a POST was applied.
    return503OnClosing: false,
    // Errors raised before routing keep the API's error shape: a path that is not valid
    // percent-encoding, and what node's HTTP parser refuses (headers too large, a timeout).
    frameworkErrors: (_error, _request, reply: FastifyReply) => {
      const body = { error: { code: 'invalid_request', message: 'The URL is not valid: check its percent-encoding.' } };
      void reply.code(400).type('application/json').send(JSON.stringify(body));
    },
    clientErrorHandler: (error, socket) => {
      if ((error as { code?: string }).code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorReply(error));
      socket.destroy(error);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // An empty body with a JSON content type (a bodiless POST from the dashboard) is "no body".
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  // JSON only: every other content type answers 415 before any handler runs.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') done(null, undefined);
    // Only a \u escape can put U+0000 or a lone surrogate into parsed JSON (raw bytes that are not
    // UTF-8 decode to U+FFFD), so bodies without one are not walked.
    else if (!text.includes('\\u')) void defaultJsonParser(request, text, done);
    else {
      void defaultJsonParser(request, text, (error, value) => {
        if (error) done(error, undefined);
        else {
          const unstorable = unstorableStringIn(value);
          if (unstorable) done(unstorable, undefined);
          else done(null, value);
        }
      });
    }
  });
  // Routes that take no body refuse one with fields, as routes with a body refuse unknown fields:
  // a client that sends `{"role":"admin"}` to accept an invitation must learn that it is ignored.
  // (Callback hooks, not async ones: these run on every request, the hot usage route included.)
  app.addHook('preValidation', (request, _reply, done) => {
    const body: unknown = request.body;
    const isAllowed =
      body === undefined ||
      request.is404 ||
      request.routeOptions.schema?.body !== undefined ||
      Buffer.isBuffer(body) ||
      (body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
    done(isAllowed ? undefined : noBodyExpected(body));
  });

  app.addHook('onRequest', (request, _reply, done) => {
    done((isApiRoute(request) ? nulInUrl(request.url) : null) ?? undefined);
  });
  await registerSecurityHeaders(app, { publicUrl: config.publicUrl });
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Roster API',
        version: '1.0.0',
        description:
          'Organizations, members, roles, invitations, seats, usage limits and audit log. ' +
          'Errors are `{"error":{"code","message","details?"}}`; codes are stable.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Session token or API token' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'roster_session' },
          service_token: {
            type: 'http',
            scheme: 'bearer',
            description: "The host app's service token (rs_svc_…): only on routes that name one of its scopes",
          },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: optionalNullableBodies,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  app.decorateRequest('ctx', null as unknown as Ctx);
  registerSecurityHooks(app, { config, clock, billing, database, authenticate: authenticatorOf(database.db) });
  // Usage requests still queued for a group commit get it before whoever closed the app closes the database.
  app.addHook('onClose', async () => drainUsage(database.db));
  registerServiceScopes(app);

  // A callback hook, not an async one: it runs on every reply, the hot usage route's included.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // Every error reply names its request id (details.request_id), as the header does: the id
    // that support finds in the log lines (reqId) of that request.
    if (reply.statusCode >= 400 && typeof payload === 'string' && payload.startsWith('{"error"')) {
      done(null, withRequestId(request, payload));
    } else done(null, payload);
  });
  if (config.metricsToken) {
    registerMetrics(app, options.metrics ?? createMetrics({ database }), config.metricsToken);
  } else {
    // Without METRICS_TOKEN there are no metrics: 404, not the dashboard's page for unknown paths.
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.status(404).send({ error: { code: 'not_found', message: 'No route GET /metrics.' } }),
    );
  }

  app.setErrorHandler((error, request, reply) => {
    const body = toErrorBody(error, request.id);
    if (body.error.code === 'database_unavailable') request.log.warn({ err: error }, 'database unavailable');
    else if (body.status >= 500) request.log.error({ err: error }, 'request failed');
    const retryAfter = body.error.details?.retry_after_seconds;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return reply.status(body.status).send({ error: body.error });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const wantsPage = request.method === 'GET' && !path.startsWith('/api') && existsSync(join(webDist, 'index.html'));
    if (wantsPage) return reply.type('text/html').sendFile('index.html');
    return reply
      .status(statusForCode('not_found'))
      .send({ error: { code: 'not_found', message: `No route ${request.method} ${redactSecrets(path)}.` } });
  });

  // Every API route may fail unexpectedly (500) or lose its database (503), and may refuse with
  // 403: a service token whose scopes do not name the route (service-scopes.ts), and on writes a
  // failed CSRF check. A route that reads a body refuses one over the size limit (413) or of another
  // content type than JSON (415). Declared once here so the OpenAPI names them and the replies are
  // validated like any other (regression: verify-email, password-reset and public reads did not
  // list 403; no route listed 413 or 415).
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/') || !route.schema?.response) return;
    const readsBody = [route.method].flat().some((method) => method !== 'GET' && method !== 'HEAD');
    route.schema.response = {
      403: errorBody,
      500: errorBody,
      503: errorBody,
      ...(readsBody ? { 413: errorBody, 415: errorBody } : {}),
      ...(route.schema.response as object),
    };
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();
  await routes.register(healthRoutes, { database });
  await routes.register(authRoutes, { prefix: '/api/v1' });
  await routes.register(orgRoutes, { prefix: '/api/v1' });
  await routes.register(billingRoutes, { prefix: '/api/v1' });
  await routes.register(memberRoutes, { prefix: '/api/v1' });
  await routes.register(usageRoutes, { prefix: '/api/v1' });
  await routes.register(auditRoutes, { prefix: '/api/v1' });
  await routes.register(inviteRoutes, { prefix: '/api/v1' });
  await routes.register(projectRoutes, { prefix: '/api/v1' });
  await routes.register(authzRoutes, { prefix: '/api/v1' });
  await routes.register(webhookRoutes, { prefix: '/api/v1' });
  // Development only: with no SMTP server configured, mail is kept here instead of delivered.
  if (!config.smtpUrl && !config.isProduction) await routes.register(mailboxRoutes, { prefix: '/api/dev' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (options.extraRoutes) await options.extraRoutes(app);

  // Registered whether or not the dashboard is built yet: a dashboard built after the server started
  // (`start --no-build`, then a build) is served at once, and a missing file falls through to the
  // not-found handler above. (Registered only when web/dist existed at start, the handler's
  // sendFile was missing and every page answered 500.)
  await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: true, index: ['index.html'], suppressWarning: true });
  return app;
}

/**
 * @fastify/swagger marks every declared body required; a route whose body schema also accepts null
 * (`.nullish()`: `POST /webhooks/{id}/rotate-secret`) takes no body as well, and says so here.
 */
function optionalNullableBodies(documentObject: { openapiObject?: unknown; swaggerObject?: unknown }) {
  const document = (documentObject.openapiObject ?? documentObject.swaggerObject) as {
    paths?: Record<
      string,
      Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> } }>
    >;
  };
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const schema = operation.requestBody?.content?.['application/json']?.schema as { anyOf?: { type?: unknown }[] } | undefined;
      if (operation.requestBody && schema?.anyOf?.some((option) => option.type === 'null'))
        operation.requestBody.required = false;
    }
  }
  return document;
}

function toErrorBody(
  error: unknown,
  requestId: string,
): { status: number; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
  if (error instanceof AppError) {
    return { status: statusForCode(error.code), error: { code: error.code, message: error.message, details: error.details } };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => ({
      path: issue.instancePath || '/',
      message: issue.message ?? 'invalid',
      location: error.validationContext ?? 'body',
    }));
    const first = issues[0];
    return {
      status: statusForCode('invalid_request'),
      error: {
        code: 'invalid_request',
        message: first ? `Invalid ${first.location} at ${first.path}: ${first.message}` : 'The request is not valid.',
        details: { issues },
      },
    };
  }
  if (!isResponseSerializationError(error) && error && typeof error === 'object' && 'statusCode' in error) {
    const statusCode = Number(error.statusCode);
    const code = String((error as { code?: unknown }).code ?? '');
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return {
        status: statusForCode('payload_too_large'),
        error: { code: 'payload_too_large', message: 'The request body is too large.' },
      };
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return {
        status: statusForCode('unsupported_media_type'),
        error: { code: 'unsupported_media_type', message: 'Send the body as application/json.' },
      };
    }
    if (statusCode >= 400 && statusCode < 500) {
      return {
        status: statusForCode('invalid_request'),
        error: { code: 'invalid_request', message: 'The request is not valid: check its body and parameters.' },
      };
    }
  }
  if (isDatabaseUnavailable(error)) {
    return {
      status: statusForCode('database_unavailable'),
      error: {
        code: 'database_unavailable',
        message: 'The database could not be reached while handling this request. Try again in a moment.',
        details: { request_id: requestId, retry_after_seconds: 1 },
      },
    };
  }
  return {
    status: statusForCode('internal'),
    error: {
      code: 'internal',
      message: `Something went wrong on our side. Quote request id ${requestId} when you contact support.`,
      details: { request_id: requestId },
    },
  };
}

function withRequestId(request: FastifyRequest, payload: string): string {
  try {
    const body = JSON.parse(payload) as { error?: { code: string; details?: Record<string, unknown> } };
    if (!body.error || typeof body.error !== 'object') return payload;
    errorReplies.set(request, body.error);
    if (body.error.details?.request_id === request.id) return payload;
    body.error.details = { ...body.error.details, request_id: request.id };
    return JSON.stringify(body);
  } catch {
    return payload;
  }
}
