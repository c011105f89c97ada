// Errors users can meet carry a stable code, a message saying what and where, and a hint.
// Bugs stay plain `Error`s.

/** Stable error codes, shown to users and returned by the API. */
export const ErrorCodes = {
  SpecInvalid: "TIFFIN_SPEC_INVALID",
  SpecLoad: "TIFFIN_SPEC_LOAD",
  Unauthorized: "TIFFIN_UNAUTHORIZED",
  /** The token is valid but its policy lacks the capability a call needs (HTTP 403). */
  Forbidden: "TIFFIN_FORBIDDEN",
  NotFound: "TIFFIN_NOT_FOUND",
  BadRequest: "TIFFIN_BAD_REQUEST",
  TooLarge: "TIFFIN_TOO_LARGE",
  Conflict: "TIFFIN_CONFLICT",
  Unavailable: "TIFFIN_UNAVAILABLE",
  Usage: "TIFFIN_USAGE",
  Timeout: "TIFFIN_TIMEOUT",
  /** A task failed on every host it was given and waits for an apply or `tiffin restart`. */
  Parked: "TIFFIN_TASK_PARKED",
  /** No registered host could ever run a task of the job (too big, constraints none meets). */
  NeverFits: "TIFFIN_NEVER_FITS",
  /** A rollout failed a phase's safety checks (and was rolled back, or paused for a human). */
  RolloutFailed: "TIFFIN_ROLLOUT_FAILED",
  /** A rollout is paused (by a user, or by a failed phase with onFailure "pause"). */
  RolloutPaused: "TIFFIN_ROLLOUT_PAUSED",
  /** A watch asked to start at a revision the store no longer keeps: list again. */
  WatchExpired: "TIFFIN_WATCH_EXPIRED",
  /** `tiffin recommend --write` cannot rewrite a job's resources in its spec file safely (exit 2). */
  SpecEdit: "TIFFIN_SPEC_EDIT",
  /** The recommender has no recommendation for a job yet (too little usage history). */
  NoRecommendation: "TIFFIN_NO_RECOMMENDATION",
  /** The server's answer is not of the shape this client expects (another version, or not a Tiffin server). */
  BadAnswer: "TIFFIN_BAD_ANSWER",
  /** `tiffin agent|server install` or `uninstall` could not write a file or run systemctl. */
  InstallFailed: "TIFFIN_INSTALL_FAILED",
  /** A batch run that `tiffin run --wait` waited for ended failed or cancelled (its items say why). */
  RunFailed: "TIFFIN_RUN_FAILED",
  /** A server's TLS certificate is not the pinned cluster CA's (a wrong --ca-hash, or another server). */
  TlsUntrusted: "TIFFIN_TLS_UNTRUSTED",
} as const;
/** One stable error code. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** One problem found in a spec or request: where it is, what is wrong, the value found. */
export interface Problem {
  /** File the problem is in, when known. */
  file: string | null;
  /** Field path such as `jobs[0].resources.memory`. */
  path: string;
  message: string;
  /** The offending value, as JSON text (absent when the field is missing). */
  value: string | null;
}

/** An error a user can meet and act on. */
export class TiffinError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | null;
  readonly problems: Problem[];
  constructor(code: ErrorCode, message: string, opts: { hint?: string; problems?: Problem[] } = {}) {
    super(message);
    this.name = "TiffinError";
    this.code = code;
    this.hint = opts.hint ?? null;
    this.problems = opts.problems ?? [];
  }
}

/** The value at a field path inside `root` (own properties only), or undefined when there is none. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const s of path) {
    if (typeof v !== "object" || v === null || typeof s === "symbol") return undefined;
    if (!Object.prototype.hasOwnProperty.call(v, s)) return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/** Formats a problem as one line: `file: path: message (got value)`. */
export function formatProblem(p: Problem): string {
  const where = [p.file, p.path || "(root)"].filter((x) => x !== null && x !== "").join(": ");
  return `${where}: ${p.message}${p.value === null ? "" : ` (got ${p.value})`}`;
}
