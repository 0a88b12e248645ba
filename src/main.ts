#!/usr/bin/env node
import { Command, Option } from 'commander';
import { channelsCommand } from './cli/channels.js';
import { action, call, DEFAULT_URL } from './cli/client.js';
import { completionCommand } from './cli/completion.js';
import { configCommand } from './cli/config.js';
import { egressCommand } from './cli/egress.js';
import { eventsCommand } from './cli/events.js';
import { markRequiredOptions } from './cli/help.js';
import { ingressCommand } from './cli/ingress.js';
import { logsCommand } from './cli/logs.js';
import { messagesCommands } from './cli/messages.js';
import { offsetsCommand } from './cli/offsets.js';
import { receiveCommand } from './cli/receive.js';
import { serveCommand } from './cli/serve.js';
import { tokensCommand } from './cli/tokens.js';
import { VERSION } from './version.js';

const program = markRequiredOptions(new Command('hooklog'))
  .description('hooklog: a webhook gateway on a durable, append-only log')
  .version(VERSION)
  .addOption(new Option('--url <url>', 'server URL').env('HOOKLOG_URL').default(DEFAULT_URL))
  // Read from the environment by commander, so that --help names the variable and never prints the token.
  .addOption(new Option('--token <bearer>', 'API token').env('HOOKLOG_TOKEN'));

serveCommand(program);
configCommand(program);
program
  .command('paths')
  .description('list the API resources (also checks the token)')
  .action(action((client) => call(client, 'GET', '')));
tokensCommand(program);
logsCommand(program);
messagesCommands(program);
offsetsCommand(program);
egressCommand(program);
ingressCommand(program);
eventsCommand(program);
channelsCommand(program);
receiveCommand(program);
completionCommand(program);

await program.parseAsync(process.argv);
