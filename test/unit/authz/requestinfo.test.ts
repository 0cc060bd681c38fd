import { fieldSelectorValue, requestAttributes } from '../../../api/authz';

describe('requestAttributes', () => {
  it.each([
    ['GET', '/api/v1/namespaces', {}, { verb: 'list', apiGroup: '', resource: 'namespaces', namespace: undefined, name: undefined }],
    ['GET', '/api/v1/namespaces/a', {}, { verb: 'get', apiGroup: '', resource: 'namespaces', namespace: 'a', name: 'a' }],
    ['DELETE', '/api/v1/namespaces/a', {}, { verb: 'delete', resource: 'namespaces', name: 'a' }],
    ['GET', '/apis/berth.dev/v1/containers', { watch: 'true' }, { verb: 'watch', apiGroup: 'berth.dev', resource: 'containers', namespace: undefined }],
    ['GET', '/apis/berth.dev/v1/namespaces/b/secrets', { watch: '1', fieldSelector: 'metadata.name=db' }, { verb: 'watch', resource: 'secrets', namespace: 'b', name: 'db' }],
    ['GET', '/apis/berth.dev/v1/namespaces/b/secrets', { watch: 'false' }, { verb: 'list', name: undefined }],
    ['POST', '/apis/berth.dev/v1/namespaces/b/containers', {}, { verb: 'create', resource: 'containers', namespace: 'b', name: undefined }],
    ['PUT', '/apis/berth.dev/v1/namespaces/b/containers/web/status', {}, { verb: 'update', resource: 'containers', subresource: 'status', name: 'web' }],
    ['PATCH', '/apis/berth.dev/v1/namespaces/b/services/web/scale', {}, { verb: 'patch', subresource: 'scale' }],
    ['DELETE', '/apis/berth.dev/v1/namespaces/b/containers', {}, { verb: 'deletecollection', namespace: 'b' }],
    ['GET', '/apis/berth.dev/v1/nodes/n1', {}, { verb: 'get', resource: 'nodes', namespace: undefined, name: 'n1' }],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/namespaces/b/roles/r%201', {}, { apiGroup: 'rbac.authorization.k8s.io', resource: 'roles', name: 'r 1' }],
  ])('%s %s %j', (method, path, query, expected) => {
    expect(requestAttributes({ method, path, query })).toMatchObject({ isResourceRequest: true, ...expected });
  });

  it.each([
    ['GET', '/healthz'],
    ['GET', '/api'],
    ['GET', '/api/v1'],
    ['GET', '/apis'],
    ['GET', '/apis/berth.dev'],
    ['GET', '/apis/berth.dev/v1'],
    ['GET', '/openapi/v3/apis/berth.dev/v1'],
    ['POST', '/metrics'],
  ])('%s %s is a non-resource request', (method, path) => {
    expect(requestAttributes({ method, path })).toEqual({ verb: method.toLowerCase(), isResourceRequest: false, path });
  });

  it('reads one field out of a field selector', () => {
    expect(fieldSelectorValue('metadata.namespace=x,spec.nodeName==n1', 'spec.nodeName')).toBe('n1');
    expect(fieldSelectorValue('spec.nodeName!=n1', 'spec.nodeName')).toBeUndefined();
    expect(fieldSelectorValue(undefined, 'spec.nodeName')).toBeUndefined();
  });
});
