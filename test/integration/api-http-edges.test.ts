/**
 * HTTP-layer edge cases a client can send (paths, query parameters, bodies, media types, patches, deep nesting):
 * each gets a 4xx Status, never a 500, and the server stays up. (The schema corpus of bad documents is separate.)
 */
import { startApiServer, type TestApiServer } from '../helpers/apiserver';

const BASE = '/apis/berth.dev/v1/namespaces/default/containers';
const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const JSON_PATCH = 'application/json-patch+json';
const MERGE = 'application/merge-patch+json';
const APPLY = 'application/apply-patch+yaml';

type Case = [method: string, path: string, expected: number, body?: string, contentType?: string];

const CASES: Case[] = [
  ['GET', `${BASE}?limit=abc`, 400],
  ['GET', `${BASE}?continue=garbage`, 400],
  ['GET', `${BASE}?labelSelector=a%20in%20(b`, 400],
  ['GET', `${BASE}?fieldSelector=%3D%3D`, 400],
  ['GET', `${BASE}?watch=1&resourceVersion=abc`, 400],
  ['GET', `${BASE}/x/bogus`, 404],
  ['GET', `${BASE}/x/y/z/w`, 404],
  ['GET', '/apis/berth.dev/v2/containers', 404],
  ['GET', '/apis/berth.dev/v1/namespaces/%ZZ/containers', 400],
  ['POST', BASE, 400, 'null'],
  ['POST', BASE, 400, '[]'],
  ['POST', BASE, 400, '{"apiVersion":"v1","kind":"Container","metadata":{"name":"a"}}'],
  ['POST', BASE, 400, '{"metadata":{"name":"a","namespace":"other"},"spec":{"image":"b"}}'],
  ['POST', BASE, 422, '{"metadata":{"name":123}}'],
  ['POST', `${BASE}?dryRun=Bogus`, 400, '{}'],
  ['POST', `${BASE}?fieldValidation=Nope`, 400, '{}'],
  ['POST', `${BASE}/x`, 405, '{}'],
  ['POST', BASE, 415, '{}', 'application/cbor'],
  ['POST', BASE, 400, 'k8s\u0000garbage', 'application/vnd.kubernetes.protobuf'],
  ['POST', BASE, 400, 'key: value\nkey: dup', 'application/yaml'],
  ['POST', BASE, 400, `{"metadata":{"name":"d"},"spec":{"image":"b","x":${deep(5000)}}}`],
  ['PUT', `${BASE}/x`, 422, '{"metadata":{"name":"x"},"spec":{"image":"b"}}'],
  ['PUT', `${BASE}/x`, 400, '{"metadata":{"name":"y","resourceVersion":"1"}}'],
  ['PUT', `${BASE}/nope`, 404, '{"metadata":{"name":"nope","resourceVersion":"1"},"spec":{"image":"b"}}'],
  ['PATCH', `${BASE}/x`, 422, '[{"op":"add"}]', JSON_PATCH],
  ['PATCH', `${BASE}/x`, 422, '[{"op":"move","from":"/spec","path":"/spec/a"}]', JSON_PATCH],
  ['PATCH', `${BASE}/x`, 400, '[{"op":"replace","path":"","value":[]}]', JSON_PATCH],
  ['PATCH', `${BASE}/x`, 409, '{"metadata":{"resourceVersion":"1"}}', MERGE],
  ['PATCH', `${BASE}/x`, 400, `{"spec":{"y":${deep(4000)}}}`, MERGE],
  ['PATCH', `${BASE}/x`, 415, '{}', 'text/plain'],
  ['PATCH', `${BASE}/x`, 400, 'a: [', APPLY],
  ['PATCH', `${BASE}/x?fieldManager=m`, 400, 'apiVersion: berth.dev/v1\nkind: Container\nmetadata:\n  name: other\n', APPLY],
  ['DELETE', `${BASE}/x`, 400, '{"propagationPolicy":"Sideways"}'],
  ['DELETE', `${BASE}/nope`, 404],
  ['POST', '/api/v1/namespaces', 409, '{"metadata":{"name":"default"}}'],
];

describe('API server HTTP edge cases', () => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startApiServer();
    await api.client.call('POST', BASE, { body: { metadata: { name: 'x' }, spec: { image: 'busybox' } } });
  });
  afterAll(async () => {
    await api.stop();
  });

  // Rows become objects: with array rows of varying length jest would pass its done-callback as a missing argument.
  const rows = CASES.map(([method, path, expected, body, contentType]) => ({ method, path, expected, body, contentType }));
  it.each(rows)('$method $path → $expected', async ({ method, path, expected, body, contentType }) => {
    const r = await api.client.request(method, path, body === undefined ? {} : { body, contentType: contentType ?? 'application/json' });
    expect(r.status).toBe(expected);
    expect(r.body).toMatchObject({ kind: 'Status', code: expected });
  });

  it('When all that is done, Then the server is still healthy', async () => {
    expect((await api.client.request('GET', '/healthz')).status).toBe(200);
  });
});
