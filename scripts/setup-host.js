#!/usr/bin/env node
// Installs the Debian packages the tests and benchmarks drive (runc, etcd, registry, ...) when they are missing.
// Idempotent and quick when everything is present; needs root, as the whole suite does.
const { execFileSync, spawnSync } = require('node:child_process');

const required = {
  runc: '/usr/sbin/runc',
  'etcd-server': '/usr/bin/etcd',
  'docker-registry': '/usr/bin/docker-registry',
  skopeo: '/usr/bin/skopeo',
  umoci: '/usr/bin/umoci',
  'busybox-static': '/bin/busybox',
  iproute2: '/sbin/ip',
  iperf3: '/usr/bin/iperf3',
  podman: '/usr/bin/podman',
  'libseccomp-dev': '/usr/include/seccomp.h',
  // native/ and the static probe programs of the escape tests are compiled on the machine.
  gcc: '/usr/bin/gcc',
  'libc6-dev': '/usr/lib/x86_64-linux-gnu/libc.a',
  make: '/usr/bin/make',
};
const fs = require('node:fs');
const missing = Object.entries(required).filter(([, file]) => !fs.existsSync(file)).map(([pkg]) => pkg);
if (missing.length === 0) process.exit(0);
if (process.getuid && process.getuid() !== 0) {
  console.error(`berth setup: missing Debian packages ${missing.join(' ')}; run as root or install them`);
  process.exit(1);
}
console.log(`berth setup: installing ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
const r = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
