/**
 * The built-in kinds as kubectl sees them through discovery and OpenAPI (served by api/schema): api-resources with
 * short names and categories, explain down to nested fields, server-side field validation that kubectl trusts
 * because every PATCH in /openapi/v3 lists `fieldValidation`, and /openapi/v2 answering JSON (406 for protobuf only).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';

describe('kubectl against the built-in kinds', () => {
  let api: TestApiServer;
  const kubectl = (args: string[], stdin?: string): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', api.kubeconfigPath, '--cache-dir', `${api.home}/kubectl-cache`, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
      child.stdin!.end(stdin ?? '');
    });

  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api.stop();
    expect(fs.existsSync(api.home)).toBe(false);
  });

  it('api-resources lists every kind with its short names', async () => {
    const { code, out } = await kubectl(['api-resources', '--api-group', 'berth.dev', '-o', 'wide']);
    expect(code).toBe(0);
    for (const row of [
      /containers\s+ctr\s+berth\.dev\/v1\s+true\s+Container\s+create,delete,deletecollection,get,list,patch,update,watch\s+all,berth/,
      /services\s+svc\s+berth\.dev\/v1\s+true\s+Service/,
      /images\s+img\s+berth\.dev\/v1\s+true\s+Image/,
      /networks\s+net\s+berth\.dev\/v1\s+true\s+Network/,
      /nodes\s+no\s+berth\.dev\/v1\s+false\s+Node/,
      /secrets\s+berth\.dev\/v1\s+true\s+Secret/,
      /events\s+ev\s+berth\.dev\/v1\s+true\s+Event/,
      /leases\s+berth\.dev\/v1\s+true\s+Lease/,
    ]) {
      expect(out).toMatch(row);
    }
    const core = await kubectl(['api-resources', '--api-group', '']);
    expect(core.out).toMatch(/namespaces\s+ns\s+v1\s+false\s+Namespace/);
  });

  it.each([
    ['service.spec.strategy', ['FIELD: strategy <Object>', 'blueGreen\t<Object>', 'canary\t<Object>', 'rollingUpdate\t<Object>', 'type\t<string>', 'enum: Recreate, RollingUpdate, BlueGreen, Canary']],
    ['service.spec.strategy.rollingUpdate.maxSurge', ['FIELD: maxSurge <IntOrString>', 'percentage']],
    ['svc.spec.strategy.canary.steps', ['FIELD: steps <[]Object>', 'setWeight\t<integer>', 'pause\t<Object>']],
    ['containers.spec.resources.limits', ['cpu\t<IntOrString>', 'memory\t<IntOrString>', 'pids\t<integer>']],
    ['ctr.spec.readinessProbe.httpGet', ['port\t<integer> -required-', 'path\t<string>']],
    ['container.status.phase', ['FIELD: phase <string>', 'ENUM:\n    Pending\n    Pulling\n    Creating\n    Running\n    Succeeded\n    Failed\n    Terminating']],
    ['container.metadata.ownerReferences', ['<[]OwnerReference>', 'uid\t<string> -required-']],
    ['secret.data', ['<map[string]string>']],
    ['node.spec.taints.effect', ['ENUM:\n    NoSchedule\n    PreferNoSchedule\n    NoExecute']],
    ['image.spec', ['ref\t<string> -required-', 'build\t<Object>', 'import\t<Object>', 'pullPolicy\t<string>']],
  ])('explain %s', async (path, expected) => {
    const { code, out } = await kubectl(['explain', path]);
    expect(code).toBe(0);
    for (const text of expected) expect(out).toContain(text);
  });

  it('leaves field validation to the server: a Strict create names the unknown field, Warn only warns', async () => {
    const doc = 'apiVersion: berth.dev/v1\nkind: Container\nmetadata:\n  name: typo\n  namespace: default\nspec:\n  image: busybox\n  restartPolcy: Never\n';
    const strict = await kubectl(['create', '--validate=strict', '-f', '-'], doc);
    expect(strict.code).not.toBe(0);
    expect(strict.out).toContain('strict decoding error: unknown field "spec.restartPolcy"');
    expect(strict.out).not.toContain('failed to download openapi');
    const warn = await kubectl(['create', '--validate=warn', '--dry-run=server', '-f', '-'], doc);
    expect(warn.code).toBe(0);
    expect(warn.out).toContain('unknown field "spec.restartPolcy"');
    expect(warn.out).toContain('container.berth.dev/typo created (server dry run)');
  });

  it('reports every invalid field of a document', async () => {
    const doc = 'apiVersion: berth.dev/v1\nkind: Service\nmetadata:\n  name: Bad_Name\n  namespace: default\nspec:\n  replicas: -1\n  template:\n    spec:\n      restartPolicy: Sometimes\n  strategy:\n    type: Sideways\n';
    const { code, out } = await kubectl(['apply', '-f', '-'], doc);
    expect(code).not.toBe(0);
    for (const field of ['metadata.name: Invalid value: "Bad_Name"', 'spec.replicas: Invalid value: -1', 'spec.template.spec.image: Required value', 'spec.template.spec.restartPolicy: Unsupported value: "Sometimes"', 'spec.strategy.type: Unsupported value: "Sideways"']) {
      expect(out).toContain(field);
    }
  });

  it('get all lists the kinds of the "all" category', async () => {
    const doc = 'apiVersion: berth.dev/v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      image: busybox\n';
    expect((await kubectl(['apply', '-f', '-'], doc)).code).toBe(0);
    const { out } = await kubectl(['get', 'all', '-n', 'default']);
    expect(out).toMatch(/service\.berth\.dev\/web\s+1\s+RollingUpdate/);
  });

  it('serves /openapi/v2 as JSON, and 406 to a client that takes protobuf only', async () => {
    const json = await api.client.request('GET', '/openapi/v2', { accept: 'application/json' });
    expect(json.status).toBe(200);
    expect((json.body as { definitions: Record<string, unknown> }).definitions).toHaveProperty(['dev.berth.v1.Service']);
    const proto = await api.client.request('GET', '/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    expect(proto.status).toBe(406);
    const raw = await kubectl(['get', '--raw', '/openapi/v3/apis/berth.dev/v1']);
    expect(JSON.parse(raw.out).components.schemas).toHaveProperty(['dev.berth.v1.Container']);
  });
});
