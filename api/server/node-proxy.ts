/**
 * Subresources served by the node agents, proxied like kubelet's: `containers/<name>/log` and
 * `nodes/<name>/proxy/{metrics,stats}`. The agent listens on a root-only unix socket named by its Node's
 * `berth.dev/agent-socket` annotation, so these work for agents on the API server's own machine.
 */
import { Router, type Request, type Response, type NextFunction } from 'express';
import * as http from 'node:http';
import type { Storage, StoredObject } from '../storage';
import { isNotFound } from '../storage';
import { keyFor } from '../registry/keys';
import { badRequest, notFound, unavailable } from './errors';

export const AGENT_SOCKET_ANNOTATION = 'berth.dev/agent-socket';

const CONTAINERS = { group: 'berth.dev', plural: 'containers', namespaced: true };
const NODES = { group: 'berth.dev', plural: 'nodes', namespaced: false };
const LOG_PARAMS = ['follow', 'tailLines', 'sinceSeconds', 'timestamps', 'previous'];

async function load(storage: Storage, info: typeof CONTAINERS | typeof NODES, namespace: string | undefined, name: string): Promise<StoredObject> {
  try {
    return await storage.get(keyFor(info, namespace, name));
  } catch (err) {
    if (isNotFound(err)) throw notFound({ group: info.group, plural: info.plural, name }, { cause: err });
    throw err;
  }
}

function agentSocketOf(node: StoredObject): string {
  const socket = (node.metadata.annotations as Record<string, string> | undefined)?.[AGENT_SOCKET_ANNOTATION];
  if (!socket) throw unavailable(`node "${node.metadata.name}" has no agent endpoint this API server can reach`);
  return socket;
}

function forward(socketPath: string, path: string, req: Request, res: Response, next: NextFunction): void {
  const upstream = http.get({ socketPath, path }, (agentRes) => {
    res.status(agentRes.statusCode ?? 502);
    res.setHeader('Content-Type', agentRes.headers['content-type'] ?? 'text/plain');
    res.flushHeaders();
    agentRes.pipe(res);
  });
  upstream.on('error', (err) => next(unavailable(`the node agent did not answer: ${err.message}`, { cause: err })));
  req.on('close', () => upstream.destroy());
}

export function nodeProxyRouter(storage: Storage): Router {
  const router = Router();
  router.get('/apis/berth.dev/v1/namespaces/:namespace/containers/:name/log', async (req, res, next) => {
    try {
      const { namespace, name } = req.params;
      const container = await load(storage, CONTAINERS, namespace, name);
      const nodeName = (container.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!nodeName) throw badRequest(`container "${name}" is not scheduled to a node yet`);
      const node = await load(storage, NODES, undefined, nodeName);
      const query = new URLSearchParams();
      for (const p of LOG_PARAMS) if (typeof req.query[p] === 'string') query.set(p, req.query[p] as string);
      forward(agentSocketOf(node), `/logs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?${query}`, req, res, next);
    } catch (err) {
      next(err);
    }
  });
  router.get('/apis/berth.dev/v1/nodes/:name/proxy/:path(metrics|stats)', async (req, res, next) => {
    try {
      const node = await load(storage, NODES, undefined, req.params.name);
      forward(agentSocketOf(node), `/${req.params.path}`, req, res, next);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
