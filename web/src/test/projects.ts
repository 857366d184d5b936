// Fixtures for the Projects component tests: a fake server behind the mocked fetch.
import type { Project, ProjectMember, ProjectPermission } from '../api/projects';
import { mockFetch, type RecordedRequest } from './render';

export const ME_ID = 'u-me';

export function aProject(overrides: Partial<Project> = {}): Project {
  return {
    id: 'p-1',
    name: 'Apollo',
    description: 'Moon landing',
    settings: { theme: 'dark', limits: { seats: 3 } },
    created_at: '2025-01-02T03:04:05.000Z',
    updated_at: '2025-01-02T03:04:05.000Z',
    my_access: 'editor',
    permissions: ['edit_project', 'manage_project_members', 'delete_project', 'leave_project'],
    ...overrides,
  };
}

export const viewerPermissions: ProjectPermission[] = ['leave_project'];

export const projectMembers: ProjectMember[] = [
  { user_id: ME_ID, email: 'me@example.com', display_name: 'Meg Me', editor: true, added_at: '2025-01-02T03:04:05.000Z' },
  { user_id: 'u-ann', email: 'ann@example.com', display_name: 'Ann Viewer', editor: false, added_at: '2025-01-03T03:04:05.000Z' },
];

export const orgMembers = [
  {
    user_id: 'u-ann',
    email: 'ann@example.com',
    display_name: 'Ann Viewer',
    role: 'member',
    status: 'active',
    joined_at: '2025-01-01T00:00:00.000Z',
    permissions: [],
  },
  {
    user_id: 'u-mia',
    email: 'mia@example.com',
    display_name: 'Mia Member',
    role: 'member',
    status: 'active',
    joined_at: '2025-01-01T00:00:00.000Z',
    permissions: [],
  },
];

export function meWith(orgPermissions: string[]) {
  return {
    user: { id: ME_ID, email: 'me@example.com', name: 'Meg Me', email_verified: true },
    org: { id: 'o-1', slug: 'acme', name: 'Acme', role: 'member', permissions: orgPermissions },
  };
}

type Reply = { status: number; body?: unknown };

/**
 * Answers GET /me, the project's page and the member search; `write` answers every other request
 * (PATCH, PUT, DELETE, POST). Returns the requests seen.
 */
export function projectServer(options: {
  project?: Project | null;
  members?: ProjectMember[];
  orgPermissions?: string[];
  write?: (request: RecordedRequest) => Reply;
}): RecordedRequest[] {
  const project = options.project === undefined ? aProject() : options.project;
  return mockFetch((request) => {
    if (request.method === 'GET' && request.url === '/api/v1/me') {
      return { status: 200, body: meWith(options.orgPermissions ?? ['create_project']) };
    }
    if (request.method === 'GET' && request.url.startsWith('/api/v1/org/members')) {
      return { status: 200, body: { members: orgMembers, next_cursor: null } };
    }
    if (request.method === 'GET' && request.url.startsWith('/api/v1/org/projects/')) {
      if (!project) {
        return { status: 404, body: { error: { code: 'project_not_found', message: 'There is no such project.' } } };
      }
      return { status: 200, body: { project, members: options.members ?? projectMembers } };
    }
    if (options.write) return options.write(request);
    return { status: 500, body: { error: { code: 'internal', message: 'not expected in this test' } } };
  });
}

export function writes(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter((request) => request.method !== 'GET');
}
