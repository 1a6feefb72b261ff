// HQ dashboard with a large fleet: a relay whose database holds 10,000 stores (two printers
// each, a few offline or out of paper, and their jobs), timed on what the overview's first
// screen asks for (who am I, the totals, the first page of stores worst first) over HTTP, then
// in headless Chromium from navigation to the first page of stores drawn. Target: under 1 s.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser } from '../relay/dashboard/users.js';
import { startRelay } from '../relay/relay.js';
import { migrations } from '../relay/store/migrations.js';
import { SEVERITY_RANK } from '../shared/printer-state.js';
import { openDatabase } from '../shared/sqlite.js';
import { launchBrowser } from '../test/support/browser.js';
import { fmt, median, nowMs, percentile, table, verdict } from './stats.js';

const TARGET_MS = 1000;
const PASSWORD = 'bench-password-1';

/** Writes the fleet straight into a new relay database, in one transaction. */
function seed(dataDir: string, stores: number): void {
  const db = openDatabase(join(dataDir, 'relay.db'), migrations, 'relay database');
  const now = Date.now();
  const store = db.prepare(
    'INSERT INTO stores (id, name, created_at, online, last_seen_at, agent_version) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const printer = db.prepare(
    'INSERT INTO printers (store_id, printer_id, info, condition, severity_rank, status_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const job = db.prepare(
    `INSERT INTO jobs (id, store_id, printer, kind, payload, copies, on_expiry, expires_at, created_at, updated_at, state)
     VALUES (?, ?, 'receipt', 'ticket', '{"blocks":[]}', 1, 'expire', ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < stores; i++) {
      const id = `s${String(i).padStart(5, '0')}`;
      store.run(id, `门店 ${i} 号店`, now, i % 37 === 0 ? 0 : 1, now, '0.1.0');
      const kitchen = i % 50 === 0 ? 'paper-out' : i % 31 === 0 ? 'near-end' : 'ready';
      const rank = (c: string) =>
        SEVERITY_RANK[c === 'ready' ? 'ok' : c === 'near-end' ? 'warning' : 'error'];
      printer.run(id, 'receipt', '{"id":"receipt","roles":["receipt"]}', 'ready', rank('ready'), now);
      printer.run(id, 'kitchen', '{"id":"kitchen","roles":["kitchen"]}', kitchen, rank(kitchen), now);
      for (let j = 0; j < 5; j++) {
        const state = j === 0 && i % 20 === 0 ? 'held' : j === 1 && i % 40 === 0 ? 'failed' : 'printed';
        job.run(`${id}-${j}`, id, now + 3600_000, now - j * 60_000, now - j * 60_000, state);
      }
    }
  })();
  db.close();
}

export async function runDashboardBench(opts: {
  stores: number;
  rounds: number;
  log: (line: string) => void;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'printrelay-bench-dashboard-'));
  try {
    opts.log(`  seeding ${opts.stores} stores ...`);
    seed(dir, opts.stores);
    const relay = await startRelay({
      dataDir: dir,
      host: '127.0.0.1',
      httpPort: 0,
      mqttPort: 0,
      wsPort: null,
      log: { info() {}, warn() {}, error: (m) => opts.log(m) },
    });
    try {
      await addUser(relay.store.dashboard, {
        name: 'bench',
        role: 'admin',
        stores: 'all',
        password: PASSWORD,
      });
      const base = relay.urls.http;
      const login = await fetch(`${base}/hq/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-printrelay-hq': '1' },
        body: JSON.stringify({ name: 'bench', password: PASSWORD }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const timed = async (paths: string[]) => {
        const start = nowMs();
        await Promise.all(
          paths.map(async (p) => (await fetch(`${base}${p}`, { headers: { cookie } })).text()),
        );
        return nowMs() - start;
      };
      const rows: string[][] = [];
      const measure = async (what: string, paths: string[]) => {
        const times: number[] = [];
        for (let r = 0; r < opts.rounds; r++) times.push(await timed(paths));
        rows.push([what, fmt(median(times)), fmt(percentile(times, 95))]);
        return median(times);
      };
      const firstScreen = await measure('first screen JSON (me + totals + first 50 stores)', [
        '/hq/api/me',
        '/hq/api/overview',
        '/hq/api/stores?offset=0&limit=50',
      ]);
      await measure('problems only, first page', ['/hq/api/stores?problems=1&limit=50']);
      await measure('search "4242"', ['/hq/api/stores?q=4242&limit=50']);
      await measure('last page', [`/hq/api/stores?offset=${opts.stores - 50}&limit=50`]);

      let browserMs = Number.NaN;
      if (existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium')) {
        const browser = await launchBrowser();
        try {
          const page = await browser.newPage();
          await page.goto(`${base}/hq/login`);
          await page.fill('input[name=name]', 'bench');
          await page.fill('input[name=password]', PASSWORD);
          await page.click('button[type=submit]');
          await page.waitForSelector('[data-testid=stores] tr[data-store]');
          const times: number[] = [];
          for (let r = 0; r < opts.rounds; r++) {
            const start = nowMs();
            await page.goto(`${base}/hq/`);
            await page.waitForSelector('[data-testid=stores] tbody tr:nth-child(50)');
            await page.waitForSelector('[data-testid=total-storesOnline]');
            times.push(nowMs() - start);
          }
          browserMs = median(times);
          rows.push([
            'first screen in Chromium (navigation to 50 stores drawn)',
            fmt(browserMs),
            fmt(percentile(times, 95)),
          ]);
        } finally {
          await browser.close();
        }
      }
      const shown = Number.isFinite(browserMs) ? browserMs : firstScreen;
      return {
        markdown: [
          `### HQ dashboard, ${opts.stores.toLocaleString('en')} stores`,
          '',
          table(['what', 'median ms', 'p95 ms'], rows),
          '',
          `First screen: ${fmt(shown)} ms, target < ${TARGET_MS} ms: ${verdict(shown, TARGET_MS, 'lower')}.`,
        ].join('\n'),
      };
    } finally {
      await relay.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
