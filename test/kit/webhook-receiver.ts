import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as the receiver saw it. */
export interface ReceivedDelivery {
  headers: IncomingMessage['headers'];
  body: string;
  json: { id: string; type: string; created_at: string; org_id: string; data: Record<string, unknown> };
}

/** What the receiver answers: a status, or a promise of one (a hang until the test resolves it). */
export type Answer = (delivery: ReceivedDelivery, index: number) => number | Promise<number>;

/**
 * A real HTTP receiver on loopback for webhook tests: records every request in arrival order and
 * lets a test wait for the n-th one (a signal, never a sleep).
 */
export async function startWebhookReceiver(answer: Answer = () => 204) {
  const received: ReceivedDelivery[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery: ReceivedDelivery = { headers: request.headers, body, json: JSON.parse(body) };
      const index = received.push(delivery) - 1;
      open.add(response);
      response.on('close', () => open.delete(response));
      for (const waiter of waiters.filter((entry) => received.length >= entry.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      void Promise.resolve(answer(delivery, index)).then((status) => {
        if (!response.destroyed) response.writeHead(status).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Requests the receiver holds open right now (it has not answered them). */
    get openRequests() {
      return open.size;
    },
    /** Resolves once `count` requests have arrived. */
    receivedAtLeast(count: number): Promise<void> {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
