// Tests for the SVG line charts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { lineChartSpec, lineChartSvg, writeLineChart, type LineChart } from './chart.js';

const chart: LineChart = {
  title: 'Transfer latency',
  xLabel: 'object size (bytes)',
  yLabel: 'p50 latency (ms)',
  logX: true,
  logY: true,
  series: [
    { name: 'xdt-grpc', points: [{ x: 10_240, y: 0.5 }, { x: 1_048_576, y: 2 }, { x: 104_857_600, y: 150 }] },
    { name: 'redis & s3 <baseline>', points: [{ x: 10_240, y: 0.3 }, { x: 1_048_576, y: 5 }, { x: 104_857_600, y: 400 }] },
  ],
};

test('lineChartSvg: an SVG document with the title, axis labels and every series name', async () => {
  const svg = await lineChartSvg(chart);
  assert.match(svg, /^<svg[\s>]/);
  assert.match(svg, /<\/svg>\s*$/);
  for (const text of ['Transfer latency', 'object size (bytes)', 'p50 latency (ms)', 'xdt-grpc', 'redis &amp; s3 &lt;baseline&gt;']) {
    assert.ok(svg.includes(text), `SVG lacks "${text}"`);
  }
  // One line path per series.
  assert.equal((svg.match(/aria-roledescription="line mark"/g) ?? []).length, chart.series.length);
  assert.equal(svg.split('<').length - 1, svg.split('>').length - 1, 'unbalanced angle brackets');
});

test('writeLineChart: writes the file', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-chart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'latency.svg');
  await writeLineChart(file, { ...chart, logX: false, logY: false });
  assert.match(readFileSync(file, 'utf8'), /^<svg/);
});

test('lineChartSpec: log scales when asked, legend in the given order', () => {
  const spec = lineChartSpec(chart) as unknown as { encoding: Record<string, { scale?: { type?: string }; sort?: string[] }> };
  assert.equal(spec.encoding.x.scale?.type, 'log');
  assert.equal(spec.encoding.y.scale?.type, 'log');
  assert.deepEqual(spec.encoding.color.sort, ['xdt-grpc', 'redis & s3 <baseline>']);
  const linear = lineChartSpec({ ...chart, logX: false, logY: false }) as unknown as { encoding: Record<string, { scale?: { type?: string } }> };
  assert.equal(linear.encoding.x.scale?.type, undefined);
});

test('lineChartSpec: rejects points a log axis cannot show, and non-finite points', () => {
  assert.throws(() => lineChartSpec({ ...chart, series: [{ name: 'a', points: [{ x: 0, y: 1 }] }] }), /log x axis/);
  assert.throws(() => lineChartSpec({ ...chart, series: [{ name: 'a', points: [{ x: 1, y: 0 }] }] }), /log y axis/);
  assert.throws(() => lineChartSpec({ ...chart, logX: false, series: [{ name: 'a', points: [{ x: 1, y: NaN }] }] }), /non-finite/);
});
