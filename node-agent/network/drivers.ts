/** Picks the driver for a Network's `spec.driver`. */
import { BridgeDriver, type BridgeDriverOptions } from './bridge-driver';
import { OverlayDriver } from './overlay-driver';
import { HostDriver, NoneDriver } from './simple-drivers';
import type { NetworkDriver, NetworkDriverName } from './types';

export function createDriver(name: NetworkDriverName, options: Pick<BridgeDriverOptions, 'hostNetns'> = {}): NetworkDriver {
  switch (name) {
    case 'bridge':
      return new BridgeDriver(options);
    case 'overlay':
      return new OverlayDriver(options);
    case 'host':
      return new HostDriver();
    case 'none':
      return new NoneDriver();
  }
}
