// The agent config's reference for people (docs/agent-config.md), made from the schema the
// agent validates with, so the document cannot drift from what the agent accepts.
import type { TSchema } from '@sinclair/typebox';
import { AgentConfig } from './config.js';

interface Row {
  path: string;
  type: string;
  required: boolean;
  description: string;
}

function typeOf(s: TSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return (s.anyOf as TSchema[]).map(typeOf).join(' | ');
  if (s.type === 'array') return `array of ${typeOf(s.items as TSchema)}`;
  const limits = [
    s.minimum !== undefined ? `≥ ${s.minimum}` : '',
    s.maximum !== undefined ? `≤ ${s.maximum}` : '',
    s.pattern !== undefined ? `pattern \`${s.pattern}\`` : '',
  ].filter(Boolean);
  return `${String(s.type)}${limits.length ? ` (${limits.join(', ')})` : ''}`;
}

function rows(s: TSchema, path: string, required: boolean, out: Row[]): void {
  const item = s.type === 'array' ? (s.items as TSchema) : undefined;
  const object = item?.type === 'object' ? item : s.type === 'object' ? s : undefined;
  if (path) {
    out.push({
      path,
      type: object ? (item ? 'array of objects' : 'object') : typeOf(s),
      required,
      description: String(s.description ?? ''),
    });
  }
  if (!object) return;
  const needed = new Set((object.required as string[] | undefined) ?? []);
  for (const [key, child] of Object.entries(object.properties as Record<string, TSchema>)) {
    rows(child, `${path}${path && item ? '[]' : ''}${path ? '.' : ''}${key}`, needed.has(key), out);
  }
}

/** Markdown: one table row per field, in the schema's order. */
export function agentConfigReference(): string {
  const out: Row[] = [];
  rows(AgentConfig, '', true, out);
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '# Agent configuration reference',
    '',
    'The store agent reads one JSON file (`printrelay agent --config agent.json`). `printrelay agent enrol`',
    'and `printrelay agent init` write it; `examples/agent.json` is a complete example. This page is made',
    'from the schema the agent checks the file with (`printrelay agent config-reference`), so it lists',
    'exactly what the agent accepts. Unknown fields are refused, with the JSON path of the field.',
    '',
    'Environment variables override the file: `PRINTRELAY_STORE_ID`, `PRINTRELAY_RELAY_URL`,',
    '`PRINTRELAY_AGENT_PASSWORD`, `PRINTRELAY_DATA_DIR`, `PRINTRELAY_LOCAL_API_PORT` (`off` turns the',
    'local API off).',
    '',
    '| field | type | required | what it is |',
    '| --- | --- | --- | --- |',
    ...out.map(
      (r) => `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.description)} |`,
    ),
    '',
  ].join('\n');
}
