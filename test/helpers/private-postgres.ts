import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of a test's own, made with the installed server
 * binaries in a temporary directory. Tests that stop or crash a server use one
 * of these, never the machine's cluster, which other work may be using.
 */
export interface PrivatePostgres {
  /** The cluster's `postgres` database, as superuser `postgres`, on 127.0.0.1 (trust auth). */
  url: string;
  /** The temporary directory: data directory, unix socket and server log. */
  dir: string;
  /** `immediate` cuts every connection and skips the checkpoint, so the next start runs crash recovery. */
  stop(mode: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server if it runs, then deletes the directory. */
  remove(): Promise<void>;
}

interface ServerBinaries {
  bindir: string;
  /** Set when running as root: initdb refuses root, so the binaries run as `postgres`, who owns the directory. */
  owner: { uid: number; gid: number } | null;
}

let located: ServerBinaries | { missing: string } | undefined;

/**
 * Whether a private cluster can be made here. When it cannot, the caller skips
 * with a message on stderr, except under CI=true, where that is a failure (the
 * policy of `postgresAvailable`).
 */
export function privatePostgresAvailable(): boolean {
  located ??= locate();
  if (!('missing' in located)) return true;
  if (process.env.CI === 'true') throw new Error(`cannot make a private PostgreSQL cluster (${located.missing}); CI requires the tests that use one`);
  process.stderr.write(`\n  SKIPPING tests that need a private PostgreSQL cluster: ${located.missing}\n\n`);
  return false;
}

/** initdb in a fresh temporary directory, then a server on a free port; the caller must `remove()` it. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  located ??= locate();
  if ('missing' in located) throw new Error(located.missing);
  const { bindir, owner } = located;
  const dir = mkdtempSync(join(tmpdir(), 'hooklog-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  // The cwd is the temporary directory because `postgres` may not be allowed into the caller's.
  const binary = (program: string, args: string[]) =>
    owner ? run('runuser', ['-u', 'postgres', '--', join(bindir, program), ...args], { cwd: dir }) : run(join(bindir, program), args, { cwd: dir });
  const pgCtl = (args: string[]) => binary('pg_ctl', ['-D', data, ...args]);

  const stop = async (mode: 'immediate' | 'fast') => void (await pgCtl(['stop', '-m', mode]));
  const start = async () => {
    try {
      await pgCtl(['start', '-l', log]);
    } catch (err) {
      // pg_ctl only says "examine the log output"; the reason is in the log.
      throw new Error(`${(err as Error).message}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    }
  };
  const remove = async () => {
    // The pid file is there while a server runs on this directory, whoever started it.
    if (existsSync(join(data, 'postmaster.pid'))) await stop('immediate');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    await binary('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const port = await freePort();
    appendFileSync(join(data, 'postgresql.conf'), settings(port, dir));
    await start();
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, stop, start, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/**
 * Loopback only keeps a trust-auth cluster off the network. The socket stays
 * in the directory, not beside the system cluster's. fsync is off because the
 * data is thrown away, and an immediate stop kills the server, not the
 * machine: the OS still holds every write, so crash recovery sees all that was
 * committed.
 */
function settings(port: number, dir: string): string {
  return ['', "listen_addresses = '127.0.0.1'", `port = ${port}`, `unix_socket_directories = '${dir.replaceAll("'", "''")}'`, 'fsync = off', ''].join('\n');
}

function locate(): ServerBinaries | { missing: string } {
  const bindir = serverBinDir();
  const override = process.env.HOOKLOG_TEST_PG_BINDIR;
  if (!bindir)
    return { missing: `initdb and pg_ctl not found ${override ? `in HOOKLOG_TEST_PG_BINDIR=${override}` : '(set HOOKLOG_TEST_PG_BINDIR to their directory)'}` };
  if (process.getuid?.() !== 0) return { bindir, owner: null };
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: 'pipe' }));
    return { bindir, owner: { uid: id('-u'), gid: id('-g') } };
  } catch {
    return { missing: 'running as root, which initdb refuses, and there is no postgres user to run it as' };
  }
}

/**
 * HOOKLOG_TEST_PG_BINDIR, else pg_config's bindir, else the newest version
 * under /usr/lib/postgresql, where Debian puts the server binaries off PATH.
 * pg_config's bindir lacks initdb when only the client package is installed.
 */
function serverBinDir(): string | null {
  const override = process.env.HOOKLOG_TEST_PG_BINDIR;
  if (override) return hasServer(override) ? override : null;
  return [pgConfigBinDir(), ...debianBinDirs()].find((dir): dir is string => dir !== null && hasServer(dir)) ?? null;
}

function hasServer(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
}

function pgConfigBinDir(): string | null {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return null;
  }
}

function debianBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'));
}
