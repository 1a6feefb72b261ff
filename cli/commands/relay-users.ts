// `printrelay relay users add|list|remove`: who may sign in to the HQ dashboard.
import type { Command } from 'commander';
import { parseStoreScope } from '../../relay/admin.js';
import { addUser, parseRole } from '../../relay/dashboard/users.js';
import type { RelayStore } from '../../relay/store/job-store.js';

/** The relay command's way to open its database for one operation (cli/commands/relay.ts). */
type WithStore = <T>(dataDir: string, fn: (store: RelayStore) => Promise<T>) => Promise<T>;

/** Adds `users` under the `relay` command; `dataDirOption` is the relay's --data-dir option. */
export function registerRelayUsers(
  relay: Command,
  dataDirOption: readonly [string, string, string],
  withStore: WithStore,
): void {
  const users = relay.command('users').description('Who may sign in to the HQ dashboard.');
  users
    .command('add <name>')
    .description('Create a dashboard user; prints the password once (only its hash is kept).')
    .requiredOption('--role <role>', 'admin (everything), operator (print actions), viewer (read only)')
    .option('--stores <all|ids>', '"all" or a comma-separated list of store ids', 'all')
    .option('--password <password>', 'choose the password (else one is made up); at least 10 characters')
    .option(...dataDirOption)
    .action(
      async (name: string, opts: { role: string; stores: string; password?: string; dataDir: string }) => {
        const role = parseRole(opts.role);
        const { password, user } = await withStore(opts.dataDir, async (s) =>
          addUser(s.dashboard, {
            name,
            role,
            stores: await parseStoreScope(s, opts.stores),
            password: opts.password,
          }),
        );
        const scope = user.stores === 'all' ? 'all stores' : user.stores.join(', ');
        console.log(`User ${name} (${role}, ${scope}) created.`);
        if (!opts.password) console.log(`  password   ${password}   (shown once: only a hash is kept)`);
      },
    );
  users
    .command('list')
    .description('List dashboard users.')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const list = await withStore(opts.dataDir, (s) => s.dashboard.listUsers());
      if (list.length === 0) return console.log('No dashboard users.');
      for (const u of list) {
        console.log(
          `${u.name.padEnd(20)} ${u.role.padEnd(9)} ${u.stores === 'all' ? 'all stores' : u.stores.join(',')}`,
        );
      }
    });
  users
    .command('remove <name>')
    .description('Remove a dashboard user and sign them out everywhere.')
    .option(...dataDirOption)
    .action(async (name: string, opts: { dataDir: string }) => {
      const done = await withStore(opts.dataDir, (s) => s.dashboard.removeUser(name));
      if (!done) throw new Error(`no dashboard user ${JSON.stringify(name)}`);
      console.log(`User ${name} removed.`);
    });
}
