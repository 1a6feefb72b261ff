// Reading a JSON document a person wrote (ticket, agent config, printer profile): every error
// names the file, where the JSON breaks, or the JSON path of each invalid value.
import { readFileSync } from 'node:fs';
import { ValidationError } from '../protocol/validate.js';

/** " (line L, column C)" for a JSON.parse error message that gives a position. */
function jsonErrorLocation(text: string, message: string): string {
  const match = /at position (\d+)/.exec(message);
  if (!match) return '';
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

/** Parses JSON text from `file`; `parse` validates it (a protocol validator, say). */
export function parseJsonText<T>(text: string, file: string, what: string, parse: (value: unknown) => T): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${file} is not valid JSON: ${message}${jsonErrorLocation(text, message)}`);
  }
  try {
    return parse(json);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const issues = err.issues.map((i) => `\n  ${i.path || '/'}: ${i.message}`).join('');
    throw new Error(`${file} is not a valid ${what}:${issues}`);
  }
}

export function readJsonFile<T>(file: string, what: string, parse: (value: unknown) => T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseJsonText(text, file, what, parse);
}
