// A job as the API shows it, with the links to its record, result and event stream.
import { traceIdOf } from '../observability/tracing.js';
import type { JobRecord } from '../store/job-record.js';
import type { WebhookDelivery } from '../store/webhook-store.js';

export function jobLinks(id: string) {
  return { self: `/v1/jobs/${id}`, result: `/v1/jobs/${id}/result`, events: `/v1/jobs/${id}/events` };
}

/** The job as the API shows it. */
export function publicJob(job: JobRecord) {
  return {
    id: job.id,
    job: job.name,
    status: job.status,
    input: job.input,
    options: job.options,
    resultType: job.resultType,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    progress: job.progress,
    error: job.error,
    timing: job.timing,
    tasksPerNode: job.tasksPerNode,
    cachePerNode: job.cachePerNode,
    retriedTasks: job.retriedTasks,
    stragglers: job.stragglers,
    reruns: job.reruns,
    version: job.version,
    scheduleId: job.scheduleId,
    scheduledFor: job.scheduledFor,
    tenant: job.tenant,
    traceId: traceIdOf(job.traceparent),
    partial: job.partial,
    links: jobLinks(job.id),
  };
}

/** A webhook delivery's log as `GET /v1/jobs/:id` shows it (`webhook`): no callback, secret or body. */
export function publicWebhook(delivery: WebhookDelivery | undefined) {
  if (delivery === undefined) return null;
  return { deliveryId: delivery.id, event: delivery.event, state: delivery.state, attempts: delivery.attempts, nextAttemptAt: delivery.nextAt };
}
