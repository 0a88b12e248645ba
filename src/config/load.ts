import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CHANNEL_NAME_RULE, isChannelName } from '../domain/channels.js';
import { CHANNELS_KEY, type ChannelConfig, type Config, envName, LOG_LEVELS, ROLES, type Setting, SQLITE_SYNC, settings } from './schema.js';

/** Node's timers hold at most 2^31 - 1 ms; a longer one fires after 1 ms instead. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Shortest admin bearer accepted: 24 random characters are far beyond guessing. */
export const MIN_ADMIN_TOKEN_LENGTH = 24;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Where a setting's value came from: its default, the YAML file named by HOOKLOG_CONFIG, or its environment variable. */
export type SettingSource = { kind: 'default' } | { kind: 'file'; file: string } | { kind: 'env'; variable: string };

export interface LoadedConfig {
  config: Config;
  /** Each field's source; a field not listed has its default. */
  sources: ReadonlyMap<keyof Config, SettingSource>;
  /** The YAML file read, if HOOKLOG_CONFIG named one. */
  file?: string;
}

/**
 * Layers the defaults, then the YAML file named by HOOKLOG_CONFIG, then
 * HOOKLOG_* environment variables, and validates the result once. A bad value
 * fails with a message that names the key and where it came from.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfigWithSources(env).config;
}

/** loadConfig, also saying where each value came from (for `hooklog config`). */
export function loadConfigWithSources(env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const config = { ...Object.fromEntries(settings.map((s) => [s.field, s.default])), channels: [] } as unknown as Config;
  const sources = new Map<keyof Config, SettingSource>();
  const assign = (setting: Setting, raw: unknown, where: string, source: SettingSource) => {
    (config as unknown as Record<string, unknown>)[setting.field] = coerce(setting, raw, where);
    sources.set(setting.field, source);
  };

  const file = env.HOOKLOG_CONFIG || undefined;
  if (file) {
    for (const [key, raw] of Object.entries(readYaml(file))) {
      if (key === CHANNELS_KEY) {
        config.channels = parseChannels(raw, `${file}: ${CHANNELS_KEY}`);
        sources.set('channels', { kind: 'file', file });
        continue;
      }
      const setting = settings.find((s) => s.key === key);
      if (!setting) throw new ConfigError(`${file}: unknown setting '${key}' (known: ${[...settings.map((s) => s.key), CHANNELS_KEY].join(', ')})`);
      assign(setting, raw, `${file}: ${key}`, { kind: 'file', file });
    }
  }
  for (const setting of settings) {
    const variable = envName(setting);
    const raw = env[variable];
    if (raw !== undefined) assign(setting, raw, variable, { kind: 'env', variable });
  }
  return { config: checkConfig(config), sources, file };
}

/** Rules between settings, checked after every layer (and after command-line overrides). */
export function checkConfig(config: Config): Config {
  // The admin bearer has full access and no rate limit: a short one can be guessed.
  if (config.adminToken !== '' && config.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(
      `admin_token (HOOKLOG_ADMIN_TOKEN) must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters, got ${config.adminToken.length}; make one with: openssl rand -hex 24`,
    );
  }
  if (config.role !== 'all' && !config.databaseUrl) {
    throw new ConfigError(`role '${config.role}' needs a database that nodes share: set database_url (HOOKLOG_DATABASE_URL)`);
  }
  if (config.healthPort !== 0 && config.healthPort === config.port && config.role !== 'worker') {
    throw new ConfigError(`health_port (HOOKLOG_HEALTH_PORT) must differ from port (HOOKLOG_PORT), which serves /healthz and /readyz already`);
  }
  checkChannels(config.channels, CHANNELS_KEY);
  return config;
}

/** The keys of a `channels:` entry, as Kaiman Webhooks Proxy's config.yml spells them. */
const CHANNEL_KEYS: Record<string, keyof ChannelConfig> = { name: 'name', 'secret-header': 'secretHeader', 'webhook-secret': 'secret', token: 'token' };

/** `channels:`: a list of mappings with KWP's keys, each value a string. */
function parseChannels(raw: unknown, source: string): ChannelConfig[] {
  if (raw === null || raw === undefined) return [];
  // Channels hold tokens and secrets: a wrong value is described, never echoed.
  if (!Array.isArray(raw)) throw new ConfigError(`${source}: expected a list of channels, got ${kindOf(raw)}`);
  return raw.map((entry, i) => {
    const where = `${source}[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new ConfigError(`${where}: expected a mapping with name and token`);
    const channel: Partial<ChannelConfig> = {};
    for (const [key, value] of Object.entries(entry)) {
      const field = CHANNEL_KEYS[key];
      if (!field) throw new ConfigError(`${where}: unknown key '${key}' (known: ${Object.keys(CHANNEL_KEYS).join(', ')})`);
      if (typeof value !== 'string') throw new ConfigError(`${where}.${key}: expected a string, got ${kindOf(value)}`);
      channel[field] = value;
    }
    return channel as ChannelConfig;
  });
}

/**
 * What channels must be before they are set in the store: a name fit for a
 * URL, a token (unique: it alone says which channel a GET reads), and the
 * secret header and its secret together or not at all.
 */
function checkChannels(channels: readonly ChannelConfig[], source: string): void {
  const names = new Set<string>();
  const tokens = new Set<string>();
  channels.forEach((channel, i) => {
    const where = `${source}[${i}]`;
    if (typeof channel.name !== 'string' || !isChannelName(channel.name)) {
      throw new ConfigError(`${where}.name: must be ${CHANNEL_NAME_RULE}, got ${JSON.stringify(channel.name ?? null)}`);
    }
    if (names.has(channel.name)) throw new ConfigError(`${where}.name: channel '${channel.name}' is declared twice`);
    names.add(channel.name);
    if (typeof channel.token !== 'string' || channel.token === '') throw new ConfigError(`${where}.token: channel '${channel.name}' needs a non-empty token`);
    if (tokens.has(channel.token)) throw new ConfigError(`${where}.token: channel '${channel.name}' has the token of another channel; each needs its own`);
    tokens.add(channel.token);
    const header = channel.secretHeader ?? '';
    const secret = channel.secret ?? '';
    if (header !== '' && secret === '')
      throw new ConfigError(`${where}.webhook-secret: channel '${channel.name}' has a secret-header, so it needs a webhook-secret`);
    if (header === '' && secret !== '')
      throw new ConfigError(`${where}.secret-header: channel '${channel.name}' has a webhook-secret, so it needs a secret-header`);
  });
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`HOOKLOG_CONFIG: cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    // Only the first line: the rest quotes the file's text, which may be a secret's.
    throw new ConfigError(`${file}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${file}: expected a mapping of settings`);
  return doc as Record<string, unknown>;
}

function coerce(setting: Setting, raw: unknown, source: string): unknown {
  const bad = (expected: string): never => {
    throw new ConfigError(`${source}: expected ${expected}, got ${setting.secret ? kindOf(raw) : JSON.stringify(raw)}`);
  };
  const asNumber = () => (typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN);
  switch (setting.type) {
    case 'string':
      if (typeof raw !== 'string') bad('a string');
      return raw;
    case 'port': {
      const n = asNumber();
      if (!Number.isInteger(n) || n < 0 || n > 65535) bad('a port number from 0 to 65535');
      return n;
    }
    case 'positive_integer': {
      const n = asNumber();
      if (!Number.isSafeInteger(n) || n <= 0) bad('a positive whole number');
      return n;
    }
    case 'non_negative_integer': {
      const n = asNumber();
      if (!Number.isSafeInteger(n) || n < 0) bad('a whole number >= 0');
      return n;
    }
    case 'seconds': {
      const n = asNumber();
      if (!Number.isFinite(n) || n <= 0 || n > MAX_TIMER_SECONDS) bad(`a positive number of seconds up to ${MAX_TIMER_SECONDS} (about 24 days)`);
      return n;
    }
    case 'seconds_or_zero': {
      const n = asNumber();
      if (!Number.isFinite(n) || n < 0 || n > MAX_TIMER_SECONDS) bad(`a number of seconds from 0 up to ${MAX_TIMER_SECONDS} (about 24 days)`);
      return n;
    }
    case 'log_level':
      return oneOf(LOG_LEVELS, raw, bad);
    case 'sqlite_sync':
      return oneOf(SQLITE_SYNC, raw, bad);
    case 'role':
      return oneOf(ROLES, raw, bad);
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      return bad('true or false');
    case 'seconds_list': {
      const parts = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
      const list = parts.map((part) => (typeof part === 'number' ? part : typeof part === 'string' && part.trim() !== '' ? Number(part) : NaN));
      if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n < 0)) bad('a comma-separated list of seconds >= 0');
      return list;
    }
  }
}

/** What a value is, without what it holds: for messages about values that may be secrets. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

function oneOf(values: readonly string[], raw: unknown, bad: (expected: string) => never): unknown {
  if (!values.includes(raw as string)) bad(`one of ${values.join(', ')}`);
  return raw;
}
