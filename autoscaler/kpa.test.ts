// Table tests of the KPA decision: each row is a sequence of decisions on one function's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from './config.js';
import { decide, initialKpaState, type KpaInput, type KpaState } from './kpa.js';
import { resolveScalingConfig, type ScalingConfig } from './scaling-config.js';

const T0 = 1_000_000;
const S = 1_000;

/** Knative defaults: target 100 at 70% → targetValue 70, total 100; stable 60 s, panic 6 s, threshold 200%, TBC 211. */
function config(overrides: Partial<ScalingConfig> = {}): ScalingConfig {
  return { ...resolveScalingConfig(undefined, defaultConfig()), ...overrides };
}

/** A function past its initial phase, at `desiredScale`. */
function settled(desiredScale: number, overrides: Partial<KpaState> = {}): KpaState {
  return { ...initialKpaState(T0 - 120 * S, config()), initialized: true, desiredScale, ...overrides };
}

function input(readyInstances: number, stableConcurrency: number, panicConcurrency = stableConcurrency, more: Partial<KpaInput> = {}): KpaInput {
  return { stableConcurrency, panicConcurrency, readyInstances, hasData: true, ...more };
}

interface Want {
  desiredScale: number;
  panicMode?: boolean;
  excessBurstCapacity?: number;
}

interface Step {
  atMs: number;
  input: KpaInput;
  want: Want;
}

interface Row {
  name: string;
  config?: Partial<ScalingConfig>;
  /** Defaults to settled(1). A function returning the state gets the row's config. */
  state?: KpaState | ((c: ScalingConfig) => KpaState);
  steps: Step[];
}

const rows: Row[] = [
  { name: 'steady state: load matches 3 instances', state: settled(3), steps: [{ atMs: T0, input: input(3, 210), want: { desiredScale: 3, panicMode: false } }] },
  { name: 'scale up below the panic threshold', state: settled(3), steps: [{ atMs: T0, input: input(3, 350), want: { desiredScale: 5, panicMode: false } }] },
  {
    name: 'scale from zero: first request with no instance',
    state: settled(0),
    steps: [{ atMs: T0, input: input(0, 1), want: { desiredScale: 1, panicMode: false } }],
  },
  {
    name: 'panic entry: panic window demand twice the ready capacity',
    steps: [{ atMs: T0, input: input(1, 70, 700), want: { desiredScale: 10, panicMode: true } }],
  },
  {
    name: 'panic takes the larger of stable and panic',
    steps: [{ atMs: T0, input: input(1, 1400, 700), want: { desiredScale: 20, panicMode: true } }],
  },
  {
    name: 'staying in panic: never scale down',
    steps: [
      { atMs: T0, input: input(1, 70, 700), want: { desiredScale: 10, panicMode: true } },
      { atMs: T0 + 2 * S, input: input(10, 100, 140), want: { desiredScale: 10, panicMode: true } },
      { atMs: T0 + 4 * S, input: input(10, 100, 1050), want: { desiredScale: 15, panicMode: true } },
      { atMs: T0 + 6 * S, input: input(15, 100, 140), want: { desiredScale: 15, panicMode: true } },
    ],
  },
  {
    name: 'panic exit only after a full stable window below the threshold',
    steps: [
      { atMs: T0, input: input(1, 70, 700), want: { desiredScale: 10, panicMode: true } },
      { atMs: T0 + 2 * S, input: input(10, 140, 140), want: { desiredScale: 10, panicMode: true } },
      { atMs: T0 + 60 * S, input: input(10, 140, 140), want: { desiredScale: 10, panicMode: true } },
      // Out of panic: stable says 2, the scale-down rate allows 10/2 = 5.
      { atMs: T0 + 61 * S, input: input(10, 140, 140), want: { desiredScale: 5, panicMode: false } },
    ],
  },
  {
    name: 'panic window refreshed by a new surge',
    steps: [
      { atMs: T0, input: input(1, 70, 700), want: { desiredScale: 10, panicMode: true } },
      { atMs: T0 + 50 * S, input: input(10, 700, 1400), want: { desiredScale: 20, panicMode: true } },
      { atMs: T0 + 61 * S, input: input(20, 140, 140), want: { desiredScale: 20, panicMode: true } },
      { atMs: T0 + 111 * S, input: input(20, 140, 140), want: { desiredScale: 10, panicMode: false } },
    ],
  },
  {
    name: 'scale to zero only after the grace period',
    state: settled(1),
    steps: [
      { atMs: T0, input: input(1, 0), want: { desiredScale: 1 } },
      { atMs: T0 + 29 * S, input: input(1, 0), want: { desiredScale: 1 } },
      { atMs: T0 + 30 * S, input: input(1, 0), want: { desiredScale: 0 } },
      { atMs: T0 + 32 * S, input: input(0, 0, 0, { hasData: false }), want: { desiredScale: 0 } },
    ],
  },
  {
    name: 'traffic during the grace period restarts it',
    state: settled(1),
    steps: [
      { atMs: T0, input: input(1, 0), want: { desiredScale: 1 } },
      { atMs: T0 + 20 * S, input: input(1, 10), want: { desiredScale: 1 } },
      { atMs: T0 + 22 * S, input: input(1, 0), want: { desiredScale: 1 } },
      { atMs: T0 + 51 * S, input: input(1, 0), want: { desiredScale: 1 } },
      { atMs: T0 + 52 * S, input: input(1, 0), want: { desiredScale: 0 } },
    ],
  },
  {
    name: 'at zero, zero-concurrency stats keep it at zero (no grace hold)',
    state: settled(0),
    steps: [{ atMs: T0, input: input(0, 0), want: { desiredScale: 0 } }],
  },
  {
    name: 'grace 0 scales to zero at once',
    config: { scaleToZeroGracePeriodMs: 0 },
    state: settled(1),
    steps: [{ atMs: T0, input: input(1, 0), want: { desiredScale: 0 } }],
  },
  {
    name: 'scale to zero disabled keeps one instance',
    config: { enableScaleToZero: false },
    state: settled(1),
    steps: [
      { atMs: T0, input: input(1, 0), want: { desiredScale: 1 } },
      { atMs: T0 + 600 * S, input: input(1, 0), want: { desiredScale: 1 } },
    ],
  },
  {
    name: 'scale-up rate limit: ceil(rate × ready)',
    config: { maxScaleUpRate: 2 },
    state: settled(2),
    steps: [{ atMs: T0, input: input(2, 7000, 0), want: { desiredScale: 4 } }],
  },
  {
    name: 'scale-up rate lets a conservative rate still grow by one',
    config: { maxScaleUpRate: 1.1 },
    state: settled(2),
    steps: [{ atMs: T0, input: input(2, 210, 0), want: { desiredScale: 3 } }],
  },
  {
    name: 'scale-down rate limit: floor(ready / rate)',
    state: settled(10),
    steps: [{ atMs: T0, input: input(10, 0), want: { desiredScale: 5 } }],
  },
  {
    name: 'min scale holds instances without load',
    config: { minScale: 2 },
    state: settled(2),
    steps: [
      { atMs: T0, input: input(2, 0), want: { desiredScale: 2 } },
      { atMs: T0 + 600 * S, input: input(2, 0), want: { desiredScale: 2 } },
    ],
  },
  {
    name: 'max scale caps a surge',
    config: { maxScale: 3 },
    state: settled(3),
    steps: [{ atMs: T0, input: input(3, 1000, 1000), want: { desiredScale: 3, panicMode: true } }],
  },
  {
    name: 'initial scale held until stats arrive and it is reached',
    config: { initialScale: 3 },
    state: (c) => initialKpaState(T0, c),
    steps: [
      { atMs: T0, input: input(0, 0, 0, { hasData: false, receivedStats: false }), want: { desiredScale: 3 } },
      { atMs: T0 + 2 * S, input: input(1, 0, 0, { receivedStats: true }), want: { desiredScale: 3 } },
      { atMs: T0 + 4 * S, input: input(3, 0, 0, { receivedStats: false }), want: { desiredScale: 3 } },
      // Initial scale reached and stats in: the rates apply (3 / 2 → 1).
      { atMs: T0 + 6 * S, input: input(3, 0, 0, { receivedStats: true }), want: { desiredScale: 1 } },
    ],
  },
  {
    name: 'initial scale held at most a stable window',
    config: { initialScale: 2 },
    state: (c) => initialKpaState(T0, c),
    steps: [
      { atMs: T0 + 59 * S, input: input(1, 0, 0, { receivedStats: true }), want: { desiredScale: 2 } },
      { atMs: T0 + 59 * S, input: input(1, 70, 70, { receivedStats: true }), want: { desiredScale: 2 } },
      // Phase over: with no load it wants 0, so the grace period starts (holding the current scale).
      { atMs: T0 + 60 * S, input: input(1, 0, 0, { receivedStats: true }), want: { desiredScale: 2 } },
      { atMs: T0 + 90 * S, input: input(1, 0, 0, { receivedStats: true }), want: { desiredScale: 0 } },
    ],
  },
  {
    name: 'initial phase keeps instances already running (autoscaler restart)',
    state: (c) => initialKpaState(T0, c),
    steps: [{ atMs: T0 + 2 * S, input: input(4, 0, 0, { receivedStats: false }), want: { desiredScale: 4 } }],
  },
  {
    name: 'initial scale 0 waits for the first request',
    config: { initialScale: 0 },
    state: (c) => initialKpaState(T0, c),
    steps: [
      { atMs: T0, input: input(0, 0, 0, { hasData: false, receivedStats: false }), want: { desiredScale: 0 } },
      { atMs: T0 + 5 * S, input: input(0, 2, 2, { receivedStats: true }), want: { desiredScale: 1 } },
    ],
  },
  {
    name: 'scale-down delay keeps the maximum of the delay window',
    config: { scaleDownDelayMs: 10 * S },
    state: settled(5),
    steps: [
      { atMs: T0, input: input(5, 350, 350), want: { desiredScale: 5 } },
      { atMs: T0 + 2 * S, input: input(5, 70, 70), want: { desiredScale: 5 } },
      { atMs: T0 + 9 * S, input: input(5, 70, 70), want: { desiredScale: 5 } },
      { atMs: T0 + 10 * S, input: input(5, 70, 70), want: { desiredScale: 2 } },
    ],
  },
  {
    name: 'scale-down delay does not slow scale-up',
    config: { scaleDownDelayMs: 10 * S },
    state: settled(2),
    steps: [
      { atMs: T0, input: input(2, 140, 140), want: { desiredScale: 2 } },
      { atMs: T0 + 2 * S, input: input(2, 210, 210), want: { desiredScale: 3 } },
    ],
  },
  {
    name: 'no data: keep the last decision',
    state: settled(2),
    steps: [{ atMs: T0, input: input(0, 0, 0, { hasData: false }), want: { desiredScale: 2 } }],
  },
  {
    name: 'burst capacity: ready × total − TBC − panic, floored',
    state: settled(3),
    steps: [{ atMs: T0, input: input(3, 49.5, 49.5), want: { desiredScale: 1, excessBurstCapacity: 39 } }],
  },
  {
    name: 'burst capacity negative with no instance',
    state: settled(0),
    steps: [{ atMs: T0, input: input(0, 0, 0, { hasData: false }), want: { desiredScale: 0, excessBurstCapacity: -211 } }],
  },
  {
    name: 'burst capacity 0 when TBC is 0',
    config: { targetBurstCapacity: 0 },
    state: settled(3),
    steps: [{ atMs: T0, input: input(3, 200), want: { desiredScale: 3, excessBurstCapacity: 0 } }],
  },
  {
    name: 'burst capacity -1 when TBC is -1 (activator always in the path)',
    config: { targetBurstCapacity: -1 },
    state: settled(3),
    steps: [{ atMs: T0, input: input(3, 200), want: { desiredScale: 3, excessBurstCapacity: -1 } }],
  },
  {
    name: 'containerConcurrency 10 targets 7 per instance',
    config: { totalValue: 10, targetValue: 7 },
    state: settled(3),
    steps: [{ atMs: T0, input: input(3, 21), want: { desiredScale: 3, excessBurstCapacity: Math.floor(30 - 211 - 21) } }],
  },
];

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const c = config(row.config);
    let state = typeof row.state === 'function' ? row.state(c) : (row.state ?? settled(1));
    row.steps.forEach((step, index) => {
      const before = JSON.stringify(state);
      const decision = decide(step.input, state, c, step.atMs);
      assert.equal(JSON.stringify(state), before, 'decide must not mutate its state argument');
      const got: Want = { desiredScale: decision.desiredScale };
      if (step.want.panicMode !== undefined) got.panicMode = decision.panicMode;
      if (step.want.excessBurstCapacity !== undefined) got.excessBurstCapacity = decision.excessBurstCapacity;
      assert.deepEqual(
        got,
        step.want,
        `step ${index} (t=+${(step.atMs - T0) / S}s, input ${JSON.stringify(step.input)})\n  want ${JSON.stringify(step.want)}\n  got  ${JSON.stringify(got)}`,
      );
      state = decision.state;
    });
  });
}

test('decide: scale-down delay window stays bounded', () => {
  const c = config({ scaleDownDelayMs: 10 * S });
  let state = settled(1);
  for (let i = 0; i < 1000; i++) state = decide(input(100, (i % 50) * 70), state, c, T0 + i * 2 * S).state;
  assert.ok(state.delayWindow.length <= 6, `delay window has ${state.delayWindow.length} entries`);
});
