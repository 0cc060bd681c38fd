/**
 * Instructions that only change the image config (no layer): ENV, LABEL, EXPOSE, USER, WORKDIR,
 * STOPSIGNAL, VOLUME, SHELL, CMD, ENTRYPOINT, HEALTHCHECK, ARG, MAINTAINER — with Docker's semantics.
 */
import * as path from 'path';
import { ContainerConfig, HealthConfig, ImageConfig } from '../media';
import { DockerfileSyntaxError, Instruction } from './parser';
import { expandWord, expandWords, parseKeyValues, Vars } from './words';

export interface MetadataState {
  config: ImageConfig;
  /** ARG values in scope in this stage. */
  args: Map<string, string>;
  /** The shell of shell-form RUN/CMD/ENTRYPOINT (SHELL changes it). */
  shell: string[];
  /** CMD set in this stage (an ENTRYPOINT then keeps it; otherwise ENTRYPOINT clears the inherited CMD). */
  cmdSet: boolean;
}

/**
 * Applies one metadata instruction: returns the new runtime config and the instruction's effect
 * (its history entry and cache-key part). Updates `state.shell`/`state.cmdSet`; ARG values are set by the caller.
 */
export function applyMetadata(state: MetadataState, ins: Instruction, vars: Vars): { config: ContainerConfig; effect: string } {
  const c: ContainerConfig = { ...state.config.config };
  const command = (): string[] => (ins.json ? [...ins.json] : [...state.shell, ins.raw]);
  let effect = ins.original;
  switch (ins.name) {
    case 'ARG':
      effect = `ARG ${[...state.args].map(([k, v]) => `${k}=${v}`).join(' ')}`;
      break;
    case 'ENV': {
      const env = [...(c.Env ?? [])];
      for (const [k, v] of parseKeyValues(ins.raw, vars)) {
        const i = env.findIndex((e) => e.startsWith(`${k}=`));
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      c.Env = env;
      effect = `ENV ${env.join(' ')}`;
      break;
    }
    case 'LABEL':
    case 'MAINTAINER':
      c.Labels = { ...c.Labels, ...Object.fromEntries(ins.name === 'LABEL' ? parseKeyValues(ins.raw, vars) : [['maintainer', ins.raw]]) };
      break;
    case 'EXPOSE':
      c.ExposedPorts = { ...c.ExposedPorts };
      for (const p of expandWords(ins.raw, vars)) c.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
      break;
    case 'USER':
      c.User = expandWord(ins.raw, vars);
      break;
    case 'WORKDIR':
      c.WorkingDir = path.posix.resolve(c.WorkingDir || '/', expandWord(ins.raw, vars));
      break;
    case 'STOPSIGNAL':
      c.StopSignal = expandWord(ins.raw, vars);
      break;
    case 'VOLUME':
      c.Volumes = { ...c.Volumes };
      for (const v of ins.json ?? expandWords(ins.raw, vars)) c.Volumes[v] = {};
      break;
    case 'SHELL':
      state.shell = [...(ins.json as string[])];
      c.Shell = [...state.shell];
      break;
    case 'CMD':
      c.Cmd = command();
      state.cmdSet = true;
      break;
    case 'ENTRYPOINT':
      c.Entrypoint = command();
      if (!state.cmdSet) c.Cmd = null;
      break;
    case 'HEALTHCHECK':
      c.Healthcheck = parseHealthcheck(ins);
      break;
    default:
      throw new DockerfileSyntaxError(ins.line, `${ins.name} is not a metadata instruction`);
  }
  return { config: c, effect };
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go duration syntax (`1m30s`, `500ms`) in nanoseconds, as image configs store them. */
function parseDuration(value: string, line: number): number {
  let total = 0;
  let consumed = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== value.length || value === '') throw new DockerfileSyntaxError(line, `invalid duration "${value}"`);
  return Math.round(total);
}

function parseHealthcheck(ins: Instruction): HealthConfig {
  if (/^NONE$/i.test(ins.raw.trim())) return { Test: ['NONE'] };
  const cmd = ins.raw.replace(/^CMD\s*/i, '');
  let json: string[] | undefined;
  try {
    json = cmd.startsWith('[') ? (JSON.parse(cmd) as string[]) : undefined;
  } catch {
    json = undefined; // not JSON: shell form, as Docker reads it
  }
  const h: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmd] };
  for (const [flag, value] of Object.entries(ins.flags)) {
    if (flag === 'interval') h.Interval = parseDuration(value, ins.line);
    else if (flag === 'timeout') h.Timeout = parseDuration(value, ins.line);
    else if (flag === 'start-period') h.StartPeriod = parseDuration(value, ins.line);
    else if (flag === 'retries') h.Retries = Number(value);
    else throw new DockerfileSyntaxError(ins.line, `unknown HEALTHCHECK flag --${flag}`);
  }
  return h;
}
