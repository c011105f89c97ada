// The default seccomp profile of a sandbox: every system call is allowed except those that reach
// into the kernel or other processes in ways an ordinary service never needs, which fail with EPERM.
// The list is the set Docker's default profile leaves out for a container without CAP_SYS_ADMIN
// and friends (kernel modules, kexec, mount and namespaces, ptrace and cross-process memory, bpf and
// perf, keyrings, clock setting, swap, reboot, open_by_handle_at). A deny list rather than Docker's
// allow list of ~350 calls: a new system call of an ordinary kind keeps working, and the file stays
// readable; the dangerous ones are refused whatever the task's capabilities.

/** A seccomp rule of the OCI runtime spec. */
export interface OciSeccompRule {
  names: string[];
  action: "SCMP_ACT_ERRNO";
  errnoRet: number;
}

/** The OCI `linux.seccomp` object. */
export interface OciSeccomp {
  defaultAction: "SCMP_ACT_ALLOW";
  architectures: string[];
  syscalls: OciSeccompRule[];
}

/** System calls a sandboxed task may not make. */
export const deniedSyscalls = [
  // kernel modules, kexec, reboot, swap, accounting, quotas
  "init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms",
  "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
  "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "lookup_dcookie", "vm86", "vm86old", "iopl", "ioperm",
  // mounts and namespaces: the sandbox's own must stay as they are
  "mount", "umount", "umount2", "pivot_root", "unshare", "setns",
  "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
  // other processes' memory and the kernel's internals
  "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "bpf", "perf_event_open", "userfaultfd",
  "open_by_handle_at", "name_to_handle_at",
  // keyrings, clocks
  "add_key", "request_key", "keyctl", "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "adjtimex",
  // NUMA placement of other processes
  "move_pages", "mbind", "set_mempolicy", "get_mempolicy", "migrate_pages",
];

/** libseccomp's names of the architectures a task on this machine may use (x86-64 also runs i386/x32 code). */
export function seccompArchitectures(arch: string = process.arch): string[] {
  if (arch === "x64") return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
  if (arch === "arm64") return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
  return [];
}

/** The default profile (EPERM for each denied call, as Docker answers). */
export function defaultSeccomp(arch: string = process.arch): OciSeccomp {
  return { defaultAction: "SCMP_ACT_ALLOW", architectures: seccompArchitectures(arch), syscalls: [{ names: [...deniedSyscalls], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
}
