import cluster from 'node:cluster';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/client.ts';
import type { JobOutcome, QueueStats } from '../events/runtime.ts';

// Prometheus metrics at GET /metrics (METRICS_TOKEN). Off (no route, no hooks, no cost per request)
// when the token is unset. One registry per app, so tests can build many apps in one process.

export interface Metrics {
  registry: Registry;
  /** The worker runtime's queues, read at scrape time (depth and oldest age come from the DB). */
  setQueueSource(source: () => Promise<QueueStats[]>): void;
  /** Counts a job outcome of the worker runtime (wire with runtime.onJob). */
  observeJob(outcome: JobOutcome): void;
  /** Counts what a retention sweep deleted and which of its rules failed (src/retention, onSweep). */
  observeSweep(report: { deleted: Record<string, number>; failed: { name: string }[] }): void;
}

const USAGE_ROUTE = '/api/v1/usage';

/** The error of each error reply (set by the app's onSend hook): the reason label of a refusal. */
export const errorReplies = new WeakMap<object, { code: string; details?: Record<string, unknown> }>();

export function createMetrics(options: { database: Database }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let queueSource: (() => Promise<QueueStats[]>) | undefined;

  new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern, method and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Counter({
    name: 'roster_usage_decisions_total',
    help: 'POST /api/v1/usage decisions: recorded, or refused with the reason (error code and period)',
    labelNames: ['outcome', 'reason'],
    registers: [registry],
  });
  new Counter({
    name: 'roster_jobs_total',
    help: 'Background job attempts by queue and outcome (succeeded, retrying, failed)',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });
  new Counter({
    name: 'roster_delivery_failures_total',
    help: 'Failed delivery attempts by queue (mail, webhooks): retrying or given up (failed)',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });

  new Counter({
    name: 'roster_retention_deleted_total',
    help: 'Rows deleted by the retention sweep, by kind (mails, mail_templates, webhook_deliveries, sessions, …)',
    labelNames: ['kind'],
    registers: [registry],
  });
  new Counter({
    name: 'roster_retention_failures_total',
    help: 'Retention sweep rules that failed (retried at the next sweep), by kind',
    labelNames: ['kind'],
    registers: [registry],
  });

  // Read from the database at scrape time: every process sees the same value, so a cluster keeps
  // the maximum instead of the sum.
  let queueRead: Promise<QueueStats[]> | undefined;
  const readQueues = () => {
    queueRead ??= (queueSource ? queueSource() : Promise.resolve([])).finally(() => {
      queueRead = undefined;
    });
    return queueRead;
  };
  new Gauge({
    name: 'roster_queue_depth',
    help: 'Jobs waiting (due or scheduled for retry) per worker queue',
    labelNames: ['queue'],
    aggregator: 'max',
    registers: [registry],
    async collect() {
      this.reset();
      for (const stats of await readQueues().catch(() => [])) this.set({ queue: stats.queue }, stats.depth);
    },
  });
  new Gauge({
    name: 'roster_queue_oldest_age_seconds',
    help: 'Age of the oldest waiting job per worker queue (0 when empty)',
    labelNames: ['queue'],
    aggregator: 'max',
    registers: [registry],
    async collect() {
      this.reset();
      for (const stats of await readQueues().catch(() => [])) this.set({ queue: stats.queue }, stats.oldestAgeSeconds);
    },
  });

  const pool = options.database.poolStats;
  if (pool) {
    new Gauge({
      name: 'roster_db_pool_connections',
      help: 'PostgreSQL pool connections by state (total, idle, waiting requests); summed over workers',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const stats = pool();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    new Gauge({
      name: 'roster_db_pool_max',
      help: 'PostgreSQL pool size limit per process; summed over workers',
      registers: [registry],
      collect() {
        this.set(pool().max);
      },
    });
  }

  const jobs = registry.getSingleMetric('roster_jobs_total') as Counter;
  const failures = registry.getSingleMetric('roster_delivery_failures_total') as Counter;
  const retained = registry.getSingleMetric('roster_retention_deleted_total') as Counter;
  const sweepFailures = registry.getSingleMetric('roster_retention_failures_total') as Counter;
  return {
    registry,
    setQueueSource(source) {
      queueSource = source;
    },
    observeJob(outcome) {
      jobs.inc({ queue: outcome.queue, outcome: outcome.outcome });
      if (outcome.outcome !== 'succeeded') failures.inc({ queue: outcome.queue, outcome: outcome.outcome });
    },
    observeSweep(report) {
      for (const [kind, count] of Object.entries(report.deleted)) retained.inc({ kind }, count);
      for (const { name } of report.failed) sweepFailures.inc({ kind: name });
    },
  };
}

/** Constant-time comparison of the bearer token against METRICS_TOKEN (hashes equalize lengths). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/**
 * Registers the request hooks and GET /metrics. Without the right bearer token the route answers
 * 404 like any unknown path (the token is a secret; its existence need not be advertised).
 * Under `roster start --workers N` the reply aggregates every worker (through the primary).
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, token: string): void {
  const latency = metrics.registry.getSingleMetric('roster_http_request_duration_seconds') as Histogram;
  const usage = metrics.registry.getSingleMetric('roster_usage_decisions_total') as Counter;

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL (ids and tokens would explode the label set).
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    const status = reply.statusCode;
    latency.observe({ method: request.method, route, status: String(status) }, reply.elapsedTime / 1000);
    if (route === USAGE_ROUTE && request.method === 'POST') {
      if (status < 300) usage.inc({ outcome: 'recorded', reason: '' });
      else if (status < 500) usage.inc({ outcome: 'refused', reason: errorReason(request) });
    }
  });

  app.get('/metrics', { schema: { hide: true } }, async (request: FastifyRequest, reply: FastifyReply) => {
    if (!tokenMatches(request.headers.authorization, token)) {
      return reply.status(404).send({ error: { code: 'not_found', message: 'No route GET /metrics.' } });
    }
    const text = inRosterCluster() ? await clusterMetrics() : await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}

/** The error code (and the period of a usage limit) of an error reply, set by the onSend hook. */
function errorReason(request: FastifyRequest): string {
  const error = errorReplies.get(request);
  if (!error) return 'unknown';
  const period = error.details?.period;
  return typeof period === 'string' ? `${error.code}:${period}` : error.code;
}

// ---- cluster: a worker asks the primary, which gathers every worker's registry ----

/**
 * A worker forked by `roster start --workers N` (whose primary answers). Not any cluster worker:
 * under another process manager's cluster mode each process serves its own metrics.
 */
function inRosterCluster(): boolean {
  return cluster.isWorker && process.env.ROSTER_WORKER === '1';
}

const ASK = 'roster:metrics-ask';
const ANSWER = 'roster:metrics-answer';
let asked = 0;
const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();

/** In a worker: makes `registry` the one the primary aggregates. */
export function joinClusterMetrics(metrics: Metrics): void {
  if (!inRosterCluster()) return;
  AggregatorRegistry.setRegistries([metrics.registry]);
  // Constructing one installs prom-client's worker listener that answers the primary.
  new AggregatorRegistry();
  process.on('message', (message: { type?: string; id?: number; text?: string; error?: string }) => {
    if (message?.type !== ANSWER || typeof message.id !== 'number') return;
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) pending?.reject(new Error(message.error));
    else pending?.resolve(message.text ?? '');
  });
}

function clusterMetrics(): Promise<string> {
  const id = (asked += 1);
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    process.send?.({ type: ASK, id });
  });
}

/** In the primary: answers the workers' requests with the metrics of all workers. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== ASK) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: ANSWER, id: message.id, text }),
      (error: Error) => worker.isConnected() && worker.send({ type: ANSWER, id: message.id, error: error.message }),
    );
  });
}
