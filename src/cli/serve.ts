import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { startServer } from '../server.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the hooklog server (configured by HOOKLOG_* variables or HOOKLOG_CONFIG)')
    .action(async () => {
      let config;
      try {
        config = loadConfig();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`hooklog: invalid configuration: ${err.message}\n`);
        process.exit(2);
      }
      const server = await startServer(config);
      let stopping = false;
      const stop = (signal: string) => {
        // A second signal while stopping means "now": exit without waiting.
        if (stopping) process.exit(1);
        stopping = true;
        server.app.log.info(`${signal}: stopping; finishing requests in flight`);
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            server.app.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
