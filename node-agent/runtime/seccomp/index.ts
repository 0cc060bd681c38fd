/** Seccomp: Docker's default profile as data, and its compilation to BPF through libseccomp.so.2. */
export { compileSeccomp, SeccompError, SUPPORTED_SECCOMP_ARCHES, SUPPORTED_SECCOMP_OPERATORS } from './compile';
export {
  DOCKER_DEFAULT_PROFILE,
  defaultSeccompProfile,
  resolveSeccompProfile,
  type SeccompProfile,
  type ConditionalSyscall,
  type SeccompCondition,
  type ResolveOptions,
} from './profile';
