// Helpers for integration tests that run a real local cluster (all components as processes on loopback).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFunctionsYaml } from '../../lib/function-spec.js';
import { silentLogger } from '../../lib/logger.js';
import { startLocalCluster, type LocalCluster } from '../../cli/local-cluster.js';

/** Repository root (this file runs from dist/e2e/local). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let nextSubnet = 150 + (process.pid % 40) * 2;

/** Starts a cluster of `nodes` nodes with the Functions in `yaml`; commands resolve against the repo root. */
export async function startTestCluster(yaml: string, env: Record<string, string> = {}, nodes = 2): Promise<LocalCluster> {
  const functions = parseFunctionsYaml(yaml, 'test-functions.yaml');
  const subnetBase = nextSubnet;
  nextSubnet += nodes;
  return startLocalCluster({
    functions,
    workDir: REPO_ROOT,
    nodes,
    port: 0,
    subnetBase,
    domain: 'sluice.localhost',
    logDir: mkdtempSync(path.join(os.tmpdir(), 'sluice-test-')),
    // PM tests opt in (SLUICE_NODE_AGENT_PM_MODE): a calibration sweep at every node start only slows the others.
    env: { SLUICE_LOG_LEVEL: 'info', SLUICE_NODE_AGENT_PM_MODE: 'off', ...env },
    logger: silentLogger(),
    startTimeoutMs: 30_000,
  });
}

/** A Function YAML document for an example function with extra spec lines (indented two spaces under spec). */
export function fn(name: string, example: string, extraSpec = ''): string {
  // Absolute paths, so the file works wherever it is written (sluice up runs commands in the file's directory).
  const script = example.endsWith('.mjs') ? path.join(REPO_ROOT, example) : path.join(REPO_ROOT, 'dist/examples', example, 'main.js');
  const command = `[node, ${script}]`;
  return `---
apiVersion: sluice.dev/v1alpha1
kind: Function
metadata:
  name: ${name}
spec:
  container:
    command: ${command}
${extraSpec}`;
}

export function writeTempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-test-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}

export function readyCount(cluster: LocalCluster, name: string): number {
  return cluster.controller.functionStatus().find((f) => f.record.name === name)?.ready ?? -1;
}

export function instanceCount(cluster: LocalCluster, name: string): number {
  return cluster.controller.functionStatus().find((f) => f.record.name === name)?.instances.length ?? -1;
}
