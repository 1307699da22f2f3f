// Writes the Function CRD into the Helm chart: `npm run gen:crd` after changing lib/function-spec.ts (a test checks they agree).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdYaml } from './crd-file.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(repoRoot, 'charts/sluice/crds/functions.sluice.dev.yaml');
writeFileSync(file, renderCrdYaml());
console.log(`wrote ${path.relative(repoRoot, file)}`);
