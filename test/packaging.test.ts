import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { settings } from '../src/config/schema.js';
import { envOf, parseDockerfile, type Stage } from './helpers/dockerfile.js';
import { freePort, type ServerProcess, spawnServer } from './helpers/process.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const STAGES = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const IMAGE = STAGES.at(-1)!;
const TOKEN = 'packaging-admin-token-0123456789';
/** Installing builds better-sqlite3 from source here (its prebuilt binary cannot be downloaded): a minute or two. */
const INSTALL_MS = 300_000;

const temps: string[] = [];
const servers: ServerProcess[] = [];
function temp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hooklog-${prefix}-`));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const server of servers) server.proc.kill('SIGKILL');
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const stage = (name: string) => STAGES.find((s) => s.name === name)!;
const each = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
/** `/app/dist` in a stage whose WORKDIR is /app is `dist`, relative to the checkout. */
const relative = (s: Stage, path: string) => path.replace(new RegExp(`^${each(s, 'WORKDIR').at(-1)!.args[0]}/?`), '') || '.';

async function readyz(url: string) {
  const answer = await fetch(`${url}/readyz`);
  return { status: answer.status, body: await answer.json() };
}

async function startServer(env: Record<string, string>, command: string[], cwd: string) {
  const data = temp('data');
  chmodSync(data, 0o700);
  const server = await spawnServer({ HOOKLOG_DATA_DIR: data, HOOKLOG_ADMIN_TOKEN: TOKEN, ...env }, [], { command, cwd });
  servers.push(server);
  return server;
}

/** A log created and read back through the API: the migrations shipped, and the bin serves. */
async function usable(url: string) {
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const log = (await (await fetch(`${url}/logs`, { method: 'POST', headers: auth, body: '{}' })).json()) as { log_id: string };
  expect(log.log_id).toMatch(/^log_/);
  const published = await fetch(`${url}/message/${log.log_id}`, { method: 'POST', headers: auth, body: JSON.stringify({ value: 'packed' }) });
  expect(published.status).toBe(200);
  // Transformations run on a thread that loads QuickJS's WebAssembly: the worker file and the module shipped.
  const egress = (await (
    await fetch(`${url}/egress_webhooks`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ log_id: log.log_id, destination: 'https://example.com/hook' }),
    })
  ).json()) as { webhook_id: string };
  const code = 'export function handler(webhook) { webhook.payload = { packed: webhook.payload.value }; return webhook }';
  const tested = await fetch(`${url}/egress_webhook/${egress.webhook_id}/transformation/test`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ offset: 0, code }),
  });
  expect(await tested.json()).toMatchObject({ result: 'sent', body: '{"packed":"packed"}' });
}

describe('the Dockerfile', () => {
  it('builds in stages from node:20-slim, runs as a non-root user with /data as a volume, and checks /healthz', () => {
    expect(STAGES.map((s) => s.base)).toEqual(STAGES.map(() => 'node:20-slim'));
    expect(each(IMAGE, 'USER').at(-1)!.args).toEqual(['node']);
    expect(each(IMAGE, 'VOLUME').flatMap((i) => i.args)).toContain('/data');
    expect(envOf(IMAGE).HOOKLOG_DATA_DIR).toBe('/data');
    expect(each(IMAGE, 'HEALTHCHECK')[0]!.text).toMatch(/\/healthz/);
  });

  it('copies only paths that exist, from the build context or an earlier stage, and its entry point runs the package bin', async () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    for (const s of STAGES) {
      for (const copy of each(s, 'COPY')) {
        const sources = copy.args.slice(0, -1);
        expect(sources.length).toBeGreaterThan(0);
        for (const source of sources) {
          if (copy.flags.from) {
            // What an earlier stage made: node_modules by its npm ci, dist by its build, both run below.
            const from = stage(copy.flags.from);
            expect(STAGES.indexOf(from)).toBeLessThan(STAGES.indexOf(s));
            expect(['node_modules', 'dist']).toContain(relative(from, source));
          } else {
            expect(existsSync(join(ROOT, source)), source).toBe(true);
            expect(ignored, `${source} is in .dockerignore`).not.toContain(source);
          }
        }
      }
    }
    const [entry] = each(IMAGE, 'ENTRYPOINT');
    const [cmd] = each(IMAGE, 'CMD');
    expect(entry!.args).toEqual(['node', PACKAGE.bin.hooklog]);
    expect(cmd!.args).toEqual(['serve']);
    // The command exists in the built bin (its help exits 0).
    const { stdout } = await run(process.execPath, [join(ROOT, PACKAGE.bin.hooklog), ...cmd!.args, '--help']);
    expect(stdout).toContain('run the hooklog server');
  });
});

describe('compose.yaml', () => {
  it('runs two hooklog nodes from this image on one PostgreSQL, configured by real settings', () => {
    const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true });
    const nodes = Object.entries(compose.services as Record<string, any>).filter(([, s]) => s.build === '.');
    expect(nodes).toHaveLength(2);
    expect(compose.services.postgres.image).toMatch(/^postgres:/);
    const variables = new Set(settings.map((s) => `HOOKLOG_${s.key.toUpperCase()}`));
    for (const [, node] of nodes) {
      expect(node.depends_on.postgres.condition).toBe('service_healthy');
      for (const name of Object.keys(node.environment)) expect(variables, name).toContain(name);
      expect(node.environment.HOOKLOG_DATABASE_URL).toMatch(/@postgres:5432\//);
    }
    expect(new Set(nodes.map(([, node]) => node.ports[0]))).toHaveProperty('size', 2);
  });
});

// Both install the production dependencies, building better-sqlite3: side by side, they take the time of one.
describe('installed as a user would', () => {
  it.concurrent(
    "the Dockerfile's steps, run here: the production dependencies alone, the build output, and the entry point answer /healthz and /readyz",
    async () => {
      // The image's /app: the deps stage's steps in a clean directory.
      const app = temp('image');
      const deps = stage('deps');
      for (const copy of each(deps, 'COPY')) for (const source of copy.args.slice(0, -1)) cpSync(join(ROOT, source), join(app, source));
      for (const step of each(deps, 'RUN')) {
        // Installing the compiler is the base image's business; this machine has one.
        if (step.text.startsWith('apt-get')) continue;
        await run('sh', ['-c', step.text], { cwd: app, maxBuffer: 16 << 20 });
      }
      // No dev dependency made it in: whatever the server imports is a production one.
      expect(readdirSync(join(app, 'node_modules'))).not.toContain('typescript');
      expect(existsSync(join(app, 'node_modules', 'vitest'))).toBe(false);
      // The build stage's output is this checkout's dist (`npm run build`, as npm test's pretest ran it).
      for (const copy of each(IMAGE, 'COPY').filter((c) => c.flags.from === 'build')) {
        const source = relative(stage('build'), copy.args[0]!);
        cpSync(join(ROOT, source), join(app, source), { recursive: true });
      }
      for (const copy of each(IMAGE, 'COPY').filter((c) => !c.flags.from)) {
        for (const source of copy.args.slice(0, -1)) cpSync(join(ROOT, source), join(app, source), { recursive: true });
      }
      const env = envOf(IMAGE);
      const [, ...entry] = each(IMAGE, 'ENTRYPOINT')[0]!.args;
      const server = await startServer(
        { NODE_ENV: env.NODE_ENV!, NODE_OPTIONS: env.NODE_OPTIONS! },
        [process.execPath, ...entry, ...each(IMAGE, 'CMD')[0]!.args],
        app,
      );
      expect(await readyz(server.url)).toMatchObject({ status: 200 });
      await usable(server.url);
      // The HEALTHCHECK's own command, against this server's port.
      const check = JSON.parse(each(IMAGE, 'HEALTHCHECK')[0]!.text.replace(/^CMD\s+/, '')) as string[];
      expect(check[0]).toBe('node');
      const port = new URL(server.url).port;
      const closed = String(await freePort());
      const probe = (env: Record<string, string>) => run(process.execPath, check.slice(1), { env: { PATH: process.env.PATH, ...env } });
      await expect(probe({ HOOKLOG_PORT: port })).resolves.toBeDefined();
      await expect(probe({ HOOKLOG_PORT: port, HOOKLOG_HEALTH_PORT: '0' })).resolves.toBeDefined();
      await expect(probe({ HOOKLOG_PORT: closed })).rejects.toMatchObject({ code: 1 });
      // With health_port set, that is the port probed: a worker listens on no other.
      await expect(probe({ HOOKLOG_PORT: port, HOOKLOG_HEALTH_PORT: closed })).rejects.toMatchObject({ code: 1 });
      await expect(probe({ HOOKLOG_PORT: closed, HOOKLOG_HEALTH_PORT: port })).resolves.toBeDefined();
    },
    INSTALL_MS,
  );
  it.concurrent(
    'npm pack makes a package that installs into an empty directory and serves with `npx hooklog serve`',
    async () => {
      const packed = temp('pack');
      // dist is already built (npm test's pretest); `npm pack` alone would build it again through prepare.
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packed], { cwd: ROOT });
      const [manifest] = JSON.parse(stdout);
      const files = manifest.files.map((f: { path: string }) => f.path);
      expect(files).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'NOTICE', 'README.md', PACKAGE.bin.hooklog, 'migrations/sqlite/001_init.sql']));
      expect(files.filter((f: string) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('bench/'))).toEqual([]);

      const where = temp('install');
      await run('npm', ['install', '--no-audit', '--no-fund', join(packed, manifest.filename)], { cwd: where, maxBuffer: 16 << 20 });
      const version = await run('npx', ['hooklog', '--version'], { cwd: where });
      expect(version.stdout.trim()).toBe(PACKAGE.version);
      const server = await startServer({}, ['npx', 'hooklog', 'serve'], where);
      expect(await readyz(server.url)).toMatchObject({ status: 200 });
      await usable(server.url);
    },
    INSTALL_MS,
  );
});
