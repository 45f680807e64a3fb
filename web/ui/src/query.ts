// /query: a PromQL box with completion, a range and step, a graph of
// query_range and a table of an instant query. The state lives in the URL
// (/query?expr=...&range=1h&step=&end=&tab=graph), so a link reproduces a view.
import type uPlot from "uplot";
import { APIError, formatMetric, post, type Metric } from "./api";
import { lineChart } from "./chart";
import { attachCompletion } from "./complete";
import { append, clear, errorBox, h } from "./dom";
import { autoStep, formatTime, parseDuration, parseTime } from "./time";

interface State {
  expr: string;
  range: string;
  step: string;
  end: string;
  tab: "graph" | "table";
}

type Sample = [number, string];
interface RangeSeries {
  metric: Metric;
  values?: Sample[];
  histograms?: [number, unknown][];
}
interface QueryData {
  resultType: "matrix" | "vector" | "scalar" | "string";
  result: any;
}

/** maxLines bounds the series drawn; the table shows them all. */
const maxLines = 100;

function readState(): State {
  const q = new URLSearchParams(location.search);
  return {
    expr: q.get("expr") ?? "",
    range: q.get("range") || "1h",
    step: q.get("step") ?? "",
    end: q.get("end") ?? "",
    tab: q.get("tab") === "table" ? "table" : "graph",
  };
}

function writeState(s: State): void {
  const q = new URLSearchParams();
  q.set("expr", s.expr);
  q.set("range", s.range);
  if (s.step) q.set("step", s.step);
  if (s.end) q.set("end", s.end);
  q.set("tab", s.tab);
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

/** queryPage renders /query into root. */
export function queryPage(root: HTMLElement): void {
  const state = readState();
  const expr = h("textarea", { id: "expr", rows: 2, spellcheck: "false", placeholder: "PromQL expression (Enter runs, Shift+Enter adds a line)", autocomplete: "off" });
  expr.value = state.expr;
  const range = h("input", { id: "range", size: 6, value: state.range, title: "range, as 1h or 30m" });
  const step = h("input", { id: "step", size: 6, value: state.step, placeholder: "auto", title: "step, as 15s; empty picks one" });
  const end = h("input", { id: "end", size: 22, value: state.end, placeholder: "now", title: "end, Unix seconds or RFC 3339" });
  const run = h("button", { id: "run", type: "button" }, "Execute");
  const graphTab = h("button", { id: "tab-graph", type: "button", role: "tab" }, "Graph");
  const tableTab = h("button", { id: "tab-table", type: "button", role: "tab" }, "Table");
  const status = h("div", { id: "status", class: "status" });
  const out = h("div", { id: "output" });
  let chart: uPlot | null = null;

  const execute = async () => {
    state.expr = expr.value.trim();
    state.range = range.value.trim() || "1h";
    state.step = step.value.trim();
    state.end = end.value.trim();
    writeState(state);
    graphTab.classList.toggle("active", state.tab === "graph");
    tableTab.classList.toggle("active", state.tab === "table");
    chart?.destroy();
    chart = null;
    clear(out);
    clear(status);
    if (!state.expr) return;
    try {
      if (state.tab === "graph") chart = await graph(out, status, state);
      else await instant(out, status, state);
    } catch (err) {
      clear(out);
      out.appendChild(errorBox(err));
    }
  };
  graphTab.addEventListener("click", () => {
    state.tab = "graph";
    void execute();
  });
  tableTab.addEventListener("click", () => {
    state.tab = "table";
    void execute();
  });
  run.addEventListener("click", () => void execute());
  const list = attachCompletion(expr, () => void execute());
  append(
    root,
    h("div", { class: "query-box" }, expr, list),
    h("div", { class: "controls" }, h("label", {}, "Range ", range), h("label", {}, "Step ", step), h("label", {}, "End ", end), run),
    h("div", { class: "tabs", role: "tablist" }, graphTab, tableTab),
    status,
    out,
  );
  void execute();
}

function endTime(s: State): number {
  if (!s.end) return Date.now() / 1000;
  const t = parseTime(s.end);
  if (Number.isNaN(t)) throw new APIError(0, "bad_data", `invalid end ${JSON.stringify(s.end)}: not Unix seconds nor RFC 3339`);
  return t;
}

function rangeSeconds(s: State): number {
  const r = parseDuration(s.range);
  if (!(r > 0)) throw new APIError(0, "bad_data", `invalid range ${JSON.stringify(s.range)}: not a duration such as 1h`);
  return r;
}

function notes(status: HTMLElement, warnings: string[], infos: string[]): void {
  for (const w of warnings) status.appendChild(h("div", { class: "warning" }, `warning: ${w}`));
  for (const i of infos) status.appendChild(h("div", { class: "info" }, `info: ${i}`));
}

async function graph(out: HTMLElement, status: HTMLElement, s: State): Promise<uPlot | null> {
  const rangeSec = rangeSeconds(s);
  const endSec = Math.floor(endTime(s));
  const stepSec = s.step ? parseDuration(s.step) : autoStep(rangeSec);
  if (!(stepSec > 0)) throw new APIError(0, "bad_data", `invalid step ${JSON.stringify(s.step)}: not a duration such as 15s`);
  const start = endSec - rangeSec;
  const ans = await post<QueryData>("api/v1/query_range", { query: s.expr, start: String(start), end: String(endSec), step: String(stepSec) });
  notes(status, ans.warnings, ans.infos);
  const series = (ans.data.result as RangeSeries[]).filter((r) => r.values && r.values.length > 0);
  if (series.length === 0) {
    out.appendChild(h("p", { class: "empty" }, "No data points in the range."));
    return null;
  }
  // Every point lies on the step grid start + k*step.
  const n = Math.floor((endSec - start) / stepSec) + 1;
  const xs = Array.from({ length: n }, (_, k) => start + k * stepSec);
  const lines = series.slice(0, maxLines).map((r) => {
    const values: (number | null)[] = new Array(n).fill(null);
    for (const [t, v] of r.values!) {
      const k = Math.round((t - start) / stepSec);
      if (k >= 0 && k < n) values[k] = parseFloat(v);
    }
    return { label: formatMetric(r.metric), values };
  });
  if (series.length > maxLines) status.appendChild(h("div", { class: "warning" }, `showing ${maxLines} of ${series.length} series`));
  const el = h("div", { id: "graph", class: "graph" });
  out.appendChild(el);
  return lineChart(el, xs, lines);
}

async function instant(out: HTMLElement, status: HTMLElement, s: State): Promise<void> {
  const params: Record<string, string> = { query: s.expr };
  if (s.end) params.time = String(endTime(s));
  const ans = await post<QueryData>("api/v1/query", params);
  notes(status, ans.warnings, ans.infos);
  const rows: [string, string][] = [];
  const { resultType, result } = ans.data;
  switch (resultType) {
    case "vector":
      for (const r of result as { metric: Metric; value?: Sample; histogram?: [number, unknown] }[]) {
        rows.push([formatMetric(r.metric), r.value ? r.value[1] : JSON.stringify(r.histogram?.[1])]);
      }
      break;
    case "matrix":
      for (const r of result as RangeSeries[]) {
        rows.push([formatMetric(r.metric), (r.values ?? []).map(([t, v]) => `${v} @${t}`).join("\n")]);
      }
      break;
    default:
      rows.push([resultType, (result as Sample)[1]]);
  }
  if (rows.length === 0) {
    out.appendChild(h("p", { class: "empty" }, "Empty query result."));
    return;
  }
  const tbody = h("tbody", {});
  for (const [m, v] of rows) tbody.appendChild(h("tr", { class: "result-row" }, h("td", { class: "series" }, m), h("td", { class: "value" }, v)));
  const at = s.end ? formatTime(endTime(s)) : "now";
  out.appendChild(h("p", { class: "meta" }, `${rows.length} ${rows.length === 1 ? "result" : "results"} at ${at}`));
  out.appendChild(h("table", { id: "result-table", class: "data" }, h("thead", {}, h("tr", {}, h("th", {}, "Series"), h("th", {}, "Value"))), tbody));
}
