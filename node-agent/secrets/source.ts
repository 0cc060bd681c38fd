import { ApiClient, isNotFoundError, RESOURCES, Secret } from '../../client';

/** A Secret's keys and decoded values. Values never leave memory except into a container's tmpfs or env. */
export type SecretData = ReadonlyMap<string, Buffer>;

export interface SecretSource {
  /** The decoded data, or undefined if the Secret does not exist. */
  get(namespace: string, name: string): Promise<SecretData | undefined>;
}

/** Reads Secrets one by one over the API (a node may read only the Secrets its containers reference). */
export class ApiSecretSource implements SecretSource {
  constructor(private readonly client: ApiClient) {}

  async get(namespace: string, name: string): Promise<SecretData | undefined> {
    let secret: Secret;
    try {
      secret = await this.client.get<Secret>(RESOURCES.secrets, name, namespace);
    } catch (err) {
      if (isNotFoundError(err)) return undefined;
      throw new Error(`read secret ${namespace}/${name}: ${(err as Error).message}`, { cause: err });
    }
    const data = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(secret.data ?? {})) data.set(k, Buffer.from(v, 'base64'));
    for (const [k, v] of Object.entries(secret.stringData ?? {})) data.set(k, Buffer.from(v, 'utf8'));
    return data;
  }
}
