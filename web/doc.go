// Package web serves gorilla-remote's built-in UI: the pages /query,
// /series, /status and /correlate, drawn in the browser from the public
// HTTP API, and / redirecting to /query.
//
// The front end lives in ui/ (TypeScript and uPlot, bundled by esbuild);
// `make ui` builds it into dist/, which is committed and embedded in the
// binary, so serving the UI needs no Node.js and no network:
//
//	dist/index.html              every page path answers it (no-cache)
//	dist/assets/app-HASH.js      the script, named by its content hash
//	dist/assets/app-HASH.css     the stylesheet, likewise
//
// Assets are served under /ui/assets/ with a year-long immutable cache:
// a new build gives new names. The Go side serves files only; the pages
// talk to the API themselves (docs/ui.md).
package web
