// The problems of a schedule quote what was written, but short: a 100 KB time zone or cron expression
// (found by spec-fuzz.test.ts) made a 100 KB problem message, echoed whole in the server's 422.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cronProblem, timeZoneProblem } from "./schedule-rules.ts";

const huge = "x".repeat(100_000);
const cases: { name: string; problem: string | null; want: RegExp | null }[] = [
  { name: "a known zone", problem: timeZoneProblem("Europe/Berlin"), want: null },
  { name: "an unknown zone, quoted", problem: timeZoneProblem("Mars/Olympus"), want: /^unknown time zone "Mars\/Olympus": expected an IANA name/ },
  { name: "a huge zone, quoted short", problem: timeZoneProblem(huge), want: /^unknown time zone "x{20,80}\.\.\." \(100000 characters\): expected an IANA name/ },
  { name: "a cron expression", problem: cronProblem("*/5 * * * *"), want: null },
  { name: "a bad cron expression, croner's reason", problem: cronProblem("61 * * * *"), want: /^expected a cron expression such as "\*\/5 \* \* \* \*" .*: / },
  { name: "a huge cron expression, its reason short", problem: cronProblem(`${huge} * * *`), want: /^expected a cron expression .*x{20,80}\.\.\./ },
];

for (const c of cases) {
  void test(`schedule rules: ${c.name}`, () => {
    if (c.want === null) return assert.equal(c.problem, null);
    assert.match(c.problem ?? "", c.want);
    assert.ok((c.problem ?? "").length <= 300, `${(c.problem ?? "").length} characters`);
  });
}
