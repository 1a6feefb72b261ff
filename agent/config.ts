// The store agent's configuration: one JSON file (see docs and examples/), a few environment
// overrides for installers and containers, validated with errors that name the file and the
// JSON path of what is wrong.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { resolveProfile } from '../escpos/profiles/index.js';
import { PrinterRef } from '../protocol/job.js';
import { clientIdBelongsTo, STORE_ID_PATTERN } from '../protocol/topics.js';
import { ValidationError, type ValidationIssue, validator } from '../protocol/validate.js';
import { parsePrinterAddress } from './printer/address.js';

const Name = Type.String({ pattern: PrinterRef.pattern, description: 'Letters, digits, _ . - (max 64).' });

export const AgentPrinterConfig = Type.Object(
  {
    id: { ...Name, description: 'Printer id, used in job refs, the local API and reports to HQ.' },
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Shown to people, e.g. "Counter".' })),
    uri: Type.String({ minLength: 1, description: 'tcp://HOST[:PORT] or serial://PATH?baud=N&flow=...' }),
    profile: Type.String({
      minLength: 1,
      description: 'A shipped profile name, or a path to a profile .json (relative to the config file).',
    }),
    roles: Type.Optional(
      Type.Array(Name, {
        maxItems: 32,
        description: 'Roles jobs may name instead of the id, e.g. ["receipt"]. Default none.',
      }),
    ),
    backup: Type.Optional({ ...Name, description: 'Id of the printer that takes its jobs while it is out.' }),
  },
  { additionalProperties: false },
);
export type AgentPrinterConfig = Static<typeof AgentPrinterConfig>;

export const AgentConfig = Type.Object(
  {
    storeId: Type.String({
      pattern: STORE_ID_PATTERN,
      description: 'The store, as HQ created it (`relay stores add`).',
    }),
    relay: Type.Object(
      {
        url: Type.String({ pattern: '^(mqtts?|wss?)://', description: 'mqtt://, mqtts://, ws:// or wss://' }),
        alternateUrls: Type.Optional(
          Type.Array(Type.String({ pattern: '^(mqtts?|wss?)://' }), {
            maxItems: 8,
            description:
              'Other processes of the same relay cluster (same database and broker), tried in turn when the current one cannot be reached; the agent stays on one that works.',
          }),
        ),
        password: Type.String({ minLength: 1, description: 'The agent secret (pra_...).' }),
        clientId: Type.Optional(Type.String({ minLength: 1, description: 'Default "<storeId>:agent".' })),
        caFile: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              "PEM file of the CA that signed the relay's certificate, for a private CA (relative to the config file).",
          }),
        ),
        allowPlaintext: Type.Optional(
          Type.Boolean({
            description:
              'Allow mqtt:// or ws:// to a relay that is not on this PC (the password then crosses the network in clear). Default false.',
          }),
        ),
        apiUrl: Type.Optional(
          Type.String({
            pattern: '^https?://',
            description:
              "The relay's HTTP API (https://...), where the agent enrolled; `printrelay doctor` checks the clock against it.",
          }),
        ),
      },
      { additionalProperties: false, description: 'How the agent reaches the relay.' },
    ),
    dataDir: Type.String({
      minLength: 1,
      description: 'Where the agent keeps its database (relative to the config file).',
    }),
    printers: Type.Array(AgentPrinterConfig, {
      minItems: 1,
      maxItems: 64,
      description: "The store's printers.",
    }),
    failover: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ description: 'Default true.' })),
          afterSeconds: Type.Optional(
            Type.Number({
              minimum: 0,
              description: 'How long a printer is out before its backup takes over (default 10).',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Moving the jobs of a printer that is out (no paper, offline...) to its backup.',
        },
      ),
    ),
    uncertainJobs: Type.Optional(
      Type.Union([Type.Literal('report'), Type.Literal('reprint-marked')], {
        description:
          'A job the agent stopped in the middle of: only report it (default), or also reprint what is left with a REPRINT mark.',
      }),
    ),
    localApi: Type.Optional(
      Type.Object(
        {
          port: Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()], {
            description: 'On 127.0.0.1; 0 = any free port; null = no local API. Default 8765.',
          }),
        },
        {
          additionalProperties: false,
          description: "The agent's HTTP API for the store page, tray app and POS.",
        },
      ),
    ),
    printerOptions: Type.Optional(
      Type.Object(
        {
          pollIntervalMs: Type.Optional(
            Type.Integer({
              minimum: 1,
              description:
                'How often a printer is asked for its status, in ms (default 1000; five times less often with ASB).',
            }),
          ),
          confirmTimeoutMs: Type.Optional(
            Type.Integer({
              minimum: 1,
              description:
                'How long a ticket may go unconfirmed while its printer is ready, in ms (default 30000).',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Tuning of the printer driver; the defaults suit most printers.',
        },
      ),
    ),
  },
  { $id: 'AgentConfig', additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfig>;

/** A config with every default filled in: what the agent runs on. */
export interface ResolvedAgentConfig extends AgentConfig {
  relay: AgentConfig['relay'] & { clientId: string; allowPlaintext: boolean };
  printers: (AgentPrinterConfig & { roles: string[] })[];
  failover: { enabled: boolean; afterSeconds: number };
  uncertainJobs: 'report' | 'reprint-marked';
  localApi: { port: number | null };
  printerOptions: { pollIntervalMs?: number; confirmTimeoutMs?: number };
}

export const DEFAULT_LOCAL_API_PORT = 8765;
const checkShape = validator(AgentConfig, 'agent config');

/**
 * Validates a config (from a file or built in code) and fills in the defaults. Also checks
 * what a schema cannot: unique printer ids, backups that exist, printer addresses, profiles.
 */
export function parseAgentConfig(value: unknown): ResolvedAgentConfig {
  const c = checkShape(value);
  const issues: ValidationIssue[] = [];
  const ids = new Map<string, number>();
  c.printers.forEach((p, i) => {
    if (ids.has(p.id)) issues.push({ path: `/printers/${i}/id`, message: `duplicate printer id "${p.id}"` });
    else ids.set(p.id, i);
  });
  c.printers.forEach((p, i) => {
    try {
      parsePrinterAddress(p.uri);
    } catch (err) {
      issues.push({ path: `/printers/${i}/uri`, message: (err as Error).message });
    }
    try {
      resolveProfile(p.profile);
    } catch (err) {
      issues.push({ path: `/printers/${i}/profile`, message: (err as Error).message });
    }
    if (p.backup !== undefined && (p.backup === p.id || !ids.has(p.backup))) {
      issues.push({
        path: `/printers/${i}/backup`,
        message:
          p.backup === p.id ? 'a printer cannot be its own backup' : `no printer with id "${p.backup}"`,
      });
    }
    (p.roles ?? []).forEach((role, j) => {
      // A job names a printer id or a role; one word meaning two printers would be a trap.
      const other = ids.get(role);
      if (other !== undefined && other !== i) {
        issues.push({
          path: `/printers/${i}/roles/${j}`,
          message: `"${role}" is the id of printers[${other}]; a role cannot be another printer's id`,
        });
      }
    });
  });
  const clientId = c.relay.clientId ?? `${c.storeId}:agent`;
  if (!clientIdBelongsTo(clientId, c.storeId)) {
    issues.push({
      path: '/relay/clientId',
      message: `must be "${c.storeId}" or start with "${c.storeId}:" (the relay refuses other client ids)`,
    });
  }
  const allowPlaintext = c.relay.allowPlaintext ?? false;
  const urls: [string, string][] = [
    ['/relay/url', c.relay.url],
    ...(c.relay.alternateUrls ?? []).map((u, i): [string, string] => [`/relay/alternateUrls/${i}`, u]),
  ];
  for (const [path, url] of urls) {
    const plainHost = plaintextRemoteHost(url);
    if (plainHost !== null && !allowPlaintext) {
      issues.push({
        path,
        message:
          `${plainHost} is not this PC, and ${url.split(':')[0]}:// would send the agent password in clear: ` +
          'use mqtts:// or wss:// (relay.caFile for a private CA), or set relay.allowPlaintext: true',
      });
    }
  }
  if (issues.length > 0) throw new ValidationError('agent config', issues);
  return {
    ...c,
    relay: { ...c.relay, clientId, allowPlaintext },
    printers: c.printers.map((p) => ({ ...p, roles: p.roles ?? [] })),
    failover: { enabled: c.failover?.enabled ?? true, afterSeconds: c.failover?.afterSeconds ?? 10 },
    uncertainJobs: c.uncertainJobs ?? 'report',
    localApi: { port: c.localApi === undefined ? DEFAULT_LOCAL_API_PORT : c.localApi.port },
    printerOptions: c.printerOptions ?? {},
  };
}

/** The host of a plain (mqtt://, ws://) relay URL when it is not a loopback address; else null. */
export function plaintextRemoteHost(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // the schema's pattern and the connection report a malformed URL
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'ws:') return null;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return loopback ? null : host;
}

/**
 * Reads a config file, applies the environment overrides (PRINTRELAY_STORE_ID,
 * PRINTRELAY_RELAY_URL, PRINTRELAY_AGENT_PASSWORD, PRINTRELAY_DATA_DIR,
 * PRINTRELAY_LOCAL_API_PORT) and validates it. Relative dataDir and profile paths in the file
 * are relative to the file's folder; PRINTRELAY_DATA_DIR is relative to the working folder.
 */
export function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): ResolvedAgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read agent config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`${file}: invalid agent config: /: must be a JSON object`);
  }
  const base = dirname(resolve(file));
  const c = data as Record<string, unknown>;
  if (typeof c.dataDir === 'string' && !isAbsolute(c.dataDir)) c.dataDir = resolve(base, c.dataDir);
  const relay = c.relay as Record<string, unknown> | undefined;
  // Read at each connection attempt, so that a renewed CA needs no restart; a missing one shows
  // in the agent's status and log ("cannot read relay.caFile ...").
  if (relay && typeof relay.caFile === 'string') relay.caFile = resolve(base, relay.caFile);
  if (Array.isArray(c.printers)) {
    for (const p of c.printers as Record<string, unknown>[]) {
      if (
        typeof p?.profile === 'string' &&
        p.profile.toLowerCase().endsWith('.json') &&
        !isAbsolute(p.profile)
      ) {
        p.profile = resolve(base, p.profile);
      }
    }
  }
  try {
    applyEnv(c, env);
    return parseAgentConfig(c);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

function applyEnv(c: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const relay = (): Record<string, unknown> => {
    if (typeof c.relay !== 'object' || c.relay === null) c.relay = {};
    return c.relay as Record<string, unknown>;
  };
  if (env.PRINTRELAY_STORE_ID) c.storeId = env.PRINTRELAY_STORE_ID;
  if (env.PRINTRELAY_RELAY_URL) relay().url = env.PRINTRELAY_RELAY_URL;
  if (env.PRINTRELAY_AGENT_PASSWORD) relay().password = env.PRINTRELAY_AGENT_PASSWORD;
  if (env.PRINTRELAY_DATA_DIR) c.dataDir = resolve(env.PRINTRELAY_DATA_DIR);
  const port = env.PRINTRELAY_LOCAL_API_PORT;
  if (port !== undefined && port !== '') {
    if (port === 'off') c.localApi = { port: null };
    else if (/^\d{1,5}$/.test(port) && Number(port) <= 65535) c.localApi = { port: Number(port) };
    else {
      throw new Error(
        `PRINTRELAY_LOCAL_API_PORT must be a port number (0 = any free port) or "off", got "${port}"`,
      );
    }
  }
}
