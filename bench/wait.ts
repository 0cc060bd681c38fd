/** Polls `cond` every `pollMs` until it holds; resolves with the milliseconds that took, rejects after `ms` naming `what`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, ms = 600_000, pollMs = 100): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return Date.now() - t0;
}
