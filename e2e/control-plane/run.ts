// `node dist/e2e/control-plane/run.js [--port N] [--keep] [--kubeconfig PATH]`: a control plane to develop against,
// up until Ctrl-C or SIGTERM.
import { copyFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startControlPlane } from './control-plane.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' }, // apiserver secure port; default 6443 (a free one when taken), 0 = any free port
    keep: { type: 'boolean', default: false }, // keep the run directory after stopping
    kubeconfig: { type: 'string' }, // also copy the admin kubeconfig here, a path that stays the same across runs
    'bin-dir': { type: 'string' },
  },
});

const started = Date.now();
const cp = await startControlPlane({
  port: values.port === undefined ? undefined : Number(values.port),
  keep: values.keep,
  binDir: values['bin-dir'],
  onUnexpectedExit: (name, description) => {
    console.error(`control plane: ${description}`);
    void shutdown(1);
  },
});
let kubeconfig = cp.kubeconfigPath;
if (values.kubeconfig) {
  copyFileSync(cp.kubeconfigPath, values.kubeconfig);
  kubeconfig = values.kubeconfig;
}
console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cp.server}`);
console.log(`kubeconfig: ${kubeconfig}`);
console.log(`logs: ${cp.logDir}`);
console.log(`kubectl: ${cp.binDir}/kubectl`);
console.log(`export KUBECONFIG=${kubeconfig}`);

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('control plane: stopping');
  await cp.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
