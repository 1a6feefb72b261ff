// Directory (../job-store.ts) on PostgreSQL: the SQLite one's statements (../sqlite-directory.ts)
// in PostgreSQL's words. Presence and what agents send again are `soft` transactions; operator
// actions are single statements.
import type { PrinterHealth, PrinterInfo } from '../../../protocol/messages.js';
import type { PrinterStatus } from '../../../protocol/status.js';
import { printerStatusChanged, printerStatusEventData, storePresenceEventData } from '../event-data.js';
import {
  type AgentCredentialRecord,
  type ApiKeyRecord,
  type Directory,
  DuplicateError,
  type EnrolmentCodeRecord,
  type PresenceUpdate,
  type PrinterRecord,
  type StoreRecord,
  type StoreRouting,
  type WebhookRecord,
} from '../job-store.js';
import {
  json,
  scopeToText,
  toAgentCredential,
  toApiKey,
  toEnrolmentCode,
  toPrinter,
  toStore,
  toWebhook,
} from '../rows.js';
import { notePrinterStatus } from './dashboard.js';
import { PgTables, type Tx } from './tables.js';

export class PgDirectory extends PgTables implements Directory {
  async createStore(store: { id: string; name: string; createdAt: number }): Promise<StoreRecord> {
    const r = await this.row(
      'INSERT INTO stores (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING *',
      [store.id, store.name, store.createdAt],
    );
    if (!r) throw new DuplicateError(`store ${store.id}`);
    return toStore(r);
  }

  async getStore(id: string): Promise<StoreRecord | null> {
    const r = await this.row('SELECT * FROM stores WHERE id = $1', [id]);
    return r ? toStore(r) : null;
  }

  async storeOnline(id: string): Promise<boolean | null> {
    const r = await this.row<{ online: number }>('SELECT online FROM stores WHERE id = $1', [id]);
    return r ? r.online === 1 : null;
  }

  async listStores(): Promise<StoreRecord[]> {
    return (await this.rows('SELECT * FROM stores ORDER BY id')).map(toStore);
  }

  async listPrinters(storeId: string): Promise<PrinterRecord[]> {
    return (await this.rows('SELECT * FROM printers WHERE store_id = $1 ORDER BY printer_id', [storeId])).map(
      toPrinter,
    );
  }

  async storeRouting(id: string): Promise<StoreRouting | null> {
    const rows = await this.rows<{
      instance_id: string | null;
      disabled_at: number | null;
      printer_id: string | null;
      info: string | null;
    }>(
      `SELECT s.instance_id, s.disabled_at, p.printer_id, p.info
       FROM stores s LEFT JOIN printers p ON p.store_id = s.id WHERE s.id = $1 ORDER BY p.printer_id`,
      [id],
    );
    const store = rows[0];
    if (!store) return null;
    return {
      disabled: store.disabled_at != null,
      printersKnown: store.instance_id != null,
      printers: rows
        .filter((r) => r.printer_id !== null)
        .map((r) => ({ id: r.printer_id as string, roles: json<PrinterInfo>(r.info)?.roles ?? [] })),
    };
  }

  async setStoreDisabled(id: string, disabledAt: number | null): Promise<boolean> {
    return (await this.exec('UPDATE stores SET disabled_at = $1 WHERE id = $2', [disabledAt, id])) === 1;
  }

  async removeStore(id: string): Promise<boolean> {
    return this.tx('durable', async ({ client }) => {
      await this.exec(
        'DELETE FROM job_timeline WHERE job_id IN (SELECT id FROM jobs WHERE store_id = $1)',
        [id],
        client,
      );
      for (const table of [
        'jobs',
        'orders',
        'store_menus',
        'templates',
        'printers',
        'agent_credentials',
        'enrolment_codes',
        'agent_events_seen',
      ])
        await this.exec(`DELETE FROM ${table} WHERE store_id = $1`, [id], client);
      return (await this.exec('DELETE FROM stores WHERE id = $1', [id], client)) === 1;
    });
  }

  async revokeAgentCredentials(storeId: string, at: number, keepId?: string): Promise<number> {
    return this.exec(
      'UPDATE agent_credentials SET revoked_at = $1 WHERE store_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3',
      [at, storeId, keepId ?? null],
    );
  }

  async voidEnrolmentCodes(storeId: string, now: number): Promise<number> {
    return this.exec('UPDATE enrolment_codes SET used_at = $1 WHERE store_id = $2 AND used_at IS NULL', [
      now,
      storeId,
    ]);
  }

  async addAgentCredential(c: AgentCredentialRecord): Promise<void> {
    await this.exec(
      'INSERT INTO agent_credentials (id, store_id, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)',
      [c.id, c.storeId, c.secretHash, c.createdAt, c.revokedAt],
    );
  }

  async getAgentCredential(id: string): Promise<AgentCredentialRecord | null> {
    const r = await this.row('SELECT * FROM agent_credentials WHERE id = $1', [id]);
    return r ? toAgentCredential(r) : null;
  }

  async addEnrolmentCode(c: EnrolmentCodeRecord): Promise<void> {
    const n = await this.exec(
      `INSERT INTO enrolment_codes (id, store_id, code_hash, created_at, expires_at, used_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
      [c.id, c.storeId, c.codeHash, c.createdAt, c.expiresAt, c.usedAt],
    );
    if (n === 0) throw new DuplicateError(`enrolment code ${c.id}`);
  }

  async getEnrolmentCode(id: string): Promise<EnrolmentCodeRecord | null> {
    const r = await this.row('SELECT * FROM enrolment_codes WHERE id = $1', [id]);
    return r ? toEnrolmentCode(r) : null;
  }

  async useEnrolmentCode(id: string, now: number): Promise<boolean> {
    return (
      (await this.exec(
        'UPDATE enrolment_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1',
        [now, id],
      )) === 1
    );
  }

  async addApiKey(k: ApiKeyRecord): Promise<void> {
    await this.exec(
      'INSERT INTO api_keys (id, name, secret_hash, stores, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [k.id, k.name, k.secretHash, scopeToText(k.stores), k.createdAt, k.revokedAt],
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const r = await this.row('SELECT * FROM api_keys WHERE id = $1', [id]);
    return r ? toApiKey(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.rows('SELECT * FROM api_keys ORDER BY created_at')).map(toApiKey);
  }

  async revokeApiKey(id: string, now: number): Promise<boolean> {
    return (
      (await this.exec('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [
        now,
        id,
      ])) === 1
    );
  }

  async addWebhook(h: WebhookRecord): Promise<void> {
    await this.exec(
      'INSERT INTO webhooks (id, url, secret, events, stores, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [
        h.id,
        h.url,
        this.secrets.seal(h.secret, h.id),
        JSON.stringify(h.events),
        scopeToText(h.stores),
        h.createdAt,
      ],
    );
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    return (await this.rows('SELECT * FROM webhooks ORDER BY created_at')).map((r) =>
      toWebhook(r, this.secrets),
    );
  }

  async removeWebhook(id: string): Promise<boolean> {
    return this.tx('durable', async ({ client }) => {
      await this.exec('DELETE FROM webhook_deliveries WHERE webhook_id = $1', [id], client);
      return (await this.exec('DELETE FROM webhooks WHERE id = $1', [id], client)) === 1;
    });
  }

  async setPresence(storeId: string, p: PresenceUpdate): Promise<boolean> {
    return this.tx('soft', async (tx) => {
      const n = p.online
        ? await this.exec(
            'UPDATE stores SET online = 1, connection_id = $1, agent_version = $2, last_seen_at = $3 WHERE id = $4',
            [p.connectionId, p.agentVersion, p.at, storeId],
            tx.client,
          )
        : await this.exec(
            `UPDATE stores SET online = 0, last_seen_at = $1
             WHERE id = $2 AND (connection_id IS NULL OR connection_id = $3)`,
            [p.at, storeId, p.connectionId],
            tx.client,
          );
      if (n === 1) {
        tx.changes.push({ type: 'presence', storeId, online: p.online, at: p.at });
        await this.#reportPresence(tx, storeId, p.online, p.at, p.agentVersion);
      }
      return n === 1;
    });
  }

  async recordIdentityConflict(storeId: string, at: number, data: unknown): Promise<void> {
    await this.tx('soft', async (tx) => this.addEvent(tx, 'store.identity-conflict', storeId, at, data));
  }

  /** Queues a store.online / store.offline event unless the last one queued said the same. */
  async #reportPresence(
    tx: Tx,
    storeId: string,
    online: boolean,
    at: number,
    agentVersion: string,
  ): Promise<void> {
    const flag = online ? 1 : 0;
    const changed = await this.exec(
      'UPDATE stores SET reported_online = $1 WHERE id = $2 AND reported_online IS DISTINCT FROM $1',
      [flag, storeId],
      tx.client,
    );
    if (changed === 0) return;
    const type = online ? 'store.online' : 'store.offline';
    this.addEvent(tx, type, storeId, at, storePresenceEventData(storeId, online, at, agentVersion));
  }

  async touchStore(storeId: string, at: number): Promise<void> {
    await this.tx('soft', ({ client }) =>
      this.exec('UPDATE stores SET last_seen_at = $1 WHERE id = $2', [at, storeId], client),
    );
  }

  async markAllOffline(): Promise<void> {
    await this.exec('UPDATE stores SET online = 0, connection_id = NULL WHERE online = 1');
  }

  async recordHello(
    storeId: string,
    hello: {
      agentVersion: string;
      instanceId: string;
      printers: PrinterInfo[];
      at: number;
      statusAt: number;
    },
  ): Promise<{ previousInstanceId: string | null }> {
    return this.tx('soft', async (tx) => {
      const { client } = tx;
      const before = await this.row<{ instance_id: string | null }>(
        'SELECT instance_id FROM stores WHERE id = $1 FOR UPDATE',
        [storeId],
        client,
      );
      await this.exec(
        'UPDATE stores SET online = 1, agent_version = $1, instance_id = $2, last_seen_at = $3 WHERE id = $4',
        [hello.agentVersion, hello.instanceId, hello.at, storeId],
        client,
      );
      tx.changes.push({ type: 'presence', storeId, online: true, at: hello.at });
      await this.#reportPresence(tx, storeId, true, hello.at, hello.agentVersion);
      await this.exec(
        'DELETE FROM printers WHERE store_id = $1 AND NOT (printer_id = ANY($2::text[]))',
        [storeId, hello.printers.map((p) => p.id)],
        client,
      );
      for (const p of hello.printers) {
        const { status, ...info } = p;
        await this.exec(
          `INSERT INTO printers (store_id, printer_id, info) VALUES ($1, $2, $3)
           ON CONFLICT (store_id, printer_id) DO UPDATE SET info = excluded.info`,
          [storeId, p.id, JSON.stringify(info)],
          client,
        );
        if (status) await this.#applyPrinterStatus(tx, storeId, p.id, status, hello.statusAt, false);
      }
      return { previousInstanceId: before?.instance_id ?? null };
    });
  }

  async #applyPrinterStatus(
    tx: Tx,
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    at: number,
    report: boolean,
  ): Promise<boolean> {
    const row = await this.row<{
      status: string | null;
      reported_status: string | null;
      status_at: number | null;
    }>(
      'SELECT status, reported_status, status_at FROM printers WHERE store_id = $1 AND printer_id = $2 FOR UPDATE',
      [storeId, printerId],
      tx.client,
    );
    if (row && typeof row.status_at === 'number' && row.status_at > at) return false;
    const before = row ? json<PrinterStatus>(row.status) : null;
    const reported = row ? json<PrinterStatus>(row.reported_status) : null;
    await this.exec(
      `INSERT INTO printers (store_id, printer_id, status, status_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (store_id, printer_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
      [storeId, printerId, JSON.stringify(status), at],
      tx.client,
    );
    if (printerStatusChanged(before, status)) {
      const condition = await notePrinterStatus(tx.client, storeId, printerId, status, at);
      if (condition) tx.changes.push({ type: 'printer', storeId, printerId, condition, at });
    }
    return report && this.#reportPrinterStatus(tx, storeId, printerId, status, reported, at);
  }

  async #reportPrinterStatus(
    tx: Tx,
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    reported: PrinterStatus | null,
    at: number,
  ): Promise<boolean> {
    if (!printerStatusChanged(reported, status)) return false;
    await this.exec(
      'UPDATE printers SET reported_status = $1 WHERE store_id = $2 AND printer_id = $3',
      [JSON.stringify(status), storeId, printerId],
      tx.client,
    );
    this.addEvent(tx, 'printer.status', storeId, at, printerStatusEventData(storeId, printerId, status));
    return true;
  }

  async reportPrinterStatuses(storeId: string): Promise<number> {
    return this.tx('soft', async (tx) => {
      let reported = 0;
      const rows = await this.rows<{
        printer_id: string;
        status: string;
        status_at: number;
        reported_status: string | null;
      }>(
        'SELECT printer_id, status, status_at, reported_status FROM printers WHERE store_id = $1 AND status IS NOT NULL FOR UPDATE',
        [storeId],
        tx.client,
      );
      for (const r of rows) {
        const status = json<PrinterStatus>(r.status) as PrinterStatus;
        if (
          await this.#reportPrinterStatus(
            tx,
            storeId,
            r.printer_id,
            status,
            json<PrinterStatus>(r.reported_status),
            r.status_at,
          )
        )
          reported++;
      }
      return reported;
    });
  }

  async setPrinterStatus(
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    at: number,
    opts: { report?: boolean } = {},
  ): Promise<boolean> {
    return this.tx('soft', (tx) =>
      this.#applyPrinterStatus(tx, storeId, printerId, status, at, opts.report ?? true),
    );
  }

  async recordHealth(
    storeId: string,
    h: { agentVersion: string; printers: PrinterHealth[]; at: number; raw: unknown },
  ): Promise<void> {
    await this.tx('soft', async ({ client }) => {
      await this.exec(
        'UPDATE stores SET health = $1, health_at = $2, agent_version = $3, last_seen_at = $2 WHERE id = $4',
        [JSON.stringify(h.raw), h.at, h.agentVersion, storeId],
        client,
      );
      for (const p of h.printers) {
        await this.exec(
          `INSERT INTO printers (store_id, printer_id, health) VALUES ($1, $2, $3)
           ON CONFLICT (store_id, printer_id) DO UPDATE SET health = excluded.health`,
          [storeId, p.printerId, JSON.stringify(p)],
          client,
        );
      }
    });
  }
}
