import { fireEvent, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { mockFetch, renderWithProviders } from '../../test/render';
import { aProject, meWith, projectMembers, projectServer, viewerPermissions, writes } from '../../test/projects';

/** The team with Ann made an editor too: the signed-in editor is not the last one. */
const twoEditors = projectMembers.map((member) => ({ ...member, editor: true }));
import { ProjectPage } from './ProjectPage';

function renderProjectPage(route = '/projects/p-1') {
  return renderWithProviders(
    <Routes>
      <Route path="/projects/:id" element={<ProjectPage />} />
      <Route path="/projects" element={<p>Projects list</p>} />
    </Routes>,
    { route },
  );
}

describe('ProjectPage settings', () => {
  it('shows a viewer the settings read-only, with the reason and no edit controls', async () => {
    const requests = projectServer({ project: aProject({ my_access: 'viewer', permissions: viewerPermissions }) });
    renderProjectPage();

    expect(await screen.findByRole('heading', { name: 'Apollo' })).toBeInTheDocument();
    expect(screen.getByText('You are a viewer of this project: only editors and admins can change it.')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('readonly');
    expect(screen.getByLabelText('Name')).toHaveValue('Apollo');
    expect(screen.getByLabelText('Description')).toHaveAttribute('readonly');
    const settings = screen.getByLabelText('Settings (JSON)');
    expect(settings).toHaveAttribute('readonly');
    expect(settings).toHaveValue(JSON.stringify({ theme: 'dark', limits: { seats: 3 } }, null, 2));
    for (const name of ['Save changes', 'Format JSON', 'Delete project']) {
      expect(screen.queryByRole('button', { name })).not.toBeInTheDocument();
    }
    expect(screen.getByText('Viewer')).toBeInTheDocument();
    expect(writes(requests)).toEqual([]);
  });

  it('lets an editor change the settings and sends only what changed', async () => {
    const user = userEvent.setup();
    const requests = projectServer({
      write: (request) => ({ status: 200, body: { project: aProject({ settings: request.body as never }) } }),
    });
    renderProjectPage();

    const settings = await screen.findByLabelText('Settings (JSON)');
    expect(settings).not.toHaveAttribute('readonly');
    expect(screen.queryByText(/You are a viewer/)).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeDisabled();
    await user.clear(settings);
    await user.click(settings);
    await user.paste('{"theme":"light"}');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    expect(await screen.findByText('Project settings saved', { selector: '[data-sonner-toast] *' })).toBeInTheDocument();
    expect(writes(requests)).toEqual([
      expect.objectContaining({ method: 'PATCH', url: '/api/v1/org/projects/p-1', body: { settings: { theme: 'light' } } }),
    ]);
  });

  it('validates the settings JSON before sending, and clears the error once it is fixed', async () => {
    const user = userEvent.setup();
    const requests = projectServer({});
    renderProjectPage();

    const settings = await screen.findByLabelText('Settings (JSON)');
    await user.clear(settings);
    await user.click(settings);
    await user.paste('{"theme": "dark",}');
    await user.tab();

    expect(await screen.findByText(/^This is not valid JSON/)).toBeInTheDocument();
    expect(settings).toHaveAttribute('aria-invalid', 'true');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(writes(requests)).toEqual([]);

    await user.clear(settings);
    await user.paste('["not", "an object"]');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByText('Settings must be a JSON object, for example {"theme": "dark"}.')).toBeInTheDocument();
    expect(writes(requests)).toEqual([]);

    await user.clear(settings);
    await user.paste('{"theme":"dark","limits":{"seats":3}}');
    expect(screen.queryByText(/must be a JSON object/)).not.toBeInTheDocument();
    expect(settings).not.toHaveAttribute('aria-invalid');
    await user.click(screen.getByRole('button', { name: 'Format JSON' }));
    expect(settings).toHaveValue(JSON.stringify({ theme: 'dark', limits: { seats: 3 } }, null, 2));
  });

  it('shows the server refusing settings over 64 KiB next to the settings field', async () => {
    const user = userEvent.setup();
    projectServer({
      write: () => ({
        status: 400,
        body: { error: { code: 'invalid_settings', message: 'Settings may be at most 64 KiB of JSON.' } },
      }),
    });
    renderProjectPage();

    const settings = await screen.findByLabelText('Settings (JSON)');
    fireEvent.change(settings, { target: { value: JSON.stringify({ blob: 'x'.repeat(70_000) }) } });
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    expect(await screen.findByText('Settings may be at most 64 KiB of JSON.')).toBeInTheDocument();
    expect(settings).toHaveAttribute('aria-invalid', 'true');
  });

  it('deletes the project after confirmation when delete_project is allowed', async () => {
    const user = userEvent.setup();
    const requests = projectServer({ write: () => ({ status: 204 }) });
    renderProjectPage();

    await user.click(await screen.findByRole('button', { name: 'Delete project' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Delete Apollo?' });
    await user.click(within(confirm).getByRole('button', { name: 'Delete project' }));

    expect(await screen.findByText('Projects list')).toBeInTheDocument();
    expect(writes(requests)).toEqual([expect.objectContaining({ method: 'DELETE', url: '/api/v1/org/projects/p-1' })]);
  });

  it('says "Project not found" when the API answers 404', async () => {
    projectServer({ project: null });
    renderProjectPage('/projects/missing');

    expect(await screen.findByRole('heading', { name: 'Project not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Projects' })).toHaveAttribute('href', '/projects');
  });
});

describe('ProjectPage team', () => {
  it('shows Editor switches, Remove and Add member with manage_project_members', async () => {
    const user = userEvent.setup();
    const requests = projectServer({ write: (request) => ({ status: 200, body: { member: request.body } }) });
    renderProjectPage('/projects/p-1?tab=team');

    const table = await screen.findByRole('table', { name: 'Project members' });
    expect(within(table).getByRole('switch', { name: 'Editor: me@example.com' })).toBeChecked();
    const annSwitch = within(table).getByRole('switch', { name: 'Editor: ann@example.com' });
    expect(annSwitch).not.toBeChecked();
    expect(within(table).getByRole('button', { name: 'Remove ann@example.com' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add member' })).toBeInTheDocument();
    expect(await screen.findByRole('button', { name: 'Leave project' })).toBeInTheDocument();

    await user.click(annSwitch);
    expect(await screen.findByText('Ann Viewer is now an editor', { selector: '[data-sonner-toast] *' })).toBeInTheDocument();
    expect(writes(requests)).toEqual([
      expect.objectContaining({ method: 'PUT', url: '/api/v1/org/projects/p-1/members/u-ann', body: { editor: true } }),
    ]);
  });

  it('hides every team control without manage_project_members', async () => {
    projectServer({ project: aProject({ my_access: 'viewer', permissions: viewerPermissions }) });
    renderProjectPage('/projects/p-1?tab=team');

    const table = await screen.findByRole('table', { name: 'Project members' });
    expect(within(table).queryAllByRole('switch')).toEqual([]);
    expect(within(table).queryByRole('button', { name: /Remove/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Add member' })).not.toBeInTheDocument();
    expect(within(table).getByText('Viewer')).toBeInTheDocument();
    expect(within(table).getByText('Editor')).toBeInTheDocument();
    // Leaving is its own permission, which the server sends to viewers too.
    expect(await screen.findByRole('button', { name: 'Leave project' })).toBeInTheDocument();
  });

  it('offers no Leave project without leave_project', async () => {
    projectServer({ project: aProject({ my_access: 'admin', permissions: ['edit_project', 'manage_project_members'] }) });
    renderProjectPage('/projects/p-1?tab=team');

    const table = await screen.findByRole('table', { name: 'Project members' });
    await within(table).findByText('(you)'); // the signed-in user is known: the page is complete
    expect(screen.queryByRole('button', { name: 'Leave project' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add member' })).toBeInTheDocument();
  });

  it('adds an org member found by prefix as a viewer unless Editor is switched on', async () => {
    const user = userEvent.setup();
    const requests = projectServer({ write: (request) => ({ status: 200, body: { member: request.body } }) });
    renderProjectPage('/projects/p-1?tab=team');

    await user.click(await screen.findByRole('button', { name: 'Add member' }));
    const dialog = await screen.findByRole('dialog', { name: 'Add member' });
    expect(within(dialog).getByRole('switch', { name: 'Editor' })).not.toBeChecked();
    await user.type(within(dialog).getByLabelText('Search organization members'), 'mi');
    // Ann is already in the project: only Mia can be added.
    const add = await within(dialog).findByRole('button', { name: 'Add mia@example.com' });
    expect(within(dialog).queryByRole('button', { name: 'Add ann@example.com' })).not.toBeInTheDocument();
    await user.click(add);

    expect(
      await screen.findByText('Mia Member added to Apollo as a viewer', { selector: '[data-sonner-toast] *' }),
    ).toBeInTheDocument();
    expect(requests.some((request) => request.url.startsWith('/api/v1/org/members?q=mi'))).toBe(true);
    expect(writes(requests)).toEqual([
      expect.objectContaining({ method: 'PUT', url: '/api/v1/org/projects/p-1/members/u-mia', body: { editor: false } }),
    ]);
  });

  it('shows last_editor from the server in the removal dialog (the other editor left since the page loaded)', async () => {
    const user = userEvent.setup();
    projectServer({
      members: twoEditors,
      write: () => ({
        status: 409,
        body: {
          error: { code: 'last_editor', message: 'A project needs at least one editor. Make someone else an editor first.' },
        },
      }),
    });
    renderProjectPage('/projects/p-1?tab=team');

    await user.click(await screen.findByRole('button', { name: 'Remove me@example.com' }));
    const confirm = await screen.findByRole('alertdialog');
    await user.click(within(confirm).getByRole('button', { name: 'Remove' }));

    expect(
      await within(confirm).findByText('A project needs at least one editor. Make someone else an editor first.'),
    ).toBeInTheDocument();
  });
});

describe('ProjectPage: the last editor', () => {
  it('regression: the only editor cannot switch off their Editor flag or remove themselves (409 last_editor), and is told why', async () => {
    const user = userEvent.setup();
    // The server sends no leave_project to the last editor.
    const requests = projectServer({
      project: aProject({ permissions: ['edit_project', 'manage_project_members', 'delete_project'] }),
      write: () => ({ status: 409, body: { error: { code: 'last_editor', message: 'Last editor.' } } }),
    });
    renderProjectPage('/projects/p-1?tab=team');

    const table = await screen.findByRole('table', { name: 'Project members' });
    const mySwitch = await within(table).findByRole('switch', { name: 'Editor: me@example.com' });
    const myRemove = within(table).getByRole('button', { name: 'Remove me@example.com' });
    expect(mySwitch).toBeDisabled();
    expect(myRemove).toBeDisabled();
    expect(mySwitch).toHaveAccessibleDescription(
      'You are the only editor: make someone else an editor first, or ask an organization admin.',
    );
    expect(myRemove).toHaveAttribute('title', expect.stringContaining('A project keeps at least one editor'));
    // Everyone else's controls stay.
    expect(within(table).getByRole('switch', { name: 'Editor: ann@example.com' })).toBeEnabled();
    expect(within(table).getByRole('button', { name: 'Remove ann@example.com' })).toBeEnabled();
    await user.click(mySwitch);
    await user.click(myRemove);
    expect(writes(requests)).toEqual([]);
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('leaves the controls to an org owner or admin (admin access), whom the server lets manage the last editor', async () => {
    projectServer({ project: aProject({ my_access: 'admin', permissions: ['edit_project', 'manage_project_members'] }) });
    renderProjectPage('/projects/p-1?tab=team');

    const table = await screen.findByRole('table', { name: 'Project members' });
    await within(table).findByText('(you)');
    expect(within(table).getByRole('switch', { name: 'Editor: me@example.com' })).toBeEnabled();
    expect(within(table).getByRole('button', { name: 'Remove me@example.com' })).toBeEnabled();
    expect(screen.queryByText(/the only editor/)).toBeNull();
  });

  it('enables both controls again once someone else is an editor', async () => {
    projectServer({ members: twoEditors });
    renderProjectPage('/projects/p-1?tab=team');

    const table = await screen.findByRole('table', { name: 'Project members' });
    expect(await within(table).findByRole('switch', { name: 'Editor: me@example.com' })).toBeEnabled();
    expect(within(table).getByRole('button', { name: 'Remove me@example.com' })).toBeEnabled();
    expect(screen.queryByText(/the only editor/)).toBeNull();
  });
});

describe('ProjectPage when access changes while editing', () => {
  it('regression: an editor made a viewer sees why Save was refused (403 project_read_only), then the read-only page', async () => {
    const user = userEvent.setup();
    let isViewer = false;
    const requests = mockFetch((request) => {
      if (request.method === 'GET' && request.url === '/api/v1/me') return { status: 200, body: meWith(['create_project']) };
      if (request.method === 'GET' && request.url === '/api/v1/org') return { status: 200, body: {} };
      if (request.method === 'GET' && request.url === '/api/v1/org/projects/p-1') {
        const project = isViewer ? aProject({ my_access: 'viewer', permissions: viewerPermissions }) : aProject();
        return { status: 200, body: { project, members: projectMembers } };
      }
      if (request.method === 'PATCH') {
        isViewer = true;
        return {
          status: 403,
          body: {
            error: { code: 'project_read_only', message: 'You can only view this project now: an editor changed your access.' },
          },
        };
      }
      return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
    });
    renderProjectPage();

    const name = await screen.findByLabelText('Name');
    await user.clear(name);
    await user.type(name, 'Apollo 2');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    const refusal = await screen.findByRole('alert');
    expect(refusal).toHaveTextContent('Your changes were not saved');
    expect(refusal).toHaveTextContent('You can only view this project now: an editor changed your access.');
    // The permission-bearing replies are fetched again, and the controls follow them.
    expect(await screen.findByText(/You are a viewer of this project/)).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('readonly');
    expect(screen.queryByRole('button', { name: 'Save changes' })).toBeNull();
    expect(screen.getByRole('alert')).toHaveTextContent('You can only view this project now');
    expect(requests.filter((request) => request.url === '/api/v1/org/projects/p-1').length).toBeGreaterThanOrEqual(2);
  });
});

describe('ProjectPage wording for the caller', () => {
  it("regression: the org owner's access badge reads Owner, not Admin", async () => {
    mockFetch((request) => {
      if (request.url === '/api/v1/me')
        return { status: 200, body: { ...meWith([]), org: { ...meWith([]).org, role: 'owner' } } };
      if (request.url === '/api/v1/org') return { status: 200, body: {} };
      if (request.url === '/api/v1/org/projects/p-1') {
        return { status: 200, body: { project: aProject({ my_access: 'admin' }), members: projectMembers } };
      }
      return { status: 404, body: { error: { code: 'not_found', message: 'No route.' } } };
    });
    renderProjectPage();
    await screen.findByRole('heading', { name: 'Apollo' });
    expect(await screen.findByText('Owner')).toBeInTheDocument();
    expect(screen.queryByText('Admin')).toBeNull();
  });

  it('regression: removing yourself from the team addresses you, not "They"', async () => {
    const user = userEvent.setup();
    projectServer({ members: twoEditors });
    renderProjectPage('/projects/p-1?tab=team');
    await user.click(await screen.findByRole('button', { name: 'Remove me@example.com' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Remove yourself from Apollo?' });
    expect(confirm).toHaveTextContent('You lose access to this project at once.');
    expect(confirm).not.toHaveTextContent(/They lose access/);
  });

  it('regression: removing yourself from the team in the table goes to the projects list, not a refetch that answers 404', async () => {
    const user = userEvent.setup();
    const requests = projectServer({ members: twoEditors, write: () => ({ status: 204 }) });
    renderProjectPage('/projects/p-1?tab=team');
    await user.click(await screen.findByRole('button', { name: 'Remove me@example.com' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Remove yourself from Apollo?' });
    const before = requests.length;
    await user.click(within(confirm).getByRole('button', { name: 'Remove' }));

    expect(await screen.findByText('Projects list')).toBeInTheDocument();
    const after = requests.slice(before).map((request) => `${request.method} ${request.url}`);
    expect(after).toContain('DELETE /api/v1/org/projects/p-1/members/u-me');
    expect(after).not.toContain('GET /api/v1/org/projects/p-1');
  });
});
