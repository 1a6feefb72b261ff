// The Windows installer under Debian's wine64, silently, as a store's IT person would run it:
// files land, the relay address and code are written for the agent's first start, the agent
// is registered as a service that starts at boot and is restarted when it exits, the installed
// printrelay.exe answers (and nothing else: no warning of Node's on every start) and
// prints a ticket from a relay through its own SQLite store (node:sqlite), which it finds again
// after a kill -9; uninstalling keeps the data unless asked; a tray app build (a stand-in, as no
// Electron binary exists here) starts at sign-in and goes with the uninstall. What wine cannot
// show (the service actually running under wine's service manager, a reboot, the ACLs, the
// tray app itself) is listed in docs/installers.md, with the service's removal (wine keeps one
// that is stuck starting).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2e, freePort, markedJob, ticketsWith, waitFor } from '../support/e2e.js';
import { REPO_ROOT } from '../support/repo.js';
import { built } from './artifacts.js';
import { WinePrefix, windowsPath } from './wine.js';

const wine = new WinePrefix();
const e2e = new E2e();
const programDir = () => join(wine.driveC, 'Program Files', 'PrintRelay');
const dataDir = () => join(wine.driveC, 'ProgramData', 'PrintRelay');
/** A Windows program that exists here: wine's own hostname.exe. */
const STAND_IN_EXE = '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/hostname.exe';
const SERVICE_KEY = 'HKLM\\System\\CurrentControlSet\\Services\\printrelay-agent';
const setup = (...args: string[]) => wine.run([built.windowsSetup, '/S', ...args], 120_000);

beforeAll(() => wine.init(), 180_000);
afterAll(async () => {
  await e2e.close();
  wine.close();
});

describe('the Windows installer under wine', () => {
  it('refuses a silent install without a usable relay address, installing nothing', () => {
    expect(setup('/CODE=ABCD-1234').status).toBe(2);
    expect(setup('/RELAY=mqtt://relay.example.com', '/CODE=ABCD-1234').status).toBe(2);
    expect(existsSync(programDir())).toBe(false);
  });

  it('installs silently with /RELAY and /CODE: files, enrolment, a service that starts at boot and restarts', () => {
    const r = setup('/RELAY=https://relay.example.com', '/CODE=ABCD-1234');
    expect(r.status, r.output).toBe(0);
    for (const f of ['printrelay.exe', 'nssm.exe', 'uninstall.exe', 'LICENSE-node.txt']) {
      expect(existsSync(join(programDir(), f)), f).toBe(true);
    }
    expect(existsSync(join(programDir(), 'store-page', 'index.html'))).toBe(true);
    const serialBinding =
      'node_modules/@serialport/bindings-cpp/prebuilds/win32-x64/@serialport+bindings-cpp.node';
    expect(existsSync(join(programDir(), serialBinding))).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir(), 'enrol.json'), 'utf8'))).toEqual({
      relayUrl: 'https://relay.example.com',
      code: 'ABCD-1234',
    });

    const service = wine.regQuery(SERVICE_KEY);
    expect(service).toMatch(/ImagePath\s+REG_SZ\s+C:\\Program Files\\PrintRelay\\nssm\.exe/);
    expect(service).toMatch(/Start\s+REG_DWORD\s+0x2/); // SERVICE_AUTO_START: at boot
    expect(service).toMatch(/ObjectName\s+REG_SZ\s+LocalSystem/);
    expect(service).toMatch(/Application\s+REG_EXPAND_SZ\s+C:\\Program Files\\PrintRelay\\printrelay\.exe/);
    expect(service).toMatch(
      /AppParameters\s+REG_EXPAND_SZ\s+agent --config C:\\ProgramData\\PrintRelay\\agent\.json/,
    );
    expect(service).toMatch(/\\AppExit\s+\(Default\)\s+REG_SZ\s+Restart/);
    expect(service).toMatch(/AppRestartDelay\s+REG_DWORD\s+0x1388/); // 5 s
    expect(service).toMatch(/AppDirectory\s+REG_EXPAND_SZ\s+C:\\ProgramData\\PrintRelay/);
    expect(service).toMatch(/AppStderr\s+REG_EXPAND_SZ\s+C:\\ProgramData\\PrintRelay\\logs\\agent\.log/);
    const uninstall = wine.regQuery(
      'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\PrintRelayAgent',
    );
    expect(uninstall).toMatch(
      /QuietUninstallString\s+REG_SZ\s+"C:\\Program Files\\PrintRelay\\uninstall\.exe" \/S/,
    );
  });

  it('the installed printrelay.exe answers --version, and doctor says the PC is not enrolled yet', () => {
    const exe = join(programDir(), 'printrelay.exe');
    const r = wine.run([exe, '--version']);
    expect(r.status, r.output).toBe(0);
    expect(r.output.trim()).toBe(built.version);
    const doctor = wine.run([
      exe,
      'doctor',
      '--config',
      'C:\\ProgramData\\PrintRelay\\agent.json',
      '--json',
      '--lang',
      'en',
    ]);
    expect(doctor.status, doctor.output).toBe(1);
    const report = JSON.parse(doctor.output) as {
      ok: boolean;
      checks: { id: string; status: string; fix: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ id: 'config', status: 'fail' });
    expect(report.checks[0]?.fix).toContain('agent enrol');
  });

  it('the installed agent prints through its SQLite store, and finds its jobs again after a kill -9', async () => {
    const { relay, api } = await e2e.relay();
    const creds = await relay.addStore('w1');
    const printer = await e2e.printer();
    const dir = e2e.tempDir();
    const localApi = `http://127.0.0.1:${await freePort()}`;
    const config = join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        storeId: creds.storeId,
        relay: { url: relay.mqttUrl, password: creds.password, clientId: creds.clientId },
        dataDir: 'data',
        printers: [{ id: 'counter', uri: printer.uri, profile: 'epson-tm-t88', roles: ['receipt'] }],
        localApi: { port: Number(new URL(localApi).port) },
      }),
    );
    const exe = join(programDir(), 'printrelay.exe');
    const startAgent = () => {
      const pid = wine.start([exe, 'agent', '--config', windowsPath(config)], join(dir, 'agent.log'));
      e2e.onClose(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      });
      return pid;
    };
    const status = async () => (await fetch(`${localApi}/v1/status`).catch(() => null))?.ok === true;

    const pid = startAgent();
    await waitFor(() => api.storeOnline('w1'), 'the Windows agent online at the relay', 60_000);
    const jobId = await api.submit(markedJob('w1', 'WINE-1'), 'wine-1');
    await api.waitForState(jobId, 'printed');
    expect(ticketsWith(printer, 'WINE-1')).toBe(1);
    expect(existsSync(join(dir, 'data', 'agent.db'))).toBe(true);

    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await status()), 'the agent gone', 15_000);
    startAgent();
    await waitFor(status, 'the agent back', 60_000);
    const job = (await (await fetch(`${localApi}/v1/jobs/${jobId}`)).json()) as { state: string };
    expect(job.state).toBe('printed');
    expect(ticketsWith(printer, 'WINE-1')).toBe(1);
  });

  it('uninstalls silently keeping the data; /REMOVEDATA removes it too', async () => {
    const uninstaller = join(programDir(), 'uninstall.exe');
    expect(wine.run([uninstaller, '/S']).status).toBe(0);
    // The uninstaller runs from a copy of itself in %TEMP% (it cannot delete itself): wait for
    // that copy, which stops and removes the service first (slow under wine).
    await waitFor(() => !existsSync(programDir()), 'the program folder removed', 120_000);
    expect(existsSync(join(dataDir(), 'enrol.json'))).toBe(true);

    expect(setup('/RELAY=http://relay.example.com', '/CODE=EFGH-5678').status).toBe(0);
    expect(JSON.parse(readFileSync(join(dataDir(), 'enrol.json'), 'utf8')).code).toBe('EFGH-5678');
    expect(wine.run([uninstaller, '/S', '/REMOVEDATA']).status).toBe(0);
    await waitFor(() => !existsSync(dataDir()), 'the data removed', 120_000);
    await waitFor(() => !existsSync(programDir()), 'the program folder removed', 60_000);
  });
});

// The tray app cannot be built here (no Electron binary in npm or Debian); its slot in the
// installer is proven with a stand-in: wine's own hostname.exe under the tray's name.
describe('the Windows installer with a tray app build', () => {
  const RUN_KEY = 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
  let traySetup = '';

  beforeAll(() => {
    const trayDir = join(e2e.tempDir(), 'printrelay-tray-win32-x64');
    mkdirSync(trayDir);
    copyFileSync(STAND_IN_EXE, join(trayDir, 'printrelay-tray.exe'));
    const out = e2e.tempDir();
    const script = pathToFileURL(join(REPO_ROOT, 'scripts', 'build-installers.js')).href;
    traySetup = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { windowsInstaller } = await import(${JSON.stringify(script)});
         console.log(windowsInstaller(${JSON.stringify(built.windowsExecutableDir)}, ${JSON.stringify({ trayDir, out })}));`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    )
      .trim()
      .split('\n')
      .at(-1) as string;
  }, 180_000);

  it('installs the tray app to start at sign-in, and takes it away on uninstall', async () => {
    const r = wine.run([traySetup, '/S', '/RELAY=https://relay.example.com', '/CODE=TRAY-0001'], 120_000);
    expect(r.status, r.output).toBe(0);
    expect(existsSync(join(programDir(), 'tray', 'printrelay-tray.exe'))).toBe(true);
    expect(wine.regQuery(RUN_KEY)).toMatch(
      /PrintRelayTray\s+REG_SZ\s+"C:\\Program Files\\PrintRelay\\tray\\printrelay-tray\.exe"/,
    );
    expect(wine.run([join(programDir(), 'uninstall.exe'), '/S', '/REMOVEDATA']).status).toBe(0);
    await waitFor(() => !existsSync(programDir()), 'the program folder removed', 120_000);
    expect(wine.regQuery(RUN_KEY)).not.toContain('PrintRelayTray');
  });
});
