// Line and bar charts drawn with uPlot.
import uPlot from "uplot";

const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** A named series of values, one per x (null where there is none). */
export interface Line {
  label: string;
  values: (number | null)[];
}

function width(el: HTMLElement): number {
  return Math.max(300, el.clientWidth || 800);
}

// Charts follow the window's width; each one removes its listener when it
// is destroyed (a page replaces its charts on every run).
function track(el: HTMLElement, u: uPlot): uPlot {
  const onResize = () => u.setSize({ width: width(el), height: u.height });
  window.addEventListener("resize", onResize);
  const destroy = u.destroy.bind(u);
  u.destroy = () => {
    window.removeEventListener("resize", onResize);
    destroy();
  };
  return u;
}

/**
 * lineChart draws lines over xs (Unix seconds) into el and returns the
 * chart; the caller destroys it before drawing the next one.
 */
export function lineChart(el: HTMLElement, xs: number[], lines: Line[], yLabel = "", yRange?: [number, number]): uPlot {
  const opts: uPlot.Options = {
    width: width(el),
    height: 320,
    scales: yRange ? { y: { range: yRange } } : {},
    series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: false }))],
    axes: [{}, { label: yLabel, size: 70 }],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  return track(el, new uPlot(opts, [xs, ...lines.map((l) => l.values)] as uPlot.AlignedData, el));
}

/** barChart draws one bar per x (not time) into el. */
export function barChart(el: HTMLElement, xs: number[], ys: number[], label: string, xLabel: string): uPlot {
  const bars = uPlot.paths.bars!({ size: [0.6, 40] });
  const opts: uPlot.Options = {
    width: width(el),
    height: 240,
    scales: { x: { time: false, range: [xs[0] - 0.5, xs[xs.length - 1] + 0.5] }, y: { range: [-1, 1] } },
    series: [{ label: xLabel }, { label, stroke: palette[0], fill: palette[0] + "99", paths: bars, points: { show: false } }],
    axes: [{ label: xLabel }, { size: 50 }],
  };
  return track(el, new uPlot(opts, [xs, ys], el));
}
