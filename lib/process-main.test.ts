// Table tests for runComponent with fake process hooks: exit codes, one close per process, signals during startup.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from './config.js';
import { silentLogger } from './logger.js';
import { runComponent, type ProcessHooks } from './process-main.js';

interface Input {
  config: 'ok' | 'config-error' | 'other-error';
  start: 'ok' | 'fails';
  close: 'ok' | 'fails';
  /** Signals sent while start() is pending. */
  signalsDuringStart: NodeJS.Signals[];
  /** Signals sent once start() has finished. */
  signalsAfterStart: NodeJS.Signals[];
}

interface Want {
  exits: number[];
  starts: number;
  closes: number;
}

const OK: Input = { config: 'ok', start: 'ok', close: 'ok', signalsDuringStart: [], signalsAfterStart: ['SIGTERM'] };

const rows: Array<{ name: string; input: Input; want: Want }> = [
  { name: 'SIGTERM closes and exits 0', input: OK, want: { exits: [0], starts: 1, closes: 1 } },
  { name: 'SIGINT closes and exits 0', input: { ...OK, signalsAfterStart: ['SIGINT'] }, want: { exits: [0], starts: 1, closes: 1 } },
  { name: 'repeated signals close once', input: { ...OK, signalsAfterStart: ['SIGTERM', 'SIGINT', 'SIGTERM'] }, want: { exits: [0], starts: 1, closes: 1 } },
  { name: 'a signal during startup closes once started', input: { ...OK, signalsDuringStart: ['SIGTERM'], signalsAfterStart: [] }, want: { exits: [0], starts: 1, closes: 1 } },
  { name: 'a config error exits 2 without starting', input: { ...OK, config: 'config-error' }, want: { exits: [2], starts: 0, closes: 0 } },
  { name: 'another error while loading config exits 1', input: { ...OK, config: 'other-error' }, want: { exits: [1], starts: 0, closes: 0 } },
  { name: 'a start failure exits 1', input: { ...OK, start: 'fails' }, want: { exits: [1], starts: 1, closes: 0 } },
  { name: 'a close failure exits 1', input: { ...OK, close: 'fails' }, want: { exits: [1], starts: 1, closes: 1 } },
];

for (const row of rows) {
  test(`runComponent: ${row.name}`, async () => {
    const { input } = row;
    const handlers = new Map<NodeJS.Signals, Array<() => void>>();
    const send = (signal: NodeJS.Signals): void => handlers.get(signal)?.forEach((handler) => handler());
    const got: Want = { exits: [], starts: 0, closes: 0 };
    const hooks: ProcessHooks = {
      onSignal: (signal, handler) => handlers.set(signal, [...(handlers.get(signal) ?? []), handler]),
      exit: (code) => void got.exits.push(code),
      createLogger: () => silentLogger(),
    };
    const run = runComponent(
      {
        component: 'test',
        loadConfig: () => {
          if (input.config === 'config-error') throw new ConfigError('test: port = -1, must be an integer in [0; 65535]');
          if (input.config === 'other-error') throw new Error('boom');
          return { port: 1 };
        },
        start: async () => {
          got.starts++;
          input.signalsDuringStart.forEach(send);
          await new Promise((resolve) => setImmediate(resolve));
          if (input.start === 'fails') throw new Error('cannot bind');
          return {
            close: async () => {
              got.closes++;
              if (input.close === 'fails') throw new Error('cannot close');
            },
          };
        },
      },
      hooks,
    );
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    input.signalsAfterStart.forEach(send);
    await run;
    assert.deepEqual(got, row.want, `want ${JSON.stringify(row.want)}, got ${JSON.stringify(got)}`);
  });
}
