// What a relay cluster on this machine stands on (docs/scaling.md): a throwaway PostgreSQL and a
// throwaway Redis, and the one secret key every member shares. The cluster tests, the chaos
// suite's --cluster mode, `npm run cluster:demo` and the cluster benchmark all start it here.
import { randomBytes } from 'node:crypto';
import { PostgresServer } from './postgres.js';
import { RedisServer } from './redis.js';

/** What every relay process of one cluster is started with. */
export interface ClusterMember {
  /** PostgreSQL URL of the cluster's database. */
  database: string;
  redis: string;
  /** PRINTRELAY_SECRET_KEY, the same in every process. */
  secretKey: string;
}

export interface ClusterEngines {
  pg: PostgresServer;
  redis: RedisServer;
  /** A new empty database on the server, and the settings of a member of a cluster on it. */
  cluster(database: string): Promise<ClusterMember>;
  /** Stops both servers, removes their files and puts PRINTRELAY_SECRET_KEY back as it was. */
  stop(): Promise<void>;
}

/**
 * Starts both servers. This process gets the members' PRINTRELAY_SECRET_KEY too, because it
 * opens the same database to add stores and keys (sealed secrets must read the same everywhere).
 */
export async function startClusterEngines(): Promise<ClusterEngines> {
  const [pg, redis] = await Promise.all([PostgresServer.start(), RedisServer.start()]);
  const saved = process.env.PRINTRELAY_SECRET_KEY;
  const secretKey = randomBytes(32).toString('hex');
  process.env.PRINTRELAY_SECRET_KEY = secretKey;
  return {
    pg,
    redis,
    cluster: async (database) => ({
      database: await pg.createDatabase(database),
      redis: redis.url,
      secretKey,
    }),
    async stop() {
      await Promise.all([pg.stop(), redis.stop()]);
      if (saved === undefined) delete process.env.PRINTRELAY_SECRET_KEY;
      else process.env.PRINTRELAY_SECRET_KEY = saved;
    },
  };
}
