/**
 * cgroup v2 has no devices.allow/deny files: device access is decided by an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. This compiles the spec's device rules into
 * such a program (raw `struct bpf_insn[]`, 8 bytes each).
 *
 * Semantics follow cgroup v1: start from "everything allowed" (what a new v1 child inherits) and
 * apply the rules in order, so the last rule matching a request decides. The program checks the
 * rules from last to first and returns at the first match. An allow rule matches when it grants
 * every requested access bit; a deny rule when it takes away any of them.
 * Context (include/uapi/linux/bpf.h, struct bpf_cgroup_dev_ctx): u32 access_type (type | access << 16),
 * u32 major, u32 minor.
 */
import type { LinuxDeviceCgroup } from '../spec/oci';

const DEV_BLOCK = 1; // BPF_DEVCG_DEV_BLOCK
const DEV_CHAR = 2; // BPF_DEVCG_DEV_CHAR
const ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 }; // BPF_DEVCG_ACC_MKNOD/READ/WRITE

/** Registers: r1 = ctx on entry; r2 = type, r3 = access, r4 = major, r5 = minor, r6 = scratch. */
const R0 = 0;
const R1 = 1;
const R2 = 2;
const R3 = 3;
const R4 = 4;
const R5 = 5;
const R6 = 6;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });
const loadWord = (dst: number, offset: number) => insn(0x61, dst, R1, offset, 0); // BPF_LDX|BPF_MEM|BPF_W
const andImm = (dst: number, imm: number) => insn(0x57, dst, 0, 0, imm); // BPF_ALU64|BPF_AND|BPF_K
const rshImm = (dst: number, imm: number) => insn(0x77, dst, 0, 0, imm); // BPF_ALU64|BPF_RSH|BPF_K
const movReg = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0); // BPF_ALU64|BPF_MOV|BPF_X
const movImm = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm); // BPF_ALU64|BPF_MOV|BPF_K
const jneImm = (dst: number, imm: number, off: number) => insn(0x55, dst, 0, off, imm); // BPF_JMP|BPF_JNE|BPF_K
const jeqImm = (dst: number, imm: number, off: number) => insn(0x15, dst, 0, off, imm); // BPF_JMP|BPF_JEQ|BPF_K
const exit = () => insn(0x95, 0, 0, 0, 0); // BPF_JMP|BPF_EXIT

const isWildcard = (n: number | null | undefined) => n === undefined || n === null || n < 0;

function accessMask(access: string | undefined): number {
  return [...(access || 'rwm')].reduce((mask, c) => mask | (ACCESS_BITS[c] ?? 0), 0);
}

/** One rule: checks that jump to the next rule on a mismatch (offsets fixed once the block's length is known), then the verdict. */
function ruleBlock(rule: LinuxDeviceCgroup): Insn[] {
  const NEXT = Number.NaN;
  const block: Insn[] = [];
  const type = rule.type ?? 'a';
  if (type !== 'a') block.push(jneImm(R2, type === 'b' ? DEV_BLOCK : DEV_CHAR, NEXT));
  const mask = accessMask(rule.access);
  if (mask !== 7) {
    block.push(movReg(R6, R3));
    if (rule.allow) {
      block.push(andImm(R6, ~mask & 7), jneImm(R6, 0, NEXT)); // asks for a bit the rule does not grant
    } else {
      block.push(andImm(R6, mask), jeqImm(R6, 0, NEXT)); // asks for none of the bits the rule denies
    }
  }
  if (!isWildcard(rule.major)) block.push(jneImm(R4, rule.major!, NEXT));
  if (!isWildcard(rule.minor)) block.push(jneImm(R5, rule.minor!, NEXT));
  block.push(movImm(R0, rule.allow ? 1 : 0), exit());
  return block.map((ins, i) => (Number.isNaN(ins.off) ? { ...ins, off: block.length - i - 1 } : ins));
}

/** The device filter program for `rules`, as `struct bpf_insn[]` bytes. */
export function compileDeviceFilter(rules: readonly LinuxDeviceCgroup[]): Buffer {
  const program: Insn[] = [loadWord(R2, 0), andImm(R2, 0xffff), loadWord(R3, 0), rshImm(R3, 16), loadWord(R4, 4), loadWord(R5, 8)];
  let decided = false;
  for (const rule of [...rules].reverse()) {
    const block = ruleBlock(rule);
    program.push(...block);
    // A rule that matches every request (e.g. Docker's leading deny-all) ends the program: the
    // verifier refuses unreachable instructions after it.
    decided = block.length === 2;
    if (decided) break;
  }
  // No rule matched: what a v1 child starts with, everything allowed.
  if (!decided) program.push(movImm(R0, 1), exit());
  const out = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    out.writeUInt8(ins.code, i * 8);
    out.writeUInt8((ins.src << 4) | ins.dst, i * 8 + 1);
    out.writeInt16LE(ins.off, i * 8 + 2);
    out.writeInt32LE(ins.imm, i * 8 + 4);
  });
  return out;
}
