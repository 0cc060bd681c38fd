/**
 * `berth runtime ...` with runc's command-line shape, run as a separate process as a user would (from dist/,
 * which `npm test` builds first). cli/main.ts registers these commands; the test registers them on a bare
 * commander program so it does not depend on the rest of the CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSpec } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

const COMMANDS = path.resolve(__dirname, '../../dist/cli/commands/runtime.js');
const PROGRAM = `const { Command } = require('commander'); const p = new Command('berth'); require(${JSON.stringify(COMMANDS)}).registerRuntimeCommands(p); p.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { console.error('error: ' + e.message); process.exit(1); });`;

let root: string;
let bundle: Bundle;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-state-'));
  bundle = makeBundle();
});

afterAll(() => {
  bundle.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

function berth(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['-e', PROGRAM, '--', 'runtime', '--root', root, ...args], {
    cwd: path.resolve(__dirname, '../..'),
    encoding: 'utf8',
    timeout: 30_000,
    // `create` hands its own stdio to the container (as runc does): captured pipes would stay open with it.
    stdio: args[0] === 'create' ? 'ignore' : 'pipe',
  });
}

test('run -b BUNDLE ID prints the container\'s output and exits with its status', () => {
  bundle.write(defaultSpec({ rootfs: 'rootfs', args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }));
  const r = berth('run', '-b', bundle.dir, uniqueId('cli'));
  expect(r).toMatchObject({ status: 3, stdout: 'out\n', stderr: 'err\n' });
  expect(fs.readdirSync(root)).toEqual([]); // run without --detach deletes the container
});

test('run --detach, state, list, exec, kill and delete', () => {
  bundle.write(defaultSpec({ rootfs: 'rootfs', args: ['sleep', '1000'] }));
  const id = uniqueId('cli');
  const pidFile = path.join(bundle.dir, 'pid');
  expect(berth('run', '--detach', '--pid-file', pidFile, '-b', bundle.dir, id).status).toBe(0);
  const state = JSON.parse(berth('state', id).stdout);
  expect(state).toMatchObject({ id, status: 'running', pid: Number(fs.readFileSync(pidFile, 'utf8')), bundle: bundle.dir });
  expect(berth('list').stdout).toMatch(new RegExp(`^${id}\\s+${state.pid}\\s+running\\s+${bundle.dir}`, 'm'));
  expect(berth('exec', id, 'sh', '-c', 'hostname; exit 4')).toMatchObject({ status: 4, stdout: 'berth\n' });
  expect(berth('exec', id, '--', 'echo', '-n', 'x')).toMatchObject({ status: 0, stdout: 'x' });
  expect(berth('exec', '--tty', id, 'tty').stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
  expect(berth('delete', id)).toMatchObject({ status: 1, stderr: expect.stringMatching(/cannot delete container .* running/) });
  expect(berth('kill', id, 'KILL').status).toBe(0);
  expect(berth('delete', id).status).toBe(0);
  expect(berth('state', id)).toMatchObject({ status: 1, stderr: expect.stringMatching(/does not exist/) });
});

test('create then start, like runc', () => {
  bundle.write(defaultSpec({ rootfs: 'rootfs', args: ['true'] }));
  const id = uniqueId('cli');
  expect(berth('create', '-b', bundle.dir, id).status).toBe(0);
  expect(JSON.parse(berth('state', id).stdout).status).toBe('created');
  expect(berth('start', id).status).toBe(0);
  expect(berth('delete', '--force', id).status).toBe(0);
  expect(fs.readdirSync(root)).toEqual([]);
});

test('a terminal: true bundle (runc spec\'s default) runs on the caller\'s own terminal', () => {
  const spec = defaultSpec({ rootfs: 'rootfs', args: ['sh', '-c', 'test -t 0 && test -t 1 && echo on-a-terminal; exit 5'] });
  spec.process!.terminal = true;
  bundle.write(spec);
  const id = uniqueId('cli-tty');
  // script(1) gives the command a pseudo-terminal, as an interactive shell would have.
  const command = [process.execPath, '-e', JSON.stringify(PROGRAM), '--', 'runtime', '--root', root, 'run', '-b', bundle.dir, id]
    .map((a, i) => (i === 2 ? a : `'${a}'`))
    .join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', timeout: 30_000 });
  expect(r.stdout).toContain('on-a-terminal');
  expect(r.status).toBe(5);
  // Without a terminal, the container gets a pseudo-terminal of its own, relayed to the command's stdout.
  expect(berth('run', '-b', bundle.dir, uniqueId('cli-tty'))).toMatchObject({ status: 5, stdout: 'on-a-terminal\r\n' });
});
