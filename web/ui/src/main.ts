// The UI's entry: one page per path, all drawn in the browser from the
// public HTTP API. The server answers every page path with index.html.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { correlatePage } from "./correlate";
import { h } from "./dom";
import { queryPage } from "./query";
import { seriesPage } from "./series";
import { statusPage } from "./status";

const pages: [string, string, (root: HTMLElement) => void | Promise<void>][] = [
  ["query", "Query", queryPage],
  ["series", "Series", seriesPage],
  ["status", "Status", statusPage],
  ["correlate", "Correlate", correlatePage],
];

function start(): void {
  // The last path segment names the page, so a prefix added by a proxy
  // does not matter.
  const name = location.pathname.replace(/\/+$/, "").split("/").pop() ?? "";
  const page = pages.find(([p]) => p === name) ?? pages[0];
  const nav = document.getElementById("nav")!;
  nav.appendChild(
    h(
      "nav",
      {},
      h("span", { class: "brand" }, "gorilla-remote"),
      ...pages.map(([p, title]) => h("a", { href: p, class: p === page[0] ? "active" : "" }, title)),
    ),
  );
  document.title = `${page[1]} · gorilla-remote`;
  const root = document.getElementById("page")!;
  root.replaceChildren();
  root.dataset.page = page[0];
  void Promise.resolve(page[2](root)).finally(() => {
    root.dataset.loaded = "true";
  });
}

start();
