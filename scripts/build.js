#!/usr/bin/env node
// Builds everything from source: the TypeScript (tsc) and the native library (make with the machine's cc).
// Runs on `npm ci` (prepare), `npm start` and `npm test`; both steps are incremental and quick when nothing changed.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
if (fs.existsSync(path.join(root, 'native/Makefile'))) run('make', ['-s', '-C', 'native']);
