// Line charts as SVG files for the XDT benchmark report (latency or throughput against object size, one line per method).
//
// Usage:
//   await writeLineChart('bench/results/xdt-latency.svg', {
//     title: 'Transfer latency', xLabel: 'object size (bytes)', yLabel: 'p50 latency (ms)', logX: true, logY: true,
//     series: [{ name: 'tcp', points: [{ x: 10240, y: 0.1 }, { x: 1048576, y: 0.8 }] }, { name: 'grpc-js', points: [...] }],
//   });
//
// Rendered by Vega-Lite (compiled to Vega, drawn by a headless vega.View with renderer 'none'): pure JavaScript, no
// canvas or browser. Text widths are estimated without a canvas, which is close enough for axis labels.
import { writeFile } from 'node:fs/promises';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic x axis (object sizes spanning decades); every x must then be > 0. */
  logX?: boolean;
  /** Logarithmic y axis; every y must then be > 0. */
  logY?: boolean;
  series: ChartSeries[];
  /** Plot area size in pixels (default 640 × 400). */
  width?: number;
  height?: number;
}

/** The Vega-Lite spec for `chart`: one row per point, coloured by series, lines with point marks. */
export function lineChartSpec(chart: LineChart): TopLevelSpec {
  const values = chart.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
  for (const v of values) {
    if (!Number.isFinite(v.x) || !Number.isFinite(v.y)) throw new RangeError(`chart "${chart.title}": series ${v.series} has a non-finite point (${v.x}, ${v.y})`);
    if (chart.logX && v.x <= 0) throw new RangeError(`chart "${chart.title}": log x axis, but series ${v.series} has x = ${v.x}`);
    if (chart.logY && v.y <= 0) throw new RangeError(`chart "${chart.title}": log y axis, but series ${v.series} has y = ${v.y}`);
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    width: chart.width ?? 640,
    height: chart.height ?? 400,
    // Opaque background: the SVG is read in viewers with dark themes too.
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: chart.xLabel, scale: chart.logX ? { type: 'log' } : { zero: false } },
      y: { field: 'y', type: 'quantitative', title: chart.yLabel, scale: chart.logY ? { type: 'log' } : {} },
      // Legend in the order given, not alphabetical: callers list the system under test first.
      color: { field: 'series', type: 'nominal', title: null, sort: chart.series.map((s) => s.name) },
      order: { field: 'x', type: 'quantitative' },
    },
  };
}

/** The chart as an SVG document. */
export async function lineChartSvg(chart: LineChart): Promise<string> {
  const { spec } = compile(lineChartSpec(chart));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders `chart` and writes it to `file` (an .svg). */
export async function writeLineChart(file: string, chart: LineChart): Promise<void> {
  await writeFile(file, await lineChartSvg(chart));
}
