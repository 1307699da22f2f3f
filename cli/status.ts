// `sluice status`: functions, instances per node, desired vs actual scale of the running local cluster.
import { LocalPlatformClient } from '../lib/platform/local-client.js';
import { silentLogger } from '../lib/logger.js';
import type { ClusterStatus__Output } from '../protos/generated/sluice/platform/v1/ClusterStatus.js';

const PHASE_NAMES: Record<string, string> = {
  INSTANCE_PHASE_STARTING: 'starting',
  INSTANCE_PHASE_READY: 'ready',
  INSTANCE_PHASE_TERMINATING: 'terminating',
  INSTANCE_PHASE_FAILED: 'failed',
};

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

/** Renders a status as the text `sluice status` prints. */
export function formatStatus(status: ClusterStatus__Output): string {
  const nodeNames = status.nodes.map((n) => n.name);
  const header = ['NAMESPACE', 'FUNCTION', 'DESIRED', 'READY', ...nodeNames.map((n) => n.toUpperCase()), 'URL'];
  const rows = status.functions.map((f) => {
    const perNode = nodeNames.map((node) => {
      const mine = f.instances.filter((i) => i.node === node);
      const ready = mine.filter((i) => i.phase === 'INSTANCE_PHASE_READY').length;
      return mine.length === ready ? String(ready) : `${ready}/${mine.length}`;
    });
    return [f.namespace, f.name, String(f.desired_scale), String(f.ready), ...perNode, f.url];
  });
  const lines = [`ingress: ${status.ingress_url}`, '', table([header, ...rows])];
  const problems = status.functions.filter((f) => f.problem);
  for (const f of problems) lines.push(`! ${f.namespace}/${f.name}: ${f.problem}`);
  const instances = status.functions.flatMap((f) => f.instances);
  if (instances.length > 0) {
    lines.push('', table([
      ['INSTANCE', 'NODE', 'PHASE', 'ADDRESS'],
      ...instances.map((i) => [i.name, i.node, PHASE_NAMES[i.phase] ?? i.phase, `${i.ip}:${i.traffic_port}`]),
    ]));
  }
  return lines.join('\n');
}

export async function status(platformAddress: string, json: boolean): Promise<number> {
  const client = new LocalPlatformClient(platformAddress, silentLogger());
  try {
    const result = await client.status();
    process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${formatStatus(result)}\n`);
    return 0;
  } finally {
    await client.close();
  }
}
