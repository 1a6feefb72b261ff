// The tray app's logic (tray-app/src: everything but the Electron shell), run without
// Electron: what the tray shows and notifies for a real agent's state (real relay, real
// virtual printers, the agent's real local API), finding that API from the agent's config,
// and reconnecting by itself when the agent restarts on another port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../agent/agent.js';
import { type AgentConfig, DEFAULT_LOCAL_API_PORT, loadAgentConfig } from '../agent/config.js';
import type { AgentView } from '../agent/views.js';
import { silentLog } from '../shared/log.js';
import { AgentWatch } from '../tray-app/src/agent-watch.js';
import { ICON_RGB, iconBitmap } from '../tray-app/src/icon.js';
import { locateLocalApi } from '../tray-app/src/locate.js';
import { NotificationTracker, type TrayNotification } from '../tray-app/src/notifications.js';
import { iconColour, type MenuItem, tooltip, trayMenu } from '../tray-app/src/tray-state.js';
import { startVirtualPrinter, type VirtualPrinter } from '../virtual-printer/virtual-printer.js';
import { startTestRelay, type TestRelay, waitFor } from './relay-helpers.js';

let t: TestRelay | null;
let dir: string;
let configFile: string;
let counter: VirtualPrinter;
let kitchen: VirtualPrinter;
let agent: Agent | null;
let watch: AgentWatch | null;
/** Everything the watcher reported, newest last. */
let updates: (AgentView | null)[];

const start = () =>
  startAgent({ config: loadAgentConfig(configFile), log: silentLog, reconnect: { minMs: 50, maxMs: 200 } });
const latest = () => updates.at(-1);

beforeEach(async () => {
  t = await startTestRelay({ wsPort: null });
  const creds = await t.store('s1');
  counter = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0' });
  kitchen = await startVirtualPrinter({ listen: 'tcp://127.0.0.1:0' });
  dir = mkdtempSync(join(tmpdir(), 'printrelay-tray-'));
  configFile = join(dir, 'agent.json');
  const config: AgentConfig = {
    storeId: creds.storeId,
    relay: { url: t.relay.urls.mqtt, password: creds.password },
    dataDir: 'data',
    printers: [
      { id: 'counter', name: '前台打印机', uri: counter.uri, profile: 'epson-tm-t88' },
      { id: 'kitchen', name: '厨房打印机', uri: kitchen.uri, profile: 'epson-tm-t88' },
    ],
    // Any free port: the tray finds the one the agent took through its data dir.
    localApi: { port: 0 },
    printerOptions: { pollIntervalMs: 100 },
  };
  writeFileSync(configFile, JSON.stringify(config));
  agent = await start();
  updates = [];
  watch = null;
});

afterEach(async () => {
  watch?.stop();
  await agent?.close();
  await counter.close();
  await kitchen.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function watchAgent(): AgentWatch {
  watch = new AgentWatch({
    locate: () => locateLocalApi(configFile, {}),
    onUpdate: (view) => updates.push(view),
    pollMs: 50,
    retry: { minMs: 20, maxMs: 100 },
  });
  watch.start();
  return watch;
}

const until = (check: (view: AgentView) => boolean, what: string) =>
  waitFor(() => {
    const view = latest();
    return view && check(view) ? view : null;
  }, what);

const allReady = (v: AgentView) => v.printers.every((p) => p.ready);

const actions = (menu: MenuItem[]): string[] =>
  menu.flatMap((i) =>
    i.type === 'item' && i.action && i.enabled
      ? [JSON.stringify(i.action)]
      : i.type === 'submenu'
        ? actions(i.items)
        : [],
  );

describe('tray app', () => {
  it('shows the worst printer state, notifies once when paper runs out and once when it is back', async () => {
    watchAgent();
    const tracker = new NotificationTracker();
    const said: TrayNotification[] = [];
    const ready = await until((v) => v.relay.connected && v.printers.every((p) => p.ready), 'all ready');
    said.push(...tracker.update(ready, 'zh-CN'));
    expect(said).toEqual([]);
    expect(iconColour(ready)).toBe('green');
    expect(tooltip(ready, 'zh-CN')).toBe('2 台打印机正常');
    expect(tooltip(ready, 'en')).toBe('2 printers ready');

    kitchen.setFault('paper-out', true);
    const out = await until(
      (v) => v.printers[1]?.notReadyReasons.includes('paper-out') ?? false,
      'paper out',
    );
    expect(iconColour(out)).toBe('red');
    expect(tooltip(out, 'zh-CN')).toBe('1 台打印机正常 / 厨房打印机缺纸');
    expect(tooltip(out, 'en')).toBe('1 printer ready / 厨房打印机: Paper out');
    // The condition lasting (the tray reads the status every few seconds) says nothing more.
    for (let i = 0; i < 3; i++) said.push(...tracker.update(out, 'zh-CN'));
    expect(said).toEqual([
      {
        key: 'printer:kitchen:paper-out',
        kind: 'raised',
        title: '厨房打印机缺纸',
        body: '缺纸：请装纸，装好后自动继续打印',
      },
    ]);
    const menu = trayMenu(out, 'zh-CN');
    expect(menu[1]).toMatchObject({ type: 'item', label: '厨房打印机：缺纸：请装纸，装好后自动继续打印' });
    expect(menu[0]).toMatchObject({ label: '前台打印机：正常' });

    kitchen.refill();
    const back = await until((v) => v.printers.every((p) => p.ready), 'paper loaded');
    said.length = 0;
    said.push(...tracker.update(back, 'zh-CN'), ...tracker.update(back, 'zh-CN'));
    expect(said).toEqual([
      {
        key: 'printer:kitchen:paper-out',
        kind: 'cleared',
        title: '厨房打印机恢复正常',
        body: '可以继续打印了',
      },
    ]);
  });

  it('notifies when the cloud goes offline, a cover opens or a printer goes offline, and when that clears', async () => {
    watchAgent();
    const tracker = new NotificationTracker();
    tracker.update(await until((v) => v.relay.connected && allReady(v), 'connected'), 'en');
    const keys = (ns: TrayNotification[]) => ns.map((n) => `${n.kind} ${n.key}`);

    await t?.close();
    t = null;
    const offline = await until((v) => !v.relay.connected && allReady(v), 'cloud offline');
    expect(iconColour(offline)).toBe('amber');
    expect(tooltip(offline, 'zh-CN')).toBe('2 台打印机正常 / 云端未连接');
    expect(tracker.update(offline, 'en')).toEqual([
      {
        key: 'cloud',
        kind: 'raised',
        title: 'Cloud offline',
        body: 'New orders cannot arrive now; they come in when the internet is back',
      },
    ]);

    counter.setFault('cover-open', true);
    await kitchen.close();
    const both = await until(
      (v) => !v.printers[0]?.ready && v.printers[1]?.notReadyReasons[0] === 'disconnected',
      'cover open and kitchen offline',
    );
    expect(keys(tracker.update(both, 'en'))).toEqual([
      'raised printer:counter:cover-open',
      'raised printer:kitchen:offline',
    ]);
    expect(tracker.update(both, 'en')).toEqual([]);
    // The agent out of reach says nothing (not "everything cleared"), and coming back neither.
    expect(tracker.update(null, 'en')).toEqual([]);
    expect(tracker.update(both, 'en')).toEqual([]);
    counter.setFault('cover-open', false);
    const closed = await until((v) => v.printers[0]?.ready ?? false, 'cover closed');
    expect(keys(tracker.update(closed, 'en'))).toEqual(['cleared printer:counter:cover-open']);
  });

  it('finds the agent from its config and reconnects by itself when it restarts on another port', async () => {
    watchAgent();
    const first = await until((v) => v.printers.length === 2, 'the agent');
    expect(first.instanceId).toBe(agent?.instanceId);
    const firstUrl = agent?.localApiUrl;

    await agent?.close();
    agent = null;
    await waitFor(() => latest() === null, 'the tray to see the agent gone');
    expect(iconColour(null)).toBe('red');
    expect(tooltip(null, 'zh-CN')).toBe('门店打印: 打印服务没有运行');
    const down = trayMenu(null, 'zh-CN');
    // Only the language and quit work without the agent.
    expect(actions(down)).toEqual([
      '{"type":"set-lang","lang":"zh-CN"}',
      '{"type":"set-lang","lang":"en"}',
      '{"type":"quit"}',
    ]);

    agent = await start();
    expect(agent.localApiUrl).not.toBe(firstUrl);
    const again = await until(() => true, 'the tray to reconnect');
    expect(again.instanceId).toBe(agent.instanceId);
    expect(watch?.client).not.toBeNull();
  });

  it('acts through the menu: test print, pause and resume, reprint the last ticket', async () => {
    const w = watchAgent();
    const view = await until((v) => v.printers.length === 2, 'the agent');
    const menu = actions(trayMenu(view, 'en'));
    expect(menu).toEqual([
      '{"type":"test-print","printerId":"counter"}',
      '{"type":"test-print","printerId":"kitchen"}',
      '{"type":"open-page"}',
      '{"type":"set-paused","paused":true}',
      '{"type":"set-lang","lang":"zh-CN"}',
      '{"type":"set-lang","lang":"en"}',
      '{"type":"quit"}',
    ]);
    // Nothing printed yet: "reprint last ticket" is there but greyed out.
    expect(
      trayMenu(view, 'en').find((i) => i.type === 'item' && i.label === 'Reprint last ticket'),
    ).toMatchObject({
      enabled: false,
    });
    const client = w.client;
    if (!client) throw new Error('no client');
    await client.setPrintingPaused(true);
    w.refresh();
    const paused = await until((v) => v.printingPaused && allReady(v), 'paused');
    expect(iconColour(paused)).toBe('amber');
    expect(tooltip(paused, 'zh-CN')).toBe('2 台打印机正常 / 打印已暂停');
    expect(actions(trayMenu(paused, 'en'))).toContain('{"type":"set-paused","paused":false}');
    await client.setPrintingPaused(false);
    const job = await client.testPrint('kitchen');
    await waitFor(() => kitchen.printedText().includes('TEST PRINT'), 'the test page');
    expect(job.printerId).toBe('kitchen');
    await expect(client.reprintLast()).rejects.toThrow(/no order ticket/);
  });

  it('locates the API by environment, config port, or says why not', () => {
    expect(locateLocalApi(configFile, { PRINTRELAY_LOCAL_API_URL: 'http://127.0.0.1:1234/' })).toEqual({
      url: 'http://127.0.0.1:1234',
    });
    // The running agent wrote where it listens.
    expect(locateLocalApi(configFile, {})).toEqual({ url: agent?.localApiUrl });
    expect(locateLocalApi(undefined, { PRINTRELAY_AGENT_CONFIG: configFile })).toEqual({
      url: agent?.localApiUrl,
    });
    expect(locateLocalApi(configFile, { PRINTRELAY_LOCAL_API_PORT: 'off' })).toEqual({
      error: expect.stringContaining('switched off'),
    });
    // A config this user cannot read (the agent runs as a service): the default port.
    expect(locateLocalApi(join(dir, 'missing.json'), {})).toEqual({
      url: `http://127.0.0.1:${DEFAULT_LOCAL_API_PORT}`,
      note: expect.stringContaining('missing.json'),
    });
  });

  it('draws the icon as a circle in the state colour', () => {
    const size = 16;
    const px = iconBitmap('red', size);
    expect(px).toHaveLength(size * size * 4);
    const at = (x: number, y: number) => [...px.subarray((y * size + x) * 4, (y * size + x) * 4 + 4)];
    const [r, g, b] = ICON_RGB.red;
    expect(at(8, 8)).toEqual([b, g, r, 255]);
    expect(at(0, 0)[3]).toBe(0);
    expect(iconBitmap('green', size).equals(px)).toBe(false);
  });
});
