// Completion of metric names, functions, label names and label values in
// a PromQL box, from the server's own label endpoints.
import { get } from "./api";
import { clear, h } from "./dom";

const functions = [
  "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes", "clamp", "clamp_max",
  "clamp_min", "count", "count_over_time", "count_values", "delta", "deriv", "exp", "floor", "group", "histogram_quantile",
  "holt_winters", "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
  "max", "max_over_time", "min", "min_over_time", "predict_linear", "quantile", "quantile_over_time", "rate", "resets",
  "round", "scalar", "sort", "sort_desc", "sqrt", "stddev", "stddev_over_time", "sum", "sum_over_time", "time",
  "timestamp", "topk", "vector",
];
const keywords = ["by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless"];
const maxShown = 50;

/** What the text before the cursor asks for, and the word being typed. */
export interface Context {
  kind: "metric" | "label" | "value";
  word: string;
  metric: string; // the selector's metric name, "" when none
  label: string; // for kind "value": the label being matched
}

/** context reads what to complete from the text before the cursor. */
export function context(before: string): Context {
  const open = before.lastIndexOf("{");
  const inBraces = open > before.lastIndexOf("}");
  if (inBraces) {
    const metric = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(before.slice(0, open))?.[1] ?? "";
    const inside = before.slice(open + 1);
    const value = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (value) return { kind: "value", word: value[3], metric, label: value[1] };
    const word = /([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inside)?.[1] ?? "";
    return { kind: "label", word, metric, label: "" };
  }
  const word = /([a-zA-Z_:][a-zA-Z0-9_:]*)$/.exec(before)?.[1] ?? "";
  return { kind: "metric", word, metric: "", label: "" };
}

/** rank keeps the candidates holding word, prefix matches first. */
export function rank(candidates: string[], word: string): string[] {
  const w = word.toLowerCase();
  const starts = candidates.filter((c) => c.toLowerCase().startsWith(w));
  const holds = candidates.filter((c) => !c.toLowerCase().startsWith(w) && c.toLowerCase().includes(w));
  return [...starts, ...holds].filter((c) => c !== word).slice(0, maxShown);
}

/**
 * attachCompletion adds a completion list under input; onRun is called on
 * Enter when the list is closed (Shift+Enter inserts a new line).
 */
export function attachCompletion(input: HTMLTextAreaElement, onRun: () => void): HTMLElement {
  const list = h("ul", { id: "completions", class: "completions", role: "listbox", hidden: true });
  let items: string[] = [];
  let active = 0;
  let ctx: Context = context("");
  let metricNames: Promise<string[]> | null = null;
  const cache = new Map<string, Promise<string[]>>();

  const cached = (key: string, load: () => Promise<string[]>) => {
    if (!cache.has(key)) cache.set(key, load().catch(() => []));
    return cache.get(key)!;
  };
  const match = (metric: string) => (metric ? { "match[]": metric } : {});
  const candidates = (c: Context): Promise<string[]> => {
    switch (c.kind) {
      case "metric":
        metricNames ??= get<string[]>("api/v1/label/__name__/values").then((a) => a.data).catch(() => []);
        return metricNames.then((names) => [...names, ...functions, ...keywords]);
      case "label":
        return cached(`l:${c.metric}`, () => get<string[]>("api/v1/labels", match(c.metric)).then((a) => a.data.filter((n) => n !== "__name__")));
      case "value":
        return cached(`v:${c.metric}:${c.label}`, () =>
          get<string[]>(`api/v1/label/${encodeURIComponent(c.label)}/values`, match(c.metric)).then((a) => a.data),
        );
    }
  };

  const close = () => {
    list.hidden = true;
    items = [];
  };
  const show = () => {
    clear(list);
    items.forEach((it, i) => {
      const li = h("li", { role: "option", class: i === active ? "active" : "", "data-value": it }, it);
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        accept(i);
      });
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
  };
  const accept = (i: number) => {
    const pos = input.selectionStart ?? input.value.length;
    const start = pos - ctx.word.length;
    const text = items[i];
    input.value = input.value.slice(0, start) + text + input.value.slice(pos);
    input.selectionStart = input.selectionEnd = start + text.length;
    close();
    input.focus();
  };
  let seq = 0;
  const update = async () => {
    const mine = ++seq;
    const pos = input.selectionStart ?? input.value.length;
    const c = context(input.value.slice(0, pos));
    if (c.kind === "metric" && c.word === "") return close();
    const found = rank(await candidates(c), c.word);
    // A later keystroke may have been answered first.
    if (mine !== seq) return;
    ctx = c;
    items = found;
    active = 0;
    show();
  };

  input.addEventListener("input", () => void update());
  input.addEventListener("blur", close);
  input.addEventListener("keydown", (e) => {
    if (!list.hidden) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        show();
        e.preventDefault();
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        accept(active);
        e.preventDefault();
        return;
      }
      if (e.key === "Escape") {
        close();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      onRun();
    }
  });
  return list;
}
