// Where the compiled entry points of the components live, and how `sluice up` names their logs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/ root of this build (cli/ is one level below it). */
export const DIST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type ComponentName = 'activator' | 'autoscaler' | 'scheduler' | 'node-agent';

export function componentMain(component: ComponentName): string {
  return path.join(DIST_DIR, component, 'main.js');
}
