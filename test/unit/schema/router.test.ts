import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SchemaRegistry, discoveryRouter } from '../../../api/schema';
import { acceptsJson, wantsAggregatedDiscovery } from '../../../api/schema/router';
import { newWidgetCrd } from './crd-fixtures';

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

describe('discoveryRouter', () => {
  let server: Server;
  let base: string;
  let registry: SchemaRegistry;

  beforeAll(async () => {
    registry = SchemaRegistry.withBuiltins();
    const app = express();
    app.use(discoveryRouter(registry));
    app.use((_req, res) => res.status(404).json({ kind: 'Status', code: 404 }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    expect(server.listening).toBe(false);
  });

  const get = (path: string, accept?: string) => fetch(`${base}${path}`, { headers: accept ? { accept } : {} });

  it.each([
    ['/api', 'APIVersions'],
    ['/api/v1', 'APIResourceList'],
    ['/apis', 'APIGroupList'],
    ['/apis/berth.dev', 'APIGroup'],
    ['/apis/berth.dev/v1', 'APIResourceList'],
  ])('GET %s → %s', async (path, kind) => {
    const res = await get(path, 'application/json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await res.json()).kind).toBe(kind);
  });

  it.each(['/apis/nope.dev', '/apis/berth.dev/v9', '/openapi/v3/apis/nope.dev/v1'])('GET %s falls through to the 404 handler', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
  });

  it.each(['/api', '/apis'])('GET %s with the aggregated Accept type serves apidiscovery v2', async (path) => {
    const res = await get(path, `${AGGREGATED},application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json`);
    expect(res.headers.get('content-type')).toBe(AGGREGATED);
    expect((await res.json()).kind).toBe('APIGroupDiscoveryList');
  });

  it('serves /openapi/v2 as JSON and refuses protobuf-only clients with 406', async () => {
    const json = await get('/openapi/v2', 'application/json');
    expect((await json.json()).swagger).toBe('2.0');
    const proto = await get('/openapi/v2', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf');
    expect(proto.status).toBe(406);
    expect((await proto.json()).reason).toBe('NotAcceptable');
  });

  it('serves the v3 index and the documents it names, cacheable by hash', async () => {
    const index = (await (await get('/openapi/v3')).json()).paths as Record<string, { serverRelativeURL: string }>;
    const res = await get(index['apis/berth.dev/v1'].serverRelativeURL);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect((await res.json()).openapi).toBe('3.0.0');
  });

  it('refreshes discovery and OpenAPI when a CRD is added and removed', async () => {
    const names = async () => ((await (await get('/apis')).json()).groups as Array<{ name: string }>).map((g) => g.name);
    expect(await names()).not.toContain('example.com');
    registry.addCrd(newWidgetCrd());
    expect(await names()).toContain('example.com');
    expect((await get('/apis/example.com/v1')).status).toBe(200);
    const index = (await (await get('/openapi/v3')).json()).paths;
    expect(index).toHaveProperty(['apis/example.com/v1']);
    registry.removeCrd('widgets.example.com');
    expect(await names()).not.toContain('example.com');
    expect((await get('/apis/example.com/v1')).status).toBe(404);
  });
});

describe('content negotiation helpers', () => {
  it.each([
    [undefined, false],
    ['application/json', false],
    [AGGREGATED, true],
    ['application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList', false],
    [`application/json, ${AGGREGATED}`, true],
  ])('wantsAggregatedDiscovery(%j) = %s', (accept, expected) => {
    expect(wantsAggregatedDiscovery(accept)).toBe(expected);
  });

  it.each([
    [undefined, true],
    ['*/*', true],
    ['application/json;q=0.9', true],
    ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', false],
    ['application/com.github.proto-openapi.spec.v2.v1.0+protobuf, application/json', true],
  ])('acceptsJson(%j) = %s', (accept, expected) => {
    expect(acceptsJson(accept)).toBe(expected);
  });
});
