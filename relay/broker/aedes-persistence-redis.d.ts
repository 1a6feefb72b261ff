// aedes-persistence-redis ships no types: what ./redis-engines.ts uses of it.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  /** An aedes persistence (for Aedes.createBroker) on the Redis connection given. */
  export default function redisPersistence(opts: { conn: Redis }): unknown;
}
