// Messages between the fan-out driver (bench/fanout.ts) and its child processes: the broker
// under test (bench/broker-child.ts) and the simulated agents (bench/agent-worker.ts).
import type { AgentCredentials } from '../relay/admin.js';

export type BrokerKind = 'relay' | 'aedes';

/** The broker child's argument (JSON in argv[2]). */
export interface BrokerConfig {
  kind: BrokerKind;
  dataDir: string;
  /** 0 picks free ports; a restart passes the ports of the first start. */
  mqttPort: number;
  httpPort: number;
  /** A relay process of a cluster (docs/scaling.md): its PostgreSQL and Redis. */
  database?: string;
  redis?: string;
}

/** usage with gc: memory after a full collection; without: CPU only, undisturbed. */
export type BrokerRequest =
  | { type: 'usage'; gc: boolean }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string }
  | { type: 'stop' };

export type BrokerReply =
  | { type: 'ready'; mqttPort: number; httpPort: number; at: number }
  | { type: 'usage'; rssBytes: number; heapUsedBytes: number; cpuMs: number }
  | { type: 'profiling' }
  | { type: 'profiled' }
  | { type: 'stopped' };

export type WorkerRequest =
  /** `ports`: the broker's MQTT port, then the alternates an agent moves to when it loses one. */
  | { type: 'add'; host: string; ports: number[]; agents: AgentCredentials[]; window: number }
  | { type: 'stats' }
  | { type: 'collect' }
  | { type: 'stop' };

export interface WorkerStats {
  agents: number;
  /** Connections with CONNACK accepted and the downlink subscribed. */
  up: number;
  /** Agents whose hello of the current connection the relay has acknowledged. */
  helloAcked: number;
  /** Latest CONNACK / hello ack among the agents up (monotonic ms, see stats.nowMs). */
  lastUpAt: number;
  lastHelloAckAt: number;
  refused: number;
}

/** [jobId, monotonic ms] pairs. */
export type Stamps = [string, number][];

export type WorkerReply =
  | ({ type: 'stats' } & WorkerStats)
  | { type: 'collected'; received: Stamps; delivered: Stamps }
  | { type: 'stopped' };
