// The agent config file: defaults, paths relative to the file, environment overrides, and
// errors that name the file and the JSON path of what is wrong.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentConfig, parseAgentConfig } from '../agent/config.js';
import { agentConfigReference } from '../agent/config-reference.js';
import { REPO_ROOT } from './support/repo.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function configFile(config: unknown, name = 'agent.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-agent-config-'));
  dirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

const minimal = {
  storeId: 's001',
  relay: { url: 'mqtt://127.0.0.1:1883', password: 'pra_secret' },
  dataDir: 'agent-data',
  printers: [{ id: 'counter', uri: 'tcp://127.0.0.1:9100', profile: 'epson-tm-t88', roles: ['receipt'] }],
};

describe('agent config', () => {
  it('refuses a plain relay URL to another machine unless relay.allowPlaintext is true', () => {
    const remote = (url: string, extra: Record<string, unknown> = {}) => ({
      ...minimal,
      relay: { ...minimal.relay, url, ...extra },
    });
    for (const url of ['mqtt://relay.example.com:1883', 'ws://10.0.0.5:8083']) {
      expect(() => parseAgentConfig(remote(url))).toThrow(
        /\/relay\/url: .* is not this PC, and (mqtt|ws):\/\/ would send the agent password in clear: use mqtts:\/\/ or wss:\/\/ \(relay\.caFile for a private CA\), or set relay\.allowPlaintext: true/,
      );
      expect(parseAgentConfig(remote(url, { allowPlaintext: true })).relay.allowPlaintext).toBe(true);
    }
    for (const url of [
      'mqtts://relay.example.com:8883',
      'wss://relay.example.com:8884',
      'mqtt://localhost:1883',
      'mqtt://127.0.0.2:1883',
      'ws://[::1]:8083',
    ]) {
      expect(parseAgentConfig(remote(url)).relay.allowPlaintext).toBe(false);
    }
  });

  it('holds alternate relay addresses to the same rule, each named by its place', () => {
    const config = (alternateUrls: string[]) => ({
      ...minimal,
      relay: { url: 'mqtts://relay-a.example.com:8883', password: 'pra_secret', alternateUrls },
    });
    expect(parseAgentConfig(config(['mqtts://relay-b.example.com:8883'])).relay.alternateUrls).toEqual([
      'mqtts://relay-b.example.com:8883',
    ]);
    expect(() =>
      parseAgentConfig(config(['mqtts://relay-b.example.com', 'mqtt://relay-c.example.com'])),
    ).toThrow(/\/relay\/alternateUrls\/1: relay-c\.example\.com is not this PC/);
    expect(() => parseAgentConfig(config(['https://relay-b.example.com']))).toThrow(
      /\/relay\/alternateUrls\/0/,
    );
  });

  it('resolves relay.caFile against the config file folder', () => {
    const file = configFile({ ...minimal, relay: { ...minimal.relay, caFile: 'certs/ca.pem' } });
    expect(loadAgentConfig(file, {}).relay.caFile).toBe(join(file, '..', 'certs', 'ca.pem'));
    expect(loadAgentConfig(configFile(minimal), {}).relay.caFile).toBeUndefined();
  });

  it('fills in the defaults and resolves dataDir against the config file folder', () => {
    const file = configFile(minimal);
    const c = loadAgentConfig(file, {});
    expect(c.dataDir).toBe(join(file, '..', 'agent-data'));
    expect(c.relay.clientId).toBe('s001:agent');
    expect(c.failover).toEqual({ enabled: true, afterSeconds: 10 });
    expect(c.uncertainJobs).toBe('report');
    expect(c.localApi).toEqual({ port: 8765 });
    expect(c.printers[0]?.roles).toEqual(['receipt']);
  });

  it('takes overrides from the environment', () => {
    const file = configFile(minimal);
    const c = loadAgentConfig(file, {
      PRINTRELAY_STORE_ID: 's002',
      PRINTRELAY_RELAY_URL: 'mqtts://relay.example.com:8883',
      PRINTRELAY_AGENT_PASSWORD: 'pra_other',
      PRINTRELAY_DATA_DIR: '/var/lib/printrelay',
      PRINTRELAY_LOCAL_API_PORT: '0',
    });
    expect(c).toMatchObject({
      storeId: 's002',
      relay: { url: 'mqtts://relay.example.com:8883', password: 'pra_other', clientId: 's002:agent' },
      dataDir: '/var/lib/printrelay',
      localApi: { port: 0 },
    });
    expect(loadAgentConfig(file, { PRINTRELAY_LOCAL_API_PORT: 'off' }).localApi.port).toBeNull();
    expect(() => loadAgentConfig(file, { PRINTRELAY_LOCAL_API_PORT: '99999' })).toThrow(
      /PRINTRELAY_LOCAL_API_PORT must be a port number/,
    );
  });

  it('reads a profile file named relative to the config file', () => {
    const file = configFile({
      ...minimal,
      printers: [{ ...minimal.printers[0], profile: 'profiles/mine.json' }],
    });
    mkdirSync(join(file, '..', 'profiles'));
    const shipped = readFileSync(new URL('../escpos/profiles/epson-tm-t88.json', import.meta.url), 'utf8');
    writeFileSync(join(file, '..', 'profiles', 'mine.json'), shipped);
    expect(loadAgentConfig(file, {}).printers[0]?.profile).toBe(join(file, '..', 'profiles', 'mine.json'));
  });

  it('names the file and the JSON path of what is wrong', () => {
    const missing = configFile({ ...minimal, printers: [{ id: 'counter', profile: 'epson-tm-t88' }] });
    expect(() => loadAgentConfig(missing, {})).toThrow(
      `${missing}: invalid agent config: /printers/0/uri: is required`,
    );
    const typo = configFile({ ...minimal, failover: { enabled: true, afterSecs: 3 } });
    expect(() => loadAgentConfig(typo, {})).toThrow(
      '/failover/afterSecs: is not allowed here (unknown property)',
    );
    const notJson = configFile('{ "storeId": ');
    expect(() => loadAgentConfig(notJson, {})).toThrow(`${notJson}: not valid JSON`);
    expect(() => loadAgentConfig(join(tmpdir(), 'no-such-agent.json'), {})).toThrow(
      /cannot read agent config .*ENOENT/,
    );
  });

  it('checks what the schema cannot: ids, backups, roles, addresses, profiles, client id', () => {
    const printer = minimal.printers[0];
    const bad = {
      ...minimal,
      relay: { ...minimal.relay, clientId: 's999:agent' },
      printers: [
        { ...printer, backup: 'nowhere' },
        { ...printer, roles: ['kitchen'] },
        { id: 'bar', uri: 'lpt://x', profile: 'no-such-model', roles: ['counter'], backup: 'bar' },
      ],
    };
    let message = '';
    try {
      parseAgentConfig(bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('/printers/1/id: duplicate printer id "counter"');
    expect(message).toContain('/printers/0/backup: no printer with id "nowhere"');
    expect(message).toContain('/printers/2/backup: a printer cannot be its own backup');
    expect(message).toContain('/printers/2/uri: printer address "lpt://x" has unknown scheme');
    expect(message).toContain('/printers/2/profile: unknown printer profile "no-such-model"');
    expect(message).toContain('/printers/2/roles/0: "counter" is the id of printers[0]');
    expect(message).toContain('/relay/clientId: must be "s001" or start with "s001:"');
  });
});

describe('agent config reference', () => {
  it('docs/agent-config.md is the reference the schema makes today', () => {
    const committed = readFileSync(join(REPO_ROOT, 'docs', 'agent-config.md'), 'utf8');
    // If this fails: npx printrelay agent config-reference > docs/agent-config.md
    expect(committed).toBe(agentConfigReference());
  });

  it('the example shows every field, and the reference documents each', () => {
    const example = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'agent.json'), 'utf8'));
    parseAgentConfig(example);
    const reference = agentConfigReference();
    const paths = (value: unknown, prefix: string): string[] =>
      typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([k, v]) => {
            const path = Array.isArray(value) ? `${prefix}[]` : `${prefix}${prefix ? '.' : ''}${k}`;
            return [...(Array.isArray(value) ? [] : [path]), ...paths(v, path)];
          })
        : [];
    const shown = [...new Set(paths(example, ''))].sort();
    const documented = [...reference.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]).sort();
    expect(shown).toEqual(documented);
  });
});
