// Every suite `npm run bench` knows, by name; a new suite (xdt, pm, locality) is one more register() line.
import { servingSuite } from './serving.js';
import { xdtSuite } from './xdt.js';
import { pmSuite } from './pm.js';
import { localitySuite } from './locality.js';
import { SuiteRegistry } from './suite.js';

export function createRegistry(): SuiteRegistry {
  const registry = new SuiteRegistry();
  registry.register(servingSuite);
  registry.register(xdtSuite);
  registry.register(pmSuite);
  registry.register(localitySuite);
  return registry;
}
