// Waiting on state that no event announces (a process coming up, a row changing), with a
// deadline that names what was awaited.

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Time between checks (default 10 ms). */
  intervalMs?: number;
  /** A check that throws counts as "not yet" (a process restarting), not as a failure. */
  ignoreErrors?: boolean;
}

/** Polls `check` until it returns something truthy, and returns that; throws naming `what` at the deadline. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  options: number | WaitOptions = {},
): Promise<NonNullable<T>> {
  const {
    timeoutMs = 5000,
    intervalMs = 10,
    ignoreErrors = false,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = ignoreErrors
      ? await Promise.resolve()
          .then(check)
          .catch(() => undefined)
      : await check();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
