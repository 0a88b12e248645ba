import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/process.js';
import { tempDir } from './helpers/server.js';

const run = promisify(execFile);

function installed(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`]);
    return true;
  } catch {
    return false;
  }
}

describe('CLI: shell completion', () => {
  let bashScript: string;
  beforeAll(async () => {
    const result = await runCli(['completion', 'bash'], {});
    expect(result.code).toBe(0);
    bashScript = join(tempDir(), 'hooklog.bash');
    writeFileSync(bashScript, result.stdout);
  });

  /** What bash offers for the words typed so far (the last one is being completed), as a user's TAB would. */
  async function complete(...words: string[]): Promise<string[]> {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash script, where bash expands it
    const driver = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hooklog; printf "%s\\n" "${COMPREPLY[@]}"';
    const { stdout } = await run('bash', ['-c', driver, 'bash', bashScript, 'hooklog', ...words]);
    return stdout.split('\n').filter(Boolean);
  }

  it('prints a bash script that parses and registers itself', async () => {
    await run('bash', ['-n', bashScript]);
    const { stdout } = await run('bash', ['-c', 'source "$1"; complete -p hooklog', 'bash', bashScript]);
    expect(stdout.trim()).toBe('complete -o default -F _hooklog hooklog');
  });

  it('completes commands, subcommands, options and their choices', async () => {
    expect(await complete('eg')).toEqual(['egress-webhooks']);
    expect(await complete('con')).toEqual(['config', 'consume']);
    expect(await complete('ingress-webhooks', 'c')).toEqual(['create']);
    expect(await complete('ingress-webhooks', 'create', '--log-id', 'log_x', '--t')).toEqual(['--type', '--token']);
    expect(await complete('serve', '--role', '')).toEqual(['all', 'api', 'worker']);
    expect(await complete('completion', '')).toEqual(['bash', 'zsh']);
    expect(await complete('config', '--')).toEqual(['--json', '--help', '--url', '--token']);
    // A global option's value is skipped, not taken for a command; an option's free value gets no command names.
    expect(await complete('--url', 'http://127.0.0.1:8080', 'logs', 'cr')).toEqual(['create']);
    expect(await complete('logs', 'create', '--metadata', 'lo')).toEqual([]);
  });

  it('knows every command --help lists, so it stays in step with the program', async () => {
    const help = (await runCli(['--help'], {})).stdout;
    const commands = [...help.split('\nCommands:\n')[1]!.matchAll(/^ {2}([a-z-]+)/gm)].map((match) => match[1]);
    expect(commands.length).toBeGreaterThan(15);
    expect(await complete('')).toEqual(commands);
    const egress = (await runCli(['egress-webhooks', '--help'], {})).stdout;
    const subcommands = [...egress.split('\nCommands:\n')[1]!.matchAll(/^ {2}([a-z-]+)/gm)].map((match) => match[1]);
    expect(await complete('egress-webhooks', '')).toEqual(subcommands);
  });

  it('prints a zsh script that parses, when zsh is installed', async (context) => {
    const result = await runCli(['completion', 'zsh'], {});
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('#compdef hooklog');
    if (!installed('zsh')) return context.skip('zsh is not installed: the script was not parsed');
    const file = join(tempDir(), '_hooklog');
    writeFileSync(file, result.stdout);
    await run('zsh', ['-n', file]);
  });

  it('refuses a shell it has no script for', async () => {
    const result = await runCli(['completion', 'fish'], {});
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("value 'fish' is invalid for argument 'shell'. Allowed choices are bash, zsh.");
    const missing = await runCli(['completion'], {});
    expect([missing.code, missing.stderr]).toEqual([1, "error: missing required argument 'shell'\n"]);
  });
});
