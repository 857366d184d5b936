// Request and reply shapes of the Projects routes, as aliases of the types generated from the
// server's OpenAPI (@roster/client's schema.d.ts, `npm run gen:api`), like every other shape in types.ts.
// Field names are the contract's snake_case on purpose: these objects are the wire format.
import type { QueryOf, Reply, RequestBody } from './types';

/** `GET /api/v1/org/projects/{id}` */
export type ProjectDetails = Reply<'/api/v1/org/projects/{id}', 'get'>;
export type Project = ProjectDetails['project'];
export type ProjectMember = ProjectDetails['members'][number];
/** The caller's access to a project, as the server computes it. */
export type ProjectAccess = Project['my_access'];
/** What the caller may do on a project now; the dashboard shows controls only from this list. */
export type ProjectPermission = Project['permissions'][number];
/** A JSON object of at most 64 KiB that Roster stores for the host app. */
export type ProjectSettings = Project['settings'];
export type ProjectsPage = Reply<'/api/v1/org/projects', 'get'>;
export type ProjectsQuery = QueryOf<'/api/v1/org/projects', 'get'>;
export type CreateProjectInput = RequestBody<'/api/v1/org/projects', 'post'>;
export type UpdateProjectInput = RequestBody<'/api/v1/org/projects/{id}', 'patch'>;
