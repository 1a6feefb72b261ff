// Finds the agent's local API the way the agent itself reads its config: the URL the running
// agent wrote into its data dir (agent/local-api-file.ts), else the port in the config. Read
// again on every reconnect, so an agent restarted on another port is found.
import { platform } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LOCAL_API_PORT, loadAgentConfig } from '../../agent/config.js';
import { readLocalApiUrl } from '../../agent/local-api-file.js';

/** Where the installers put the agent's config on this platform. */
export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  if (platform() === 'win32') return join(env.ProgramData ?? 'C:\\ProgramData', 'PrintRelay', 'agent.json');
  return '/var/lib/printrelay-agent/agent.json';
}

export type Located = { url: string; note?: string } | { error: string };

/**
 * PRINTRELAY_LOCAL_API_URL wins (a developer, or an agent whose config this user cannot
 * read); then the config (`configFile`, else PRINTRELAY_AGENT_CONFIG, else the default).
 */
export function locateLocalApi(configFile?: string, env: NodeJS.ProcessEnv = process.env): Located {
  if (env.PRINTRELAY_LOCAL_API_URL) return { url: env.PRINTRELAY_LOCAL_API_URL.replace(/\/+$/, '') };
  const file = configFile ?? env.PRINTRELAY_AGENT_CONFIG ?? defaultConfigFile(env);
  let config: ReturnType<typeof loadAgentConfig>;
  try {
    config = loadAgentConfig(file, env);
  } catch (err) {
    // The config holds the agent's secret and may be readable by the service only.
    return {
      url: `http://127.0.0.1:${DEFAULT_LOCAL_API_PORT}`,
      note: `${(err as Error).message}; trying the default port ${DEFAULT_LOCAL_API_PORT}`,
    };
  }
  const { port } = config.localApi;
  if (port === null)
    return { error: `${file}: the agent's local API is switched off (localApi.port is null)` };
  const written = readLocalApiUrl(config.dataDir);
  if (written) return { url: written };
  if (port === 0) {
    return {
      error: `the agent (${file}) has not said where its local API listens yet (port 0): is it running?`,
    };
  }
  return { url: `http://127.0.0.1:${port}` };
}
