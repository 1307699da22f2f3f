// One pino JSON logger per component; level from SLUICE_LOG_LEVEL.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Logs to stdout, or appended to the file `logFile` when it is given and not "". */
export function createLogger(component: string, bindings: Record<string, unknown> = {}, logFile = ''): Logger {
  const options = {
    level: process.env.SLUICE_LOG_LEVEL ?? 'info',
    base: { component, pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Synchronous writes, like the default stdout destination: nothing is lost on process.exit.
  return logFile === '' ? pino(options) : pino(options, pino.destination({ dest: logFile, append: true, sync: true, mkdir: true }));
}

/** A logger that drops everything, for tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
