// Builds the UI into ../dist: dist/index.html and dist/assets/app-HASH.{js,css}.
// The output depends only on the sources and the locked package versions
// (no dates, no absolute paths, no source maps), so a rebuild of the same
// commit gives the same bytes, which CI checks.
import * as esbuild from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const assets = join(dist, "assets");

rmSync(dist, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/main.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: assets,
  entryNames: "app-[hash]",
  legalComments: "none",
  charset: "utf8",
  metafile: true,
  logLevel: "warning",
});

let js = "";
let css = "";
for (const out of Object.keys(result.metafile.outputs)) {
  if (out.endsWith(".js")) js = basename(out);
  if (out.endsWith(".css")) css = basename(out);
}
if (!js || !css) {
  throw new Error(`build produced no script or no stylesheet: ${Object.keys(result.metafile.outputs)}`);
}
const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("__APP_JS__", js)
  .replace("__APP_CSS__", css);
writeFileSync(join(dist, "index.html"), html);
console.log(`built ${js} and ${css}`);
