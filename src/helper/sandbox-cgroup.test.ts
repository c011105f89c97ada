import { test } from "node:test";
import assert from "node:assert/strict";
import { favorDynmodsState } from "./sandbox-cgroup.ts";

const features = "nsdelegate\nfavordynmods\nmemory_localevents\n";
const hybrid = (opts: string): string => `cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 ${opts} 0 0\n`;

void test("favorDynmodsState reads the cgroup2 mount's options and the kernel's features", () => {
  const table: { name: string; mounts: string; features: string; want: ReturnType<typeof favorDynmodsState> }[] = [
    { name: "set", mounts: hybrid("rw,relatime,favordynmods"), features, want: "on" },
    { name: "offered, not set", mounts: hybrid("rw,relatime"), features, want: "off" },
    { name: "nsdelegate only", mounts: hybrid("rw,nosuid,nodev,noexec,relatime,nsdelegate"), features, want: "off" },
    { name: "kernel without it", mounts: hybrid("rw,relatime"), features: "nsdelegate\n", want: "unavailable" },
    { name: "no cgroup2 mount", mounts: "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n", features, want: "unavailable" },
  ];
  for (const c of table) assert.equal(favorDynmodsState(c.mounts, c.features), c.want, c.name);
});
