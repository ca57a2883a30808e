import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';

/** One named set of connection settings in the config file. */
export interface Profile {
  endpoint?: string;
  api_key?: string;
  tenant?: string;
}

export interface ConfigFile {
  profiles: Record<string, Profile>;
}

/** `$XDG_CONFIG_HOME/nimbus/config.yaml`, else `~/.config/nimbus/config.yaml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'nimbus', 'config.yaml');
}

export function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return { profiles: {} };
  const parsed = parse(readFileSync(path, 'utf8')) as Partial<ConfigFile> | null;
  return { profiles: parsed?.profiles ?? {} };
}

/** Writes the file readable by its owner only: it holds API keys. */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, stringify(config), { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The settings in force: the profile's, overridden by NIMBUS_ENDPOINT and NIMBUS_API_KEY. */
export function resolveProfile(
  config: ConfigFile,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Required<Pick<Profile, 'endpoint'>> & Profile {
  const profile = config.profiles[name] ?? {};
  return {
    ...profile,
    endpoint: env.NIMBUS_ENDPOINT || profile.endpoint || 'http://127.0.0.1:8080',
    api_key: env.NIMBUS_API_KEY || profile.api_key,
    tenant: env.NIMBUS_TENANT || profile.tenant,
  };
}
