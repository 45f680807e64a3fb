// esbuild bundles the imported stylesheets; they export nothing.
declare module "*.css";
