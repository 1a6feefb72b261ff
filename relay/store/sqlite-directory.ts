// Directory (job-store.ts) on relay.db: stores, their agents' presence, hellos and health,
// printers, agent credentials, enrolment codes, API keys and webhook subscriptions. What agents
// send again whenever they reconnect goes through the group commit as `soft` writes; operator
// actions (the CLI's, the API's) are single statements committed at once.
import type { PrinterHealth, PrinterInfo } from '../../protocol/messages.js';
import type { PrinterStatus } from '../../protocol/status.js';
import type { Row } from '../../shared/sqlite.js';
import { SqliteDashboardStore } from './dashboard-sqlite.js';
import { printerStatusChanged, printerStatusEventData, storePresenceEventData } from './event-data.js';
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
} from './job-store.js';
import {
  json,
  scopeToText,
  toAgentCredential,
  toApiKey,
  toEnrolmentCode,
  toPrinter,
  toStore,
  toWebhook,
} from './rows.js';
import { SqliteRelayTables } from './sqlite-tables.js';

export class SqliteDirectory extends SqliteRelayTables implements Directory {
  /** Keeps each printer's condition and its history beside its status (the HQ dashboard's). */
  readonly #dashboard = new SqliteDashboardStore(this.db, this.commit, this.secrets);
  async createStore(store: { id: string; name: string; createdAt: number }): Promise<StoreRecord> {
    const r = this.run(
      'INSERT OR IGNORE INTO stores (id, name, created_at) VALUES (?, ?, ?)',
      store.id,
      store.name,
      store.createdAt,
    );
    if (r.changes === 0) throw new DuplicateError(`store ${store.id}`);
    return toStore(this.get('SELECT * FROM stores WHERE id = ?', store.id) as Row);
  }

  async getStore(id: string): Promise<StoreRecord | null> {
    const r = this.get('SELECT * FROM stores WHERE id = ?', id);
    return r ? toStore(r) : null;
  }

  async storeOnline(id: string): Promise<boolean | null> {
    const r = this.get('SELECT online FROM stores WHERE id = ?', id);
    return r ? r.online === 1 : null;
  }

  async listStores(): Promise<StoreRecord[]> {
    return this.all('SELECT * FROM stores ORDER BY id').map(toStore);
  }

  async listPrinters(storeId: string): Promise<PrinterRecord[]> {
    return this.all('SELECT * FROM printers WHERE store_id = ? ORDER BY printer_id', storeId).map(toPrinter);
  }

  async storeRouting(id: string): Promise<StoreRouting | null> {
    const store = this.get('SELECT instance_id, disabled_at FROM stores WHERE id = ?', id);
    if (!store) return null;
    const printers = this.all(
      'SELECT printer_id, info FROM printers WHERE store_id = ? ORDER BY printer_id',
      id,
    );
    return {
      disabled: store.disabled_at != null,
      printersKnown: store.instance_id != null,
      printers: printers.map((r) => ({
        id: r.printer_id as string,
        roles: json<PrinterInfo>(r.info)?.roles ?? [],
      })),
    };
  }

  async setStoreDisabled(id: string, disabledAt: number | null): Promise<boolean> {
    return this.run('UPDATE stores SET disabled_at = ? WHERE id = ?', disabledAt, id).changes === 1;
  }

  async removeStore(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.run('DELETE FROM job_timeline WHERE job_id IN (SELECT id FROM jobs WHERE store_id = ?)', id);
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
        this.run(`DELETE FROM ${table} WHERE store_id = ?`, id);
      return this.run('DELETE FROM stores WHERE id = ?', id).changes === 1;
    })();
  }

  async revokeAgentCredentials(storeId: string, at: number, keepId?: string): Promise<number> {
    return this.run(
      'UPDATE agent_credentials SET revoked_at = ? WHERE store_id = ? AND revoked_at IS NULL AND id IS NOT ?',
      at,
      storeId,
      keepId ?? null,
    ).changes;
  }

  async voidEnrolmentCodes(storeId: string, now: number): Promise<number> {
    return this.run(
      'UPDATE enrolment_codes SET used_at = ? WHERE store_id = ? AND used_at IS NULL',
      now,
      storeId,
    ).changes;
  }

  async addAgentCredential(c: AgentCredentialRecord): Promise<void> {
    this.run(
      'INSERT INTO agent_credentials (id, store_id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)',
      c.id,
      c.storeId,
      c.secretHash,
      c.createdAt,
      c.revokedAt,
    );
  }

  async getAgentCredential(id: string): Promise<AgentCredentialRecord | null> {
    const r = this.get('SELECT * FROM agent_credentials WHERE id = ?', id);
    return r ? toAgentCredential(r) : null;
  }

  async addEnrolmentCode(c: EnrolmentCodeRecord): Promise<void> {
    const r = this.run(
      'INSERT OR IGNORE INTO enrolment_codes (id, store_id, code_hash, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)',
      c.id,
      c.storeId,
      c.codeHash,
      c.createdAt,
      c.expiresAt,
      c.usedAt,
    );
    if (r.changes === 0) throw new DuplicateError(`enrolment code ${c.id}`);
  }

  async getEnrolmentCode(id: string): Promise<EnrolmentCodeRecord | null> {
    const r = this.get('SELECT * FROM enrolment_codes WHERE id = ?', id);
    return r ? toEnrolmentCode(r) : null;
  }

  async useEnrolmentCode(id: string, now: number): Promise<boolean> {
    const r = this.run(
      'UPDATE enrolment_codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?',
      now,
      id,
      now,
    );
    return r.changes === 1;
  }

  async addApiKey(k: ApiKeyRecord): Promise<void> {
    this.run(
      'INSERT INTO api_keys (id, name, secret_hash, stores, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
      k.id,
      k.name,
      k.secretHash,
      scopeToText(k.stores),
      k.createdAt,
      k.revokedAt,
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | null> {
    const r = this.get('SELECT * FROM api_keys WHERE id = ?', id);
    return r ? toApiKey(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.all('SELECT * FROM api_keys ORDER BY created_at').map(toApiKey);
  }

  async revokeApiKey(id: string, now: number): Promise<boolean> {
    return (
      this.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now, id).changes ===
      1
    );
  }

  async addWebhook(h: WebhookRecord): Promise<void> {
    this.run(
      'INSERT INTO webhooks (id, url, secret, events, stores, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      h.id,
      h.url,
      this.secrets.seal(h.secret, h.id),
      JSON.stringify(h.events),
      scopeToText(h.stores),
      h.createdAt,
    );
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    return this.all('SELECT * FROM webhooks ORDER BY created_at').map((r) => toWebhook(r, this.secrets));
  }

  async removeWebhook(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.run('DELETE FROM webhook_deliveries WHERE webhook_id = ?', id);
      return this.run('DELETE FROM webhooks WHERE id = ?', id).changes === 1;
    })();
  }

  async setPresence(storeId: string, p: PresenceUpdate): Promise<boolean> {
    return this.write('soft', () => this.#applyPresence(storeId, p));
  }

  #applyPresence(storeId: string, p: PresenceUpdate): boolean {
    const r = p.online
      ? this.run(
          'UPDATE stores SET online = 1, connection_id = ?, agent_version = ?, last_seen_at = ? WHERE id = ?',
          p.connectionId,
          p.agentVersion,
          p.at,
          storeId,
        )
      : this.run(
          `UPDATE stores SET online = 0, last_seen_at = ?
           WHERE id = ? AND (connection_id IS NULL OR connection_id = ?)`,
          p.at,
          storeId,
          p.connectionId,
        );
    if (r.changes === 1) {
      this.note({ type: 'presence', storeId, online: p.online, at: p.at });
      this.#reportPresence(storeId, p.online, p.at, p.agentVersion);
    }
    return r.changes === 1;
  }

  async recordIdentityConflict(storeId: string, at: number, data: unknown): Promise<void> {
    await this.write('soft', () => this.addEvent('store.identity-conflict', storeId, at, data));
  }

  /** Queues a store.online / store.offline event unless the last one queued said the same. */
  #reportPresence(storeId: string, online: boolean, at: number, agentVersion: string): void {
    const changed = this.run(
      'UPDATE stores SET reported_online = ? WHERE id = ? AND reported_online IS NOT ?',
      online ? 1 : 0,
      storeId,
      online ? 1 : 0,
    );
    if (changed.changes === 0) return;
    const type = online ? 'store.online' : 'store.offline';
    this.addEvent(type, storeId, at, storePresenceEventData(storeId, online, at, agentVersion));
  }

  async touchStore(storeId: string, at: number): Promise<void> {
    await this.write('soft', () => this.run('UPDATE stores SET last_seen_at = ? WHERE id = ?', at, storeId));
  }

  async markAllOffline(): Promise<void> {
    this.run('UPDATE stores SET online = 0, connection_id = NULL WHERE online = 1');
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
    return this.write('soft', () => {
      const before = this.get('SELECT instance_id FROM stores WHERE id = ?', storeId);
      this.run(
        // Saying hello proves the agent is connected, even if it never sent a presence message.
        'UPDATE stores SET online = 1, agent_version = ?, instance_id = ?, last_seen_at = ? WHERE id = ?',
        hello.agentVersion,
        hello.instanceId,
        hello.at,
        storeId,
      );
      this.note({ type: 'presence', storeId, online: true, at: hello.at });
      this.#reportPresence(storeId, true, hello.at, hello.agentVersion);
      const ids = hello.printers.map((p) => p.id);
      this.run(
        `DELETE FROM printers WHERE store_id = ? AND printer_id NOT IN (SELECT value FROM json_each(?))`,
        storeId,
        JSON.stringify(ids),
      );
      for (const p of hello.printers) {
        const { status, ...info } = p;
        this.run(
          `INSERT INTO printers (store_id, printer_id, info) VALUES (?, ?, ?)
           ON CONFLICT (store_id, printer_id) DO UPDATE SET info = excluded.info`,
          storeId,
          p.id,
          JSON.stringify(info),
        );
        if (status) this.#applyPrinterStatus(storeId, p.id, status, hello.statusAt, false);
      }
      return { previousInstanceId: (before?.instance_id as string | null | undefined) ?? null };
    });
  }

  #applyPrinterStatus(
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    at: number,
    report: boolean,
  ): boolean {
    const row = this.get(
      'SELECT status, reported_status, status_at FROM printers WHERE store_id = ? AND printer_id = ?',
      storeId,
      printerId,
    );
    if (row && typeof row.status_at === 'number' && row.status_at > at) return false;
    const before = row ? json<PrinterStatus>(row.status) : null;
    const reported = row ? json<PrinterStatus>(row.reported_status) : null;
    this.run(
      `INSERT INTO printers (store_id, printer_id, status, status_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (store_id, printer_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
      storeId,
      printerId,
      JSON.stringify(status),
      at,
    );
    // The dashboard shows what is stored now; webhooks tell only changes from what they last told.
    if (printerStatusChanged(before, status)) {
      const condition = this.#dashboard.notePrinterStatus(storeId, printerId, status, at);
      if (condition) this.note({ type: 'printer', storeId, printerId, condition, at });
    }
    return report && this.#reportPrinterStatus(storeId, printerId, status, reported, at);
  }

  /**
   * Queues a printer.status event if `status` differs from the one last reported: compared with
   * that, not with the last stored, so that states kept unreported in between (an agent's
   * start-up) are no change.
   */
  #reportPrinterStatus(
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    reported: PrinterStatus | null,
    at: number,
  ): boolean {
    if (!printerStatusChanged(reported, status)) return false;
    this.run(
      'UPDATE printers SET reported_status = ? WHERE store_id = ? AND printer_id = ?',
      JSON.stringify(status),
      storeId,
      printerId,
    );
    this.addEvent('printer.status', storeId, at, printerStatusEventData(storeId, printerId, status));
    return true;
  }

  async reportPrinterStatuses(storeId: string): Promise<number> {
    return this.write('soft', () => {
      let reported = 0;
      const rows = this.all(
        'SELECT printer_id, status, status_at, reported_status FROM printers WHERE store_id = ? AND status IS NOT NULL',
        storeId,
      );
      for (const r of rows) {
        const status = json<PrinterStatus>(r.status) as PrinterStatus;
        const before = json<PrinterStatus>(r.reported_status);
        if (this.#reportPrinterStatus(storeId, r.printer_id as string, status, before, r.status_at as number))
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
    return this.write('soft', () =>
      this.#applyPrinterStatus(storeId, printerId, status, at, opts.report ?? true),
    );
  }

  async recordHealth(
    storeId: string,
    h: { agentVersion: string; printers: PrinterHealth[]; at: number; raw: unknown },
  ): Promise<void> {
    await this.write('soft', () => {
      this.run(
        'UPDATE stores SET health = ?, health_at = ?, agent_version = ?, last_seen_at = ? WHERE id = ?',
        JSON.stringify(h.raw),
        h.at,
        h.agentVersion,
        h.at,
        storeId,
      );
      for (const p of h.printers) {
        this.run(
          `INSERT INTO printers (store_id, printer_id, health) VALUES (?, ?, ?)
           ON CONFLICT (store_id, printer_id) DO UPDATE SET health = excluded.health`,
          storeId,
          p.printerId,
          JSON.stringify(p),
        );
      }
    });
  }
}
