// The index's memory: hosts in typed arrays by slot (hot loops read numbers, not objects), the
// failure-domain tree root > datacenter > cluster > rack > host, tasks by job, per-job counts per
// domain (for spread) and per-tag counts per rack (for anti-affinity). Everything here is kept
// exact incrementally; derived caches (pools, summaries) only hold stamps and dirty flags.

import { bookedMemoryMiB, domainKey } from "../model/index.ts";
import type { Resources } from "../model/index.ts";
import type { SchedHost } from "./types.ts";
import { hash32 } from "./hash.ts";
import { parseVersion } from "./versions.ts";
import type { Version } from "./versions.ts";

/** Tree levels, root first. A spread level is one of them ("none" is the root). */
export const ROOT = 0;
/** Datacenter level (its key includes the region). */
export const DC = 1;
/** Cluster level. */
export const CLUSTER = 2;
/** Rack level: its children are host slots. */
export const RACK = 3;

/** Fields of a host's record in `hv`, one cache line (8 doubles) per host so a rack scan streams. */
export const CORES = 0;
/** Memory capacity, MiB. */
export const MEM = 1;
/** Disk capacity, MiB. */
export const DISK = 2;
/** Booked CPU. */
export const UCPU = 3;
/** Booked memory. */
export const UMEM = 4;
/** Booked disk. */
export const UDISK = 5;
/** hash32 of the host id (its tie order). */
export const HASH = 6;
/** Bumped whenever the host's static properties change; pools compare it to trust their cache. */
export const STAMP = 7;
/** Doubles per host in `hv`. */
export const STRIDE = 8;

/** One failure domain. */
export interface TreeNode {
  id: number;
  key: string;
  level: number;
  parent: number;
  /** hash32(key): the domain's place in every plan's tie order. */
  hash: number;
  /** Child node ids, or host slots for a rack. */
  children: number[];
  /** Bounds over its hosts for the search (see summary.ts); null until first asked. */
  summary: Float64Array | null;
  dirty: boolean;
}

/** The domains of one level, sorted by hash then id: every plan's seeded walk is a rotation of it. */
export interface DomainList {
  nodes: Int32Array;
  hashes: Uint32Array;
}

/** A placed task as the index keeps it, with what it books. */
export interface TaskRec extends Resources {
  job: string;
  index: number;
  slot: number;
  antiAffinity: string | null;
}

/** A task in its host's list: an intrusive doubly linked list, so a host needs no Set of its own. */
interface Linked extends TaskRec {
  prev: Linked | null;
  next: Linked | null;
}

/** A job's tasks and how many of them sit in each domain (by node id, levels datacenter to rack). */
export interface JobRec {
  tasks: Map<number, TaskRec>;
  counts: Map<number, number>;
}

/** Cluster state by slot. Slots of removed hosts are reused. */
export class ClusterState {
  capacity = 0;
  hosts: (SchedHost | null)[] = [];
  slotOf = new Map<string, number>();
  freeSlots: number[] = [];
  /** Host records, STRIDE doubles per slot (fields above). */
  hv = new Float64Array(0);
  /** Ancestor node ids, four per slot: root, datacenter, cluster, rack. */
  anc = new Int32Array(0);
  schedulable = new Uint8Array(0);
  /** First task of each slot's list. */
  #head: (Linked | null)[] = [];
  nodes: TreeNode[] = [];
  nodeOf = new Map<string, number>();
  jobs = new Map<string, JobRec>();
  tags = new Map<string, Map<number, number>>();
  /** Bumped when any host is added, removed or changes static properties (pools rebuild domain lists). */
  version = 0;
  #stampSeq = 0;
  liveHosts = 0;
  /** Each host's kernel version, parsed once. */
  kernels: (Version | null)[] = [];
  #lists: (DomainList | null)[] = [];
  /** Parsed kernel strings: a fleet runs a handful of kernels. */
  #kernelMemo = new Map<string, Version | null>();

  /** MiB every task books on its host beyond its own memory (the model's TaskOverheadMiB, via ClusterIndex). */
  readonly taskOverheadMiB: number;

  constructor(taskOverheadMiB = 0) {
    this.taskOverheadMiB = taskOverheadMiB;
    this.#node("", ROOT, -1);
  }

  /** Adds a host or updates it in place; a host that moved domains keeps its tasks (they are re-counted). */
  upsert(h: SchedHost): number {
    const old = this.slotOf.get(h.id);
    if (old !== undefined) {
      const prev = this.hosts[old]!;
      if (sameDomain(prev, h)) {
        this.hosts[old] = h;
        this.#setCapacity(old, h);
        if (!sameStatic(prev, h)) this.#touch(old);
        this.markDirty(old);
        return old;
      }
      const tasks = this.tasksOn(old);
      for (const t of tasks) this.release(t.job, t.index);
      this.remove(h.id);
      const slot = this.upsert(h);
      for (const t of tasks) this.assign({ ...t, slot });
      return slot;
    }
    const slot = this.freeSlots.pop() ?? this.#grow();
    this.hosts[slot] = h;
    this.slotOf.set(h.id, slot);
    this.#setCapacity(slot, h);
    this.hv[slot * STRIDE + UCPU] = 0;
    this.hv[slot * STRIDE + UMEM] = 0;
    this.hv[slot * STRIDE + UDISK] = 0;
    this.hv[slot * STRIDE + HASH] = hash32(h.id);
    this.#head[slot] = null;
    // Most hosts join a known rack: one key and one lookup, the rest from the parents.
    const rackKey = domainKey(h.domain, "rack");
    let rack = this.nodeOf.get(rackKey);
    if (rack === undefined) {
      const dc = this.#ensure(domainKey(h.domain, "datacenter"), DC, 0);
      rack = this.#ensure(rackKey, RACK, this.#ensure(domainKey(h.domain, "cluster"), CLUSTER, dc));
    }
    const cl = this.nodes[rack]!.parent;
    const b = slot * 4;
    this.anc[b] = 0;
    this.anc[b + DC] = this.nodes[cl]!.parent;
    this.anc[b + CLUSTER] = cl;
    this.anc[b + RACK] = rack;
    this.nodes[rack]!.children.push(slot);
    this.liveHosts++;
    this.#touch(slot);
    this.markDirty(slot);
    return slot;
  }

  /** Removes a host and the tasks on it, returning those tasks. */
  remove(id: string): TaskRec[] {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return [];
    const tasks = this.tasksOn(slot);
    for (const t of tasks) this.release(t.job, t.index);
    this.markDirty(slot);
    const rack = this.nodes[this.anc[slot * 4 + RACK]!]!;
    rack.children.splice(rack.children.indexOf(slot), 1);
    this.hosts[slot] = null;
    this.schedulable[slot] = 0;
    this.slotOf.delete(id);
    this.freeSlots.push(slot);
    this.liveHosts--;
    this.#touch(slot);
    return tasks;
  }

  /** Records a task on its slot, replacing an earlier record of the same job/index. */
  assign(task: TaskRec): void {
    this.release(task.job, task.index);
    const job = this.job(task.job);
    const head = this.#head[task.slot] ?? null;
    const t: Linked = { job: task.job, index: task.index, slot: task.slot, cpu: task.cpu, memoryMiB: task.memoryMiB, diskMiB: task.diskMiB, antiAffinity: task.antiAffinity, prev: null, next: head };
    if (head) head.prev = t;
    this.#head[t.slot] = t;
    job.tasks.set(t.index, t);
    this.occupy(t.slot, job, t.cpu, bookedMemoryMiB(t.memoryMiB, this.taskOverheadMiB), t.diskMiB, t.antiAffinity, 1);
  }

  /** Forgets a task; false when it was not placed. */
  release(jobName: string, index: number): boolean {
    const job = this.jobs.get(jobName);
    const t = job?.tasks.get(index);
    if (!job || !t) return false;
    job.tasks.delete(index);
    const l = t as Linked;
    if (l.prev) l.prev.next = l.next;
    else this.#head[t.slot] = l.next;
    if (l.next) l.next.prev = l.prev;
    this.occupy(t.slot, job, -t.cpu, -bookedMemoryMiB(t.memoryMiB, this.taskOverheadMiB), -t.diskMiB, t.antiAffinity, -1);
    if (job.tasks.size === 0 && job.counts.size === 0) this.jobs.delete(jobName);
    return true;
  }

  /** Every domain at a level, sorted by hash then id (cached until a domain is added). */
  domains(level: number): DomainList {
    const cached = this.#lists[level];
    if (cached) return cached;
    const ids: number[] = [];
    for (const n of this.nodes) if (n.level === level) ids.push(n.id);
    ids.sort((a, b) => this.nodes[a]!.hash - this.nodes[b]!.hash || a - b);
    const list: DomainList = { nodes: Int32Array.from(ids), hashes: Uint32Array.from(ids, (id) => this.nodes[id]!.hash) };
    this.#lists[level] = list;
    return list;
  }

  /** The tasks on a slot, newest first. */
  tasksOn(slot: number): TaskRec[] {
    const out: TaskRec[] = [];
    for (let t = this.#head[slot] ?? null; t; t = t.next) out.push(t);
    return out;
  }

  /** The record of a job, created empty when missing. */
  job(name: string): JobRec {
    let j = this.jobs.get(name);
    if (!j) {
      j = { tasks: new Map(), counts: new Map() };
      this.jobs.set(name, j);
    }
    return j;
  }

  /** Adds (sign 1) or removes (sign -1) one task's load, domain counts and tag. Resources carry their sign. */
  occupy(slot: number, job: JobRec, cpu: number, mem: number, disk: number, tag: string | null, sign: 1 | -1): void {
    this.hv[slot * STRIDE + UCPU] = this.hv[slot * STRIDE + UCPU]! + cpu;
    this.hv[slot * STRIDE + UMEM] = this.hv[slot * STRIDE + UMEM]! + mem;
    this.hv[slot * STRIDE + UDISK] = this.hv[slot * STRIDE + UDISK]! + disk;
    this.count(slot, job, tag, sign);
  }

  /** Moves a task's domain counts and its tag count, leaving resources alone (plans restore those exactly). */
  count(slot: number, job: JobRec, tag: string | null, sign: 1 | -1): void {
    const base = slot * 4;
    for (let l = DC; l <= RACK; l++) {
      const node = this.anc[base + l]!;
      const c = (job.counts.get(node) ?? 0) + sign;
      if (c === 0) job.counts.delete(node);
      else job.counts.set(node, c);
    }
    if (tag !== null) {
      const rack = this.anc[base + RACK]!;
      let m = this.tags.get(tag);
      if (!m) this.tags.set(tag, (m = new Map()));
      const c = (m.get(rack) ?? 0) + sign;
      if (c === 0) m.delete(rack);
      else m.set(rack, c);
    }
    this.markDirty(slot);
  }

  /** Marks a host's rack and its ancestors stale. A dirty node's ancestors are always dirty, so the walk stops early. */
  markDirty(slot: number): void {
    for (let l = RACK; l >= ROOT; l--) {
      const n = this.nodes[this.anc[slot * 4 + l]!]!;
      if (n.dirty) return;
      n.dirty = true;
    }
  }

  /** The domain node of a host at a level. */
  ancestor(slot: number, level: number): number {
    return this.anc[slot * 4 + level]!;
  }

  #setCapacity(slot: number, h: SchedHost): void {
    let v = this.#kernelMemo.get(h.kernel);
    if (v === undefined) this.#kernelMemo.set(h.kernel, (v = parseVersion(h.kernel)));
    this.kernels[slot] = v;
    this.hv[slot * STRIDE + CORES] = h.cores;
    this.hv[slot * STRIDE + MEM] = h.memoryMiB;
    this.hv[slot * STRIDE + DISK] = h.diskMiB;
    this.schedulable[slot] = h.schedulable ? 1 : 0;
  }

  #touch(slot: number): void {
    this.hv[slot * STRIDE + STAMP] = ++this.#stampSeq;
    this.version++;
  }

  #ensure(key: string, level: number, parent: number): number {
    const id = this.nodeOf.get(key);
    if (id !== undefined) return id;
    const n = this.#node(key, level, parent);
    this.nodes[parent]!.children.push(n);
    return n;
  }

  #node(key: string, level: number, parent: number): number {
    const id = this.nodes.length;
    this.nodes.push({ id, key, level, parent, hash: hash32(key), children: [], summary: null, dirty: true });
    // Keep "a dirty node's ancestors are dirty": the new domain changes its parents' summaries.
    for (let p = parent; p >= 0 && !this.nodes[p]!.dirty; p = this.nodes[p]!.parent) this.nodes[p]!.dirty = true;
    this.#lists[level] = null;
    this.nodeOf.set(key, id);
    return id;
  }

  #grow(): number {
    const slot = this.capacity;
    const cap = Math.max(16, this.capacity * 2);
    const hv = new Float64Array(cap * STRIDE);
    hv.set(this.hv);
    this.hv = hv;
    const anc = new Int32Array(cap * 4);
    anc.set(this.anc);
    this.anc = anc;
    const sc = new Uint8Array(cap);
    sc.set(this.schedulable);
    this.schedulable = sc;
    for (let i = cap - 1; i > slot; i--) this.freeSlots.push(i);
    this.hosts.length = cap;
    this.hosts.fill(null, slot);
    this.#head.length = cap;
    this.#head.fill(null, slot);
    this.capacity = cap;
    return slot;
  }
}

function sameDomain(a: SchedHost, b: SchedHost): boolean {
  return a.domain.region === b.domain.region && a.domain.datacenter === b.domain.datacenter && a.domain.cluster === b.domain.cluster && a.domain.rack === b.domain.rack;
}

/** True when nothing the static filters read has changed. */
function sameStatic(a: SchedHost, b: SchedHost): boolean {
  if (a.schedulable !== b.schedulable || a.os.id !== b.os.id || a.os.version !== b.os.version || a.kernel !== b.kernel) return false;
  // The sandbox and capabilities filters read these too: an agent restarted with a runtime or with
  // other --allow-capabilities must be judged again.
  if ((a.sandbox ?? true) !== (b.sandbox ?? true)) return false;
  if ((a.unsandboxed ?? true) !== (b.unsandboxed ?? true)) return false;
  const ca = a.capabilities ?? [];
  const cb = b.capabilities ?? [];
  if (ca.length !== cb.length || ca.some((c, i) => cb[i] !== c)) return false;
  const ka = Object.keys(a.labels);
  if (ka.length !== Object.keys(b.labels).length) return false;
  return ka.every((k) => a.labels[k] === b.labels[k]);
}
