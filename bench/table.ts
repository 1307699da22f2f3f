// The readable summary printed at the end of a run: one row per record, with its target and PASS/MISS when it has one.
import { describeTarget, judgeTarget, roundValue, targetKey, type BenchRecord, type BenchTarget } from './record.js';

const HEADER = ['bench', 'case', 'metric', 'value', 'unit', 'target', 'result'] as const;

/** Records of the same (bench, case) together, cases in the order they first appear, records in emission order within a case. */
export function groupByCase(records: readonly BenchRecord[]): BenchRecord[] {
  const groups = new Map<string, BenchRecord[]>();
  for (const r of records) {
    const key = `${r.bench}\u0000${r.case}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(r);
  }
  return [...groups.values()].flat();
}

/** One row per record, grouped by case; numbers right-aligned, text left-aligned, columns two spaces apart. */
export function formatTable(records: readonly BenchRecord[], targets: readonly BenchTarget[]): string {
  const byKey = new Map(targets.map((t) => [targetKey(t), t]));
  const rows = groupByCase(records).map((r) => {
    const target = byKey.get(targetKey(r));
    return [
      r.bench,
      r.case,
      r.metric,
      String(roundValue(r.value)),
      r.unit,
      target ? describeTarget(target, r.unit) : '',
      target ? judgeTarget(target, r.value) : '',
    ];
  });
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const numeric = HEADER.map((h) => h === 'value');
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(HEADER), rule, ...rows.map(line)].join('\n');
}

/** "3 PASS, 1 MISS" over the records that have a target. */
export function summarizeTargets(records: readonly BenchRecord[], targets: readonly BenchTarget[]): { pass: number; miss: number } {
  const byKey = new Map(targets.map((t) => [targetKey(t), t]));
  let pass = 0;
  let miss = 0;
  for (const r of records) {
    const target = byKey.get(targetKey(r));
    if (!target) continue;
    if (judgeTarget(target, r.value) === 'PASS') pass++;
    else miss++;
  }
  return { pass, miss };
}
