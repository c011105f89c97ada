// Host-wide claims of user id ranges, so several agents on one machine (`tiffin dev` runs three; test
// hosts in network namespaces) never give two jobs the same host users. Each agent's table
// (userns-store.ts) says which job has which range; a claim says which agent has it: a symlink
// `CLAIMS/<slot>` -> the agent's data dir, made atomically (symlink fails if one exists). A claim is
// stale, and may be taken, when its agent's table no longer lists the slot (its data dir was removed, or
// it gave the range up) and it is over a minute old (a claim is made just before its table is written).
// Taking one moves it aside first (one rename wins) and checks what it moved.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

/** What a claim's check reads of another agent's range table (userns-store.ts): its jobs' slots. */
const tableSlots = z.object({ jobs: z.record(z.string(), z.object({ slot: z.number() })) });

/** The range table's file in a data dir (userns-store.ts). */
export function rangesFile(dataDir: string): string {
  return path.join(dataDir, "userns-ranges.json");
}

/** Where root agents claim ranges: outside any data dir, and out of every sandbox (tasks get a private /var). */
export const DefaultClaimsDir = "/var/lib/tiffin-userns";

/** Options of RangeClaims. */
export interface RangeClaimsOptions {
  /** The host-wide claims directory. */
  dir: string;
  /** This agent's data dir (what its claims point to). */
  dataDir: string;
  now?: () => number;
  /** A claim this young is valid whatever its agent's table says. @default 60 s */
  youngMs?: number;
}

/** One agent's side of the host-wide claims. */
export class RangeClaims {
  readonly #o: RangeClaimsOptions;
  readonly #me: string;
  #made = false;

  constructor(o: RangeClaimsOptions) {
    this.#o = o;
    this.#me = path.resolve(o.dataDir);
  }

  /** Makes `slot` this agent's when it is free or its claim is stale; true when it is (now) this agent's. */
  claim(slot: number): boolean {
    if (!this.#made) {
      fs.mkdirSync(this.#o.dir, { recursive: true, mode: 0o700 });
      this.#made = true;
    }
    const p = path.join(this.#o.dir, String(slot));
    for (let tries = 0; tries < 3; tries++) {
      try {
        fs.symlinkSync(this.#me, p);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      let target: string;
      try {
        target = fs.readlinkSync(p);
      } catch {
        continue; // taken away meanwhile: try again
      }
      if (target === this.#me) return true;
      if (this.#valid(p, target, slot)) return false;
      const aside = `${p}.stale-${randomBytes(4).toString("hex")}`;
      try {
        fs.renameSync(p, aside);
      } catch {
        continue;
      }
      try {
        // A claim made between the read and the rename is put back (unless yet another took its place).
        const moved = fs.readlinkSync(aside);
        if (moved !== target) fs.symlinkSync(moved, p);
      } catch {
        // another agent's claim is in place
      }
      fs.rmSync(aside, { force: true });
    }
    return false;
  }

  #valid(p: string, target: string, slot: number): boolean {
    try {
      if ((this.#o.now ?? Date.now)() - fs.lstatSync(p).mtimeMs < (this.#o.youngMs ?? 60_000)) return true;
    } catch {
      return false;
    }
    try {
      const table = tableSlots.safeParse(JSON.parse(fs.readFileSync(rangesFile(target), "utf8")));
      return table.success && Object.values(table.data.jobs).some((e) => e.slot === slot);
    } catch {
      return false;
    }
  }
}
