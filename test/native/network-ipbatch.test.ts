/** ip batches through the long-lived session: per-batch line numbers, tolerated failures, recovery after ip exits. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runIpBatch, runIpBatchChecked, ALREADY_EXISTS, removeBatchFilesOfEndedProcesses } from '../../node-agent/network/ip-batch';
import { createNetns, deleteNetns, listBerthResources, listNetns, resourcesNamed } from '../../node-agent/network';
import { testTag } from '../../node-agent/network/testing';

const tag = testTag();
const ns = `berth-${tag}-ipb`;
const device = `berthd${tag}`;

beforeAll(async () => {
  await createNetns(ns);
});
afterAll(async () => {
  await deleteNetns(ns);
});

it('numbers failures per batch, even late in a session', async () => {
  for (let i = 0; i < 3; i++) expect(await runIpBatch(['link set lo up', 'link show lo'], { netns: ns })).toEqual([]);
  const failures = await runIpBatch(['link set lo up', `link del ${device}`, 'link set lo up', `link set ${device} up`], { netns: ns });
  expect(failures.map((f) => [f.line, f.command])).toEqual([
    [2, `link del ${device}`],
    [4, `link set ${device} up`],
  ]);
  expect(failures[0].message).toMatch(/Cannot find device/);
});

it('tolerates the failures it is told to', async () => {
  await runIpBatchChecked([`link add ${device} type bridge`], 'add bridge', { netns: ns });
  await runIpBatchChecked([`link add ${device} type bridge`], 'add bridge again', { netns: ns, tolerated: ALREADY_EXISTS });
  await expect(runIpBatchChecked([`link add ${device} type bridge`], 'add bridge strictly', { netns: ns })).rejects.toThrow(
    `add bridge strictly: \`link add ${device} type bridge\`: RTNETLINK answers: File exists`,
  );
});

it('reports a batch that makes ip exit, and the next batch runs in a fresh session', async () => {
  const failures = await runIpBatch(['addr add 10.213.0.300/24 dev lo', 'link set lo up'], { netns: ns });
  expect(failures).toEqual([expect.objectContaining({ line: 0, message: expect.stringMatching(/10\.213\.0\.300/) })]);
  expect(await runIpBatch([`link del ${device}`], { netns: ns })).toEqual([]);
  expect(resourcesNamed(await listBerthResources(ns), [device])).toEqual([]);
});

it('runs a nested batch inside another namespace and reports its failures by their own lines', async () => {
  const failures = await runIpBatch(['link show lo'], { nested: { netns: `/run/netns/${ns}`, commands: ['link set lo up', `link del ${device}`] } });
  expect(failures.map((f) => [f.nested, f.line, f.command])).toEqual([[true, 2, `link del ${device}`]]);
});

it('reports a nested batch whose namespace cannot be entered as a failure of its exec, after running the outer batch', async () => {
  const failures = await runIpBatch(['link set lo up'], { netns: ns, nested: { netns: `/run/netns/${ns}-absent`, commands: ['link set lo up'] } });
  expect(failures).toEqual([expect.objectContaining({ nested: false, command: expect.stringMatching(/^netns exec .*-absent ip/), message: expect.stringMatching(/Cannot open network namespace/) })]);
});

it('creates and deletes namespaces through the session: idempotent, and names that would break a batch line are refused', async () => {
  const other = `${ns}-2`;
  expect(await createNetns(other)).toBe(`/run/netns/${other}`);
  expect(await createNetns(other)).toBe(`/run/netns/${other}`);
  expect(listNetns()).toContain(other);
  await deleteNetns(other);
  await deleteNetns(other);
  expect(listNetns()).not.toContain(other);
  await expect(createNetns(`${ns} x`)).rejects.toThrow(/unsafe characters/);
});

it('pipelines batches sent at once: each gets its own failures, and the ones after a batch that makes ip exit still run', async () => {
  const outcomes = await Promise.all([
    runIpBatch(['link set lo up', `link del ${device}`], { netns: ns }),
    runIpBatch(['addr add 10.213.0.300/24 dev lo'], { netns: ns }),
    runIpBatch([`link set ${device} up`, 'link set lo up'], { netns: ns }),
    runIpBatch(['link show lo'], { netns: ns }),
  ]);
  expect(outcomes.map((failures) => failures.map((f) => [f.line, f.command]))).toEqual([
    [[2, `link del ${device}`]],
    [[0, expect.stringMatching(/-batch/)]],
    [[1, `link set ${device} up`]],
    [],
  ]);
});

it('removes the nested batch files that ended processes left behind (a process with batches in flight was killed)', () => {
  const dir = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const ended = spawnSync('true').pid!; // a pid whose process has ended
  const stale = path.join(dir, `berth-ip-batch-${ended}-0`);
  const own = path.join(dir, `berth-ip-batch-${process.pid}-999999`);
  fs.writeFileSync(stale, 'link set lo up\n');
  fs.writeFileSync(own, 'link set lo up\n');
  removeBatchFilesOfEndedProcesses();
  expect(fs.existsSync(stale)).toBe(false);
  expect(fs.existsSync(own)).toBe(true);
  fs.rmSync(own);
});
