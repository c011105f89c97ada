// systemd units of the daemons, and what `tiffin agent|server install` and `uninstall` do, as plain
// data: the files to write, the directories to make, the commands to run. Pure, so every case is a
// row of a table (service-units.test.ts); commands/install.ts carries the plan out (or prints it).
// packaging/systemd/*.service are these texts for /usr/local/bin/tiffin (a test keeps them equal).

/** The daemons that run as services. */
export const ServiceRoles = ["agent", "server"] as const;
/** One of them. */
export type ServiceRole = (typeof ServiceRoles)[number];

/** Where `npm install --global` and the single executable's instructions put `tiffin`. */
export const DefaultBin = "/usr/local/bin/tiffin";

/** Where a role's files go on the machine (absolute; `--root` prefixes them). */
export interface ServicePaths {
  unitName: string;
  unit: string;
  env: string;
  /** The data dir when `--data` is not given. */
  data: string;
  /** The agent's join token (the unit points TIFFIN_JOIN_TOKEN_FILE here); null for the server. */
  joinToken: string | null;
}

/** The paths of `role`. */
export function servicePaths(role: ServiceRole): ServicePaths {
  const unitName = `tiffin-${role}.service`;
  return {
    unitName,
    unit: `/etc/systemd/system/${unitName}`,
    env: `/etc/tiffin/${role}.env`,
    data: role === "agent" ? "/var/lib/tiffin-agent" : "/var/lib/tiffin",
    joinToken: role === "agent" ? "/etc/tiffin/join.token" : null,
  };
}

/** The unit file of `role`, running `bin`. */
export function unitText(role: ServiceRole, bin: string): string {
  return role === "agent" ? agentUnit(bin) : serverUnit(bin);
}

function agentUnit(bin: string): string {
  const p = servicePaths("agent");
  return `# Tiffin's agent: runs this machine's tasks. Written by \`tiffin agent install --server URL
# --join-token-file FILE [flags of tiffin agent]\`, with ${p.env} (a TIFFIN_<FLAG> line per flag
# given) and ${p.joinToken ?? ""} (0600); it then enables and starts the unit (\`--dry-run\` shows
# what it would do). By hand: copy this file to /etc/systemd/system/, agent.env (beside it) to
# ${p.env}, the server's join.token to ${p.joinToken ?? ""}, then
# \`systemctl enable --now tiffin-agent\`. See docs/operations.md, "Service units".
#
# \`systemctl restart tiffin-agent\` (and stop) keeps every task running: KillMode=process sends SIGTERM
# to the agent alone, not to its helpers (which would stop their tasks), and on SIGTERM the agent
# leaves its tasks to the next agent, which adopts them. If none starts within 30 s, the server moves
# the tasks elsewhere and the helpers stop them. To empty the host: \`tiffin drain HOST\` first.
[Unit]
Description=Tiffin agent (runs this machine's tasks)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
# Every flag of \`tiffin agent\` is a TIFFIN_<FLAG> variable (see \`tiffin agent --help\`). These
# are defaults: ${p.env} sets TIFFIN_SERVER and others, and overrides them. %H: the host name.
Environment=TIFFIN_DATA=${p.data}
Environment=TIFFIN_NAME=%H
Environment=TIFFIN_JOIN_TOKEN_FILE=${p.joinToken ?? ""}
EnvironmentFile=${p.env}
ExecStart=${bin} agent
KillMode=process
KillSignal=SIGTERM
# Keep the agent's data dir (its host token, attempts, logs) across restarts and upgrades.
StateDirectory=tiffin-agent
StateDirectoryMode=0700
Restart=always
RestartSec=1
TimeoutStopSec=20
# Helpers and plain (isolation "none") tasks stay in this unit's control group: no pid or file limit
# of the unit's own.
TasksMax=infinity
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
`;
}

function serverUnit(bin: string): string {
  const p = servicePaths("server");
  return `# Tiffin's control plane. Written by \`tiffin server install [flags of tiffin server]\`, with
# ${p.env} (a TIFFIN_<FLAG> line per flag given); it then enables and starts the unit (\`--dry-run\`
# shows what it would do). By hand: copy this file to /etc/systemd/system/ and server.env (beside it)
# to ${p.env}, then \`systemctl enable --now tiffin-server\`. See docs/operations.md, "Service units".
[Unit]
Description=Tiffin server (control plane)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
# Every flag of \`tiffin server\` is a TIFFIN_<FLAG> variable (see \`tiffin server --help\`): TIFFIN_LISTEN,
# TIFFIN_ADVERTISE, TIFFIN_STORE... in ${p.env}, which overrides this default.
Environment=TIFFIN_DATA=${p.data}
EnvironmentFile=-${p.env}
ExecStart=${bin} server
# State, admin.token and join.token live here, private to root.
StateDirectory=tiffin
StateDirectoryMode=0700
Restart=always
RestartSec=2
TimeoutStopSec=30
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
`;
}

/** One line of an environment file: systemd's syntax, the value double-quoted when it needs it. */
export function envLine(name: string, value: string): string {
  if (/^[\w@%+=:,./-]*$/.test(value)) return `${name}=${value}`;
  return `${name}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("$", "\\$")}"`;
}

/** A file the plan writes: absolute path (before `--root`), mode, content. `secret` content is not printed. */
export interface PlannedFile {
  path: string;
  mode: number;
  text: string;
  secret?: boolean;
}

/** What install or uninstall does, in this order: commands before, directories, files, removals, commands after. */
export interface ServicePlan {
  before: string[][];
  dirs: { path: string; mode: number }[];
  files: PlannedFile[];
  remove: string[];
  after: string[][];
  /** What the user should know afterwards. */
  notes: string[];
}

/** What `install` is given. */
export interface InstallInput {
  role: ServiceRole;
  /** The `tiffin` the unit runs (absolute). */
  bin: string;
  /** The daemon's flags given on the command line, in order: [TIFFIN_ variable, value]; a boolean flag's value is "1". */
  env: [string, string][];
  /** The agent's join token (read from --join-token-file, or --join-token). */
  joinToken?: string;
  /** The data dir, absolute, when --data was given. */
  data?: string;
  /** Installing under a folder (an image being built): enable offline, start nothing. */
  root?: string;
  /** Enable at boot, but do not start now. */
  noStart: boolean;
}

/** The plan of `tiffin ROLE install`. */
export function installPlan(i: InstallInput): ServicePlan {
  const p = servicePaths(i.role);
  const env = i.env.filter(([k]) => k !== "TIFFIN_JOIN_TOKEN" && k !== "TIFFIN_JOIN_TOKEN_FILE");
  const header = `# /etc/tiffin/${i.role}.env, written by \`tiffin ${i.role} install\`: the flags of \`tiffin ${i.role}\` as TIFFIN_<FLAG>.\n`;
  const files: PlannedFile[] = [
    { path: p.unit, mode: 0o644, text: unitText(i.role, i.bin) },
    // 0600: it may hold addresses and a store's URL; systemd reads it as root.
    { path: p.env, mode: 0o600, text: header + env.map(([k, v]) => `${envLine(k, v)}\n`).join("") },
  ];
  if (p.joinToken !== null && i.joinToken !== undefined) files.push({ path: p.joinToken, mode: 0o600, text: `${i.joinToken}\n`, secret: true });
  // restart, not `enable --now`: installing again with other flags must take effect, and restarting
  // the agent keeps its tasks (SIGTERM); a stopped unit is started.
  const commands =
    i.root !== undefined
      ? [["systemctl", `--root=${i.root}`, "enable", p.unitName]]
      : [["systemctl", "daemon-reload"], ["systemctl", "enable", p.unitName], ...(i.noStart ? [] : [["systemctl", "restart", p.unitName]])];
  const notes = [
    i.root !== undefined ? `enabled ${p.unitName} under ${i.root}: it starts when a machine boots from it` : i.noStart ? `enabled ${p.unitName}: start it with \`systemctl start ${p.unitName}\`` : `started ${p.unitName}: \`systemctl status ${p.unitName}\`, \`journalctl -u ${p.unitName}\``,
  ];
  if (i.role === "server") notes.push(`the admin and join tokens are in ${i.data ?? p.data} once it runs (admin.token, join.token)`);
  else notes.push("`systemctl restart tiffin-agent` keeps every task running; `tiffin drain HOST` empties the host");
  return { before: [], dirs: [{ path: "/etc/tiffin", mode: 0o755 }, { path: i.data ?? p.data, mode: 0o700 }], files, remove: [], after: commands, notes };
}

/** The plan of `tiffin ROLE uninstall`: stop and disable the unit, remove its files; data stays. */
export function uninstallPlan(role: ServiceRole, root: string | undefined): ServicePlan {
  const p = servicePaths(role);
  // Disable before the files go: systemctl reads the unit's [Install] section to find its links.
  const before = root !== undefined ? [["systemctl", `--root=${root}`, "disable", p.unitName]] : [["systemctl", "disable", "--now", p.unitName]];
  const remove = [p.unit, p.env, ...(p.joinToken !== null ? [p.joinToken] : [])];
  const notes = [`kept the data dir (${p.data}, or the --data it was installed with): remove it yourself once it is not needed`];
  if (role === "agent") notes.push("the tasks of this host stop within 30 s (its helpers' fencing) and the server places them elsewhere; `tiffin drain HOST` first moves them without a gap");
  return { before, dirs: [], files: [], remove, after: root !== undefined ? [] : [["systemctl", "daemon-reload"]], notes };
}
