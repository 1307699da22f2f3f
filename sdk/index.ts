// Public entry of the Sluice SDK for TypeScript functions.
export { serve, queryParam, instanceInfo, type Handler, type ServeOptions, type FunctionServer } from './serve.js';
