/**
 * Subresources served by the node agents, proxied like kubelet's: `containers/<name>/log`, `containers/<name>/exec` and
 * `nodes/<name>/proxy/{metrics,stats}`. The agent listens on a root-only unix socket named by its Node's
 * `berth.dev/agent-socket` annotation, so these work for agents on the API server's own machine.
 */
import { Router, type Request, type Response, type NextFunction, type RequestHandler } from 'express';
import { forPaths } from './route-filter';
import * as http from 'node:http';
import type { Storage, StoredObject } from '../storage';
import { isNotFound } from '../storage';
import { keyFor } from '../registry/keys';
import { badRequest, notFound, unavailable } from './errors';

export const AGENT_SOCKET_ANNOTATION = 'berth.dev/agent-socket';

const CONTAINERS = { group: 'berth.dev', plural: 'containers', namespaced: true };
const NODES = { group: 'berth.dev', plural: 'nodes', namespaced: false };
const LOG_PARAMS = ['follow', 'tailLines', 'sinceSeconds', 'timestamps', 'previous'];
const EXEC_PARAMS = ['command', 'stdin', 'tty'];

/** The query parameters named in `allowed`, repeated ones kept (exec's `command=sh&command=-c`). */
function queryOf(req: Request, allowed: readonly string[]): URLSearchParams {
  const query = new URLSearchParams();
  const given = new URL(req.originalUrl, 'http://x').searchParams;
  for (const p of allowed) for (const v of given.getAll(p)) query.append(p, v);
  return query;
}

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

/** Relays the request (method and, for exec, its streaming body) to the agent and its answer back as it comes. */
function forward(socketPath: string, path: string, req: Request, res: Response, next: NextFunction): void {
  const upstream = http.request({ socketPath, path, method: req.method, headers: req.method === 'POST' ? { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream', 'Transfer-Encoding': 'chunked' } : {} }, (agentRes) => {
    res.status(agentRes.statusCode ?? 502);
    res.setHeader('Content-Type', agentRes.headers['content-type'] ?? 'text/plain');
    res.flushHeaders();
    agentRes.pipe(res);
  });
  upstream.on('error', (err) => next(unavailable(`the node agent did not answer: ${err.message}`, { cause: err })));
  req.on('close', () => upstream.destroy());
  if (req.method === 'POST') req.pipe(upstream);
  else upstream.end();
}

export function nodeProxyRouter(storage: Storage): RequestHandler {
  const router = Router();
  const toContainer = (agentPath: string, params: readonly string[]) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { namespace, name } = req.params;
      const container = await load(storage, CONTAINERS, namespace, name);
      const nodeName = (container.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!nodeName) throw badRequest(`container "${name}" is not scheduled to a node yet`);
      const node = await load(storage, NODES, undefined, nodeName);
      forward(agentSocketOf(node), `/${agentPath}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?${queryOf(req, params)}`, req, res, next);
    } catch (err) {
      next(err);
    }
  };
  router.get('/apis/berth.dev/v1/namespaces/:namespace/containers/:name/log', toContainer('logs', LOG_PARAMS));
  router.post('/apis/berth.dev/v1/namespaces/:namespace/containers/:name/exec', toContainer('exec', EXEC_PARAMS));
  router.get('/apis/berth.dev/v1/nodes/:name/proxy/:path(metrics|stats)', async (req, res, next) => {
    try {
      const node = await load(storage, NODES, undefined, req.params.name);
      forward(agentSocketOf(node), `/${req.params.path}`, req, res, next);
    } catch (err) {
      next(err);
    }
  });
  return forPaths(/\/(log|exec)\/?$|\/proxy\//i, router);
}
