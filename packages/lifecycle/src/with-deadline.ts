/**
 * Waits for `work` at most `timeoutMs`: resolves 'done' when it settles in time, 'timeout'
 * otherwise (the work goes on; a later rejection is handled, never unhandled). Rejects when the
 * work rejects in time. The timer does not keep the process alive.
 */
export async function withDeadline(work: Promise<unknown>, timeoutMs: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => 'done' as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
