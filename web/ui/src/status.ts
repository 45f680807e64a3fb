// /status: the store's totals and rankings, the WAL, build and runtime
// information, flags, the configuration, the cluster ring and, where the
// server serves it, replication lag.
import { get, getIfPresent } from "./api";
import { errorBox, h, section, table } from "./dom";
import { parseText } from "./metrics";
import { formatBytes, formatTime } from "./time";

interface Stat {
  name: string;
  value: number;
}
interface TSDBStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; numSamples: number; bytesPerSample: number; minTime: number; maxTime: number };
  seriesCountByMetricName: Stat[];
  labelValueCountByLabelName: Stat[];
  seriesCountByLabelValuePair: Stat[];
}
interface Cluster {
  self: string;
  replicationFactor: number;
  members: { name: string; address: string; zone: string; state: string; healthy: boolean; tokens: number; ownership: number; lastHeartbeat: string }[];
}

/** A raw sample is 16 bytes: an int64 timestamp and a float64 value. */
const rawSampleBytes = 16;

/** statusPage renders /status into root; each block loads on its own. */
export async function statusPage(root: HTMLElement): Promise<void> {
  const blocks = [tsdb(), cluster(), replication(), wal(), storage(), build(), runtime(), flags(), config()];
  for (const b of blocks) {
    const holder = h("div", {});
    root.appendChild(holder);
    b.then((el) => el && holder.appendChild(el)).catch((err) => holder.appendChild(errorBox(err)));
  }
  await Promise.allSettled(blocks);
}

/** stat renders one figure; data-stat names the API field it shows. */
function stat(label: string, field: string, value: string): HTMLElement[] {
  return [h("dt", {}, label), h("dd", { "data-stat": field }, value)];
}

function ranking(title: string, id: string, counted: string, rows: Stat[]): HTMLElement {
  if (rows.length === 0) return section(title, id, h("p", { class: "empty" }, "None: the head holds no series."));
  return section(title, id, table("data", ["Name", counted], rows.map((r) => [r.name, String(r.value)])));
}

async function tsdb(): Promise<HTMLElement> {
  const { data } = await get<TSDBStatus>("api/v1/status/tsdb");
  const s = data.headStats;
  const chunkBytes = s.bytesPerSample * s.numSamples;
  const range = s.numSeries > 0 ? `${formatTime(s.minTime / 1000)} – ${formatTime(s.maxTime / 1000)}` : "empty";
  return h(
    "div",
    { id: "tsdb" },
    section(
      "Head",
      "head-stats",
      h(
        "dl",
        { class: "stats" },
        ...stat("Series", "numSeries", String(s.numSeries)),
        ...stat("Samples", "numSamples", String(s.numSamples)),
        ...stat("Chunks", "chunkCount", String(s.chunkCount)),
        ...stat("Label pairs", "numLabelPairs", String(s.numLabelPairs)),
        ...stat("Bytes per sample", "bytesPerSample", String(s.bytesPerSample)),
        ...stat("Chunk bytes", "chunkBytes", formatBytes(Math.round(chunkBytes))),
        ...stat("Compression ratio", "compressionRatio", s.bytesPerSample > 0 ? `${(rawSampleBytes / s.bytesPerSample).toFixed(1)}×` : "–"),
        ...stat("Time range", "timeRange", range),
      ),
    ),
    ranking("Top metric names by series", "top-metrics", "Series", data.seriesCountByMetricName),
    ranking("Top label pairs by series", "top-pairs", "Series", data.seriesCountByLabelValuePair),
    ranking("Labels by distinct values", "top-labels", "Values", data.labelValueCountByLabelName),
  );
}

async function cluster(): Promise<HTMLElement | null> {
  const ans = await getIfPresent<Cluster>("api/v1/status/cluster");
  if (!ans) return null;
  const c = ans.data;
  const rows = c.members.map((m) => [
    m.name + (m.name === c.self ? " (this node)" : ""),
    m.address,
    m.zone,
    m.state,
    m.healthy ? "yes" : "no",
    String(m.tokens),
    `${(m.ownership * 100).toFixed(1)}%`,
    m.lastHeartbeat,
  ]);
  return section(
    "Cluster ring",
    "cluster",
    h("p", { class: "meta" }, `${c.members.length} member${c.members.length === 1 ? "" : "s"}, replication factor ${c.replicationFactor}`),
    table("data", ["Node", "Address", "Zone", "State", "Healthy", "Tokens", "Ownership", "Last heartbeat"], rows),
  );
}

// The replication status has its own shape; it is shown as the server
// gives it, as a table when it is a list of records.
async function replication(): Promise<HTMLElement | null> {
  const ans = await getIfPresent<unknown>("api/v1/status/replication");
  if (!ans) return null;
  return section("Replication", "replication", render(ans.data));
}

function render(v: unknown): HTMLElement {
  if (Array.isArray(v) && v.length > 0 && v.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
    const cols = [...new Set(v.flatMap((r) => Object.keys(r)))];
    return table("data", cols, v.map((r) => cols.map((c) => text((r as any)[c]))));
  }
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const entries = Object.entries(v);
    const nested = entries.find(([, x]) => Array.isArray(x));
    const flat = entries.filter(([, x]) => !Array.isArray(x));
    return h("div", {}, table("data kv", ["Name", "Value"], flat.map(([k, x]) => [k, text(x)])), nested && h("div", {}, h("h3", {}, nested[0]), render(nested[1])));
  }
  return h("pre", {}, text(v));
}

function text(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

async function wal(): Promise<HTMLElement> {
  const { data } = await get<{ min: number; max: number; current: number }>("api/v1/status/walreplay");
  const state = data.max < 0 ? "no segment to replay" : data.current >= data.max ? "replay done" : "replaying";
  return section("Write-ahead log replay", "wal", table("data kv", ["First segment", "Last segment", "Current", "State"], [[String(data.min), String(data.max), String(data.current), state]]));
}

// The WAL, checkpoint, block, shipper and compaction figures of the
// server's own metrics.
const storagePrefixes = ["gorilla_wal_", "gorilla_head_checkpoint", "gorilla_block_", "gorilla_shipper_", "gorilla_compaction_", "gorilla_rollup_"];

async function storage(): Promise<HTMLElement | null> {
  const res = await fetch("metrics", { credentials: "same-origin" });
  if (!res.ok) return null;
  const samples = parseText(await res.text(), storagePrefixes);
  if (samples.length === 0) return null;
  return section(
    "Storage: WAL, checkpoints, blocks",
    "storage",
    h("p", { class: "meta" }, "From the server's own metrics (/metrics)."),
    table("data kv", ["Metric", "Value"], samples.map((s) => [s.series, s.value])),
  );
}

async function kv(title: string, id: string, path: string): Promise<HTMLElement> {
  const { data } = await get<Record<string, unknown>>(path);
  const rows = Object.keys(data)
    .sort()
    .map((k) => [k, text(data[k])]);
  return section(title, id, table("data kv", ["Name", "Value"], rows));
}

const build = () => kv("Build information", "buildinfo", "api/v1/status/buildinfo");
const runtime = () => kv("Runtime", "runtimeinfo", "api/v1/status/runtimeinfo");
const flags = () => kv("Flags", "flags", "api/v1/status/flags");

async function config(): Promise<HTMLElement> {
  const { data } = await get<{ yaml: string }>("api/v1/status/config");
  return section("Configuration", "config", h("pre", { class: "yaml" }, data.yaml));
}

