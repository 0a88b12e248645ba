import type { LoadedConfig } from './load.js';
import { CHANNELS_KEY, type Config, envName, type Setting, settings } from './schema.js';

/** What stands in for a secret: the same whatever its length, so that nothing of it shows. */
export const MASK = '****';

export interface ReportedSetting {
  key: string;
  /** Its environment variable; null for `channels`, which only the YAML file sets. */
  env: string | null;
  source: 'default' | 'file' | 'env';
  /** The value in force, secrets masked. */
  value: unknown;
}

export interface ConfigReport {
  /** The YAML file HOOKLOG_CONFIG named, or null. */
  config_file: string | null;
  settings: ReportedSetting[];
}

/** Every setting of the schema, with where its value came from and the value, secrets masked: what `hooklog config` prints. */
export function configReport({ config, sources, file }: LoadedConfig): ConfigReport {
  const source = (field: keyof Config) => sources.get(field)?.kind ?? 'default';
  return {
    config_file: file ?? null,
    settings: [
      ...settings.map((setting) => ({ key: setting.key, env: envName(setting), source: source(setting.field), value: shown(setting, config[setting.field]) })),
      // Channels hold tokens and secrets: their names say enough.
      { key: CHANNELS_KEY, env: null, source: source('channels'), value: config.channels.map((channel) => channel.name) },
    ],
  };
}

/** A setting's value as it may be shown. An empty secret shows as empty: that it is unset is worth seeing. */
function shown(setting: Setting, value: unknown): unknown {
  if (!setting.secret || value === '') return value;
  if (setting.secret === 'url_password' && typeof value === 'string') return urlWithoutPassword(value);
  return MASK;
}

function urlWithoutPassword(text: string): string {
  if (!URL.canParse(text)) return MASK;
  const url = new URL(text);
  if (url.password) url.password = MASK;
  for (const name of [...url.searchParams.keys()]) {
    if (/pass/i.test(name)) url.searchParams.set(name, MASK);
  }
  return url.href;
}
