// The floor the store agent's receive-to-first-byte is compared with, in its own process: the
// benchmark's light agent (bench/light-agent.ts: the same protocol, no database, no rendering)
// that writes ESC @ and the job id to a "printer" socket the moment it has a job.
// argv[2]: JSON { creds, mqttPort, printerPort }. Says "up" on stdout once subscribed.
import { once } from 'node:events';
import net from 'node:net';
import type { AgentCredentials } from '../relay/admin.js';
import { LightAgent } from './light-agent.js';
import { nowMs } from './stats.js';

const HOST = '127.0.0.1';
const { creds, mqttPort, printerPort } = JSON.parse(process.argv[2] ?? '') as {
  creds: AgentCredentials;
  mqttPort: number;
  printerPort: number;
};

const printer = net.connect({ host: HOST, port: printerPort, noDelay: true });
await once(printer, 'connect');
const agent = new LightAgent(creds, HOST, [mqttPort], {
  received: (jobId) => printer.write(`\x1b@${jobId}\n`),
  delivered: () => {},
});
agent.start(() => console.log('up'));
// Keepalive, as bench/agent-worker.ts does for its agents.
setInterval(() => agent.ping(20_000, nowMs()), 5000);
