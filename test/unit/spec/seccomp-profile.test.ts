import { DOCKER_DEFAULT_PROFILE, resolveSeccompProfile, type SeccompProfile } from '../../../node-agent/runtime/seccomp';

const allowedNames = (profile: SeccompProfile, caps: string[], arch = 'amd64') =>
  new Set(resolveSeccompProfile(profile, caps, { arch, kernel: '6.1.0' }).syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));

describe('resolveSeccompProfile (Docker\'s conditional rules)', () => {
  it('allows capability-gated syscalls only with the capability', () => {
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, []).has('reboot')).toBe(false);
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, ['CAP_SYS_BOOT']).has('reboot')).toBe(true);
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, ['CAP_SYS_ADMIN']).has('mount')).toBe(true);
  });

  it('drops the namespace-flag clone rule and the clone3 ENOSYS rule when CAP_SYS_ADMIN is held (excludes)', () => {
    const without = resolveSeccompProfile(DOCKER_DEFAULT_PROFILE, [], { arch: 'amd64' }).syscalls!;
    const withAdmin = resolveSeccompProfile(DOCKER_DEFAULT_PROFILE, ['CAP_SYS_ADMIN'], { arch: 'amd64' }).syscalls!;
    expect(without.some((r) => r.names.includes('clone') && r.args?.[0].op === 'SCMP_CMP_MASKED_EQ')).toBe(true);
    expect(without.find((r) => r.names.includes('clone3'))).toMatchObject({ action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    expect(withAdmin.some((r) => r.names.includes('clone') && r.args)).toBe(false);
    expect(withAdmin.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO')).toBe(false);
  });

  it('keeps architecture-specific rules for the host architecture only, and names its ABIs', () => {
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, [], 'amd64').has('arch_prctl')).toBe(true);
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, [], 'arm64').has('arch_prctl')).toBe(false);
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, [], 'arm64').has('set_tls')).toBe(true);
    expect(resolveSeccompProfile(DOCKER_DEFAULT_PROFILE, [], { arch: 'amd64' }).architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('honours minKernel', () => {
    const old = resolveSeccompProfile(DOCKER_DEFAULT_PROFILE, [], { arch: 'amd64', kernel: '4.4.0' });
    expect(old.syscalls!.some((r) => r.names.includes('ptrace'))).toBe(false);
    expect(allowedNames(DOCKER_DEFAULT_PROFILE, []).has('ptrace')).toBe(true);
  });

  it('passes a plain OCI profile through, keeping its own architectures', () => {
    const plain: SeccompProfile = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }] };
    expect(resolveSeccompProfile(plain, [])).toEqual(plain);
  });
});
