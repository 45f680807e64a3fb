// /series: metric names with their series counts; a metric's label sets.
import { formatMetric, get, type Metric } from "./api";
import { append, clear, errorBox, h, section, table } from "./dom";

interface TSDBStatus {
  seriesCountByMetricName: { name: string; value: number }[];
}

/** The most series listed for one metric; past it the page says how many more. */
const maxSeries = 1000;

function queryLink(expr: string, text: string): HTMLAnchorElement {
  return h("a", { href: `query?${new URLSearchParams({ expr, tab: "table" })}` }, text);
}

/** seriesPage renders /series (or /series?metric=name) into root. */
export async function seriesPage(root: HTMLElement): Promise<void> {
  const metric = new URLSearchParams(location.search).get("metric");
  try {
    if (metric) await oneMetric(root, metric);
    else await allMetrics(root);
  } catch (err) {
    root.appendChild(errorBox(err));
  }
}

async function allMetrics(root: HTMLElement): Promise<void> {
  const [names, status] = await Promise.all([
    get<string[]>("api/v1/label/__name__/values"),
    get<TSDBStatus>("api/v1/status/tsdb", { limit: "100000" }),
  ]);
  const counts = new Map(status.data.seriesCountByMetricName.map((s) => [s.name, s.value]));
  const filter = h("input", { id: "metric-filter", placeholder: "filter metric names", autocomplete: "off" });
  const body = h("div", {});
  const render = () => {
    clear(body);
    const f = filter.value.toLowerCase();
    const shown = names.data.filter((n) => n.toLowerCase().includes(f));
    const rows = shown.map((n) => [
      h("a", { href: `series?${new URLSearchParams({ metric: n })}`, class: "metric" }, n),
      h("span", { class: "count" }, String(counts.get(n) ?? "")),
    ]);
    append(body, h("p", { class: "meta" }, `${shown.length} of ${names.data.length} metric names`), table("data metrics", ["Metric name", "Series"], rows));
  };
  filter.addEventListener("input", render);
  render();
  append(root, section("Metric names", "metric-names", filter, body));
}

async function oneMetric(root: HTMLElement, metric: string): Promise<void> {
  const selector = `{__name__=${JSON.stringify(metric)}}`;
  const ans = await get<Metric[]>("api/v1/series", { "match[]": selector, limit: String(maxSeries + 1) });
  const sets = ans.data.slice(0, maxSeries).sort((a, b) => formatMetric(a).localeCompare(formatMetric(b)));
  // How many distinct values each label takes among the listed series.
  const values = new Map<string, Set<string>>();
  for (const s of sets) {
    for (const [k, v] of Object.entries(s)) {
      if (k === "__name__") continue;
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(v);
    }
  }
  const labelRows = [...values.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, vs]) => [k, String(vs.size), [...vs].sort().slice(0, 10).join(", ")]);
  append(
    root,
    h("p", {}, h("a", { href: "series" }, "← all metric names")),
    section(
      metric,
      "label-sets",
      h("p", { class: "meta" }, `${sets.length}${ans.data.length > maxSeries ? "+" : ""} series`, " · ", queryLink(metric, "query it")),
      table("data labels", ["Label", "Values", "Some values"], labelRows),
      table("data series", ["Series"], sets.map((s) => [queryLink(formatMetric(s), formatMetric(s))])),
    ),
  );
}
