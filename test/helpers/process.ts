import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logDir, recordSecretsIn, recordSecretsInArgs, recordSecretsInEnv } from './secrets.js';

export const BIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far: where a crash says why. */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** How to start the server when it is not this checkout's built bin: an installed package, say. */
export interface Launch {
  /** The program and its arguments, `serve` and all; `args` follow. */
  command: string[];
  cwd?: string;
}

/** Runs `hooklog serve` from the built bin as its own process and waits until it listens (or, as a worker, runs; its url is then ''). */
export async function spawnServer(
  env: Record<string, string>,
  args: string[] = [],
  launch: Launch = { command: [process.execPath, BIN, 'serve'] },
): Promise<ServerProcess> {
  const port = await freePort();
  recordSecretsInEnv(env);
  recordSecretsInArgs(args);
  const [program, ...programArgs] = launch.command as [string, ...string[]];
  // At debug, so that the run's secret check reads every line the server would write.
  const proc = spawn(program, [...programArgs, ...args], {
    cwd: launch.cwd,
    env: {
      PATH: process.env.PATH,
      HOOKLOG_HOST: '127.0.0.1',
      HOOKLOG_PORT: String(port),
      HOOKLOG_LOG_LEVEL: 'debug',
      HOOKLOG_SHUTDOWN_DELAY_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (chunk) => (out += chunk));
  proc.stderr!.on('data', (chunk) => (err += chunk));
  proc.once('close', () => keepLog(proc, out, err));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 15_000;
  while (!out.includes('listening on') && !out.includes('worker running')) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start:\n${out}\n${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { proc, url: out.includes('listening on') ? `http://127.0.0.1:${port}` : '', stdout: () => out, stderr: () => err, exited };
}

/**
 * Keeps a server process's log for the run's secret check: its JSON lines
 * (pino's) and its stderr. The other lines of stdout are what `serve` prints
 * for its operator on purpose, such as the admin token made at the first start.
 */
function keepLog(proc: ChildProcess, stdout: string, stderr: string): void {
  const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
  writeFileSync(join(logDir(), `process-${process.pid}-${proc.pid}.log`), `${lines.join('\n')}\n${stderr}`, { mode: 0o600 });
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  recordSecretsInEnv(env);
  recordSecretsInArgs(args);
  const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk) => (stdout += chunk));
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return { code, stdout, stderr };
}

/** Runs the CLI and parses its JSON output; a non-zero exit fails with its stderr. */
export async function cliJson(args: string[], env: Record<string, string>): Promise<any> {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`hooklog ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout);
  recordSecretsIn(parsed);
  return parsed;
}
