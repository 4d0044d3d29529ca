/** Rolling figures for the kiosk's status line and heartbeats: results per second and p50 latency. */
export function createKioskStats(windowMs = 10_000, maxSamples = 200) {
  const results: { at: number; latencyMs: number }[] = [];
  const prune = (now: number) => {
    while (results.length > maxSamples || (results.length && now - results[0]!.at > windowMs)) results.shift();
  };
  return {
    add(latencyMs: number, now = performance.now()): void {
      results.push({ at: now, latencyMs });
      prune(now);
    },
    /** Results per second over the window (0 when nothing finished in it). */
    fps(now = performance.now()): number {
      prune(now);
      if (results.length < 2) return results.length / (windowMs / 1000);
      const span = Math.max(now - results[0]!.at, 1000);
      return results.length / (span / 1000);
    },
    p50Ms(now = performance.now()): number {
      prune(now);
      if (!results.length) return 0;
      const sorted = results.map((entry) => entry.latencyMs).sort((a, b) => a - b);
      return sorted[Math.ceil(sorted.length / 2) - 1]!;
    },
  };
}

/** The label shown large: the most frequent top-1 of the last few frames, so one odd frame does not flash. */
export function createLabelSmoother(size = 5) {
  const recent: string[] = [];
  return (label: string): string => {
    recent.push(label);
    if (recent.length > size) recent.shift();
    const counts = new Map<string, number>();
    for (const entry of recent) counts.set(entry, (counts.get(entry) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1] || (a[0] === label ? -1 : 1))[0]![0];
  };
}
