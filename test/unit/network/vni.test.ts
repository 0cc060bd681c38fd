/** VNI choice for overlay Networks: kept, requested, picked lowest free, duplicates settled by age. */
import { chooseVni, memberRecordsOf, VNI_POOL_FIRST, type VniHolder } from '../../../controllers/network';

const holder = (key: string, vni: number, createdAt = '2026-01-01T00:00:00Z'): VniHolder => ({ key, vni, createdAt });
const self = { key: 'ns/self', createdAt: '2026-01-02T00:00:00Z' };

describe('chooseVni', () => {
  it('picks the lowest free VNI from 4096, skipping held ones, so a freed one is reused first', () => {
    expect(chooseVni(self, [])).toEqual({ vni: VNI_POOL_FIRST });
    expect(chooseVni(self, [holder('ns/a', 4096), holder('ns/b', 4098)])).toEqual({ vni: 4097 });
  });

  it('keeps an assigned VNI, and the younger of two Networks holding the same one picks again', () => {
    expect(chooseVni({ ...self, current: 5000 }, [holder('ns/a', 4096)])).toEqual({ vni: 5000 });
    expect(chooseVni({ ...self, current: 4096 }, [holder('ns/older', 4096)])).toEqual({ vni: 4097 });
    expect(chooseVni({ ...self, current: 4096 }, [holder('ns/younger', 4096, '2026-01-03T00:00:00Z')])).toEqual({ vni: 4096 });
    // Same second: the key decides, the same way for both sides.
    expect(chooseVni({ key: 'ns/b', createdAt: self.createdAt, current: 4096 }, [holder('ns/a', 4096, self.createdAt)])).toEqual({ vni: 4097 });
    expect(chooseVni({ key: 'ns/a', createdAt: self.createdAt, current: 4096 }, [holder('ns/b', 4096, self.createdAt)])).toEqual({ vni: 4096 });
  });

  it('honours spec.vni when nobody holds it, refuses it when someone does, and refuses a change once assigned', () => {
    expect(chooseVni({ ...self, requested: 7 }, [])).toEqual({ vni: 7 });
    expect(chooseVni({ ...self, requested: 7 }, [holder('ns/young', 7, '2026-02-01T00:00:00Z')])).toEqual({ reason: 'VNIInUse', message: 'spec.vni: 7 is already used by Network ns/young' });
    expect(chooseVni({ ...self, requested: 7, current: 7 }, [holder('ns/young', 7, '2026-02-01T00:00:00Z')])).toEqual({ vni: 7 });
    expect(chooseVni({ ...self, requested: 8, current: 7 }, [])).toMatchObject({ reason: 'InvalidVNI', message: expect.stringMatching(/^spec\.vni: cannot change from 7/) });
    expect(chooseVni({ ...self, requested: 0 }, [])).toMatchObject({ reason: 'InvalidVNI', message: expect.stringMatching(/^spec\.vni: 0 is not a VNI/) });
  });
});

describe('memberRecordsOf', () => {
  it('turns allocations into name records and skips malformed owners', () => {
    expect(memberRecordsOf({ 'ns/one': '10.1.0.2', 'other/two': '10.1.0.3', bad: '10.1.0.4' })).toEqual([
      { namespace: 'ns', name: 'one', addresses: ['10.1.0.2'] },
      { namespace: 'other', name: 'two', addresses: ['10.1.0.3'] },
    ]);
  });
});
