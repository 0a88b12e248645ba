import type { Command } from 'commander';
import { ConfigError, loadConfigWithSources } from '../config/load.js';
import { type ConfigReport, configReport } from '../config/report.js';
import { type Output, show, table } from './output.js';
import { invalidConfiguration } from './serve.js';

export function configCommand(program: Command): void {
  program
    .command('config')
    .description('show every server setting: its value (secrets masked) and where it came from: default, file (HOOKLOG_CONFIG) or env')
    .option('--json', 'print JSON (the default when piped)')
    .action((opts: Output) => {
      let report: ConfigReport;
      try {
        report = configReport(loadConfigWithSources());
      } catch (err) {
        if (err instanceof ConfigError) invalidConfiguration(err);
        throw err;
      }
      show(opts, report, () => text(report));
    });
}

function text(report: ConfigReport): string {
  const file = report.config_file ? `config file: ${report.config_file} (HOOKLOG_CONFIG)` : 'config file: none (HOOKLOG_CONFIG is not set)';
  const rows = report.settings.map(({ key, env, source, value }) => [key, display(value), source === 'env' ? `env ${env}` : source]);
  return `${file}\n\n${table(['SETTING', 'VALUE', 'SOURCE'], rows)}`;
}

function display(value: unknown): string {
  if (value === '') return '(empty)';
  return Array.isArray(value) ? value.join(',') : String(value);
}
