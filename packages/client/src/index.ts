// @roster/client: the typed client of the Roster HTTP API. Server-side helpers live in the
// subpaths `@roster/client/fastify`, `@roster/client/express` and `@roster/client/webhooks`, so a
// browser bundle of this entry pulls in nothing but fetch.
export {
  buildPath,
  createRosterClient,
  type HttpMethod,
  type Operation,
  type PathsWith,
  type Reply,
  type RequestOptions,
  type RosterClient,
  type RosterClientOptions,
  type RosterCredentials,
} from './client.ts';
export { isRosterApiError, RosterApiError, type RosterApiErrorInit, type RosterErrorBody } from './errors.ts';
export type { components, operations, paths } from './schema.js';
