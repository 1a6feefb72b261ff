// The tray app's Electron main process: a thin shell over the plain modules beside it, which
// decide what to show (tray-state.ts), when to notify (notifications.ts), where the agent is
// (locate.ts) and keep in touch with it (agent-watch.ts). The store page opens in a window
// made on demand and destroyed when closed, so the idle tray holds no renderer.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  Menu,
  type MenuItemConstructorOptions,
  Notification,
  nativeImage,
  Tray,
} from 'electron';
import type { AgentView } from '../../agent/views.js';
import { LANGS, type Lang } from '../../shared/printer-state.js';
import { AgentWatch } from './agent-watch.js';
import { iconBitmap } from './icon.js';
import { locateLocalApi } from './locate.js';
import { TRAY_MESSAGES } from './messages.js';
import { NotificationTracker } from './notifications.js';
import { iconColour, type MenuItem, type TrayAction, tooltip, trayMenu } from './tray-state.js';

const ICON_SIZE = 32;
const configArg = process.argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);

function settingsFile(): string {
  return join(app.getPath('userData'), 'settings.json');
}

function loadLang(): Lang {
  try {
    const saved = (JSON.parse(readFileSync(settingsFile(), 'utf8')) as { lang?: unknown }).lang;
    return LANGS.find((l) => l === saved) ?? 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

function main(): void {
  let lang = loadLang();
  let view: AgentView | null = null;
  let pageWindow: BrowserWindow | null = null;
  const tracker = new NotificationTracker();
  const tray = new Tray(nativeImage.createEmpty());

  const watch = new AgentWatch({
    locate: () => locateLocalApi(configArg),
    onUpdate: (next, why) => {
      view = next;
      if (why) console.warn(`printrelay tray: ${why}`);
      for (const n of tracker.update(next, lang)) {
        if (Notification.isSupported()) new Notification({ title: n.title, body: n.body }).show();
      }
      draw();
    },
  });

  function draw(): void {
    const image = nativeImage.createFromBitmap(iconBitmap(iconColour(view), ICON_SIZE), {
      width: ICON_SIZE,
      height: ICON_SIZE,
    });
    tray.setImage(image);
    tray.setToolTip(tooltip(view, lang));
    tray.setContextMenu(Menu.buildFromTemplate(trayMenu(view, lang).map(toElectron)));
  }

  function toElectron(item: MenuItem): MenuItemConstructorOptions {
    if (item.type === 'separator') return { type: 'separator' };
    if (item.type === 'submenu') {
      return { label: item.label, enabled: item.enabled, submenu: item.items.map(toElectron) };
    }
    const { action } = item;
    return {
      label: item.label,
      enabled: item.enabled,
      ...(item.checked === undefined ? {} : { type: 'radio' as const, checked: item.checked }),
      ...(action ? { click: () => void run(action) } : {}),
    };
  }

  async function run(action: TrayAction): Promise<void> {
    const client = watch.client;
    try {
      switch (action.type) {
        case 'test-print':
          await client?.testPrint(action.printerId);
          break;
        case 'reprint-last':
          await client?.reprintLast();
          break;
        case 'set-paused':
          await client?.setPrintingPaused(action.paused);
          break;
        case 'open-page':
          openPage();
          return;
        case 'set-lang':
          lang = action.lang;
          writeFileSync(settingsFile(), JSON.stringify({ lang }));
          draw();
          return;
        case 'quit':
          watch.stop();
          app.quit();
          return;
      }
    } catch (err) {
      new Notification({ title: TRAY_MESSAGES[lang].appName, body: (err as Error).message }).show();
    }
    watch.refresh();
  }

  function openPage(): void {
    const found = locateLocalApi(configArg);
    if ('error' in found) return;
    if (pageWindow) {
      pageWindow.focus();
      return;
    }
    pageWindow = new BrowserWindow({
      width: 800,
      height: 600,
      title: TRAY_MESSAGES[lang].appName,
      autoHideMenuBar: true,
      webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false },
    });
    pageWindow.on('closed', () => {
      pageWindow = null;
    });
    void pageWindow.loadURL(`${found.url}/?lang=${lang}`);
  }

  tray.on('click', () => tray.popUpContextMenu());
  draw();
  watch.start();
}

if (!app.requestSingleInstanceLock()) app.quit();
else {
  // Starts with the user's session (Windows and macOS; on Linux see the README's autostart entry).
  app.setLoginItemSettings({ openAtLogin: true });
  // A tray app: closing the store page's window does not end it.
  app.on('window-all-closed', () => undefined);
  void app.whenReady().then(main);
}
