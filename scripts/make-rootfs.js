#!/usr/bin/env node
/**
 * Assemble a minimal root filesystem from Debian's static busybox (package busybox-static):
 * /bin/busybox, one symlink per applet where `busybox --list-full` puts it, /etc/passwd and
 * /etc/group with root and nobody, and empty mount points (/proc, /sys, /dev, /tmp, ...).
 * No network is needed. Usage: node scripts/make-rootfs.js DIR   (DIR must not exist or be empty)
 * Also usable as a module: require('./make-rootfs.js').makeRootfs(dir).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const BUSYBOX = '/bin/busybox';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\ntty:x:5:\nnobody:x:65534:\n';
const DIRS = { proc: 0o555, sys: 0o555, dev: 0o755, tmp: 0o1777, root: 0o700, etc: 0o755, run: 0o755, var: 0o755, home: 0o755, 'usr/bin': 0o755, 'usr/sbin': 0o755, sbin: 0o755, bin: 0o755 };

let appletCache;

/** The applet paths, relative to /, as this busybox installs them (bin/sh, usr/bin/env, ...). */
function applets() {
  if (!appletCache) {
    appletCache = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' })
      .split('\n')
      .filter((p) => p && p !== 'bin/busybox');
  }
  return appletCache;
}

/** Build the rootfs into `dir` (created if missing). Returns `dir`. */
function makeRootfs(dir) {
  if (!fs.existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [sub, mode] of Object.entries(DIRS)) {
    const p = path.join(dir, sub);
    fs.mkdirSync(p, { recursive: true });
    fs.chmodSync(p, mode);
  }
  // A copy, not a link: a container with a writable rootfs must not be able to change the host's busybox.
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of applets()) {
    const target = path.relative(path.dirname(path.join('/', applet)), '/bin/busybox');
    fs.symlinkSync(target, path.join(dir, applet));
  }
  fs.writeFileSync(path.join(dir, 'etc/passwd'), PASSWD);
  fs.writeFileSync(path.join(dir, 'etc/group'), GROUP);
  fs.writeFileSync(path.join(dir, 'etc/hostname'), 'berth\n');
  fs.writeFileSync(path.join(dir, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  fs.writeFileSync(path.join(dir, 'etc/resolv.conf'), '');
  return dir;
}

module.exports = { makeRootfs, BUSYBOX };

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/make-rootfs.js DIR');
    process.exit(2);
  }
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    console.error(`${dir} exists and is not empty`);
    process.exit(1);
  }
  makeRootfs(path.resolve(dir));
  console.log(`busybox rootfs in ${path.resolve(dir)} (${applets().length} applets)`);
}
