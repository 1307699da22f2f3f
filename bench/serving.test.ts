// Tests for the serving suite's settings and targets (the suite itself runs only under `npm run bench`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVING_TARGETS, servingSettings } from './serving.js';

test('servingSettings: full mode takes at least 20 cold starts, quick at least 10 with short loads', () => {
  const full = servingSettings(false);
  const quick = servingSettings(true);
  assert.ok(full.coldStarts >= 20, `full coldStarts = ${full.coldStarts}`);
  assert.ok(quick.coldStarts >= 10, `quick coldStarts = ${quick.coldStarts}`);
  assert.ok(quick.loadSec <= 3 && quick.warmupSec <= 1, `quick load ${quick.loadSec}s, warm-up ${quick.warmupSec}s`);
});

test('SERVING_TARGETS: one per (case, metric), all in the serving bench', () => {
  const keys = SERVING_TARGETS.map((t) => `${t.case} ${t.metric}`);
  assert.equal(new Set(keys).size, keys.length, `duplicates in ${keys.join(', ')}`);
  assert.ok(SERVING_TARGETS.every((t) => t.bench === 'serving'));
});
