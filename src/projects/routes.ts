import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { presentProject, presentProjectMember } from './present.ts';
import {
  createProjectBody,
  projectDetailReply,
  projectIdParams,
  projectMemberBody,
  projectMemberParams,
  projectMemberReply,
  projectReply,
  projectsQuery,
  projectsReply,
  updateProjectBody,
} from './schema.ts';
import * as projects from './service.ts';

export const projectRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/org/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'Create a project; you become its first editor',
        body: createProjectBody,
        response: { 201: projectReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const view = await projects.createProject(request.ctx, request.body);
      return reply.status(201).send({ project: presentProject(view.project, view.viewer) });
    },
  );

  app.get(
    '/org/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'One page of projects, oldest first: yours, or every project for owners and admins',
        querystring: projectsQuery,
        response: { 200: projectsReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await projects.listProjects(request.ctx, { limit: request.query.limit, cursor: request.query.cursor ?? null });
      return { projects: page.projects.map((project) => presentProject(project, page.viewer)), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/org/projects/:id',
    {
      schema: {
        tags: ['projects'],
        summary: 'A project and its team (404 project_not_found unless you are on the team or an owner/admin)',
        params: projectIdParams,
        response: { 200: projectDetailReply, ...errorReplies(401, 404) },
      },
    },
    async (request) => {
      const view = await projects.getProject(request.ctx, { projectId: request.params.id });
      return { project: presentProject(view.project, view.viewer), members: view.members.map(presentProjectMember) };
    },
  );

  app.patch(
    '/org/projects/:id',
    {
      schema: {
        tags: ['projects'],
        summary: "Change a project's name, description or settings (editors, owners and admins)",
        params: projectIdParams,
        body: updateProjectBody,
        response: { 200: projectReply, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const view = await projects.updateProject(request.ctx, { projectId: request.params.id, ...request.body });
      return { project: presentProject(view.project, view.viewer) };
    },
  );

  app.put(
    '/org/projects/:id/members/:user_id',
    {
      schema: {
        tags: ['projects'],
        summary: "Add an org member to the project's team, or change their editor flag",
        params: projectMemberParams,
        body: projectMemberBody,
        response: { 200: projectMemberReply, ...errorReplies(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const result = await projects.setProjectMember(request.ctx, {
        projectId: request.params.id,
        userId: request.params.user_id,
        editor: request.body.editor,
      });
      return { member: presentProjectMember(result.member) };
    },
  );

  app.delete(
    '/org/projects/:id/members/:user_id',
    {
      schema: {
        tags: ['projects'],
        summary: "Take someone off the project's team (editors, owners and admins), or leave it yourself",
        params: projectMemberParams,
        response: { 204: z.null(), ...errorReplies(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await projects.removeProjectMember(request.ctx, { projectId: request.params.id, userId: request.params.user_id });
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/org/projects/:id',
    {
      schema: {
        tags: ['projects'],
        summary: 'Delete a project and its team (editors, owners and admins)',
        params: projectIdParams,
        response: { 204: z.null(), ...errorReplies(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await projects.deleteProject(request.ctx, { projectId: request.params.id });
      return reply.status(204).send(null);
    },
  );
};
