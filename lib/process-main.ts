// Process plumbing shared by every component's main.ts: config → logger → start → SIGTERM/SIGINT → close once → exit.
import { ConfigError } from './config.js';
import { createLogger, type Logger } from './logger.js';

/** Exit codes of a component process. */
export const EXIT_CODES = {
  /** Stopped by SIGTERM/SIGINT and closed cleanly. */
  stopped: 0,
  /** Failed to start, or failed while closing. */
  failed: 1,
  /** The configuration was rejected (the logged message names the key). */
  badConfig: 2,
} as const;

/** What a started component hands back: close() drains and releases everything it holds. */
export interface RunningComponent {
  /** `signal` is what stopped the process (SIGTERM: drain; SIGINT: shut down, e.g. the whole node goes). */
  close(signal?: NodeJS.Signals): Promise<void>;
}

export interface ComponentMain<C> {
  /** Logger name and the subject of the failure messages, e.g. 'activator'. */
  component: string;
  /** Reads and validates the configuration; a ConfigError exits with EXIT_CODES.badConfig. */
  loadConfig: () => C;
  /** Logger fields taken from the configuration (node or instance names); none by default. */
  logBindings?: (config: C) => Record<string, unknown>;
  /** File the logger appends to, taken from the configuration; "" or absent = stdout. */
  logFile?: (config: C) => string;
  /** Starts the servers and clients; a rejection exits with EXIT_CODES.failed. */
  start: (config: C, logger: Logger) => Promise<RunningComponent>;
}

/** The parts of the process runComponent touches; tests pass their own. */
export interface ProcessHooks {
  onSignal(signal: NodeJS.Signals, handler: () => void): void;
  exit(code: number): void;
  createLogger(component: string, bindings: Record<string, unknown>, logFile?: string): Logger;
}

const NODE_PROCESS: ProcessHooks = {
  onSignal: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
  createLogger,
};

/**
 * Runs one component process. Signal handlers are installed before start() so a signal during
 * startup still ends cleanly (closing once start has finished); later signals are ignored while
 * the first one's close() runs. Resolves after `hooks.exit` was called.
 */
export async function runComponent<C>(main: ComponentMain<C>, hooks: ProcessHooks = NODE_PROCESS): Promise<void> {
  let config: C;
  try {
    config = main.loadConfig();
  } catch (err) {
    const logger = hooks.createLogger(main.component, {});
    if (!(err instanceof ConfigError)) {
      logger.fatal({ err }, `${main.component} failed to start`);
      return hooks.exit(EXIT_CODES.failed);
    }
    logger.fatal({ err: err.message }, 'invalid configuration');
    return hooks.exit(EXIT_CODES.badConfig);
  }
  const logger = hooks.createLogger(main.component, main.logBindings?.(config) ?? {}, main.logFile?.(config));

  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) hooks.onSignal(signal, () => resolve(signal));
  });

  let running: RunningComponent;
  try {
    running = await main.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${main.component} failed to start`);
    return hooks.exit(EXIT_CODES.failed);
  }

  const signal = await stopRequested;
  logger.info({ signal }, 'shutting down');
  try {
    await running.close(signal);
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    return hooks.exit(EXIT_CODES.failed);
  }
  logger.info('stopped');
  hooks.exit(EXIT_CODES.stopped);
}
