// Finding a system binary and installing its Debian package when it is missing (the bench runs as root on Debian).
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** sbin folders too: root's tools (ip, tc) live there and a non-login PATH may lack them. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The folders searched for a binary: PATH first, then the standard ones, each once. */
export function searchDirs(pathEnv: string | undefined): string[] {
  const fromPath = (pathEnv ?? '').split(path.delimiter).filter((d) => d !== '');
  return [...new Set([...fromPath, ...EXTRA_DIRS])];
}

/** The absolute path of executable `name`, or undefined. */
export function findExecutable(name: string, dirs: readonly string[] = searchDirs(process.env.PATH)): string | undefined {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The last `lines` non-empty lines of a command's output, for error messages. */
export function lastLines(text: string, lines: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-lines)
    .join('\n');
}

async function apt(args: string[]): Promise<void> {
  // noninteractive: no debconf prompt can hang the bench; the bench has no terminal to answer it.
  await execFileAsync('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

function describe(err: unknown): string {
  const e = err as { stderr?: string; stdout?: string; message?: string };
  return lastLines(`${e.stdout ?? ''}\n${e.stderr ?? ''}`, 10) || (e.message ?? String(err));
}

/**
 * Returns the path of `binary`, installing Debian package `pkg` first when it is missing. An install that fails is
 * retried once after `apt-get update` (a fresh machine may have no package lists); the Error names the commands run
 * and ends with their output.
 */
export async function ensureDebianBinary(binary: string, pkg: string, log: (message: string) => void): Promise<string> {
  const found = findExecutable(binary);
  if (found) return found;
  const install = ['install', '-y', '-qq', pkg];
  log(`${binary} not found: installing Debian package ${pkg} (apt-get ${install.join(' ')})`);
  try {
    await apt(install);
  } catch (first) {
    log(`apt-get ${install.join(' ')} failed; running apt-get update and trying again`);
    try {
      await apt(['update', '-qq']);
      await apt(install);
    } catch (second) {
      throw new Error(
        `cannot install ${binary}: \`apt-get ${install.join(' ')}\` failed (also after \`apt-get update -qq\`); ` +
          `install package ${pkg} by hand. First attempt:\n${describe(first)}\nSecond attempt:\n${describe(second)}`,
      );
    }
  }
  const installed = findExecutable(binary);
  if (!installed) throw new Error(`apt-get ${install.join(' ')} succeeded but ${binary} is still not on PATH or in ${EXTRA_DIRS.join(', ')}`);
  log(`installed ${pkg}: ${installed}`);
  return installed;
}
