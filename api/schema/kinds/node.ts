/** Node: a machine running the Berth node agent. */
import { arr, bool, conditionsSchema, int32, obj, oneOfValues, quantity, str, time } from './dsl';
import { AGE_COLUMN, type KindDefinition } from './types';

const resourceList = (description: string) =>
  obj(description, {
    cpu: quantity('CPU in cores ("4", "3500m").'),
    memory: quantity('Memory in bytes ("16Gi").'),
    pids: quantity('Number of processes.'),
    containers: quantity('Number of Containers.'),
  });

export const node: KindDefinition = {
  kind: 'Node',
  plural: 'nodes',
  shortNames: ['no'],
  categories: ['berth'],
  scope: 'Cluster',
  description: 'Node is a machine that runs Containers. Its agent registers it, renews its Lease and reports its status; the node lifecycle controller marks it NotReady when the Lease lapses.',
  properties: {
    spec: obj('NodeSpec describes the attributes a node is created with.', {
      unschedulable: bool('Unschedulable controls node schedulability of new Containers (`berth cordon`).'),
      taints: arr(
        'Taints repel Containers from the node.',
        obj(
          'The node this Taint is attached to has the "effect" on any Container that does not tolerate the Taint.',
          {
            key: str('The taint key to be applied to a node.'),
            value: str('The taint value corresponding to the taint key.'),
            effect: oneOfValues('The effect of the taint on Containers that do not tolerate the taint.', ['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
            timeAdded: time('TimeAdded represents the time at which the taint was added.'),
          },
          { required: ['key', 'effect'] },
        ),
      ),
      subnet: str('CIDR the node allocates bridge-network addresses from, when the cluster assigns one per node.', { format: 'cidr' }),
    }),
    status: obj('NodeStatus is information about the current status of a node, reported by its agent.', {
      capacity: resourceList('Total resources of the node.'),
      allocatable: resourceList('Resources available to Containers (capacity minus reservations).'),
      addresses: arr(
        'Addresses of the node.',
        obj('NodeAddress contains information for the node\'s address.', {
          type: oneOfValues('Node address type.', ['Hostname', 'InternalIP', 'ExternalIP']),
          address: str('The node address.'),
        }, { required: ['type', 'address'] }),
      ),
      conditions: conditionsSchema('Conditions is an array of current observed node conditions: Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable.'),
      nodeInfo: obj('General information about the node.', {
        machineID: str('MachineID reported by the node (/etc/machine-id).'),
        bootID: str('Boot ID reported by the node.'),
        kernelVersion: str('Kernel Version reported by the node from \'uname -r\'.'),
        osImage: str('OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 12 (bookworm)).'),
        operatingSystem: str('The Operating System reported by the node.'),
        architecture: str('The Architecture reported by the node.'),
        agentVersion: str('Version of the Berth node agent.'),
        containerRuntimeVersion: str('Container runtime and version, as <runtime>://<version> (berth://0.1.0, runc://1.1.12).'),
        cgroupVersion: str('cgroup layout of the node: v1, v2 or hybrid.'),
      }),
      agentPort: int32('Port of the agent\'s API (logs, exec) on the node\'s addresses.', { minimum: 1, maximum: 65535 }),
      images: arr('Images present on the node.', obj('An image on the node.', {
        names: arr('Names known for the image.', { type: 'string' }),
        digest: str('Manifest digest.'),
        sizeBytes: { type: 'integer', format: 'int64', description: 'The size of the image in bytes.' },
      })),
    }),
  },
  statusSubresource: true,
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Ready condition' },
    { name: 'Unschedulable', type: 'boolean', jsonPath: '.spec.unschedulable' },
    AGE_COLUMN,
    { name: 'Runtime', type: 'string', jsonPath: '.status.nodeInfo.containerRuntimeVersion' },
    { name: 'Internal-IP', type: 'string', jsonPath: '.status.addresses[?(@.type=="InternalIP")].address', priority: 1 },
    { name: 'Kernel-Version', type: 'string', jsonPath: '.status.nodeInfo.kernelVersion', priority: 1 },
  ],
};
