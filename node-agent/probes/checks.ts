import * as http from 'node:http';
import * as net from 'node:net';
import { ProbeCheck, ProbeSpec } from './types';

/** TCP: success when a connection opens within the timeout. */
export function tcpCheck(host: string, port: number): ProbeCheck {
  return (timeoutMs) =>
    new Promise((resolve) => {
      const sock = net.connect({ host, port });
      const done = (ok: boolean) => {
        sock.destroy();
        resolve(ok);
      };
      sock.setTimeout(timeoutMs, () => done(false));
      sock.once('connect', () => done(true));
      sock.once('error', () => done(false));
    });
}

/** HTTP GET: success on a status in [200, 400), as kubelet counts it. */
export function httpCheck(host: string, port: number, path = '/'): ProbeCheck {
  return (timeoutMs) =>
    new Promise((resolve) => {
      const req = http.get({ host, port, path, timeout: timeoutMs, headers: { 'User-Agent': 'berth-probe/1' } }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
}

/** Exec: success when the command exits 0 within the timeout. `run` executes it inside the container. */
export function execCheck(run: (argv: readonly string[], timeoutMs: number) => Promise<number>, command: readonly string[]): ProbeCheck {
  return async (timeoutMs) => {
    try {
      return (await run(command, timeoutMs)) === 0;
    } catch {
      return false;
    }
  };
}

/**
 * The check for a probe spec. TCP and HTTP probes go to `podIp` unless the probe names a host;
 * an exec probe runs through `exec`.
 */
export function checkFor(
  spec: ProbeSpec,
  podIp: string | undefined,
  exec: (argv: readonly string[], timeoutMs: number) => Promise<number>,
): ProbeCheck {
  if (spec.exec) return execCheck(exec, spec.exec.command);
  const host = spec.httpGet?.host ?? spec.tcpSocket?.host ?? podIp;
  if (!host) return async () => false;
  if (spec.httpGet) return httpCheck(host, spec.httpGet.port, spec.httpGet.path);
  if (spec.tcpSocket) return tcpCheck(host, spec.tcpSocket.port);
  return async () => false;
}
