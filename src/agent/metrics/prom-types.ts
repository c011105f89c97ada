// The shapes of a parsed Prometheus or OpenMetrics exposition (prom-text.ts, prom-text-reference.ts).

/** One sample line. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: the samples and the declared type of each family (`# TYPE`). */
export interface PromExposition {
  /** The samples, or those of the `keep` names when the parse was given some. */
  samples: PromSample[];
  types: Map<string, string>;
  /** Samples in the exposition, kept or not (every line checked either way). */
  count: number;
}

/** Why an exposition could not be read: the line (1-based) and what was wrong. */
export interface PromParseError {
  line: number;
  message: string;
}

/** Limits and format of one parse. */
export interface PromParseLimits {
  /** OpenMetrics text (the scrape's content type said so): it must end with `# EOF` (a body cut short
   * fails rather than showing part of the series), and samples may carry exemplars. @default false */
  openMetrics?: boolean;
  /** @default 100000 */
  maxSamples?: number;
  /** @default 65536 */
  maxLineChars?: number;
  /** Only samples of these names are returned (each line is still checked and counted): a scrape
   * needs the few its signals and checks read, not the hundreds an exporter writes. @default all */
  keep?: ReadonlySet<string>;
}

/** True when a parse failed. */
export function isParseError(r: PromExposition | PromParseError): r is PromParseError {
  return "message" in r;
}
