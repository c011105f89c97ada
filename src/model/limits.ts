// Limits that the CLI's checks and the server's must agree on.

/** The largest request body the server reads (a job spec with its files must fit). */
export const MaxRequestBytes = 1 << 20;
