// A child process running a share of the simulated agents, so that the load generator never
// shares an event loop with the broker under test. Driven over IPC by bench/fanout.ts.
import type { Stamps, WorkerReply, WorkerRequest } from './ipc.js';
import { LightAgent } from './light-agent.js';
import { nowMs } from './stats.js';

const agents: LightAgent[] = [];
let received: Stamps = [];
let delivered: Stamps = [];
const sink = {
  received: (jobId: string, at: number) => received.push([jobId, at]),
  delivered: (jobId: string, at: number) => delivered.push([jobId, at]),
};

const reply = (m: WorkerReply) => process.send?.(m);

// Keepalive: a PINGREQ from agents that sent nothing for a while (the broker drops a client
// silent for 1.5 keepalives).
setInterval(() => {
  const now = nowMs();
  for (const a of agents) a.ping(20_000, now);
}, 5000).unref();

/** Starts every agent, at most `window` connecting at a time (a fleet comes up over time too). */
function startAll(added: LightAgent[], window: number): void {
  let next = 0;
  const startNext = () => {
    const agent = added[next++];
    agent?.start(startNext);
  };
  for (let i = 0; i < window; i++) startNext();
}

// Nothing to do once the benchmark is gone, whatever happened to it.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: WorkerRequest) => {
  switch (m.type) {
    case 'add': {
      const added = m.agents.map((creds) => new LightAgent(creds, m.host, m.ports, sink));
      agents.push(...added);
      startAll(added, m.window);
      return;
    }
    case 'stats': {
      let up = 0;
      let helloAcked = 0;
      let lastUpAt = 0;
      let lastHelloAckAt = 0;
      let refused = 0;
      for (const a of agents) {
        if (a.upAt > 0) up++;
        if (a.helloAckedAt > 0) helloAcked++;
        lastUpAt = Math.max(lastUpAt, a.upAt);
        lastHelloAckAt = Math.max(lastHelloAckAt, a.helloAckedAt);
        refused += a.refused;
      }
      reply({ type: 'stats', agents: agents.length, up, helloAcked, lastUpAt, lastHelloAckAt, refused });
      return;
    }
    case 'collect':
      reply({ type: 'collected', received, delivered });
      received = [];
      delivered = [];
      return;
    case 'stop':
      for (const a of agents) a.stop();
      reply({ type: 'stopped' });
      process.disconnect();
      return;
  }
});
