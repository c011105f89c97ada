// What the CLI and the server use from the spec layer (users import index.ts instead).
export { loadSpecFile } from "./load.ts";
export { checkJobSpec, compileJobs, validateJobSpec } from "./validate.ts";
export { jobJsonSchema } from "./schema.ts";
export { parseDuration, parseSize } from "./units.ts";
export { decompileJob, formatDuration, formatMode, formatSize, specFileText } from "./decompile.ts";
