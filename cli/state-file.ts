// The file through which `sluice status` and `sluice invoke` find the running local cluster.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ClusterState {
  pid: number;
  ingressUrl: string;
  platformAddress: string;
  domain: string;
  logDir: string;
  startedAt: string;
}

export function sluiceHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_HOME ?? path.join(os.homedir(), '.sluice');
}

export function stateFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(sluiceHome(env), 'cluster.json');
}

export function writeState(state: ClusterState, env: NodeJS.ProcessEnv = process.env): void {
  const file = stateFilePath(env);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running cluster's state, or undefined when none runs (a stale file is ignored). */
export function readState(env: NodeJS.ProcessEnv = process.env): ClusterState | undefined {
  try {
    const state = JSON.parse(readFileSync(stateFilePath(env), 'utf8')) as ClusterState;
    return isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the state file if it still belongs to `pid`. */
export function removeState(pid: number, env: NodeJS.ProcessEnv = process.env): void {
  const file = stateFilePath(env);
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
    if (state.pid === pid) rmSync(file, { force: true });
  } catch {
    // nothing to remove
  }
}
