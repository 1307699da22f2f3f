// Where the .proto contracts are, apart from lib/grpc.ts so the XDT wire code can find them without loading grpc-js.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** protos/ lives two levels above dist/lib (and one above lib/ when run from sources). */
export const PROTOS_DIR = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? '../../protos' : '../protos';
  return path.resolve(here, up);
})();
