/** IPv4 address and CIDR arithmetic. Pure; addresses are unsigned 32-bit integers. */

export interface Ipv4Cidr {
  /** The network address (host bits zero), as an unsigned 32-bit integer. */
  readonly network: number;
  readonly prefixLength: number;
}

/** Invalid network input; `field` is the spec path it came from (e.g. `spec.subnet`). */
export class NetworkSpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'NetworkSpecError';
  }
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses dotted-quad IPv4 (no leading zeros, which some parsers read as octal). */
export function parseIpv4(text: string, field: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) {
    throw new NetworkSpecError(field, `"${text}" is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

/** Parses `A.B.C.D/N`; host bits must be zero (`10.0.0.5/24` is rejected, as Docker does). */
export function parseCidr(text: string, field: string): Ipv4Cidr {
  const match = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (!match) throw new NetworkSpecError(field, `"${text}" is not a CIDR (want A.B.C.D/N)`);
  const prefixLength = Number(match[2]);
  if (prefixLength > 32) throw new NetworkSpecError(field, `prefix length ${prefixLength} is over 32`);
  const address = parseIpv4(match[1], field);
  const network = networkOf(address, prefixLength);
  if (network !== address) {
    throw new NetworkSpecError(field, `"${text}" has host bits set (did you mean ${formatIpv4(network)}/${prefixLength}?)`);
  }
  return { network, prefixLength };
}

/** Parses `A.B.C.D/N` or a bare address (as /32), zeroing host bits: for reading routes and interface addresses. */
export function enclosingCidr(text: string, field: string): Ipv4Cidr {
  const [address, prefix = '32'] = text.split('/');
  const prefixLength = Number(prefix);
  if (!/^[0-9]{1,2}$/.test(prefix) || prefixLength > 32) throw new NetworkSpecError(field, `"${text}" has a bad prefix length`);
  return { network: networkOf(parseIpv4(address, field), prefixLength), prefixLength };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefixLength}`;
}

export function sizeOf(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefixLength);
}

export function broadcastOf(cidr: Ipv4Cidr): number {
  return cidr.network + sizeOf(cidr) - 1;
}

function networkOf(address: number, prefixLength: number): number {
  const size = 2 ** (32 - prefixLength);
  return address - (address % size);
}

export function contains(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.network && address <= broadcastOf(cidr);
}

export function overlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network <= broadcastOf(b) && b.network <= broadcastOf(a);
}
