// Builds the dashboard (web/src) into web/dist, served by `tiffin server` at /ui. Hashed file names
// under assets/ let the server cache them for a year. No CDN: everything the page needs is bundled.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/ui/",
  build: { outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false, target: "es2022", reportCompressedSize: true },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
