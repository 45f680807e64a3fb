// Durations as PromQL writes them (30s, 15m, 1h, 2d, 1w, 1h30m).

const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** parseDuration returns the seconds of d, or NaN when d is not a duration. */
export function parseDuration(d: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let seen = "";
  for (const m of d.trim().matchAll(re)) {
    total += parseFloat(m[1]) * units[m[2]];
    seen += m[0];
  }
  return seen !== "" && seen === d.trim() ? total : NaN;
}

/** autoStep picks a step giving about 250 points over rangeSec, at least 1s. */
export function autoStep(rangeSec: number): number {
  return Math.max(1, Math.round(rangeSec / 250));
}

/** parseTime reads a Unix time in seconds or an RFC 3339 date; NaN otherwise. */
export function parseTime(t: string): number {
  if (/^\d+(\.\d+)?$/.test(t)) return parseFloat(t);
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? NaN : ms / 1000;
}

/** formatTime renders Unix seconds as an ISO date in UTC. */
export function formatTime(sec: number): string {
  return new Date(sec * 1000).toISOString();
}

/** formatBytes renders a byte count with a binary unit. */
export function formatBytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${u[i]}`;
}
