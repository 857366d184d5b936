import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../../test/render';
import { aProject, meWith } from '../../test/projects';
import { ProjectsPage } from './ProjectsPage';

function listServer(pages: Record<string, { projects: unknown[]; next_cursor: string | null }>, orgPermissions: string[]) {
  return mockFetch((request) => {
    if (request.url === '/api/v1/me') return { status: 200, body: meWith(orgPermissions) };
    if (request.url.startsWith('/api/v1/org/projects')) {
      const cursor = new URL(request.url, 'http://localhost').searchParams.get('cursor') ?? '';
      return { status: 200, body: pages[cursor] };
    }
    return { status: 500, body: { error: { code: 'internal', message: 'not expected in this test' } } };
  });
}

describe('ProjectsPage', () => {
  it('lists projects with the caller’s access and loads more pages', async () => {
    const user = userEvent.setup();
    const requests = listServer(
      {
        '': {
          projects: [aProject(), aProject({ id: 'p-2', name: 'Gemini', description: null, my_access: 'viewer' })],
          next_cursor: 'c-2',
        },
        'c-2': { projects: [aProject({ id: 'p-3', name: 'Mercury', my_access: 'admin' })], next_cursor: null },
      },
      ['create_project'],
    );
    renderWithProviders(<ProjectsPage />);

    const list = await screen.findByRole('list', { name: 'Projects' });
    const apollo = within(list).getByRole('link', { name: /Apollo/ });
    expect(apollo).toHaveAttribute('href', '/projects/p-1');
    expect(within(apollo).getByText('Moon landing')).toBeInTheDocument();
    expect(within(apollo).getByText('Editor')).toBeInTheDocument();
    expect(within(within(list).getByRole('link', { name: /Gemini/ })).getByText('Viewer')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    expect(within(await within(list).findByRole('link', { name: /Mercury/ })).getByText('Admin')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
    expect(requests.map((request) => request.url).filter((url) => url.includes('projects'))).toEqual([
      '/api/v1/org/projects?limit=50',
      '/api/v1/org/projects?limit=50&cursor=c-2',
    ]);
  });

  it('offers "New project" only with create_project, and creates one', async () => {
    const user = userEvent.setup();
    const requests = mockFetch((request) => {
      if (request.url === '/api/v1/me') return { status: 200, body: meWith(['create_project']) };
      if (request.method === 'POST') return { status: 201, body: { project: aProject({ id: 'p-9', name: 'Artemis' }) } };
      return { status: 200, body: { projects: [], next_cursor: null } };
    });
    renderWithProviders(<ProjectsPage />);

    expect(await screen.findByText('No projects yet')).toBeInTheDocument();
    await user.click(await screen.findByRole('button', { name: 'New project' }));
    const dialog = await screen.findByRole('dialog', { name: 'New project' });
    await user.click(within(dialog).getByRole('button', { name: 'Create project' }));
    expect(within(dialog).getByText('Enter a name for the project.')).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText('Name'), 'Artemis');
    await user.click(within(dialog).getByRole('button', { name: 'Create project' }));

    expect(await screen.findByText('Project Artemis created', { selector: '[data-sonner-toast] *' })).toBeInTheDocument();
    expect(requests.filter((request) => request.method === 'POST')).toEqual([
      expect.objectContaining({ url: '/api/v1/org/projects', body: { name: 'Artemis' } }),
    ]);
  });

  it('hides "New project" without create_project and says how projects appear', async () => {
    listServer({ '': { projects: [], next_cursor: null } }, ['invite']);
    renderWithProviders(<ProjectsPage />);

    expect(await screen.findByText('When someone adds you to a project, it appears here.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'New project' })).not.toBeInTheDocument();
  });
});
