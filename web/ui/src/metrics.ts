// Reading the server's own /metrics (Prometheus text format) for the
// storage figures the status endpoints do not carry.

/** A sample of the text format: the series as written, and its value. */
export interface TextSample {
  name: string;
  series: string;
  value: string;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$/;

/**
 * parseText returns the samples of text whose metric name starts with one
 * of prefixes, histogram buckets left out; comments and lines that do not
 * parse are skipped.
 */
export function parseText(text: string, prefixes: string[]): TextSample[] {
  const out: TextSample[] = [];
  for (const raw of text.split("\n")) {
    if (raw === "" || raw.startsWith("#")) continue;
    const m = line.exec(raw.trim());
    if (!m || m[1].endsWith("_bucket") || !prefixes.some((p) => m[1].startsWith(p))) continue;
    out.push({ name: m[1], series: m[1] + (m[2] ?? ""), value: m[3] });
  }
  return out;
}
