// One clock for time stamps taken in different processes on one machine (a bench's workers,
// a relay child, the harness spawning them): CLOCK_MONOTONIC, which every process shares.
// performance.now() would not do: it counts from each process's own start.

/** Milliseconds on the system-wide monotonic clock, comparable between processes on one machine. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
