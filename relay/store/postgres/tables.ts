// What the PostgreSQL Directory, JobStore and DashboardStore share: the connection pool,
// transactions, the outbox of events for webhooks, and the change feed. A change is told to
// every relay process on the database: it goes out with NOTIFY inside the transaction that
// made it, which PostgreSQL delivers at commit, in commit order, to each process's listener.
// `soft` writes (what agents send again, bookkeeping) commit without waiting for the WAL flush
// (synchronous_commit off): a crash of the database server may lose the last of them, never a
// job or a state a reply promised.
import type { Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';
import type { SecretBox } from '../../secret-box.js';
import type { StoreChange } from '../changes.js';
import type { Durability } from '../group-commit.js';
import { type StoreScope, StoreUnavailableError, type WebhookEventType } from '../job-store.js';

export const CHANGES_CHANNEL = 'printrelay_changes';

/** A transaction's client, with what it noted for the change feed and for webhooks. */
export interface Tx {
  client: PoolClient;
  changes: StoreChange[];
  /** relay_events rows, written at the end in one statement with the notifications. */
  events: { type: WebhookEventType; storeId: string; at: number; data: string }[];
}

/**
 * Every statement the store sends is prepared under a name, once per connection: PostgreSQL
 * then parses and plans it once instead of on every call, which was about half of what the
 * hot statements (a job's transitions, its events) cost it. The texts are the store's own,
 * a bounded set; the cap only guards against a caller that builds them from data.
 */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 500;
function statement(text: string, values: unknown[]): QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `printrelay_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
}

/** Scope as a query parameter: null for every store, else the ids (`= ANY($n)`). */
export const scopeParam = (scope: StoreScope): string[] | null => (scope === 'all' ? null : scope);

/** Errors that mean the database cannot be reached (as opposed to a refused statement). */
function unreachable(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03'].includes(
      code,
    ) ||
    code.startsWith('08') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      String((err as Error).message),
    )
  );
}

export function storeError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  return unreachable(err) ? new StoreUnavailableError(`PostgreSQL: ${(err as Error).message}`) : err;
}

export abstract class PgTables {
  constructor(
    protected readonly pool: Pool,
    /** Seals and opens webhook secrets, which are stored encrypted. */
    protected readonly secrets: SecretBox,
  ) {}

  protected async rows<R extends QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    client?: PoolClient,
  ): Promise<R[]> {
    try {
      return (await (client ?? this.pool).query<R>(statement(sql, params))).rows;
    } catch (err) {
      throw storeError(err);
    }
  }

  protected async row<R extends QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    client?: PoolClient,
  ): Promise<R | undefined> {
    return (await this.rows<R>(sql, params, client))[0];
  }

  /** Rows changed. */
  protected async exec(sql: string, params: unknown[] = [], client?: PoolClient): Promise<number> {
    try {
      return (await (client ?? this.pool).query(statement(sql, params))).rowCount ?? 0;
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Runs `fn` in one transaction; the changes it noted go to every process's feed at commit. */
  protected async tx<T>(durability: Durability, fn: (tx: Tx) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err);
    }
    const tx: Tx = { client, changes: [], events: [] };
    try {
      // Round trips are most of a short transaction's cost: one to begin (both statements in one
      // simple query), one for all of its webhook events and notifications, one to commit.
      await client.query(durability === 'soft' ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
      const result = await fn(tx);
      if (tx.changes.length > 0 || tx.events.length > 0) await this.#flush(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw storeError(err);
    } finally {
      client.release();
    }
  }

  /** Records an event for webhooks (see Tx.events). */
  protected addEvent(tx: Tx, type: WebhookEventType, storeId: string, at: number, data: unknown): void {
    tx.events.push({ type, storeId, at, data: JSON.stringify(data) });
  }

  /** The transaction's events (their seq in the order noted) and notifications (sent in order). */
  async #flush({ client, changes, events }: Tx): Promise<void> {
    await this.exec(
      `WITH added AS (
         INSERT INTO relay_events (id, type, store_id, at, data)
         SELECT gen_random_uuid()::text, type, store_id, at, data
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS e(type, store_id, at, data, i)
         ORDER BY i
       )
       SELECT pg_notify($5, c) FROM unnest($6::text[]) WITH ORDINALITY AS n(c, i) ORDER BY i`,
      [
        events.map((e) => e.type),
        events.map((e) => e.storeId),
        events.map((e) => e.at),
        events.map((e) => e.data),
        CHANGES_CHANNEL,
        changes.map((change) => JSON.stringify(change)),
      ],
      client,
    );
  }
}
