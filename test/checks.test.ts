import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from './helpers/server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

/**
 * The checks `npm test` runs before the suite, each tried on fixtures that
 * break it: a check that stopped catching anything would pass silently.
 */

/** A tree of one-line modules: each file imports the files listed for it. */
type Tree = Record<string, string[]>;

/** Runs the project's layer check on a tree; the rules each violation broke, by importing file. */
async function layers(tree: Tree): Promise<{ exitCode: number; broken: Record<string, string[]> }> {
  const dir = tempDir();
  dirs.push(dir);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }),
  );
  for (const [file, imports] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    const lines = imports.map((target, i) => `import * as m${i} from '${relativeImport(file, target)}';\nexport const use${i} = m${i};`);
    writeFileSync(join(dir, file), `${lines.join('\n')}\nexport const here = 1;\n`);
  }
  // The report npm test prints, and its exit code: `error <rule>: <from> → <to>` per violation.
  const result = await exitCodeOf(DEPCRUISE, ['src', '--config', join(ROOT, '.dependency-cruiser.cjs')], dir);
  const broken: Record<string, string[]> = {};
  for (const [, rule, from] of result.output.matchAll(/^\s*error (\S+): (\S+) →/gm)) (broken[from!] ??= []).push(rule!);
  return { exitCode: result.exitCode, broken };
}

/** `../http/app.js` from src/domain/a.ts to src/http/app.ts. */
function relativeImport(from: string, to: string): string {
  const up = from.split('/').slice(0, -1);
  const down = to.split('/');
  let common = 0;
  while (common < up.length && up[common] === down[common]) common++;
  const path = [...up.slice(common).map(() => '..'), ...down.slice(common)].join('/').replace(/\.ts$/, '.js');
  return path.startsWith('.') ? path : `./${path}`;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

function fixture(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

/** Exits non-zero when it fails, as npm test sees it. */
async function exitCodeOf(file: string, args: string[], cwd: string): Promise<{ exitCode: number; output: string }> {
  return run(file, args, { cwd }).then(
    ({ stdout, stderr }) => ({ exitCode: 0, output: stdout + stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ exitCode: err.code, output: err.stdout + err.stderr }),
  );
}

describe('the layer rules (npm run layers)', () => {
  /** What the layout allows: the check must pass it. */
  const allowed: Tree = {
    'src/domain/types.ts': [],
    'src/protocols/klev/errors.ts': ['src/domain/types.ts', 'src/protocols/klev/message.ts'],
    'src/protocols/klev/message.ts': ['src/domain/types.ts'],
    'src/store/store.ts': ['src/domain/types.ts'],
    'src/store/sqlite/index.ts': ['src/store/store.ts', 'src/store/sqlite/logs.ts', 'src/domain/types.ts'],
    'src/store/sqlite/logs.ts': ['src/store/store.ts'],
    'src/log/logs.ts': ['src/store/store.ts', 'src/domain/types.ts'],
    'src/http/router.ts': ['src/domain/types.ts'],
    'src/http/dialects/klev/index.ts': [
      'src/http/router.ts',
      'src/log/logs.ts',
      'src/protocols/klev/errors.ts',
      'src/protocols/standard-webhooks/signature.ts',
    ],
    'src/protocols/standard-webhooks/signature.ts': ['src/domain/types.ts'],
    'src/store/mysql/index.ts': ['src/store/store.ts'],
    'src/server.ts': ['src/store/sqlite/index.ts', 'src/http/dialects/klev/index.ts', 'src/log/logs.ts'],
  };

  it('passes a tree that keeps them', async () => {
    expect(await layers(allowed)).toEqual({ exitCode: 0, broken: {} });
  });

  it('fails on each rule broken, naming the rule and the importing file', async () => {
    const breaking: Record<string, [string, string[], string[]]> = {
      'domain imports ours': ['src/domain/ids.ts', ['src/http/router.ts'], ['domain-imports-nothing']],
      'protocol imports a service': ['src/protocols/klev/signature.ts', ['src/log/logs.ts'], ['protocols-only-domain']],
      'protocol imports another protocol': ['src/protocols/standard-webhooks/sign.ts', ['src/protocols/klev/message.ts'], ['protocols-only-domain']],
      'backend imports a service': ['src/store/sqlite/tokens.ts', ['src/log/logs.ts'], ['backend-only-ports-and-domain']],
      'backend imports the other backend': ['src/store/postgres/logs.ts', ['src/store/sqlite/logs.ts'], ['backend-only-ports-and-domain']],
      'store port imports a service': ['src/store/rows.ts', ['src/log/logs.ts'], ['store-ports-only-domain']],
      'a new service imports http': ['src/tasks/runner.ts', ['src/http/router.ts'], ['services-not-http-or-backend']],
      'a new backend is named outside the root': ['src/cli/serve.ts', ['src/store/mysql/index.ts'], ['only-root-names-backend']],
      'shared http imports a wire format': ['src/http/errors.ts', ['src/protocols/klev/errors.ts'], ['http-core-no-wire-format']],
      "dialect imports another dialect's wire format": [
        'src/http/dialects/svix/errors.ts',
        ['src/protocols/klev/errors.ts'],
        ['dialect-not-other-wire-format'],
      ],
      'file at the top of protocols imports a service': ['src/protocols/common.ts', ['src/log/logs.ts'], ['protocols-only-domain']],
      'service imports http': ['src/egress/egress-webhooks.ts', ['src/http/router.ts'], ['services-not-http-or-backend']],
      'service imports a backend': ['src/delivery/lane.ts', ['src/store/sqlite/logs.ts'], ['services-not-http-or-backend', 'only-root-names-backend']],
      'dialect imports another dialect': ['src/http/dialects/svix/index.ts', ['src/http/dialects/klev/index.ts'], ['dialect-not-other-dialect']],
      'dialect imports the store': ['src/http/dialects/events/index.ts', ['src/store/store.ts'], ['http-not-store']],
      'cli names a backend': ['src/cli/migrate.ts', ['src/store/sqlite/index.ts'], ['only-root-names-backend']],
      'app names a dialect': ['src/http/app.ts', ['src/http/dialects/klev/index.ts'], ['only-root-names-dialect']],
      'a cycle': ['src/log/consumer.ts', ['src/log/notifier.ts'], ['no-circular']],
    };
    const tree: Tree = { ...allowed, 'src/log/notifier.ts': ['src/log/consumer.ts'] };
    for (const [file, imports] of Object.values(breaking)) tree[file] = imports;
    const { exitCode, broken } = await layers(tree);
    expect(exitCode).not.toBe(0);
    const expected = Object.fromEntries(Object.values(breaking).map(([file, , rules]) => [file, rules.sort()]));
    expect(Object.fromEntries(Object.entries(broken).map(([file, rules]) => [file, rules.sort()]))).toEqual(expected);
  });
});

describe('the formatter and linter (biome check)', () => {
  /** The project's configuration, on one file of a fresh repository. */
  const biome = async (source: string) => {
    const dir = fixture();
    await run('git', ['init', '-q'], { cwd: dir });
    copyFileSync(join(ROOT, 'biome.jsonc'), join(dir, 'biome.jsonc'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'probe.ts'), source);
    return exitCodeOf(BIOME, ['check', '.'], dir);
  };

  it('passes code written in the project’s style', async () => {
    expect((await biome("export const a = { b: 'c' };\n")).exitCode).toBe(0);
  });

  it('fails on code the formatter would change', async () => {
    const result = await biome('export const a = {b:"c"}\n');
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain('src/probe.ts format');
  });

  it('fails on a lint error', async () => {
    const result = await biome('export function f(a: number): boolean {\n  return a == 1;\n}\n');
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain('lint/suspicious/noDoubleEquals');
  });
});
