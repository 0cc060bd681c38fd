/** A probe as the Container CRD spells it (Kubernetes' Probe). */
export interface ProbeSpec {
  readonly exec?: { readonly command: readonly string[] };
  readonly httpGet?: { readonly path?: string; readonly port: number; readonly host?: string; readonly scheme?: 'HTTP' };
  readonly tcpSocket?: { readonly port: number; readonly host?: string };
  readonly initialDelaySeconds?: number;
  readonly periodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly successThreshold?: number;
  readonly failureThreshold?: number;
}

/** One attempt: resolves true on success, false on failure (a timeout is a failure). Never rejects. */
export type ProbeCheck = (timeoutMs: number) => Promise<boolean>;

export type ProbeKind = 'startup' | 'readiness' | 'liveness';
