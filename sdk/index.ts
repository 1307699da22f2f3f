// Public entry of the Sluice SDK for TypeScript functions.
export { serve, queryParam, instanceInfo, type Handler, type ServeOptions, type FunctionServer } from './serve.js';
export {
  invoke,
  invokeStream,
  put,
  get,
  getStream,
  reply,
  readBody,
  XDT_REF_HEADER,
  DEFAULT_INLINE_THRESHOLD_BYTES,
  type XdtBody,
  type PutOptions,
  type InvokeOptions,
  type InvokeResult,
  type InvokeStreamResult,
  type ReplyOptions,
} from './xdt.js';
export { openPm, pmUsage, PmFile, type PmUsage } from './pm.js';
