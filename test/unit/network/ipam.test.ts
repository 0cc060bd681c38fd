import {
  allocateAddress,
  AddressPoolExhaustedError,
  EMPTY_IPAM_STATE,
  releaseAddress,
  validateAddressing,
} from '../../../node-agent/network/ipam';
import { NetworkSpecError, parseCidr, formatCidr, overlaps } from '../../../node-agent/network/cidr';

const net24 = { subnet: '10.213.1.0/24', gateway: '10.213.1.1' };

describe('validateAddressing', () => {
  it('defaults the gateway to the first address', () => {
    expect(validateAddressing({ subnet: '10.213.1.0/24' }, [])).toEqual(net24);
  });

  it.each([
    ['10.213.1.0', 'spec.subnet', /not a CIDR/],
    ['10.213.1.0/33', 'spec.subnet', /over 32/],
    ['10.213.1.5/24', 'spec.subnet', /host bits set.*10\.213\.1\.0\/24/],
    ['10.213.256.0/24', 'spec.subnet', /not an IPv4 address/],
    ['010.213.1.0/24', 'spec.subnet', /not an IPv4 address/],
    ['10.213.1.0/31', 'spec.subnet', /too small/],
  ])('rejects subnet %s naming %s', (subnet, field, message) => {
    const attempt = () => validateAddressing({ subnet }, []);
    expect(attempt).toThrow(NetworkSpecError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (err) {
      expect((err as NetworkSpecError).field).toBe(field);
      expect((err as Error).message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it.each([
    ['10.213.2.1', /outside subnet/],
    ['10.213.1.0', /network or broadcast/],
    ['10.213.1.255', /network or broadcast/],
    ['gateway', /not an IPv4 address/],
  ])('rejects gateway %s naming spec.gateway', (gateway, message) => {
    const attempt = () => validateAddressing({ subnet: '10.213.1.0/24', gateway }, []);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^spec\.gateway: /);
  });

  it('rejects a subnet overlapping another network, naming it', () => {
    const others = [{ name: 'front', subnet: '10.213.0.0/16' }];
    expect(() => validateAddressing({ subnet: '10.213.7.0/24' }, others)).toThrow(
      'spec.subnet: 10.213.7.0/24 overlaps 10.213.0.0/16 of network front',
    );
    expect(validateAddressing({ subnet: '10.214.0.0/24' }, others).gateway).toBe('10.214.0.1');
  });
});

describe('ipRange', () => {
  it('is validated inside the subnet and normalised', () => {
    expect(validateAddressing({ subnet: '10.213.1.0/24', ipRange: '10.213.1.128/25' }, [])).toEqual({ ...net24, ipRange: '10.213.1.128/25' });
    expect(() => validateAddressing({ subnet: '10.213.1.0/24', ipRange: '10.213.0.0/23' }, [])).toThrow(
      'spec.ipRange: 10.213.0.0/23 is not inside subnet 10.213.1.0/24',
    );
    expect(() => validateAddressing({ subnet: '10.213.1.0/24', ipRange: '10.213.1.1/25' }, [])).toThrow(/^spec\.ipRange: .*host bits/);
  });

  it('limits allocation to the range, except for a requested address', () => {
    const pool = { subnet: '10.213.1.0/24', gateway: '10.213.1.1', ipRange: '10.213.1.252/30' };
    let state = EMPTY_IPAM_STATE;
    const got: string[] = [];
    for (const owner of ['a', 'b', 'c']) {
      const r = allocateAddress(pool, state, owner);
      state = r.state;
      got.push(r.address);
    }
    // .255 is the subnet's broadcast, so a /30 at the top of the subnet has three usable addresses.
    expect(got).toEqual(['10.213.1.252', '10.213.1.253', '10.213.1.254']);
    expect(() => allocateAddress(pool, state, 'd')).toThrow('address pool 10.213.1.252/30 is exhausted');
    expect(allocateAddress(pool, state, 'd', { address: '10.213.1.9', field: 'ip' }).address).toBe('10.213.1.9');
  });
});

describe('cidr', () => {
  it('formats and detects overlap at the edges', () => {
    const a = parseCidr('10.213.0.0/25', 'x');
    const b = parseCidr('10.213.0.128/25', 'x');
    expect(formatCidr(b)).toBe('10.213.0.128/25');
    expect(overlaps(a, b)).toBe(false);
    expect(overlaps(parseCidr('10.213.0.0/24', 'x'), b)).toBe(true);
    expect(formatCidr(parseCidr('0.0.0.0/0', 'x'))).toBe('0.0.0.0/0');
  });
});

describe('allocateAddress / releaseAddress', () => {
  it('skips network, gateway and broadcast and never hands out a duplicate', () => {
    const pool = { subnet: '10.213.1.0/29', gateway: '10.213.1.1' };
    let state = EMPTY_IPAM_STATE;
    const got: string[] = [];
    for (const owner of ['a', 'b', 'c', 'd', 'e']) {
      const result = allocateAddress(pool, state, owner);
      state = result.state;
      got.push(result.address);
    }
    expect(got).toEqual(['10.213.1.2', '10.213.1.3', '10.213.1.4', '10.213.1.5', '10.213.1.6']);
    expect(() => allocateAddress(pool, state, 'f')).toThrow(AddressPoolExhaustedError);
    expect(() => allocateAddress(pool, state, 'f')).toThrow('address pool 10.213.1.0/29 is exhausted: all 5');
  });

  it('is idempotent per owner and does not mutate its input', () => {
    const first = allocateAddress(net24, EMPTY_IPAM_STATE, 'web-1');
    const again = allocateAddress(net24, first.state, 'web-1');
    expect(again.address).toBe(first.address);
    expect(again.state).toBe(first.state);
    expect(EMPTY_IPAM_STATE.allocations).toEqual({});
  });

  it('reuses a released address', () => {
    let state = EMPTY_IPAM_STATE;
    for (const owner of ['a', 'b', 'c']) state = allocateAddress(net24, state, owner).state;
    const before = state;
    state = releaseAddress(state, 'b');
    expect(before.allocations.b).toBe('10.213.1.3');
    expect(state.allocations).toEqual({ a: '10.213.1.2', c: '10.213.1.4' });
    expect(allocateAddress(net24, state, 'd').address).toBe('10.213.1.3');
    expect(releaseAddress(state, 'nobody')).toBe(state);
  });

  it('honours a requested address and rejects a taken or unusable one naming the field', () => {
    const field = 'spec.networks[0].ip';
    const { state } = allocateAddress(net24, EMPTY_IPAM_STATE, 'a', { address: '10.213.1.50', field });
    expect(state.allocations.a).toBe('10.213.1.50');
    expect(() => allocateAddress(net24, state, 'b', { address: '10.213.1.50', field })).toThrow(
      `${field}: 10.213.1.50 is already in use`,
    );
    expect(() => allocateAddress(net24, state, 'b', { address: '10.213.1.1', field })).toThrow(/already in use/);
    expect(() => allocateAddress(net24, state, 'b', { address: '10.213.1.255', field })).toThrow(/not a usable address/);
    expect(() => allocateAddress(net24, state, 'b', { address: '10.213.9.9', field })).toThrow(/not a usable address/);
  });
});
