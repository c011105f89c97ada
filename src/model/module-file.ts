// Tiffin runs from its TypeScript sources in a checkout (Node strips the types) and from the
// JavaScript that `npm run build` emits to dist/ in an installed package, where Node refuses to strip
// types (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING). tsc rewrites import specifiers, but not the
// files a module names at run time (a worker thread, a child process's entry point): those go here.

/**
 * The URL of the module file `relative` (written as in the sources, with `.ts`) beside the module at
 * `base` (its `import.meta.url`): the `.ts` file when `base` is a source, the emitted `.js` when
 * `base` is itself built JavaScript.
 */
export function moduleFile(relative: string, base: string): URL {
  const url = new URL(relative, base);
  if (!new URL(base).pathname.endsWith(".js") || !url.pathname.endsWith(".ts")) return url;
  url.pathname = `${url.pathname.slice(0, -".ts".length)}.js`;
  return url;
}
