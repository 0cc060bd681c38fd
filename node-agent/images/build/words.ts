/**
 * Docker's word processing for instruction arguments: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR:+alternative}`, single quotes (literal), double quotes (expanding), backslash escapes,
 * and splitting on unquoted whitespace.
 */

export type Vars = ReadonlyMap<string, string>;

function lex(input: string, vars: Vars, split: boolean): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const expandAt = (): string => {
    // at input[i] === '$'
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}/.exec(input.slice(i));
    if (braced) {
      i += braced[0].length;
      const value = vars.get(braced[1]);
      const set = value !== undefined && (braced[2]?.startsWith(':') ? value !== '' : true);
      if (braced[2]?.endsWith('-')) return set ? (value as string) : lex(braced[3], vars, false).join('');
      if (braced[2]?.endsWith('+')) return set ? lex(braced[3], vars, false).join('') : '';
      return value ?? '';
    }
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(input.slice(i));
    if (plain) {
      i += plain[0].length;
      return vars.get(plain[1]) ?? '';
    }
    i++;
    return '$';
  };
  while (i < input.length) {
    const c = input[i];
    if (split && /\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === '\\' && i + 1 < input.length) {
      word += input[i + 1];
      i += 2;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote in "${input}"`);
      word += input.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < input.length && input[i] !== '"') {
        if (input[i] === '\\' && i + 1 < input.length && '"\\$'.includes(input[i + 1])) {
          word += input[i + 1];
          i += 2;
        } else if (input[i] === '$') word += expandAt();
        else word += input[i++];
      }
      if (i >= input.length) throw new Error(`unterminated double quote in "${input}"`);
      i++;
    } else if (c === '$') {
      // an unquoted expansion is split into words like the rest of the line
      const parts = split ? expandAt().split(/\s+/) : [expandAt()];
      word += parts[0];
      for (const part of parts.slice(1)) {
        if (word !== '') words.push(word);
        word = part;
      }
      inWord = word !== '' || parts.length === 1;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Expands and unquotes, splitting into words on unquoted whitespace. */
export function expandWords(input: string, vars: Vars): string[] {
  return lex(input, vars, true);
}

/** Expands and unquotes the whole string as one word. */
export function expandWord(input: string, vars: Vars): string {
  return lex(input.trim(), vars, false).join('');
}

/**
 * `KEY=value KEY2="a b"` pairs (ENV, LABEL), or the legacy `KEY value with spaces` form.
 * Values are expanded with `vars`.
 */
export function parseKeyValues(input: string, vars: Vars): Array<[string, string]> {
  const legacy = /^([^\s=]+)\s+([\s\S]*)$/.exec(input.trim());
  if (legacy && !/^[^\s=]+=/.test(input.trim())) return [[legacy[1], expandWord(legacy[2], vars)]];
  return expandWords(input, vars).map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`expected KEY=value, got "${w}"`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
