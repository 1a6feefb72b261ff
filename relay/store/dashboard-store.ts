// What the HQ dashboard keeps beside the Directory and the JobStore, behind its own narrow
// interface (like them, so that another database can replace SQLite): dashboard users and
// their sessions, the audit log, each printer's condition history, and the fleet queries that
// page, search, filter and sort thousands of stores in the database rather than in memory.
import type { PrinterCondition } from '../../shared/printer-state.js';
import type { StoreScope } from './job-store.js';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserRecord {
  name: string;
  /** scrypt, see relay/credentials.ts hashSlow. */
  passwordHash: string;
  role: Role;
  stores: StoreScope;
  createdAt: number;
}

export interface SessionRecord {
  /** SHA-256 of the cookie's token: the token itself is never stored. */
  tokenHash: string;
  userName: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface AuditEntry {
  at: number;
  user: string;
  /** e.g. job.cancel, store.add, user.remove. */
  action: string;
  storeId: string | null;
  /** What it acted on: a job id, printer id, user name... */
  target: string | null;
  detail: string | null;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
}

export interface FleetQuery {
  scope: StoreScope;
  /** Part of a store id or name. */
  search: string | null;
  /** Only stores that are offline or have a printer that is not ready. */
  problemsOnly: boolean;
  offset: number;
  limit: number;
}

export interface FleetPrinter {
  printerId: string;
  name: string | null;
  condition: PrinterCondition;
  statusAt: number | null;
}

export interface FleetStore {
  id: string;
  name: string;
  online: boolean;
  lastSeenAt: number | null;
  agentVersion: string | null;
  printers: FleetPrinter[];
  /** Jobs not printed yet (accepted, sent, delivered, printing). */
  waiting: number;
  held: number;
}

export interface FleetPage {
  /** Stores that match the query, over all pages. */
  total: number;
  stores: FleetStore[];
}

export interface FleetTotals {
  storesOnline: number;
  storesOffline: number;
  printersReady: number;
  printersWarning: number;
  printersError: number;
  /** Never reported, or their store is offline. */
  printersUnknown: number;
  jobsWaiting: number;
  jobsHeld: number;
  /** Since `since`. */
  jobsFailed: number;
  jobsUncertain: number;
}

export interface PrinterTransition {
  printerId: string;
  condition: PrinterCondition;
  at: number;
}

export interface DashboardStore {
  /** Throws DuplicateError when the name is taken. */
  addUser(user: UserRecord): Promise<void>;
  getUser(name: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
  /** Removes the user and ends their sessions; false for an unknown user. */
  removeUser(name: string): Promise<boolean>;

  addSession(session: SessionRecord): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRecord | null>;
  touchSession(tokenHash: string, at: number): Promise<void>;
  removeSession(tokenHash: string): Promise<void>;
  /** Deletes sessions idle since `idleBefore` or created before `createdBefore`. */
  removeExpiredSessions(idleBefore: number, createdBefore: number): Promise<void>;

  addAudit(entry: AuditEntry): Promise<void>;
  /** Deletes printer status history older than `before`. */
  pruneHistory(before: number): Promise<void>;
  /** Newest first; `beforeSeq` pages back. */
  listAudit(limit: number, beforeSeq?: number): Promise<AuditRecord[]>;

  fleetTotals(scope: StoreScope, since: number): Promise<FleetTotals>;
  /** Worst first (offline, then a printer in error, unknown, warning, ready), then by id. */
  fleetPage(query: FleetQuery): Promise<FleetPage>;
  /** The store's printers' condition changes, newest first. */
  printerHistory(storeId: string, limit: number): Promise<PrinterTransition[]>;
}
