import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Security headers on every reply (helmet): a Content-Security-Policy that the built
 * dashboard satisfies (scripts and styles from our own origin only, no inline script), no framing
 * by any site (clickjacking of "Disable user" or "Transfer ownership"), no Referer at all (the
 * invitation page's URL carries its token), and HSTS only when PUBLIC_URL is https (on plain
 * http it would lock a development host out of itself). The API explorer at /api/docs loads its
 * scripts from files (its bundle ships no inline script), so the same policy covers it.
 *
 * The headers depend on nothing in the request (no nonces), so helmet computes them once at
 * start-up; @fastify/helmet rebuilt helmet, parsing the policy, on every request.
 */
export async function registerSecurityHeaders(app: FastifyInstance, options: { publicUrl: string }): Promise<void> {
  const headers = securityHeaders(options.publicUrl);
  // A callback hook, not an async one: it runs on every request, the hot usage route included.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}

/** The headers helmet sets for this configuration, captured once on a response that is never sent. */
export function securityHeaders(publicUrl: string): Record<string, string> {
  const request = new IncomingMessage(new Socket());
  const response = new ServerResponse(request);
  helmet(helmetOptions(publicUrl))(request, response, (error?: unknown) => {
    if (error) throw error;
  });
  return Object.fromEntries(
    Object.entries(response.getHeaders()).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]),
  );
}

function helmetOptions(publicUrl: string): HelmetOptions {
  const isHttps = new URL(publicUrl).protocol === 'https:';
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        // Toast and dialog libraries inject <style> elements and style attributes; styles cannot run code.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(isHttps ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: isHttps ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  };
}
