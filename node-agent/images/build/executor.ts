/**
 * Builds images from a Dockerfile. Stages run in order; metadata instructions change the config only;
 * COPY/ADD write a layer straight from the sources; RUN executes in a real container (through the
 * ContainerRuntime, on an overlay of the current layers) and its upper dir becomes the layer.
 * Every layer step is cached by (parent key, instruction, inputs): an unchanged rebuild only hashes inputs.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ContainerRuntime, ExitStatus } from '../../runtime/types';
import { defaultSpec } from '../../runtime/spec';
import { manifestFor, NewLayer, storeLayer } from '../compose';
import { Descriptor, ImageConfig, localPlatform } from '../media';
import { ensureImage } from '../ensure';
import { PullOptions } from '../registry/pull';
import { ImageStore } from '../store';
import { BuildCache, stepKey } from './cache';
import { DockerIgnore } from './context';
import { hashPlan, packPlan, planCopy } from './copy';
import { packUpperDir } from './diff';
import { applyMetadata, MetadataState } from './metadata';
import { DockerfileSyntaxError, Instruction, parseDockerfile } from './parser';
import { Ids, resolveIds } from './user';
import { expandWord, expandWords } from './words';

export interface BuildOptions {
  readonly contextDir: string;
  /** Dockerfile path, relative to the context or absolute (default `Dockerfile`). */
  readonly dockerfile?: string;
  readonly tags?: readonly string[];
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Build up to this stage (default: the last). */
  readonly target?: string;
  readonly noCache?: boolean;
  readonly onLog?: (line: string) => void;
  /** Registry options for pulling a missing FROM image; `false` never pulls. */
  readonly pull?: PullOptions | false;
}

export interface BuildResult {
  readonly digest: string;
  readonly steps: number;
  readonly cacheHits: number;
  readonly layersBuilt: number;
}

export class BuildStepError extends Error {
  constructor(readonly line: number, message: string, options?: ErrorOptions) {
    super(`Dockerfile line ${line}: ${message}`, options);
    this.name = 'BuildStepError';
  }
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const METADATA_ONLY = new Set(['ENV', 'LABEL', 'MAINTAINER', 'EXPOSE', 'USER', 'WORKDIR', 'CMD', 'ENTRYPOINT', 'HEALTHCHECK', 'STOPSIGNAL', 'VOLUME', 'SHELL', 'ARG']);

/** One stage's image under construction. */
interface Stage extends MetadataState {
  readonly name?: string;
  key: string;
  config: ImageConfig;
  layers: Descriptor[];
  /** The committed image equal to this state, if any (cleared by every change). */
  digest?: string;
}

export interface BuilderDeps {
  readonly store: ImageStore;
  readonly runtime: ContainerRuntime;
}

export class Builder {
  private readonly cache: BuildCache;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCache(deps.store);
  }

  async build(options: BuildOptions): Promise<BuildResult> {
    const contextDir = path.resolve(options.contextDir);
    const dockerfilePath = path.resolve(contextDir, options.dockerfile ?? 'Dockerfile');
    const instructions = parseDockerfile(fs.readFileSync(dockerfilePath, 'utf8'));
    const run = new BuildRun(this.deps, this.cache, contextDir, DockerIgnore.load(contextDir), options);
    const digest = await run.execute(instructions);
    this.deps.store.addImage(digest);
    for (const tag of options.tags ?? []) this.deps.store.tag(tag, digest);
    return { digest, steps: instructions.length, cacheHits: run.cacheHits, layersBuilt: run.layersBuilt };
  }
}

class BuildRun {
  cacheHits = 0;
  layersBuilt = 0;
  private readonly stages: Stage[] = [];
  private readonly globalArgs = new Map<string, string>();
  private readonly log: (line: string) => void;

  constructor(private readonly deps: BuilderDeps, private readonly cache: BuildCache, private readonly contextDir: string,
    private readonly ignore: DockerIgnore, private readonly options: BuildOptions) {
    this.log = options.onLog ?? (() => undefined);
  }

  async execute(instructions: Instruction[]): Promise<string> {
    let stage: Stage | undefined;
    for (const [i, ins] of instructions.entries()) {
      this.log(`Step ${i + 1}/${instructions.length} : ${ins.original}`);
      try {
        if (ins.name === 'FROM') {
          if (stage && stage.name !== undefined && stage.name === this.options.target?.toLowerCase()) break;
          stage = await this.from(ins);
          this.stages.push(stage);
        } else if (!stage) {
          this.globalArg(ins);
        } else if (METADATA_ONLY.has(ins.name)) {
          this.metadata(stage, ins);
        } else {
          await this.layerStep(stage, ins);
        }
      } catch (err) {
        if (err instanceof DockerfileSyntaxError || err instanceof BuildStepError) throw err;
        throw new BuildStepError(ins.line, `${ins.name}: ${(err as Error).message}`, { cause: err });
      }
    }
    const final = this.options.target ? this.stages.find((s) => s.name === this.options.target?.toLowerCase()) : this.stages.at(-1);
    if (!final) throw new Error(`build target stage "${this.options.target}" not found`);
    return this.finish(final);
  }

  private vars(stage: Stage): Map<string, string> {
    const vars = new Map(stage.args);
    for (const e of stage.config.config?.Env ?? []) {
      const eq = e.indexOf('=');
      vars.set(e.slice(0, eq), e.slice(eq + 1));
    }
    return vars;
  }

  private globalArg(ins: Instruction): void {
    for (const [name, value] of this.argDefinitions(ins, this.globalArgs)) this.globalArgs.set(name, value);
  }

  private argDefinitions(ins: Instruction, vars: Map<string, string>): Array<[string, string]> {
    return expandWords(ins.raw, vars).map((w) => {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      const fallback = eq < 0 ? this.globalArgs.get(name) ?? '' : w.slice(eq + 1);
      return [name, this.options.buildArgs?.[name] ?? fallback];
    });
  }

  private async from(ins: Instruction): Promise<Stage> {
    const [ref, , rawName] = expandWords(ins.raw, this.globalArgs);
    // stage names are case-insensitive, as in Docker
    const name = rawName?.toLowerCase();
    const earlier = this.stages.find((s) => s.name === ref.toLowerCase());
    const platform = localPlatform();
    let config: ImageConfig = { architecture: platform.architecture, os: platform.os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
    let layers: Descriptor[] = [];
    let digest: string | undefined;
    if (earlier) {
      digest = await this.commit(earlier);
    } else if (ref !== 'scratch') {
      digest = await this.baseImage(ref);
    }
    if (digest) {
      config = structuredClone(this.deps.store.getConfig(digest));
      layers = [...this.deps.store.getManifest(digest).layers];
    }
    return {
      ...(name ? { name } : {}), key: stepKey('', `FROM ${digest ?? 'scratch'}`), config, layers, ...(digest ? { digest } : {}),
      args: new Map(), shell: [...(config.config?.Shell ?? DEFAULT_SHELL)], cmdSet: false,
    };
  }

  /** A FROM image: from the store, or pulled when missing (unless `pull` is false). */
  private async baseImage(ref: string): Promise<string> {
    if (this.options.pull === false) return this.deps.store.resolve(ref);
    try {
      return await ensureImage(this.deps.store, ref, 'IfNotPresent', this.options.pull ?? {});
    } catch (err) {
      throw new Error(`base image "${ref}" is not in the store and pulling it failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private metadata(stage: Stage, ins: Instruction): void {
    const vars = this.vars(stage);
    if (ins.name === 'ARG') for (const [name, value] of this.argDefinitions(ins, vars)) stage.args.set(name, value);
    const { config, effect } = applyMetadata(stage, ins, vars);
    stage.config = { ...stage.config, config, history: [...(stage.config.history ?? []), { created_by: effect, empty_layer: true }] };
    stage.key = stepKey(stage.key, effect);
    delete stage.digest;
  }

  private async layerStep(stage: Stage, ins: Instruction): Promise<void> {
    const prepared = ins.name === 'RUN' ? this.prepareRun(stage, ins) : await this.prepareCopy(stage, ins);
    try {
      await this.applyLayerStep(stage, prepared);
    } finally {
      await prepared.cleanup?.();
    }
  }

  private async applyLayerStep(stage: Stage, prepared: PreparedStep): Promise<void> {
    const key = stepKey(stage.key, prepared.effect, prepared.inputs);
    const cached = this.options.noCache ? undefined : this.cache.lookup(key);
    if (cached) {
      this.log(' ---> Using cache');
      this.cacheHits++;
      this.loadImage(stage, cached);
    } else {
      const layer = await prepared.produce();
      stage.layers = [...stage.layers, layer.descriptor];
      stage.config = {
        ...stage.config,
        created: new Date().toISOString(),
        rootfs: { type: 'layers', diff_ids: [...stage.config.rootfs.diff_ids, layer.diffId] },
        history: [...(stage.config.history ?? []), { created: new Date().toISOString(), created_by: prepared.effect }],
      };
      delete stage.digest;
      this.cache.record(key, await this.commit(stage));
      this.layersBuilt++;
    }
    stage.key = key;
  }

  private loadImage(stage: Stage, digest: string): void {
    stage.config = structuredClone(this.deps.store.getConfig(digest));
    stage.layers = [...this.deps.store.getManifest(digest).layers];
    stage.digest = digest;
  }

  /** Writes the stage's current state as a (build-cache) image; returns its digest. */
  private async commit(stage: Stage): Promise<string> {
    if (stage.digest) return stage.digest;
    const configBlob = await this.deps.store.putJson(stage.config);
    const digest = await manifestFor(this.deps.store, configBlob, stage.layers);
    this.deps.store.addImage(digest, { buildCache: true });
    stage.digest = digest;
    return digest;
  }

  private async finish(stage: Stage): Promise<string> {
    const key = stepKey(stage.key, 'END');
    const cached = this.options.noCache ? undefined : this.cache.lookup(key);
    if (cached) return cached;
    const digest = await this.commit(stage);
    this.cache.record(key, digest);
    return digest;
  }

  private prepareRun(stage: Stage, ins: Instruction): PreparedStep {
    const vars = this.vars(stage);
    const args = ins.json ? [...ins.json] : [...stage.shell, ins.raw];
    // build args are in the environment of RUN (ENV wins on a clash), as in Docker
    const env = [...vars].map(([k, v]) => `${k}=${v}`);
    if (!vars.has('PATH')) env.push('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const effect = `RUN ${JSON.stringify(args)} ENV ${JSON.stringify(env)} USER ${stage.config.config?.User ?? ''} WORKDIR ${stage.config.config?.WorkingDir ?? ''}`;
    return { effect, inputs: '', produce: () => this.runInContainer(stage, ins, args, env) };
  }

  private async runInContainer(stage: Stage, ins: Instruction, args: string[], env: string[]): Promise<NewLayer> {
    const { store, runtime } = this.deps;
    const parent = await this.commit(stage);
    const id = `berth-build-${randomBytes(6).toString('hex')}`;
    const bundle = path.join(store.blobs.tmpDir, id);
    try {
      const rootfs = await store.prepareRootfs(parent, id);
      const cwd = stage.config.config?.WorkingDir || '/';
      await fs.promises.mkdir(path.join(rootfs, cwd), { recursive: true });
      const ids = stage.config.config?.User ? resolveIds(stage.config.config.User, [path.join(rootfs, 'etc')]) : { uid: 0, gid: 0 };
      await fs.promises.mkdir(bundle, { recursive: true });
      const spec = defaultSpec({ rootfs, args, env, cwd, uid: ids.uid, gid: ids.gid, hostname: 'berth-build' });
      await fs.promises.writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const output = path.join(bundle, 'output.log');
      const status = (await runtime.run(id, bundle, { stdio: { stdout: output, stderr: output } })) as ExitStatus;
      const text = fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : '';
      for (const line of text.split('\n').filter((l) => l !== '')) this.log(line);
      if (status.exitCode !== 0) {
        throw new BuildStepError(ins.line, `RUN ${JSON.stringify(args)} exited with code ${status.exitCode}${text ? `: ${text.trim().split('\n').slice(-5).join(' | ')}` : ''}`);
      }
      return await storeLayer(store, packUpperDir(store.upperDir(id)));
    } finally {
      await store.releaseRootfs(id);
      await fs.promises.rm(bundle, { recursive: true, force: true });
    }
  }

  private async prepareCopy(stage: Stage, ins: Instruction): Promise<PreparedStep> {
    const vars = this.vars(stage);
    const words = ins.json ? [...ins.json] : expandWords(ins.raw, vars);
    const dest = words[words.length - 1];
    const sources = words.slice(0, -1);
    if (ins.name === 'ADD' && sources.some((s) => /^[a-z]+:\/\//i.test(s))) throw new Error('ADD from a URL is not supported (no network during builds)');
    const workdir = stage.config.config?.WorkingDir || '/';
    const absDest = path.posix.resolve(workdir, dest) + (dest.endsWith('/') || dest === '.' ? '/' : '');
    let root = this.contextDir;
    let ignore: DockerIgnore | undefined = this.ignore;
    let release: (() => Promise<void>) | undefined;
    let fromDesc = 'context';
    if (ins.flags.from !== undefined) {
      const from = expandWord(ins.flags.from, vars);
      const source = this.stages.find((s) => s.name === from.toLowerCase()) ?? (/^\d+$/.test(from) ? this.stages[Number(from)] : undefined);
      const digest = source ? await this.commit(source) : this.deps.store.resolve(from);
      const id = `berth-copy-${randomBytes(6).toString('hex')}`;
      root = await this.deps.store.prepareRootfs(digest, id);
      release = () => this.deps.store.releaseRootfs(id);
      ignore = undefined;
      fromDesc = digest;
    }
    try {
      const plan = planCopy(root, sources, absDest, ignore, ins.name === 'ADD' && ins.flags.from === undefined);
      let owner: Ids | undefined;
      if (ins.flags.chown !== undefined) {
        const lowers = await this.deps.store.ensureUnpacked(await this.commit(stage));
        owner = resolveIds(expandWord(ins.flags.chown, vars), lowers.reverse().map((l) => path.join(l, 'etc')));
      }
      const inputs = await hashPlan(plan, owner);
      const effect = `${ins.name} --from=${fromDesc} --chown=${owner ? `${owner.uid}:${owner.gid}` : ''} ${JSON.stringify(sources)} ${absDest}`;
      return { effect, inputs, produce: async () => storeLayer(this.deps.store, packPlan(plan, owner)), ...(release ? { cleanup: release } : {}) };
    } catch (err) {
      await release?.();
      throw err;
    }
  }
}

interface PreparedStep {
  /** The instruction as executed: part of the cache key and the history entry. */
  readonly effect: string;
  /** Hash of the step's inputs. */
  readonly inputs: string;
  produce(): Promise<NewLayer>;
  /** Releases what preparing mounted (a `COPY --from` source rootfs). */
  cleanup?(): Promise<void>;
}
