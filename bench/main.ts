// `npm run bench [-- --quick] [-- --only render|fanout|agent|dashboard|enrol|orders|cluster] [-- --out FILE]`: runs the benchmarks
// and prints their figures as Markdown (the body of bench/RESULTS.md); --out also writes it.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runAgentFootprint } from './agent-footprint.js';
import { runClusterBench } from './cluster.js';
import { runDashboardBench } from './dashboard.js';
import { runEnrolFloodBench } from './enrol-flood.js';
import { runFanoutBench } from './fanout.js';
import { runOrdersBench } from './orders.js';
import { runRenderBench } from './render.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const only = values.only;
const benches = ['render', 'fanout', 'agent', 'dashboard', 'enrol', 'orders', 'cluster'];
if (only !== undefined && !benches.includes(only)) {
  console.error(`--only takes ${benches.join(', ')}, not ${JSON.stringify(only)}`);
  process.exit(2);
}
const quick = values.quick ?? false;
const log = (line: string) => console.error(line);

const sections = [
  `## ${quick ? 'Quick run (smoke test, not for comparison)' : 'Results'}`,
  '',
  machine(),
  '',
];
if (only === undefined || only === 'render') {
  log('rendering ...');
  sections.push(
    runRenderBench(quick ? { rounds: 3, sliceMs: 50 } : { rounds: 10, sliceMs: 150 }).markdown,
    '',
  );
}
// Orders at 100/s, then 1,000/s: the relay alone and the relay cluster are measured alike.
const relayPhases = quick
  ? [
      { rate: 100, seconds: 2 },
      { rate: 1000, seconds: 1 },
    ]
  : [
      { rate: 100, seconds: 8 },
      { rate: 1000, seconds: 3 },
    ];
if (only === undefined || only === 'fanout') {
  log('relay fan-out ...');
  const fanout = await runFanoutBench({
    agentCounts: quick ? [1000] : [1000, 5000, 10_000],
    phases: relayPhases,
    workers: 2,
    connectWindow: 200,
    drainTimeoutMs: 60_000,
    connectTimeoutMs: 300_000,
    stormTimeoutMs: 60_000,
    log,
  });
  sections.push(fanout, '');
}
if (only === undefined || only === 'agent') {
  log('store agent footprint ...');
  sections.push((await runAgentFootprint({ quick, log })).markdown, '');
}
if (only === undefined || only === 'dashboard') {
  log('HQ dashboard with 10,000 stores ...');
  sections.push((await runDashboardBench({ stores: 10_000, rounds: quick ? 3 : 10, log })).markdown, '');
}
if (only === undefined || only === 'orders') {
  log('orders ...');
  const phases = quick
    ? [{ rate: 10, seconds: 3 }]
    : [
        { rate: 10, seconds: 10 },
        { rate: 50, seconds: 10 },
      ];
  sections.push((await runOrdersBench({ phases, log })).markdown, '');
}
if (only === undefined || only === 'cluster') {
  log('relay cluster: one process against two ...');
  const cluster = await runClusterBench({
    agents: quick ? 1000 : Number(process.env.BENCH_CLUSTER_AGENTS ?? 10_000),
    scaleAgents: quick ? 2000 : Number(process.env.BENCH_CLUSTER_SCALE_AGENTS ?? 20_000),
    phases: relayPhases,
    workers: 2,
    log,
  });
  sections.push(cluster.markdown, '');
}
if (only === undefined || only === 'enrol') {
  log('enrolment flood ...');
  sections.push(
    (
      await runEnrolFloodBench(
        quick
          ? { seconds: 3, orderRate: 20, floodRate: 18, log }
          : { seconds: 10, orderRate: 20, floodRate: 18, log },
      )
    ).markdown,
    '',
  );
}
const markdown = sections.join('\n');
console.log(markdown);
if (values.out) writeFileSync(values.out, markdown);
