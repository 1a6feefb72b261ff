// What the SQLite Directory and JobStore share: one connection to relay.db, its group commit
// (group-commit.ts) and the outbox of events for webhooks (relay_events), which both fill.
import { randomUUID } from 'node:crypto';
import { type Connection, SqliteDatabase } from '../../shared/sqlite.js';
import type { SecretBox } from '../secret-box.js';
import type { StoreChange } from './changes.js';
import type { Durability, GroupCommit } from './group-commit.js';
import type { WebhookEventType } from './job-store.js';

export abstract class SqliteRelayTables extends SqliteDatabase {
  constructor(
    db: Connection,
    protected readonly commit: GroupCommit,
    /** Seals and opens webhook secrets, which are stored encrypted. */
    protected readonly secrets: SecretBox,
  ) {
    super(db);
  }

  /** Runs `fn` in the next group commit; see group-commit.ts for `durable` and `soft`. */
  protected write<T>(durability: Durability, fn: () => T): Promise<T> {
    return this.commit.write(durability, fn);
  }

  /** Inside a write: a change the dashboard's live feed tells once it is committed. */
  protected note(change: StoreChange): void {
    this.commit.note(change);
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
