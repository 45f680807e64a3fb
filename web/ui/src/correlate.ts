// /correlate: Pearson and Spearman coefficients of two queries over a
// range, their rolling correlation, and the autocorrelation of the first
// query by lag. State in the URL: ?x=...&y=...&range=1h&step=&window=10.
import type uPlot from "uplot";
import { APIError, formatMetric, post, type Metric } from "./api";
import { barChart, lineChart } from "./chart";
import { append, clear, errorBox, h, section } from "./dom";
import { autoStep, parseDuration } from "./time";

interface Pair {
  metric: Metric;
  x: Metric;
  y: Metric;
  coefficient?: string;
  reason?: string;
  points: number;
  rolling?: { metric: Metric; values: [number, string][] };
}
interface CorrData {
  method: string;
  window?: number;
  pairs: Pair[];
}
interface ACFData {
  maxLag: number;
  series: { metric: Metric; points: number; acf: [number, string][] }[];
}

const fields = ["x", "y", "range", "step", "window"] as const;
type Field = (typeof fields)[number];
const defaults: Record<Field, string> = { x: "", y: "", range: "1h", step: "", window: "10" };

/** coefficientText shows a coefficient to 4 decimals, or why there is none. */
export function coefficientText(p: Pair | undefined): string {
  if (!p) return "–";
  if (p.coefficient === undefined) return p.reason ?? "–";
  return parseFloat(p.coefficient).toFixed(4);
}

/** correlatePage renders /correlate into root. */
export function correlatePage(root: HTMLElement): void {
  const q = new URLSearchParams(location.search);
  const inputs = {} as Record<Field, HTMLInputElement>;
  for (const f of fields) {
    inputs[f] = h("input", { id: `corr-${f}`, value: q.get(f) || defaults[f], autocomplete: "off", spellcheck: "false", class: f === "x" || f === "y" ? "expr" : "" });
  }
  inputs.step.placeholder = "auto";
  const run = h("button", { id: "corr-run", type: "button" }, "Correlate");
  const out = h("div", { id: "corr-output" });
  let charts: uPlot[] = [];
  const execute = async () => {
    const next = new URLSearchParams();
    for (const f of fields) if (inputs[f].value.trim()) next.set(f, inputs[f].value.trim());
    history.replaceState(null, "", `${location.pathname}?${next}`);
    charts.forEach((c) => c.destroy());
    charts = [];
    clear(out);
    if (!inputs.x.value.trim() || !inputs.y.value.trim()) return;
    try {
      charts = await correlate(out, Object.fromEntries(fields.map((f) => [f, inputs[f].value.trim()])) as Record<Field, string>);
    } catch (err) {
      clear(out);
      out.appendChild(errorBox(err));
    }
  };
  run.addEventListener("click", () => void execute());
  for (const f of fields) inputs[f].addEventListener("keydown", (e) => e.key === "Enter" && void execute());
  append(
    root,
    h(
      "div",
      { class: "controls corr" },
      h("label", {}, "x ", inputs.x),
      h("label", {}, "y ", inputs.y),
      h("label", {}, "Range ", inputs.range),
      h("label", {}, "Step ", inputs.step),
      h("label", {}, "Window ", inputs.window),
      run,
    ),
    out,
  );
  void execute();
}

async function correlate(out: HTMLElement, v: Record<Field, string>): Promise<uPlot[]> {
  const rangeSec = parseDuration(v.range);
  if (!(rangeSec > 0)) throw new APIError(0, "bad_data", `invalid range ${JSON.stringify(v.range)}: not a duration such as 1h`);
  const stepSec = v.step ? parseDuration(v.step) : autoStep(rangeSec);
  if (!(stepSec > 0)) throw new APIError(0, "bad_data", `invalid step ${JSON.stringify(v.step)}: not a duration such as 15s`);
  const end = Math.floor(Date.now() / 1000);
  const span = { start: String(end - rangeSec), end: String(end), step: String(stepSec) };
  const [pearson, spearman, acf] = await Promise.all([
    post<CorrData>("api/v1/correlate", { ...span, x: v.x, y: v.y, method: "pearson", window: v.window || undefined }),
    post<CorrData>("api/v1/correlate", { ...span, x: v.x, y: v.y, method: "spearman" }),
    post<ACFData>("api/v1/autocorrelation", { ...span, query: v.x }),
  ]);
  for (const w of [...pearson.warnings, ...spearman.warnings]) out.appendChild(h("div", { class: "warning" }, `warning: ${w}`));
  const bySeries = new Map(spearman.data.pairs.map((p) => [formatMetric(p.metric), p]));
  const tbody = h("tbody", {});
  for (const p of pearson.data.pairs) {
    const key = formatMetric(p.metric);
    tbody.appendChild(
      h(
        "tr",
        { class: "pair" },
        h("td", { class: "series" }, formatMetric(p.x), " ~ ", formatMetric(p.y)),
        h("td", { class: "pearson" }, coefficientText(p)),
        h("td", { class: "spearman" }, coefficientText(bySeries.get(key))),
        h("td", { class: "points" }, String(p.points)),
      ),
    );
  }
  out.appendChild(
    section(
      "Coefficients",
      "coefficients",
      pearson.data.pairs.length === 0
        ? h("p", { class: "empty" }, "No pair of series to correlate.")
        : h("table", { class: "data", id: "corr-table" }, h("thead", {}, h("tr", {}, h("th", {}, "Pair"), h("th", {}, "Pearson"), h("th", {}, "Spearman"), h("th", {}, "Points"))), tbody),
    ),
  );
  const charts: uPlot[] = [];
  const rolling = pearson.data.pairs.filter((p) => p.rolling && p.rolling.values.length > 0);
  if (rolling.length > 0) {
    const xs = [...new Set(rolling.flatMap((p) => p.rolling!.values.map(([t]) => t)))].sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    const lines = rolling.map((p) => {
      const values: (number | null)[] = new Array(xs.length).fill(null);
      for (const [t, r] of p.rolling!.values) values[index.get(t)!] = parseFloat(r);
      return { label: formatMetric(p.metric), values };
    });
    const el = h("div", { id: "rolling-graph", class: "graph" });
    out.appendChild(section(`Rolling Pearson over ${pearson.data.window} steps`, "rolling", el));
    charts.push(lineChart(el, xs, lines, "r", [-1, 1]));
  }
  const acfSection = section(`Autocorrelation of x (lags 1–${acf.data.maxLag} steps of ${stepSec}s)`, "acf");
  out.appendChild(acfSection);
  for (const s of acf.data.series.slice(0, 10)) {
    acfSection.appendChild(h("h3", {}, formatMetric(s.metric)));
    if (s.acf.length === 0) {
      acfSection.appendChild(h("p", { class: "empty" }, `No lag has an autocorrelation (${s.points} points; a constant series has none).`));
      continue;
    }
    const el = h("div", { class: "graph acf-graph" });
    acfSection.appendChild(el);
    charts.push(barChart(el, s.acf.map(([lag]) => lag), s.acf.map(([, r]) => parseFloat(r)), "autocorrelation", "lag"));
  }
  return charts;
}
