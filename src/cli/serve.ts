import { type Command, Option } from 'commander';
import { ConfigError, checkConfig, loadConfig } from '../config/load.js';
import { type Config, ROLES } from '../config/schema.js';
import { migrate, startServer } from '../server.js';

/** The configuration, or exit 2 with a message naming what is wrong. */
function configOrExit(overrides: Partial<Config> = {}): Config {
  try {
    return checkConfig({ ...loadConfig(), ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) invalidConfiguration(err);
    throw err;
  }
}

/** Exit 2 with a message naming what is wrong: the one answer to a bad configuration, whichever command loads it. */
export function invalidConfiguration(err: ConfigError): never {
  process.stderr.write(`hooklog: invalid configuration: ${err.message}\n`);
  process.exit(2);
}

/** Startup failures (the database cannot be reached, the port is taken) as one line, exit 1. */
function cannot(what: string): (err: unknown) => never {
  return (err) => {
    process.stderr.write(`hooklog: cannot ${what}: ${(err as Error).message}\n`);
    process.exit(1);
  };
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the hooklog server (configured by HOOKLOG_* variables or HOOKLOG_CONFIG)')
    .addOption(new Option('--role <role>', 'api: HTTP only; worker: delivery and retention only; all: both (env HOOKLOG_ROLE)').choices(ROLES))
    .action(async (options: { role?: Config['role'] }) => {
      const config = configOrExit(options.role ? { role: options.role } : {});
      const server = await startServer(config).catch(cannot('start'));
      let stopping = false;
      const stop = (signal: string) => {
        // A second signal while stopping means "now": exit without waiting.
        if (stopping) process.exit(1);
        stopping = true;
        server.logger.info(`${signal}: stopping; finishing requests in flight`);
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            server.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });

  program
    .command('migrate')
    .description('apply database migrations and exit (serve also applies them at start, under a lock)')
    .action(async () => {
      const done = await migrate(configOrExit()).catch(cannot('migrate'));
      process.stdout.write(`${done}\n`);
    });
}
