/**
 * Prometheus metrics (prom-client), one registry per server so several servers can live in one process (tests):
 * requests by verb/resource/code, request latency, open watches, storage latency by operation.
 */
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Storage } from '../storage';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'API requests by verb, resource and HTTP code',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'API request latency by verb and resource (watches: time to establish)',
    labelNames: ['verb', 'resource'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly watches = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watch streams',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  readonly storageLatency = new Histogram({
    name: 'apiserver_storage_duration_seconds',
    help: 'Storage operation latency by operation',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Express middleware: counts and times every request once it finishes. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const { verb, resource } = requestLabels(req, res);
        this.requests.inc({ verb, resource, code: String(res.statusCode) });
        this.latency.observe({ verb, resource }, Number(process.hrtime.bigint() - start) / 1e9);
      });
      next();
    };
  }

  /** Wraps a Storage so every call is timed. */
  instrument(storage: Storage): Storage {
    const time = <T>(operation: string, call: () => Promise<T>): Promise<T> => {
      const end = this.storageLatency.startTimer({ operation });
      return call().finally(() => end());
    };
    return {
      create: (key, obj) => time('create', () => storage.create(key, obj)),
      get: (key) => time('get', () => storage.get(key)),
      list: (prefix, opts) => time('list', () => storage.list(prefix, opts)),
      guaranteedUpdate: (key, tryUpdate, pre) => time('update', () => storage.guaranteedUpdate(key, tryUpdate, pre)),
      delete: (key, pre) => time('delete', () => storage.delete(key, pre)),
      watch: (prefix, opts) => time('watch', () => storage.watch(prefix, opts)),
      currentRevision: () => storage.currentRevision(),
      compact: (revision) => time('compact', () => storage.compact(revision)),
      close: () => storage.close(),
    };
  }
}

/** Labels the handlers put on the response (see handlers.ts); anything else is a non-resource path. */
const requestLabels = (req: Request, res: Response): { verb: string; resource: string } => ({
  verb: String(res.locals.verb ?? req.method.toLowerCase()),
  resource: String(res.locals.resource ?? ''),
});
