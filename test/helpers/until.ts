/**
 * Polls `probe` until it returns something truthy, and resolves with that; a probe that throws counts as "not yet"
 * (the object may not exist yet). Rejects after `ms`, naming `what`.
 */
export async function until<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
