// `printrelay relay users add|list|remove`: who may sign in to the HQ dashboard. Run through the
// relay's admin operations (relay/admin.ts), live on a running relay or on its database.
import type { Command } from 'commander';
import type { AdminInput, AdminOperationName, AdminOutput } from '../../relay/admin.js';

/** The relay command's runner of admin operations (cli/commands/relay.ts). */
export type RunAdmin = <N extends AdminOperationName>(
  dataDir: string,
  name: N,
  input: AdminInput<N>,
) => Promise<{ result: AdminOutput<N> }>;

/** Adds `users` under the `relay` command; `dataDirOption` is the relay's --data-dir option. */
export function registerRelayUsers(
  relay: Command,
  dataDirOption: readonly [string, string, string],
  admin: RunAdmin,
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
        const { result } = await admin(opts.dataDir, 'users.add', {
          name,
          role: opts.role,
          stores: opts.stores,
          ...(opts.password === undefined ? {} : { password: opts.password }),
        });
        const { user, password } = result;
        const scope = user.stores === 'all' ? 'all stores' : user.stores.join(', ');
        console.log(`User ${name} (${user.role}, ${scope}) created.`);
        if (!opts.password) console.log(`  password   ${password}   (shown once: only a hash is kept)`);
      },
    );
  users
    .command('list')
    .description('List dashboard users.')
    .option(...dataDirOption)
    .action(async (opts: { dataDir: string }) => {
      const { result: list } = await admin(opts.dataDir, 'users.list', {});
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
      await admin(opts.dataDir, 'users.remove', { name });
      console.log(`User ${name} removed.`);
    });
}
