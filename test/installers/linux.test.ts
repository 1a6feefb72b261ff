// The Linux package: the single executable runs the relay and the agent end to end (an order
// over HTTP comes out on a virtual printer), on the node:sqlite it embeds; install.sh lays out
// the files, users' data folders and units (in a scratch root: no systemd runs here), and
// systemd accepts the units.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { E2e, markedJob, ticketsWith } from '../support/e2e.js';
import { built } from './artifacts.js';

const exe = join(built.linuxDir, 'printrelay');

describe('the Linux executable', () => {
  const e2e = new E2e(exe);
  afterAll(() => e2e.close());

  it('answers --version with the package version', () => {
    expect(execFileSync(exe, ['--version'], { encoding: 'utf8' }).trim()).toBe(built.version);
  });

  it('runs the relay and the agent: an order comes out on the virtual printer', async () => {
    // Nothing but the executable and serialport beside it: SQLite is the embedded node:sqlite.
    expect(existsSync(join(built.linuxDir, 'node_modules', 'serialport'))).toBe(true);
    expect(existsSync(join(built.linuxDir, 'node_modules', 'better-sqlite3'))).toBe(false);
    // The pages the agent and the relay serve come from beside the executable.
    expect(existsSync(join(built.linuxDir, 'hq', 'app.js'))).toBe(true);
    const { relay, api } = await e2e.relay();
    const { printer, agent } = await e2e.store(relay, api, 's1');
    const jobId = await api.submit(markedJob('s1', 'LINUX-EXE-1'), 'linux-exe-1');
    await api.waitForState(jobId, 'printed');
    expect(ticketsWith(printer, 'LINUX-EXE-1')).toBe(1);
    expect((await agent.localJob(jobId)).state).toBe('printed');
    // The store page comes from beside the executable.
    const page = await fetch(`${agent.localApiUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });
});

describe('install.sh', () => {
  const root = mkdtempSync(join(tmpdir(), 'printrelay-install-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const install = (...args: string[]) =>
    spawnSync(join(built.linuxDir, 'install.sh'), ['--root', root, ...args], { encoding: 'utf8' });

  it('lays out the agent: program, unit, data folder 0700 and the enrolment for its first start', () => {
    const r = install('--relay-url', 'https://relay.example.com', '--code', 'ABCD-1234');
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(root, 'opt/printrelay/printrelay')).mode & 0o777).toBe(0o755);
    expect(existsSync(join(root, 'opt/printrelay/node_modules/serialport/package.json'))).toBe(true);
    expect(existsSync(join(root, 'etc/systemd/system/printrelay-agent.service'))).toBe(true);
    expect(statSync(join(root, 'var/lib/printrelay-agent')).mode & 0o777).toBe(0o700);
    const enrol = join(root, 'var/lib/printrelay-agent/enrol.json');
    expect(statSync(enrol).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(enrol, 'utf8'))).toEqual({
      relayUrl: 'https://relay.example.com',
      code: 'ABCD-1234',
    });
  });

  it('refuses a relay address that is not the relay API (https), and a code without an address', () => {
    const bad = install('--relay-url', 'mqtt://relay.example.com', '--code', 'X');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--relay-url is the relay's API address");
    expect(install('--code', 'X').stderr).toContain('--code needs --relay-url');
  });

  it('has units systemd accepts: restart on failure, own user, data under /var/lib', () => {
    expect(install('--relay').status).toBe(0);
    // systemd-analyze resolves what the units depend on (sysinit.target...) in the root too.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    const verify = (file: string) =>
      spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, file], { encoding: 'utf8' });
    for (const unit of ['printrelay-agent', 'printrelay-relay']) {
      const file = join(root, 'etc/systemd/system', `${unit}.service`);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('Restart=on-failure');
      expect(text).toContain(`User=${unit}`);
      expect(text).toContain(`StateDirectory=${unit}`);
      expect(text).toContain('StateDirectoryMode=0700');
      // One open file per agent connection: the relay's, not systemd's default of 1,024.
      if (unit === 'printrelay-relay') expect(text).toMatch(/^LimitNOFILE=1048576$/m);
      // It checks the unit's syntax and that ExecStart is there and executable.
      const ok = verify(file);
      expect(ok.status, ok.stderr).toBe(0);
    }
    const broken = join(root, 'etc/systemd/system/printrelay-broken.service');
    writeFileSync(
      broken,
      readFileSync(join(root, 'etc/systemd/system/printrelay-agent.service'), 'utf8').replace(
        '/opt/printrelay/printrelay',
        '/opt/printrelay/missing',
      ),
    );
    expect(verify(broken).stderr).toContain('/opt/printrelay/missing');
    rmSync(broken);
  });

  it('uninstalls keeping the data, or with --purge removing it', () => {
    expect(install('--uninstall').status).toBe(0);
    expect(existsSync(join(root, 'etc/systemd/system/printrelay-agent.service'))).toBe(false);
    // The relay still uses the program.
    expect(existsSync(join(root, 'opt/printrelay/printrelay'))).toBe(true);
    expect(existsSync(join(root, 'var/lib/printrelay-agent/enrol.json'))).toBe(true);
    expect(install('--relay', '--uninstall', '--purge').status).toBe(0);
    expect(existsSync(join(root, 'opt/printrelay'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/printrelay-relay'))).toBe(false);
  });
});
