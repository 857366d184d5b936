import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decide, PERMISSIONS, SERVICE_ACTION_SCOPES, serviceOnly, type Action } from '../auth/permissions.ts';
import { AppError } from '../core/errors.ts';
import { isApiRoute } from './security.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The policy action a service token performs on this route; its scope (SERVICE_ACTION_SCOPES)
     * is what the token needs. A route without one refuses every service token (403) before it
     * parses anything, so no route serves a service token by accident.
     */
    serviceAction?: Action;
  }
}

/** One route of the API as the service-token rule sees it (the scope matrix test reads these). */
export interface ApiRoute {
  method: string;
  url: string;
  serviceAction: Action | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every /api route registered, with the action a service token performs on it. */
    apiRoutes: ApiRoute[];
  }
}

/**
 * A service token is refused on every /api route whose `serviceAction` its scopes do not allow,
 * decided by the one policy (`decide`) right after authentication, before the body is read. The
 * route's handler asks the policy again for the action it performs. The OpenAPI names the scope.
 * Register before the routes (an onRoute hook sees only routes added after it).
 */
export function registerServiceScopes(app: FastifyInstance): void {
  const routes: ApiRoute[] = [];
  app.decorate('apiRoutes', routes);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const serviceAction = route.config?.serviceAction;
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, serviceAction });
    const scope = serviceAction ? SERVICE_ACTION_SCOPES[serviceAction] : undefined;
    if (scope && serviceAction && route.schema && !route.schema.hide && !route.schema.security) {
      // An action no role may take (webhooks, setting the storage total) takes only the service token
      // (regression: the OpenAPI offered members' sessions there too).
      const serviceOnly = PERMISSIONS[serviceAction].length === 0;
      route.schema.security = serviceOnly
        ? [{ service_token: [scope] }]
        : [{ bearer: [] }, { cookie: [] }, { service_token: [scope] }];
    }
  });
  // A callback hook, not an async one: it runs on every request, the hot usage route included.
  app.addHook('onRequest', (request, _reply, done) => {
    done(serviceScopeRefusal(request));
  });
}

/** The refusal of a caller that this route's service scope rules out, if any (see registerServiceScopes). */
function serviceScopeRefusal(request: FastifyRequest): AppError | undefined {
  const caller = request.ctx?.actor;
  // An unknown path keeps its 404.
  if (!caller || !isApiRoute(request) || request.is404) return undefined;
  const action = request.routeOptions.config?.serviceAction;
  if (caller.via !== 'service_token') {
    // A route only service tokens may use refuses a signed-in user before it reads the body too
    // (regression: a member's incomplete PUT /org/storage answered 400, not 403).
    const refusal = action ? serviceOnly(action) : undefined;
    return refusal && !refusal.allowed ? new AppError(refusal.code, refusal.message) : undefined;
  }
  if (!action) return new AppError('forbidden', 'Service tokens are not accepted on this route: no scope allows it.');
  const decision = decide({ scopes: caller.scopes }, action);
  return decision.allowed ? undefined : new AppError(decision.code, decision.message);
}
