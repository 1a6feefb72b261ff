// DashboardStore (../dashboard-store.ts) on PostgreSQL: users, sessions, the audit log, printer
// condition history and the fleet queries, as ../dashboard-sqlite.ts does them.
import type { PoolClient } from 'pg';
import type { PrinterInfo } from '../../../protocol/messages.js';
import type { PrinterStatus } from '../../../protocol/status.js';
import {
  type PrinterCondition,
  printerCondition,
  SEVERITY_RANK,
  severity,
} from '../../../shared/printer-state.js';
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
} from '../dashboard-store.js';
import { DuplicateError, type StoreScope } from '../job-store.js';
import { toAuditRecord, toSession, toUser } from '../rows.js';
import { OPEN_STATES } from './jobs.js';
import { PgTables, scopeParam } from './tables.js';

/** Inside the write that stored a changed printer status: its condition and, when that changed, history. */
export async function notePrinterStatus(
  client: PoolClient,
  storeId: string,
  printerId: string,
  status: PrinterStatus,
  at: number,
): Promise<PrinterCondition | null> {
  const condition = printerCondition(status);
  const before = (
    await client.query<{ condition: string }>(
      'SELECT condition FROM printers WHERE store_id = $1 AND printer_id = $2',
      [storeId, printerId],
    )
  ).rows[0]?.condition;
  const history = (
    await client.query<{ condition: string }>(
      'SELECT condition FROM printer_status_history WHERE store_id = $1 AND printer_id = $2 ORDER BY seq DESC LIMIT 1',
      [storeId, printerId],
    )
  ).rows[0]?.condition;
  await client.query(
    'UPDATE printers SET condition = $1, severity_rank = $2 WHERE store_id = $3 AND printer_id = $4',
    [condition, SEVERITY_RANK[severity(condition)], storeId, printerId],
  );
  if (history !== condition) {
    await client.query(
      'INSERT INTO printer_status_history (store_id, printer_id, condition, at) VALUES ($1, $2, $3, $4)',
      [storeId, printerId, condition, at],
    );
  }
  return before === condition ? null : condition;
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const STORES_MATCHING = `($1::text[] IS NULL OR id = ANY($1)) AND ($2::text IS NULL OR id LIKE $2 OR name LIKE $2)`;
const STORE_RANK = `CASE WHEN online = 0 THEN -1
  ELSE coalesce((SELECT min(p.severity_rank) FROM printers p WHERE p.store_id = stores.id), ${SEVERITY_RANK.unknown}) END`;

export class PgDashboardStore extends PgTables implements DashboardStore {
  async addUser(u: UserRecord): Promise<void> {
    const n = await this.exec(
      `INSERT INTO dashboard_users (name, password_hash, role, stores, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO NOTHING`,
      [u.name, u.passwordHash, u.role, u.stores === 'all' ? 'all' : JSON.stringify(u.stores), u.createdAt],
    );
    if (n === 0) throw new DuplicateError(`user ${u.name}`);
  }

  async getUser(name: string): Promise<UserRecord | null> {
    const r = await this.row('SELECT * FROM dashboard_users WHERE name = $1', [name]);
    return r ? toUser(r) : null;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.rows('SELECT * FROM dashboard_users ORDER BY name')).map(toUser);
  }

  async removeUser(name: string): Promise<boolean> {
    return this.tx('durable', async ({ client }) => {
      await this.exec('DELETE FROM dashboard_sessions WHERE user_name = $1', [name], client);
      return (await this.exec('DELETE FROM dashboard_users WHERE name = $1', [name], client)) === 1;
    });
  }

  async addSession(s: SessionRecord): Promise<void> {
    await this.exec(
      'INSERT INTO dashboard_sessions (token_hash, user_name, created_at, last_seen_at) VALUES ($1, $2, $3, $4)',
      [s.tokenHash, s.userName, s.createdAt, s.lastSeenAt],
    );
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const r = await this.row('SELECT * FROM dashboard_sessions WHERE token_hash = $1', [tokenHash]);
    return r ? toSession(r) : null;
  }

  async touchSession(tokenHash: string, at: number): Promise<void> {
    await this.tx('soft', ({ client }) =>
      this.exec(
        'UPDATE dashboard_sessions SET last_seen_at = $1 WHERE token_hash = $2',
        [at, tokenHash],
        client,
      ),
    );
  }

  async removeSession(tokenHash: string): Promise<void> {
    await this.exec('DELETE FROM dashboard_sessions WHERE token_hash = $1', [tokenHash]);
  }

  async pruneHistory(before: number): Promise<void> {
    await this.exec('DELETE FROM printer_status_history WHERE at < $1', [before]);
  }

  async removeExpiredSessions(idleBefore: number, createdBefore: number): Promise<void> {
    await this.exec('DELETE FROM dashboard_sessions WHERE last_seen_at < $1 OR created_at < $2', [
      idleBefore,
      createdBefore,
    ]);
  }

  async addAudit(e: AuditEntry): Promise<void> {
    await this.exec(
      'INSERT INTO audit_log (at, user_name, action, store_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6)',
      [e.at, e.user, e.action, e.storeId, e.target, e.detail],
    );
  }

  async listAudit(limit: number, beforeSeq?: number): Promise<AuditRecord[]> {
    return (
      await this.rows('SELECT * FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2', [
        beforeSeq ?? Number.MAX_SAFE_INTEGER,
        limit,
      ])
    ).map(toAuditRecord);
  }

  async fleetTotals(scope: StoreScope, since: number): Promise<FleetTotals> {
    const s = scopeParam(scope);
    const stores = (await this.row<{ online: number; n: number }>(
      'SELECT coalesce(sum(online), 0) AS online, count(*) AS n FROM stores WHERE ($1::text[] IS NULL OR id = ANY($1))',
      [s],
    )) as { online: number; n: number };
    const printers = await this.rows<{ rank: number; n: number }>(
      `SELECT CASE WHEN s.online = 1 THEN p.severity_rank ELSE ${SEVERITY_RANK.unknown} END AS rank, count(*) AS n
       FROM printers p JOIN stores s ON s.id = p.store_id
       WHERE ($1::text[] IS NULL OR s.id = ANY($1)) GROUP BY rank`,
      [s],
    );
    const byRank = (rank: number) => printers.find((r) => r.rank === rank)?.n ?? 0;
    const open = await this.rows<{ state: string; n: number }>(
      `SELECT state, count(*) AS n FROM jobs WHERE state IN ${OPEN_STATES}
         AND ($1::text[] IS NULL OR store_id = ANY($1)) GROUP BY state`,
      [s],
    );
    const finals = await this.rows<{ state: string; n: number }>(
      `SELECT state, count(*) AS n FROM jobs WHERE state IN ('failed', 'uncertain') AND updated_at >= $2
         AND ($1::text[] IS NULL OR store_id = ANY($1)) GROUP BY state`,
      [s, since],
    );
    const count = (rows: { state: string; n: number }[], states: string[]) =>
      rows.filter((r) => states.includes(r.state)).reduce((n, r) => n + r.n, 0);
    return {
      storesOnline: Number(stores.online),
      storesOffline: stores.n - Number(stores.online),
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
    const matching = [scopeParam(q.scope), search, q.problemsOnly];
    // Offline stores rank before any printer condition: nothing prints there.
    const rows = await this.rows(
      `WITH ranked AS (
         SELECT id, name, online, last_seen_at, agent_version, ${STORE_RANK} AS rank
         FROM stores WHERE ${STORES_MATCHING})
       SELECT *, count(*) OVER () AS total FROM ranked
       WHERE NOT $3 OR rank < ${SEVERITY_RANK.ok}
       ORDER BY rank, id LIMIT $4 OFFSET $5`,
      [...matching, q.limit, q.offset],
    );
    const ids = rows.map((r) => r.id as string);
    const printers = new Map<string, FleetPrinter[]>();
    for (const p of await this.rows(
      `SELECT store_id, printer_id, info, condition, status_at FROM printers
       WHERE store_id = ANY($1::text[]) ORDER BY store_id, printer_id`,
      [ids],
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
    const jobs = await this.rows<{ store_id: string; state: string; n: number }>(
      `SELECT store_id, state, count(*) AS n FROM jobs
       WHERE store_id = ANY($1::text[]) AND state IN ${OPEN_STATES} GROUP BY store_id, state`,
      [ids],
    );
    const jobCount = (storeId: string, waiting: boolean) =>
      jobs
        .filter((j) => j.store_id === storeId && (j.state === 'held') !== waiting)
        .reduce((n, j) => n + j.n, 0);
    let total = (rows[0]?.total as number | undefined) ?? 0;
    if (rows.length === 0 && q.offset > 0) {
      // Past the end: no row carries the total.
      const counted = await this.row<{ n: number }>(
        `SELECT count(*) AS n FROM stores WHERE ${STORES_MATCHING} AND (NOT $3 OR ${STORE_RANK} < ${SEVERITY_RANK.ok})`,
        matching,
      );
      total = counted?.n ?? 0;
    }
    return {
      total,
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

  async printerHistory(storeId: string, limit: number): Promise<PrinterTransition[]> {
    return (
      await this.rows(
        'SELECT printer_id, condition, at FROM printer_status_history WHERE store_id = $1 ORDER BY seq DESC LIMIT $2',
        [storeId, limit],
      )
    ).map((r) => ({
      printerId: r.printer_id as string,
      condition: r.condition as PrinterCondition,
      at: r.at as number,
    }));
  }
}
