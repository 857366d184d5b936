// Runs the example host app: ROSTER_URL=http://127.0.0.1:3000 ROSTER_SERVICE_TOKEN=rs_svc_… \
// ROSTER_WEBHOOK_SECRET=whsec_… PORT=4000 npx tsx examples/host-app/main.ts
import { buildHostApp } from './app.ts';

const app = await buildHostApp({
  rosterUrl: process.env.ROSTER_URL ?? 'http://127.0.0.1:3000',
  serviceToken: process.env.ROSTER_SERVICE_TOKEN || undefined,
  webhookSecret: () => process.env.ROSTER_WEBHOOK_SECRET,
  logLevel: process.env.LOG_LEVEL,
});
await app.listen({ port: Number(process.env.PORT ?? 4000), host: process.env.HOST ?? '127.0.0.1' });
