// The agent's bearer check (host and peer tokens), by a table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bearerMatches } from "./bearer.ts";

void test("bearerMatches: only the exact token in force is let in", () => {
  const token = "s3cret-token_A";
  const cases: { name: string; header: string | undefined; token: string | null; want: boolean }[] = [
    { name: "the token", header: `Bearer ${token}`, token, want: true },
    { name: "scheme in any case, trailing space", header: `bearer ${token} `, token, want: true },
    { name: "no header", header: undefined, token, want: false },
    { name: "no token in force", header: `Bearer ${token}`, token: null, want: false },
    { name: "a prefix of the token", header: `Bearer ${token.slice(0, -1)}`, token, want: false },
    { name: "the token and more", header: `Bearer ${token}x`, token, want: false },
    { name: "one character changed", header: `Bearer ${token.slice(0, -1)}B`, token, want: false },
    { name: "empty bearer", header: "Bearer ", token, want: false },
    { name: "another scheme", header: `Basic ${token}`, token, want: false },
    { name: "empty token in force, empty bearer", header: "Bearer ", token: "", want: false },
  ];
  for (const c of cases) assert.equal(bearerMatches(c.header, c.token), c.want, c.name);
});
