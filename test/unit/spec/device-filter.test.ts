import { compileDeviceFilter } from '../../../node-agent/runtime/cgroups';

/** Decoded instructions: [opcode, dst, src, off, imm]. */
function decode(prog: Buffer): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < prog.length; i += 8) {
    out.push([prog[i], prog[i + 1] & 0xf, prog[i + 1] >> 4, prog.readInt16LE(i + 2), prog.readInt32LE(i + 4)]);
  }
  return out;
}

describe('compileDeviceFilter (cgroup v2 device rules as eBPF)', () => {
  it('with no rules allows everything, as a new v1 cgroup does', () => {
    const insns = decode(compileDeviceFilter([]));
    expect(insns).toHaveLength(8);
    expect(insns.slice(-2)).toEqual([[0xb7, 0, 0, 0, 1], [0x95, 0, 0, 0, 0]]);
  });

  it('checks the last rule first and stops at a leading deny-all (no unreachable fall-through)', () => {
    const insns = decode(compileDeviceFilter([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }]));
    // 6 context loads; c 1:3 block: type, major, minor checks + verdict (5); deny-all: verdict (2).
    expect(insns).toHaveLength(13);
    expect(insns[6]).toEqual([0x55, 2, 0, 4, 2]); // if type != CHAR skip the 4 remaining instructions of the block
    expect(insns[7]).toEqual([0x55, 4, 0, 3, 1]); // major
    expect(insns[8]).toEqual([0x55, 5, 0, 2, 3]); // minor
    expect(insns.slice(9, 11)).toEqual([[0xb7, 0, 0, 0, 1], [0x95, 0, 0, 0, 0]]);
    expect(insns.slice(11)).toEqual([[0xb7, 0, 0, 0, 0], [0x95, 0, 0, 0, 0]]);
  });

  it('matches partial access: allow needs every requested bit, deny any', () => {
    const allowRead = decode(compileDeviceFilter([{ allow: true, type: 'c', major: 1, minor: 5, access: 'r' }]));
    expect(allowRead.slice(8, 10)).toEqual([[0x57, 6, 0, 0, 5], [0x55, 6, 0, 4, 0]]); // requested & (m|w) → next rule
    const denyWrite = decode(compileDeviceFilter([{ allow: false, type: 'b', major: 8, minor: null, access: 'w' }]));
    // A jump of n skips to the next rule: block of 7 (type, mov, and, jeq, major, verdict).
    expect(denyWrite.slice(6, 10)).toEqual([[0x55, 2, 0, 6, 1], [0xbf, 6, 3, 0, 0], [0x57, 6, 0, 0, 4], [0x15, 6, 0, 3, 0]]);
  });
});
