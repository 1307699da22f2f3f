// Configuration of a warm spare queue-proxy: one JSON object line read from stdin, with the env keys in kebab-case.
import type { Readable } from 'node:stream';
import { ConfigError, type RawConfig } from '../lib/config.js';

/**
 * Reads stdin up to the first newline (or its end). Resolves the text of that line, or
 * undefined when stdin ended without any (the owner gave up on this spare: exit quietly).
 */
export function readConfigLine(input: Readable): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (line: string | undefined): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', reject);
      input.pause();
      resolve(line);
    };
    const onData = (chunk: string): void => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline >= 0) finish(text.slice(0, newline));
    };
    const onEnd = (): void => finish(text.trim() === '' ? undefined : text);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', reject);
  });
}

/** Parses the config line into raw kebab-case keys for loadConfig; a ConfigError when it is not a JSON object of scalars. */
export function parseConfigLine(line: string): RawConfig {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new ConfigError(`queue-proxy: the config line on stdin is not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('queue-proxy: the config line on stdin must be a JSON object of kebab-case keys');
  }
  for (const [key, item] of Object.entries(value)) {
    if (!['string', 'number', 'boolean'].includes(typeof item)) {
      throw new ConfigError(`queue-proxy: ${key} = ${JSON.stringify(item)}, must be a string, number or boolean`);
    }
  }
  return value as RawConfig;
}
