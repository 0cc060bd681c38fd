/**
 * Dockerfile parsing (the reference's grammar): parser directives (`# escape=`), comments, line
 * continuations, exec (JSON) and shell forms, flags (`--from=`, `--chown=`), and a structural check
 * (instructions known, arguments present, FROM first). Errors name the line.
 */

export const INSTRUCTIONS = ['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME',
  'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL'] as const;
export type InstructionName = (typeof INSTRUCTIONS)[number];

export interface Instruction {
  readonly name: InstructionName;
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** `--name=value` flags before the arguments. */
  readonly flags: Readonly<Record<string, string>>;
  /** The arguments as written (continuations joined, flags removed). */
  readonly raw: string;
  /** Set when the arguments are a JSON string array (exec form). */
  readonly json?: readonly string[];
  /** The original text, for history entries and cache keys. */
  readonly original: string;
}

export class DockerfileSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(`Dockerfile line ${line}: ${message}`);
    this.name = 'DockerfileSyntaxError';
  }
}

const FLAG_INSTRUCTIONS = new Set<InstructionName>(['FROM', 'COPY', 'ADD', 'RUN', 'HEALTHCHECK']);
const JSON_FORM = new Set<InstructionName>(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'VOLUME', 'COPY', 'ADD', 'HEALTHCHECK']);

/** Splits a Dockerfile into logical lines with the line number each starts on. */
function logicalLines(text: string): Array<{ line: number; text: string }> {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let escape = '\\';
  let directivesOpen = true;
  const out: Array<{ line: number; text: string }> = [];
  let current: { line: number; text: string } | undefined;
  for (const [i, rawLine] of lines.entries()) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/.exec(rawLine);
    if (directivesOpen && directive) {
      if (directive[1].toLowerCase() === 'escape') {
        if (directive[2] !== '\\' && directive[2] !== '`') throw new DockerfileSyntaxError(i + 1, `invalid escape directive "${directive[2]}" (\\ or \`)`);
        escape = directive[2];
      }
      continue;
    }
    directivesOpen = false;
    const trimmed = rawLine.trim();
    // comment lines are dropped, even inside a continuation
    if (trimmed.startsWith('#')) continue;
    if (current === undefined) {
      if (trimmed === '') continue;
      current = { line: i + 1, text: '' };
    }
    const continued = rawLine.trimEnd().endsWith(escape) && !rawLine.trimEnd().endsWith(escape + escape);
    current.text += continued ? rawLine.trimEnd().slice(0, -1) : rawLine;
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  }
  if (current !== undefined && current.text.trim() !== '') out.push(current);
  return out;
}

function parseJsonArray(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  } catch {
    // Docker treats an unparseable "[..." as shell form
  }
  return undefined;
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  for (const { line, text: logical } of logicalLines(text)) {
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical);
    if (!m) continue;
    const name = m[1].toUpperCase() as InstructionName;
    if (!INSTRUCTIONS.includes(name)) throw new DockerfileSyntaxError(line, `unknown instruction "${m[1]}"`);
    let rest = m[2].trim();
    const flags: Record<string, string> = {};
    if (FLAG_INSTRUCTIONS.has(name)) {
      for (let f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); f; f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
        flags[f[1]] = f[2] ?? 'true';
        rest = rest.slice(f[0].length);
      }
    }
    if (rest === '' && name !== 'HEALTHCHECK') throw new DockerfileSyntaxError(line, `${name} requires at least one argument`);
    const json = JSON_FORM.has(name) ? parseJsonArray(rest) : undefined;
    instructions.push({ name, line, flags, raw: rest, ...(json ? { json } : {}), original: `${name} ${logical.trim().slice(m[1].length).trim()}` });
  }
  checkStructure(instructions);
  return instructions;
}

function checkStructure(instructions: Instruction[]): void {
  const first = instructions.find((i) => i.name !== 'ARG');
  if (!first) throw new DockerfileSyntaxError(instructions[0]?.line ?? 1, 'no FROM instruction');
  if (first.name !== 'FROM') throw new DockerfileSyntaxError(first.line, `${first.name} before the first FROM (only ARG may come before FROM)`);
  for (const ins of instructions) {
    switch (ins.name) {
      case 'FROM': {
        const words = ins.raw.split(/\s+/);
        if (words.length !== 1 && !(words.length === 3 && words[1].toUpperCase() === 'AS')) {
          throw new DockerfileSyntaxError(ins.line, `FROM takes "image [AS name]", got "${ins.raw}"`);
        }
        break;
      }
      case 'COPY':
      case 'ADD':
        if ((ins.json?.length ?? ins.raw.split(/\s+/).length) < 2) throw new DockerfileSyntaxError(ins.line, `${ins.name} requires a source and a destination`);
        break;
      case 'SHELL':
        if (!ins.json?.length) throw new DockerfileSyntaxError(ins.line, 'SHELL requires the exec (JSON array) form');
        break;
      case 'HEALTHCHECK':
        if (!/^(NONE|CMD\b)/i.test(ins.raw)) throw new DockerfileSyntaxError(ins.line, 'HEALTHCHECK takes NONE or [options] CMD command');
        break;
      case 'ONBUILD':
        throw new DockerfileSyntaxError(ins.line, 'ONBUILD is not supported');
      default:
        break;
    }
  }
}
