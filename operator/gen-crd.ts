// Writes the Function CRD template into the Helm chart: `npm run gen:crd` after changing lib/function-spec.ts (a test checks they agree).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, renderCrdYaml } from './crd-file.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.join(repoRoot, CRD_FILE);
writeFileSync(file, renderCrdYaml());
console.log(`wrote ${path.relative(repoRoot, file)}`);
