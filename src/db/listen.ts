import pg from 'pg';

export interface ListenHandlers {
  /** A NOTIFY on the channel, from a transaction that committed (in any process). */
  onNotification(payload: string): void;
  /** The connection was lost and is back: notifications sent meanwhile were lost. */
  onReconnect?(): void;
}

export interface Listening {
  close(): Promise<void>;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * LISTEN on PostgreSQL through one dedicated client, outside the pool (a pooled client would be
 * handed to queries and its LISTEN lost). Its 'error' handler keeps a terminated backend or a lost
 * network from crashing the process: the client is dropped and a new one connects, with backoff,
 * until close().
 */
export async function listenPostgres(url: string, channel: string, handlers: ListenHandlers): Promise<Listening> {
  let current: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => dropped(client));
    client.on('end', () => dropped(client));
    client.on('notification', (message) => {
      if (message.channel === channel) handlers.onNotification(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  function dropped(client: pg.Client): void {
    if (client !== current) return;
    current = undefined;
    client.end().catch(() => {});
    reconnectLater();
  }

  async function reconnect(): Promise<void> {
    try {
      const client = await connect();
      if (closed) {
        await client.end().catch(() => {});
        return;
      }
      current = client;
      failures = 0;
      handlers.onReconnect?.();
    } catch {
      failures += 1;
      reconnectLater();
    }
  }

  function reconnectLater(): void {
    if (closed) return;
    const delayMs = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** failures);
    retryTimer = setTimeout(() => void reconnect(), delayMs);
    retryTimer.unref?.();
  }

  current = await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const client = current;
      current = undefined;
      await client?.end().catch(() => {});
    },
  };
}
