import { parseChallenge } from '../../../node-agent/images/registry/auth';

describe('parseChallenge', () => {
  it.each([
    ['Basic realm="Registry Realm"', 'basic', { realm: 'Registry Realm' }],
    ['Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"', 'bearer',
      { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' }],
    ['bearer Realm=https://x/t, service=svc', 'bearer', { realm: 'https://x/t', service: 'svc' }],
    ['Bearer realm="a\\"b"', 'bearer', { realm: 'a"b' }],
  ])('%s', (header, scheme, params) => {
    expect(parseChallenge(header)).toEqual({ scheme, params });
  });
});
