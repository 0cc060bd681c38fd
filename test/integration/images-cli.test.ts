import { Command } from 'commander';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { registerImageCommands } from '../../cli/commands/image';

describe('berth image (CLI, in process)', () => {
  let work: string;
  let out: string[];

  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-imgcli-'));
    out = [];
    jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(work, { recursive: true, force: true });
    expect(fs.existsSync(work)).toBe(false);
  });

  async function berth(...args: string[]): Promise<string> {
    const program = new Command('berth').exitOverride();
    registerImageCommands(program);
    out.length = 0;
    await program.parseAsync(['image', '--root', path.join(work, 'store'), ...args], { from: 'user' });
    return out.join('\n');
  }

  it('imports busybox, tags, lists, saves, removes, prunes and loads back', async () => {
    const digest = (await berth('import', '--busybox')).trim();
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    await berth('tag', 'busybox', 'localhost:5000/team/box:v1');
    const ls = await berth('ls', '--digests');
    expect(ls.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(ls).toMatch(new RegExp(`busybox\\s+latest\\s+${digest}`));
    expect(ls).toMatch(/localhost:5000\/team\/box\s+v1/);
    expect(JSON.parse(await berth('inspect', 'busybox'))[0].digest).toBe(digest);
    expect(await berth('history', 'busybox')).toContain('berth image import --busybox');
    const archive = path.join(work, 'images.tar');
    await berth('save', '-o', archive, 'busybox', 'localhost:5000/team/box:v1');
    expect(await berth('rm', 'localhost:5000/team/box:v1')).toBe('Untagged: localhost:5000/team/box:v1');
    expect(await berth('rm', 'busybox')).toBe(`Untagged: docker.io/library/busybox:latest\nDeleted: ${digest}`);
    expect(await berth('prune')).toMatch(/Reclaimed .* \(3 blobs, 0 unpacked layers\)/);
    expect(await berth('ls')).toBe('REPOSITORY   TAG   IMAGE ID   CREATED   SIZE');
    expect(await berth('load', '-i', archive)).toBe('Loaded image: docker.io/library/busybox:latest\nLoaded image: localhost:5000/team/box:v1');
    await expect(berth('inspect', 'nothere')).rejects.toThrow('image "nothere" not found');
  });
});
