import type { FastifyInstance } from 'fastify';

export interface Caller {
  token: string;
}

export interface HttpReply<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
  cookies: { name: string; value: string }[];
}

export interface RequestOptions {
  as?: Caller | null;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export type Http = ReturnType<typeof createHttp>;

/** `http.post('/api/v1/org', { as: owner, body })`: bearer auth, JSON bodies, parsed replies. */
export function createHttp(app: FastifyInstance) {
  async function request(method: string, url: string, options: RequestOptions = {}): Promise<HttpReply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.as) headers.authorization = `Bearer ${options.as.token}`;
    let payload: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers,
      payload,
      query: options.query,
    });
    const type = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      body: type.includes('application/json') && response.body ? response.json() : response.body,
      headers: response.headers as HttpReply['headers'],
      cookies: response.cookies.map((cookie) => ({ name: cookie.name, value: cookie.value })),
    };
  }
  return {
    request,
    get: (url: string, options?: RequestOptions) => request('GET', url, options),
    post: (url: string, options?: RequestOptions) => request('POST', url, options),
    put: (url: string, options?: RequestOptions) => request('PUT', url, options),
    patch: (url: string, options?: RequestOptions) => request('PATCH', url, options),
    delete: (url: string, options?: RequestOptions) => request('DELETE', url, options),
  };
}
