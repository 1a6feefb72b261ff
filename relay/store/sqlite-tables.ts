// What the SQLite Directory and JobStore share: one connection to relay.db, its group commit
// (group-commit.ts) and the outbox of events for webhooks (relay_events), which both fill.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { SqliteDatabase } from '../../shared/sqlite.js';
import type { Durability, GroupCommit } from './group-commit.js';
import type { WebhookEventType } from './job-store.js';

export abstract class SqliteRelayTables extends SqliteDatabase {
  constructor(
    db: Database.Database,
    private readonly commit: GroupCommit,
  ) {
    super(db);
  }

  /** Runs `fn` in the next group commit; see group-commit.ts for `durable` and `soft`. */
  protected write<T>(durability: Durability, fn: () => T): Promise<T> {
    return this.commit.write(durability, fn);
  }

  protected addEvent(type: WebhookEventType, storeId: string, at: number, data: unknown): void {
    this.run(
      'INSERT INTO relay_events (id, type, store_id, at, data) VALUES (?, ?, ?, ?, ?)',
      randomUUID(),
      type,
      storeId,
      at,
      JSON.stringify(data),
    );
  }
}
