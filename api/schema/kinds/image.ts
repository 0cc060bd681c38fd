/** Image: a named image the cluster should have — pulled from a registry, imported from an archive, or built. */
import { observedGenerationSchema } from './common';
import { arr, bool, conditionsSchema, int64, map, obj, oneOfValues, str } from './dsl';
import { AGE_COLUMN, type KindDefinition } from './types';

export const IMAGE_PHASES = ['Pending', 'Pulling', 'Importing', 'Building', 'Ready', 'Failed'] as const;

const layer = obj('One layer of the image, as stored in the content-addressable store.', {
  digest: str('Digest (sha256:...) of the compressed layer blob.'),
  diffID: str('Digest of the uncompressed layer tar.'),
  size: int64('Size of the blob in bytes.', { minimum: 0 }),
  mediaType: str('Media type of the blob.'),
});

export const image: KindDefinition = {
  kind: 'Image',
  plural: 'images',
  shortNames: ['img'],
  categories: ['berth'],
  scope: 'Namespaced',
  description: 'Image is a container image the cluster should hold: pulled from an OCI registry (spec.ref), imported from a docker save / OCI archive (spec.import) or built from a Dockerfile (spec.build). The image controller resolves it to a digest; Containers run that digest.',
  properties: {
    spec: obj(
      'ImageSpec says where the image comes from.',
      {
        ref: str('Reference of the image: registry/repository:tag or repository@sha256:digest. Containers may name the Image object or this reference.', { minLength: 1 }),
        pullPolicy: oneOfValues('When to (re)pull: Always (re-resolve the tag on every check, periodically), IfNotPresent or Never (must be imported or built). Defaults as in Kubernetes: Always for :latest or no tag, IfNotPresent otherwise.', ['Always', 'IfNotPresent', 'Never']),
        insecure: bool('Talk plain HTTP to the registry (for local registries).'),
        platform: str('os/architecture[/variant] to select from a multi-platform index. Defaults to the node\'s.'),
        build: obj(
          'Build the image from a Dockerfile instead of pulling it.',
          {
            context: str('Directory (on the building node) used as the build context.', { minLength: 1 }),
            dockerfile: str('Path of the Dockerfile relative to the context. Defaults to Dockerfile.'),
            target: str('Build stage to stop at (multi-stage builds).'),
            buildArgs: map('Values for ARG instructions.'),
            noCache: bool('Do not reuse cached layers.'),
          },
          { required: ['context'] },
        ),
        import: obj(
          'Import the image from a file on the node instead of pulling it.',
          {
            path: str('Path of a `docker save` archive, an OCI archive or an OCI image layout directory.', { minLength: 1 }),
            format: oneOfValues('Format of the source; detected when omitted.', ['docker-archive', 'oci-archive', 'oci-layout']),
          },
          { required: ['path'] },
        ),
      },
      { required: ['ref'] },
    ),
    status: obj('ImageStatus is what the image controller found.', {
      phase: oneOfValues('Pending, Pulling, Importing, Building, Ready or Failed.', IMAGE_PHASES),
      message: str('Detail of the phase, e.g. the pull error.'),
      digest: str('Digest (sha256:...) of the image manifest the reference resolved to.'),
      resolvedRef: str('The reference with the digest: repository@sha256:...'),
      mediaType: str('Media type of the manifest.'),
      size: int64('Total size of the layers in bytes.', { minimum: 0 }),
      layers: arr('The layers, base first.', layer),
      config: obj('The parts of the image configuration a container inherits.', {
        entrypoint: arr('ENTRYPOINT', { type: 'string' }),
        cmd: arr('CMD', { type: 'string' }),
        env: arr('ENV, as NAME=value', { type: 'string' }),
        workingDir: str('WORKDIR'),
        user: str('USER'),
        exposedPorts: arr('EXPOSE, as port/protocol', { type: 'string' }),
        labels: map('LABEL'),
      }),
      nodes: arr('Nodes that hold the image at status.digest (each node agent makes the image present on itself and adds its name).', { type: 'string' }),
      conditions: conditionsSchema('Latest observations: Ready, ...'),
      observedGeneration: observedGenerationSchema,
    }),
  },
  required: ['spec'],
  statusSubresource: true,
  printerColumns: [
    { name: 'Ref', type: 'string', jsonPath: '.spec.ref', description: 'Image reference' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Pull/import/build phase' },
    { name: 'Digest', type: 'string', jsonPath: '.status.digest', description: 'Resolved manifest digest' },
    { name: 'Size', type: 'integer', jsonPath: '.status.size', description: 'Total layer size in bytes' },
    AGE_COLUMN,
  ],
};
