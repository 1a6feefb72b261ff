// DashboardStore on the relay's SQLite file, sharing the relay store's connection and group
// commit (so that a printer's condition and its history are written in the same transaction
// as its status, and a sign-in never blocks the event loop on an fsync). Users, sign-outs and
// the audit log are durable writes; session bookkeeping is soft (a lost one means signing in
// again).
import type { PrinterInfo } from '../../protocol/messages.js';
import type { PrinterStatus } from '../../protocol/status.js';
import {
  type PrinterCondition,
  printerCondition,
  SEVERITY_RANK,
  severity,
} from '../../shared/printer-state.js';
import type { Row } from '../../shared/sqlite.js';
import type {
  AuditEntry,
  AuditRecord,
  DashboardStore,
  FleetPage,
  FleetPrinter,
  FleetQuery,
  FleetTotals,
  PrinterTransition,
  SessionRecord,
  UserRecord,
} from './dashboard-store.js';
import { DuplicateError, type StoreScope } from './job-store.js';
import { toAuditRecord, toSession, toUser } from './rows.js';
import { SqliteRelayTables } from './sqlite-tables.js';

const OPEN_STATES = "('accepted', 'sent', 'delivered', 'held', 'printing')";

/** `?` parameter for "in scope": null for all stores, else a JSON array for json_each. */
const scopeParam = (scope: StoreScope) => (scope === 'all' ? null : JSON.stringify(scope));
const IN_SCOPE = '(@scope IS NULL OR id IN (SELECT value FROM json_each(@scope)))';

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class SqliteDashboardStore extends SqliteRelayTables implements DashboardStore {
  /**
   * Inside the relay store's write that applied a changed printer status: keeps the
   * printer's condition for the fleet queries and, when the condition changed, a history
   * entry. Returns the condition when it changed, else null.
   */
  notePrinterStatus(
    storeId: string,
    printerId: string,
    status: PrinterStatus,
    at: number,
  ): PrinterCondition | null {
    const condition = printerCondition(status);
    const before = this.get(
      'SELECT condition FROM printers WHERE store_id = ? AND printer_id = ?',
      storeId,
      printerId,
    )?.condition;
    const history = this.get(
      'SELECT condition FROM printer_status_history WHERE store_id = ? AND printer_id = ? ORDER BY seq DESC LIMIT 1',
      storeId,
      printerId,
    )?.condition;
    this.run(
      'UPDATE printers SET condition = ?, severity_rank = ? WHERE store_id = ? AND printer_id = ?',
      condition,
      SEVERITY_RANK[severity(condition)],
      storeId,
      printerId,
    );
    if (history !== condition) {
      this.run(
        'INSERT INTO printer_status_history (store_id, printer_id, condition, at) VALUES (?, ?, ?, ?)',
        storeId,
        printerId,
        condition,
        at,
      );
    }
    return before === condition ? null : condition;
  }

  // ---- users and sessions ----

  async addUser(u: UserRecord): Promise<void> {
    const r = await this.write('durable', () =>
      this.run(
        'INSERT OR IGNORE INTO dashboard_users (name, password_hash, role, stores, created_at) VALUES (?, ?, ?, ?, ?)',
        u.name,
        u.passwordHash,
        u.role,
        u.stores === 'all' ? 'all' : JSON.stringify(u.stores),
        u.createdAt,
      ),
    );
    if (r.changes === 0) throw new DuplicateError(`user ${u.name}`);
  }

  async getUser(name: string): Promise<UserRecord | null> {
    const r = this.get('SELECT * FROM dashboard_users WHERE name = ?', name);
    return r ? toUser(r) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.all('SELECT * FROM dashboard_users ORDER BY name').map(toUser);
  }

  async removeUser(name: string): Promise<boolean> {
    return this.write('durable', () => {
      this.run('DELETE FROM dashboard_sessions WHERE user_name = ?', name);
      return this.run('DELETE FROM dashboard_users WHERE name = ?', name).changes === 1;
    });
  }

  async addSession(s: SessionRecord): Promise<void> {
    await this.write('soft', () =>
      this.run(
        'INSERT INTO dashboard_sessions (token_hash, user_name, created_at, last_seen_at) VALUES (?, ?, ?, ?)',
        s.tokenHash,
        s.userName,
        s.createdAt,
        s.lastSeenAt,
      ),
    );
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const r = this.get('SELECT * FROM dashboard_sessions WHERE token_hash = ?', tokenHash);
    return r ? toSession(r) : null;
  }

  async touchSession(tokenHash: string, at: number): Promise<void> {
    await this.write('soft', () =>
      this.run('UPDATE dashboard_sessions SET last_seen_at = ? WHERE token_hash = ?', at, tokenHash),
    );
  }

  async removeSession(tokenHash: string): Promise<void> {
    await this.write('durable', () =>
      this.run('DELETE FROM dashboard_sessions WHERE token_hash = ?', tokenHash),
    );
  }

  async pruneHistory(before: number): Promise<void> {
    await this.write('soft', () => this.run('DELETE FROM printer_status_history WHERE at < ?', before));
  }

  async removeExpiredSessions(idleBefore: number, createdBefore: number): Promise<void> {
    await this.write('soft', () =>
      this.run(
        'DELETE FROM dashboard_sessions WHERE last_seen_at < ? OR created_at < ?',
        idleBefore,
        createdBefore,
      ),
    );
  }

  // ---- audit log ----

  async addAudit(e: AuditEntry): Promise<void> {
    await this.write('durable', () =>
      this.run(
        'INSERT INTO audit_log (at, user_name, action, store_id, target, detail) VALUES (?, ?, ?, ?, ?, ?)',
        e.at,
        e.user,
        e.action,
        e.storeId,
        e.target,
        e.detail,
      ),
    );
  }

  async listAudit(limit: number, beforeSeq?: number): Promise<AuditRecord[]> {
    return this.all(
      'SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?',
      beforeSeq ?? Number.MAX_SAFE_INTEGER,
      limit,
    ).map(toAuditRecord);
  }

  // ---- fleet ----

  async fleetTotals(scope: StoreScope, since: number): Promise<FleetTotals> {
    const s = scopeParam(scope);
    const stores = this.get(
      `SELECT coalesce(sum(online), 0) AS online, count(*) AS n FROM stores WHERE ${IN_SCOPE}`,
      { scope: s },
    ) as Row;
    const printers = this.all(
      `SELECT CASE WHEN s.online = 1 THEN p.severity_rank ELSE ${SEVERITY_RANK.unknown} END AS rank, count(*) AS n
       FROM printers p JOIN stores s ON s.id = p.store_id
       WHERE (@scope IS NULL OR s.id IN (SELECT value FROM json_each(@scope))) GROUP BY rank`,
      { scope: s },
    );
    const byRank = (rank: number) => (printers.find((r) => r.rank === rank)?.n as number | undefined) ?? 0;
    const scopedJobs = '(@scope IS NULL OR store_id IN (SELECT value FROM json_each(@scope)))';
    const open = this.all(
      `SELECT state, count(*) AS n FROM jobs WHERE state IN ${OPEN_STATES} AND ${scopedJobs} GROUP BY state`,
      { scope: s },
    );
    const finals = this.all(
      `SELECT state, count(*) AS n FROM jobs WHERE state IN ('failed', 'uncertain') AND updated_at >= @since
         AND ${scopedJobs} GROUP BY state`,
      { scope: s, since },
    );
    const count = (rows: Row[], states: string[]) =>
      rows.filter((r) => states.includes(r.state as string)).reduce((n, r) => n + (r.n as number), 0);
    return {
      storesOnline: stores.online as number,
      storesOffline: (stores.n as number) - (stores.online as number),
      printersReady: byRank(SEVERITY_RANK.ok),
      printersWarning: byRank(SEVERITY_RANK.warning),
      printersError: byRank(SEVERITY_RANK.error),
      printersUnknown: byRank(SEVERITY_RANK.unknown),
      jobsWaiting: count(open, ['accepted', 'sent', 'delivered', 'printing']),
      jobsHeld: count(open, ['held']),
      jobsFailed: count(finals, ['failed']),
      jobsUncertain: count(finals, ['uncertain']),
    };
  }

  async fleetPage(q: FleetQuery): Promise<FleetPage> {
    const search = q.search?.trim() ? likePattern(q.search.trim()) : null;
    // Offline stores rank before any printer condition: nothing prints there.
    const rows = this.all(
      `WITH ranked AS (
         SELECT id, name, online, last_seen_at, agent_version,
           CASE WHEN online = 0 THEN -1
             ELSE coalesce((SELECT min(p.severity_rank) FROM printers p WHERE p.store_id = stores.id), ${SEVERITY_RANK.unknown})
           END AS rank
         FROM stores
         WHERE ${IN_SCOPE} AND (@search IS NULL OR id LIKE @search ESCAPE '\\' OR name LIKE @search ESCAPE '\\'))
       SELECT *, count(*) OVER () AS total FROM ranked
       WHERE @problems = 0 OR rank < ${SEVERITY_RANK.ok}
       ORDER BY rank, id LIMIT @limit OFFSET @offset`,
      {
        scope: scopeParam(q.scope),
        search,
        problems: q.problemsOnly ? 1 : 0,
        limit: q.limit,
        offset: q.offset,
      },
    );
    const ids = JSON.stringify(rows.map((r) => r.id));
    const printers = new Map<string, FleetPrinter[]>();
    for (const p of this.all(
      `SELECT store_id, printer_id, info, condition, status_at FROM printers
       WHERE store_id IN (SELECT value FROM json_each(?)) ORDER BY store_id, printer_id`,
      ids,
    )) {
      const info = typeof p.info === 'string' ? (JSON.parse(p.info) as PrinterInfo) : null;
      const list = printers.get(p.store_id as string) ?? [];
      list.push({
        printerId: p.printer_id as string,
        name: info?.name ?? null,
        condition: p.condition as PrinterCondition,
        statusAt: (p.status_at as number | null) ?? null,
      });
      printers.set(p.store_id as string, list);
    }
    const jobs = this.all(
      `SELECT store_id, state, count(*) AS n FROM jobs
       WHERE store_id IN (SELECT value FROM json_each(?)) AND state IN ${OPEN_STATES} GROUP BY store_id, state`,
      ids,
    );
    const jobCount = (storeId: string, waiting: boolean) =>
      jobs
        .filter((j) => j.store_id === storeId && (j.state === 'held') !== waiting)
        .reduce((n, j) => n + (j.n as number), 0);
    return {
      total: (rows[0]?.total as number | undefined) ?? (q.offset > 0 ? this.countMatching(q, search) : 0),
      stores: rows.map((r) => {
        const id = r.id as string;
        return {
          id,
          name: r.name as string,
          online: r.online === 1,
          lastSeenAt: (r.last_seen_at as number | null) ?? null,
          agentVersion: (r.agent_version as string | null) ?? null,
          printers: printers.get(id) ?? [],
          waiting: jobCount(id, true),
          held: jobCount(id, false),
        };
      }),
    };
  }

  /** The total when the page asked for is past the end (no row carries it). */
  private countMatching(q: FleetQuery, search: string | null): number {
    const page = this.get(
      `SELECT count(*) AS n FROM stores
       WHERE ${IN_SCOPE} AND (@search IS NULL OR id LIKE @search ESCAPE '\\' OR name LIKE @search ESCAPE '\\')
         AND (@problems = 0 OR online = 0 OR coalesce((SELECT min(p.severity_rank) FROM printers p WHERE p.store_id = stores.id), ${SEVERITY_RANK.unknown}) < ${SEVERITY_RANK.ok})`,
      { scope: scopeParam(q.scope), search, problems: q.problemsOnly ? 1 : 0 },
    );
    return page?.n as number;
  }

  async printerHistory(storeId: string, limit: number): Promise<PrinterTransition[]> {
    return this.all(
      'SELECT printer_id, condition, at FROM printer_status_history WHERE store_id = ? ORDER BY seq DESC LIMIT ?',
      storeId,
      limit,
    ).map((r) => ({
      printerId: r.printer_id as string,
      condition: r.condition as PrinterCondition,
      at: r.at as number,
    }));
  }
}
