import { freePort } from './server.ts';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  /** The raw message as received. */
  raw: string;
  /** Header block, unfolded. */
  headers: string;
  /** The message with quoted-printable soft breaks and escapes decoded (good enough to find links). */
  decoded: string;
  mailId: string | undefined;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: ReceivedMail[];
  /** Resolves with the first message matching `predicate`, waiting up to `timeoutMs`. */
  waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  /** Resolves once `count` messages have arrived. */
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export { freePort };

export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** An in-process SMTP server (the `smtp-server` package) that keeps what it receives. */
export async function startSmtpSink(options: { port?: number } = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // close() otherwise waits up to 30 s for pooled client connections to hang up.
    closeTimeout: 100,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headerEnd = raw.search(/\r?\n\r?\n/);
        const headers = (headerEnd >= 0 ? raw.slice(0, headerEnd) : raw).replace(/\r?\n[ \t]+/g, ' ');
        const mailId = /^X-Roster-Mail-Id:\s*(\S+)/im.exec(headers)?.[1];
        const mailFrom = session.envelope.mailFrom;
        messages.push({
          envelopeFrom: mailFrom ? mailFrom.address : '',
          envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw,
          headers,
          decoded: decodeQuotedPrintable(raw),
          mailId,
        });
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found === undefined) return false;
        waiters.delete(attempt);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(attempt);
        reject(new Error(`SMTP sink: timed out waiting for ${what} (${messages.length} messages received)`));
      }, timeoutMs);
      waiters.add(attempt);
      attempt();
    });
  }

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor: (predicate, timeoutMs = 15_000) => waitUntil(() => messages.find(predicate), timeoutMs, 'a matching message'),
    waitForCount: async (count, timeoutMs = 15_000) => {
      await waitUntil(() => (messages.length >= count ? true : undefined), timeoutMs, `${count} messages`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
