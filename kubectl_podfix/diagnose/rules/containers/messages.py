"""What the kernel and the runtime report about a container, and what it means.

Exit codes and signals (``explain_exit``), and the runtime's error messages:
a missing command (runc, crun, shells), an exec format error, a process that
could not start, a container that could not be created, configuration the
kubelet could not find. The message-to-cause data are tables beside the
functions that read them. Pure string work: nothing here looks at the pod.
"""

from __future__ import annotations

import re
from typing import Callable, Union

# -- exit codes and signals ------------------------------------------------------------

SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
           8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM",
           15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
           21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM",
           27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}

_SIGNAL_MEANING = {
    "SIGKILL": "killed with SIGKILL (kill -9): it could not clean up",
    "SIGTERM": "stopped with SIGTERM: something asked it to shut down",
    "SIGSEGV": "a segmentation fault: the process read or wrote memory it does not own (a native crash)",
    "SIGABRT": "aborted itself (SIGABRT): a failed assertion, a C library abort or a runtime panic in native code",
    "SIGBUS": "a bus error (SIGBUS): bad memory access, often a truncated memory-mapped file or full /dev/shm",
    "SIGILL": "an illegal instruction (SIGILL): the binary uses CPU instructions this node's CPU lacks",
    "SIGFPE": "an arithmetic fault (SIGFPE), such as an integer division by zero",
    "SIGINT": "interrupted (SIGINT)",
    "SIGHUP": "hung up (SIGHUP)",
    "SIGQUIT": "quit (SIGQUIT), often with a thread dump in the log",
    "SIGPIPE": "wrote to a closed pipe or socket (SIGPIPE)",
}


def signal_name(num: int | None) -> str | None:
    return SIGNALS.get(num) if num else None


def exit_signal(term: dict | None) -> str | None:
    """The signal that ended a terminated container, from ``signal`` or an exit code of 128+n."""
    if not term:
        return None
    if term.get("signal"):
        return signal_name(term.get("signal"))
    code = term.get("exitCode")
    if isinstance(code, int) and 128 < code < 160:
        return signal_name(code - 128)
    return None


def explain_exit(code: int | None, term: dict | None = None) -> str:
    """Plain words for a container exit code."""
    sig = exit_signal(term if term is not None else {"exitCode": code})
    if code is None:
        return "it exited (no exit code recorded)"
    if code == 0:
        return "exit code 0: it finished successfully"
    if code == 1:
        return "exit code 1: the application reported a general error"
    if code == 2:
        return "exit code 2: the application (or its shell) rejected its arguments or configuration"
    if code == 126:
        return "exit code 126: the command exists but could not be executed (not executable, or permission denied)"
    if code == 127:
        return "exit code 127: a shell could not find the command"
    if code == 128:
        return "exit code 128: the runtime could not start the process, or it exited with an invalid code"
    if sig:
        meaning = _SIGNAL_MEANING.get(sig, f"killed by signal {sig}")
        return f"exit code {code} = 128 + {code - 128} ({sig}): {meaning}"
    if code == 255:
        return "exit code 255: a fatal error, or exit(-1) from the application"
    if code < 0:
        return f"exit code {code}: the runtime failed to run the process"
    return f"exit code {code}: an application-defined error"


# -- runtime messages ------------------------------------------------------------------

EXEC_FORMAT = re.compile(r"exec format error", re.IGNORECASE)
_NOT_FOUND_PATTERNS = [
    # runc (containerd/CRI-O/docker), new and old wordings
    re.compile(r'exec: \\*"(?P<cmd>[^"\\]+)\\*": executable file not found in \$PATH'),
    re.compile(r'exec: \\*"(?P<cmd>[^"\\]+)\\*": stat [^:]+: no such file or directory'),
    re.compile(r'exec: \\*"(?P<cmd>[^"\\]+)\\*": no such file or directory'),
    # crun
    re.compile(r"executable file `(?P<cmd>[^`]+)` not found"),
    re.compile(r"(?:crun: )?(?P<cmd>/[^\s:]+): No such file or directory: OCI runtime attempted to invoke a command"),
    re.compile(r"OCI runtime attempted to invoke a command that was not found"),
    # runc >= 1.1 reporting from inside the container (log line), Go and C runtimes
    re.compile(r"^exec (?P<cmd>\S+): no such file or directory", re.MULTILINE),
    # runc < 1.1 (standard_init_linux.go): the entrypoint, or the interpreter its "#!" line names, is missing
    re.compile(r'exec user process caused:? \\*"?no such file or directory'),
    re.compile(r"executable file not found in \$PATH"),
]
_SHELL_NOT_FOUND = re.compile(
    r"(?:^|\s)(?:/bin/)?(?:ba|da|z|a)?sh: (?:line \d+: |\d+: )?(?P<cmd>[^\s:]+): (?:command )?not found", re.MULTILINE)
# runc ("unable to start container process", before 1.1 "starting container process caused") and crun
# ("exec the container process"): the OCI runtime failed at exec, which CRI-O reports at CreateContainer.
PROCESS_START = re.compile(r"unable to start container process|starting container process caused|"
                           r"exec the container process", re.IGNORECASE)
START_REASONS = {"StartError", "ContainerCannotRun", "RunContainerError", "PostStartHookError",
                 "PreStartHookError", "PreStartContainer", "ContainerStatusUnknown"}


# Binaries the node's runtime runs itself, never a container's command: when one of these is "not found" the
# node is missing it (containerd's "get apparmor_parser version: exec: \"apparmor_parser\": executable file not
# found in $PATH", rancher/elemental#349; a runtime without its OCI runtime or shim), not the image.
_NODE_HELPERS = re.compile(r"^(?:.*/)?(?:apparmor_parser|runc|crun|runsc|kata-runtime|conmon|containerd-shim[\w-]*|"
                           r"nvidia-container-runtime(?:-hook)?|nvidia-container-cli)$")


def node_helper_missing(cmd: str | None) -> bool:
    """Whether a "not found" command is one the node's runtime runs itself (the node lacks it, not the image)."""
    return bool(cmd) and bool(_NODE_HELPERS.match(cmd))


def find_command_not_found(*texts: str | None) -> str | None:
    """The missing command named in a runtime error or log, or "" when missing but unnamed.

    None as well when the missing binary is the node runtime's own (``node_helper_missing``)."""
    for text in texts:
        if not text:
            continue
        for pat in _NOT_FOUND_PATTERNS:
            m = pat.search(text)
            if m:
                cmd = (m.groupdict().get("cmd") or "").strip() if m.groupdict() else ""
                return None if node_helper_missing(cmd) else cmd
        m = _SHELL_NOT_FOUND.search(text)
        if m:
            return m.group("cmd")
    return None


Matcher = Union[str, Callable[[str], bool]]

# -- hooks that run before the container's process ---------------------------------------

# The kubelet's own pre-start step (kuberuntime: "Internal PreStartContainer hook failed: %v", waiting reason
# PreStartHookError; PreCreateHookError for the pre-create step): its resource managers, not a pod hook.
KUBELET_HOOK_REASONS = {"PreStartHookError", "PreCreateHookError"}
_KUBELET_HOOK = re.compile(r"internal pre(start|create)container hook failed", re.I)
# An OCI hook the node's runtime runs (runc "error running hook #0: error running hook: exit status 1",
# "error running prestart hook #0", before 1.1 "running prestart hook 1 caused" / "Running hook #0::"; CRI-O
# "error executing hook `/path` (exit code: 1)"). The NVIDIA Container Toolkit is by far the commonest.
_OCI_HOOK = re.compile(r"error running (?:prestart |createruntime |createcontainer |startcontainer )?hook|"
                       r"running (?:prestart )?hook #?\d|error executing hook|"
                       r"nvidia-container-(?:cli|runtime-hook)", re.I)
_NVIDIA = re.compile(r"nvidia-container-(?:cli|runtime-hook|toolkit)|nvidia-ctk|libnvidia-container", re.I)
# Container Device Interface: the runtime injects devices from specs in /etc/cdi and /var/run/cdi
# ("failed to inject CDI devices: unresolvable CDI devices nvidia.com/gpu=all", "CDI device injection failed: ...").
_CDI = re.compile(r"unresolvable CDI devices? (?P<dev>[^\s,;]+)", re.I)
_HOOK_PATH = re.compile(r"error executing hook `(?P<path>[^`]+)`", re.I)
_HOOK_STDERR = re.compile(r"stderr: (?P<err>.+?)(?::\s*unknown\.?)?\s*$", re.I | re.S)

# What the NVIDIA toolkit's error means: (substrings of the lowercased message, meaning, what to do).
_NVIDIA_FAILURES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("driver not loaded", "driver/library version mismatch", "failed to initialize nvml"),
     "the NVIDIA kernel driver is not loaded on the node (or does not match its user-space libraries, e.g. after a "
     "driver upgrade without a reboot)",
     "load or reinstall the driver (or let the GPU operator's driver pod finish), then check with nvidia-smi"),
    (("insufficient permissions",), "the hook may not open the GPU device nodes (/dev/nvidia*): device permissions, "
     "SELinux labels, or a driver container that is not ready",
     "check /dev/nvidia* on the node and the driver pod of the GPU operator"),
    (("change root failed", "driver root"), "the toolkit looks for the driver under a root that does not exist on "
     "the node (its driver root: a driver container at /run/nvidia/driver versus the host's /), typical after moving "
     "the node from Docker to containerd or between a driver container and a host driver",
     "fix root/driver-root in the toolkit's config (/etc/nvidia-container-runtime/config.toml) for this runtime"),
    (("unsatisfied condition: cuda", "requirement error"), "the node's driver is too old for the CUDA version the "
     "image requires (NVIDIA_REQUIRE_CUDA)",
     "upgrade the node's driver, or use an image built for an older CUDA"),
    (("unknown device", "device error"), "the GPU the container was given (NVIDIA_VISIBLE_DEVICES) is not a device on "
     "this node: a GPU-sharing (GPU share) extender or device plugin put a placeholder there because it assigned no "
     "GPU, or a GPU index is wrong",
     "check what the device plugin / GPU-sharing extender assigned (the container's NVIDIA_VISIBLE_DEVICES) "
     "and its logs"),
    (("mount error", "ldcache error", "load library failed", "detection error", "nvml error"),
     "the toolkit or the driver on the node is installed incompletely or in versions that do not fit together",
     "reinstall the NVIDIA Container Toolkit and configure the runtime for it (nvidia-ctk runtime configure)"),
)
_KUBELET_MANAGERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("not enough cpus", "cpuset", "cpu manager", "cpumanager"), "CPU manager",
     "the CPU manager (static policy) could not give the container the exclusive CPUs a Guaranteed pod with "
     "integer CPUs asks for: its assignments (/var/lib/kubelet/cpu_manager_state) still hold CPUs for containers "
     "that are gone, or other pods took them"),
    (("memory manager", "memorymanager", "numa"), "memory manager",
     "the memory manager could not pin the container's memory to NUMA nodes as its policy requires"),
    (("topology",), "topology manager", "the topology manager could not align the container's CPUs and devices"),
    (("device", "plugin", "allocate", "endpoint not found", "registered resource"), "device plugin",
     "a device plugin failed the PreStartContainer call the kubelet makes before starting a container with its "
     "devices"),
)


def hook_failure(texts: list[str], reasons: set[str]) -> dict | None:
    """Which hook failed before the container's process started, when one did.

    {"source": "kubelet"|"nvidia"|"oci", ...}: the kubelet's own pre-start step (its CPU, memory and topology
    managers, device plugins), a runtime OCI hook (the NVIDIA Container Toolkit above all), with what the
    message says. The pod's own lifecycle.postStart is not one of these (and not decided here).
    """
    joined = "\n".join(t for t in texts if t)
    low = joined.lower()
    if reasons & KUBELET_HOOK_REASONS or _KUBELET_HOOK.search(joined):
        manager, meaning = "resource managers", ("one of the kubelet's resource managers (CPU, memory, topology) or a "
                                                 "device plugin failed")
        for needles, name, words in _KUBELET_MANAGERS:
            if any(n in low for n in needles):
                manager, meaning = name, words
                break
        return {"source": "kubelet", "manager": manager, "meaning": meaning}
    cdi = _CDI.search(joined)
    if cdi:
        return {"source": "cdi", "device": cdi.group("dev").strip().rstrip(":,"), "hook": "", "stderr": "",
                "meaning": "the runtime found no CDI spec for the device the container was given",
                "todo": "regenerate the node's CDI specs (nvidia-ctk cdi generate --output=/var/run/cdi/nvidia.yaml, "
                        "or let the GPU operator's toolkit pod do it) and check what the device plugin or DRA driver "
                        "assigned"}
    if not _OCI_HOOK.search(joined):
        return None
    path = _HOOK_PATH.search(joined)
    err = ""
    for text in texts:
        m = _HOOK_STDERR.search(text or "")
        if m and m.group("err").strip():
            err = m.group("err").strip()
            break
    out = {"source": "oci", "hook": path.group("path") if path else "", "stderr": err}
    if _NVIDIA.search(joined) or "nvml" in low:
        out["source"] = "nvidia"
        out["meaning"], out["todo"] = (
            "it exited with an error without saying why here: the toolkit or the driver on the node is not "
            "installed or not ready (with the GPU operator, its driver and toolkit pods must finish first); the "
            "runtime's log on the node has the hook's output",
            "check that the driver and the NVIDIA Container Toolkit are installed and ready on the node")
        for needles, meaning, todo in _NVIDIA_FAILURES:
            if any(n in low for n in needles):
                out["meaning"], out["todo"] = meaning, todo
                break
    return out

WINDOWS_VERSION_MISMATCH = "the image's Windows version does not match the node's"
WINDOWS_HCS_FAILED = "Windows' host compute service, HCS, could not create or start the container"
# What HCS's own words mean: (substring of the lowercased message, meaning). antrea#2774, containerd#10347,
# Azure/AKS#3627, microsoft/hcsshim#2017.
_HCS_MEANINGS: tuple[tuple[str, str], ...] = (
    ("the directory name is invalid", "usually the container's command or workingDir does not exist in the image "
     "(a Linux-style path, or a shell such as pwsh that nanoserver does not have); on an unpatched Windows Server "
     "2019 node it also comes from missing Windows updates"),
    ("attach namespace failed", "the container could not join the pod's network namespace (HNS): the node's Windows "
     "CNI and HNS state, or an image whose Windows build does not match the node's"),
    ("access is denied", "HCS was refused access to the container's files (security or antivirus software scanning "
     "the layers, or a layer still in use); usually transient"),
    ("the parameter is incorrect", "HCS rejected the container's configuration (often a volume or mount that Windows "
     "cannot express, or an image for another Windows build)"),
    ("exited unexpectedly", "the container's utility VM or compute system stopped while starting"),
)


def hcs_meaning(msg: str) -> tuple[str, str] | None:
    """(HCS's own words, what they usually mean) for a Windows hcs:: error."""
    m = re.search(r"hcs::\w+(?:::\w+)?\s*[^:]*:\s*(?P<words>[^:]+?)\.?(?::\s*unknown)?\s*$", msg or "", re.I)
    words = m.group("words").strip() if m else ""
    low = (msg or "").lower()
    for needle, meaning in _HCS_MEANINGS:
        if needle in low:
            return words, meaning
    return (words, "") if words else None
OCI_HOOK_FAILED = "a runtime OCI hook failed before the process started"
CGROUP_SETUP_FAILED = "the runtime could not set up the container's cgroup"
# runc writing the process's SELinux attributes (/proc/self/attr/keycreate, .../exec) and being refused, or an
# audit line quoted in the message: the node's SELinux policy, not the image's entrypoint (moby#39109). runc names
# AppArmor when it is AppArmor ("apparmor failed to apply profile"): SECURITY_PROFILE_REJECTED.
SECURITY_MODULE_DENIED = "SELinux on the node refused the runtime's setup of the process"
SECURITY_PROFILE_REJECTED = "a security profile (seccomp/AppArmor/SELinux) rejected the container"
MEMORY_LIMIT_TOO_LOW = "the container's memory limit is below what its process already uses at start"
MEMORY_LIMIT_BELOW_USAGE = re.compile(
    r"unable to set memory limit to (?P<limit>\d+) \(current usage: (?P<usage>\d+)|"
    r"failed to write (?P<limit1>\d+) to memory\.(?:limit_in_bytes|max)\b[^\n]*device or resource busy", re.I)
CGROUP_DRIVER_MISMATCH = ("the runtime's cgroup driver does not match the kubelet's (SystemdCgroup in containerd's "
                          "runc options vs the kubelet's cgroupDriver: systemd or cgroupfs)")


def _denied(low: str) -> bool:
    return "permission denied" in low or "operation not permitted" in low


def _profile_denied(low: str) -> bool:
    return _denied(low) and ("apparmor" in low or "seccomp" in low)


def _security_module_denied(low: str) -> bool:
    return _denied(low) and any(w in low for w in ("/proc/self/attr/", "avc:", "selinux"))


def _mount_target_missing(low: str) -> bool:
    return "mount" in low and ("not a directory" in low or "no such file" in low)


# Why the runtime could not start a process: (matchers in the lowercased message, what failed).
# The first row with a matching substring (or function) wins.
_START_FAILURES: tuple[tuple[tuple[Matcher, ...], str], ...] = (
    (("container operating system does not match the host operating system",
      "operating system of the container does not match the operating system of the host"),
     WINDOWS_VERSION_MISMATCH),
    ((lambda low: bool(_OCI_HOOK.search(low)),), OCI_HOOK_FAILED),
    # docker/containerd restarting under the kubelet (Shopify/krane#694): usually gone on the next start
    (("connection is closing", "transport is closing", "error reading from server: eof"),
     "the runtime lost its connection to the container daemon, as when the daemon restarts"),
    # runc's and containerd's cgroup driver (systemd vs cgroupfs) not matching the kubelet's (kubespray#8122)
    (("expected cgroupspath to be of format",), CGROUP_DRIVER_MISMATCH),
    # A memory limit below what runc's own init already uses: "unable to set memory limit to 20971520 (current
    # usage: 23396352, ...)" (opencontainers/runc#3986); cgroup v1 says "failed to write N to
    # memory.limit_in_bytes: ... device or resource busy" (threefoldtech/zos#779). The pod's limit, not the node.
    ((lambda low: bool(MEMORY_LIMIT_BELOW_USAGE.search(low)),), MEMORY_LIMIT_TOO_LOW),
    # runc's "error setting cgroup config for procHooks process" (kubernetes#131087, #119403) is a cgroup
    # write, not a hook, and its "permission denied" is the node's cgroup files, not the entrypoint.
    (("prochooks", "unable to freeze", "cgroup config", "applying cgroup configuration", "cgroup.procs",
      "/sys/fs/cgroup/"),
     CGROUP_SETUP_FAILED),
    ((_profile_denied,), SECURITY_PROFILE_REJECTED),
    ((_security_module_denied,), SECURITY_MODULE_DENIED),
    (("permission denied",), "permission denied"),
    (("hook", "poststart", "prestart"), "lifecycle hook failed"),
    (("no space left on device",), "a filesystem on the node is full (no space left on device)"),
    (("error mounting", _mount_target_missing), "a volume or file could not be mounted into the container"),
    (("cgroup",), CGROUP_SETUP_FAILED),
    (("seccomp", "apparmor", "selinux"), SECURITY_PROFILE_REJECTED),
    (("hcs::", "hcsshim"), WINDOWS_HCS_FAILED),
    (("oci runtime", "runc", "crun", "shim"), "the OCI runtime reported an error"),
)


def _matches(matcher: Matcher, low: str) -> bool:
    return matcher in low if isinstance(matcher, str) else matcher(low)


def start_failure_kind(msg: str) -> str:
    """What kept the runtime from starting a container's process, in a few words."""
    low = msg.lower()
    for matchers, kind in _START_FAILURES:
        if any(_matches(m, low) for m in matchers):
            return kind
    return "the runtime reported an error"


# Why the runtime could not create a container (CreateContainerError): (substrings of the lowercased
# message, what failed, what to do). The first row with a matching substring wins.
_CREATE_FAILURES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("failed to reserve container name", "is reserved for", "name is reserved", "is already in use by container"),
     "a previous create request is still in progress (container name reserved)",
     "The runtime is still busy with an earlier attempt that timed out (often slow image unpacking "
     "or disk I/O on the node); it usually clears, otherwise restart the runtime on the node."),
    (("no space left on device",), "a filesystem on the node is full",
     "The node's disk (or a tmpfs such as /run) has no space left: free space on the node "
     "(crictl rmi --prune, old logs) or move the pod elsewhere."),
    (("sd-bus", ".slice", "cgroup"), "the pod's cgroup (systemd slice) on the node is missing",
     "systemd did not create, or no longer has, the pod's cgroup slice: a node problem (restart the kubelet and "
     "the runtime, or drain and reboot the node), not the image or the pod spec."),
    (("context deadline exceeded",), "the runtime timed out creating the container",
     "The node's runtime or disk is overloaded; check the node (disk I/O, runtime logs)."),
    (("unresolvable cdi device", "cdi device injection failed"), "a CDI device could not be injected",
     "The runtime found no CDI spec for a device the container was given."),
    (("error executing hook", "error running hook", "running hook #", "running prestart hook",
      "nvidia-container-cli", "nvidia-container-runtime-hook"), OCI_HOOK_FAILED,
     "An OCI hook configured in the node's runtime (not the pod's lifecycle hooks) failed."),
    (("no command specified",), "the image has no command",
     "The image has no ENTRYPOINT/CMD and the pod sets no command: set command in the pod spec."),
    # A network/CSI volume whose mount point on the node cannot be read (openshift/cluster-image-registry-operator
    # #1011: an external Ceph down): not the image, not the volumeMount.
    (("kubernetes.io~csi/", "kubernetes.io~nfs/", "kubernetes.io~cephfs/", "kubernetes.io~rbd/",
      "kubernetes.io~glusterfs/", "kubernetes.io~iscsi/", "transport endpoint is not connected", "stale file handle",
      "stale nfs file handle"),
     "the volume's mount on the node cannot be used: its storage is unreachable or the mount went stale",
     "The kubelet mounted the volume earlier, but the mount point now fails (permission denied, transport endpoint "
     "is not connected, stale file handle, I/O error): check the storage backend and the CSI driver's node pod on "
     "this node; once the storage answers, deleting the pod makes the kubelet mount it again."),
    # The pod's seccompProfile (Localhost: a file under the kubelet's seccomp directory) or AppArmor profile is
    # not on the node, or the node cannot load AppArmor profiles (rancher/rke2#8312, rancher/elemental#349).
    (("seccomp", "apparmor"), "a security profile (seccomp/AppArmor) the pod asks for could not be loaded on the node",
     "A Localhost seccomp profile is a file relative to the kubelet's seccomp directory (/var/lib/kubelet/seccomp) "
     "and has to exist on every node the pod can land on (the Security Profiles Operator installs them); an AppArmor "
     "profile has to be loaded on the node (apparmor_parser, which the node needs too). Install the profile on the "
     "node, or fix the profile name in the pod's securityContext."),
    (("subpath",), "a subPath could not be prepared",
     "A volumeMount's subPath (or subPathExpr) points to something that cannot be mounted."),
    (("mkdir", "mount", "not a directory"), "a mount could not be set up",
     "A volumeMount conflicts with the image's filesystem (file vs directory) or the host path."),
    (("device",), "a device could not be set up", "A device plugin resource or device mapping failed on the node."),
)


def create_failure(msg: str) -> tuple[str, str]:
    """(what kept the runtime from creating a container, what to do about it)."""
    low = msg.lower()
    for needles, kind, hint in _CREATE_FAILURES:
        if any(n in low for n in needles):
            return kind, hint
    return ("the runtime rejected the container",
            "Read the runtime's message below; the node's runtime log has more detail.")


# CreateContainerConfigError messages (kubelet kuberuntime / kubelet_pods.go), old and new.
CONFIG_PATTERNS = [
    (re.compile(r'configmaps? "(?P<name>[^"]+)" not found'), "ConfigMap", None),
    (re.compile(r'secrets? "(?P<name>[^"]+)" not found'), "Secret", None),
    (re.compile(r"couldn't find key (?P<key>\S+) in ConfigMap (?:(?P<ns>[^/\s]+)/)?(?P<name>\S+)", re.I), "ConfigMap", "key"),
    (re.compile(r"couldn't find key (?P<key>\S+) in Secret (?:(?P<ns>[^/\s]+)/)?(?P<name>\S+)", re.I), "Secret", "key"),
    (re.compile(r"couldn't get configMap (?:(?P<ns>[^/\s]+)/)?(?P<name>[^:\s]+)"), "ConfigMap", None),
    (re.compile(r"couldn't get secret (?:(?P<ns>[^/\s]+)/)?(?P<name>[^:\s]+)"), "Secret", None),
]


# -- language runtimes' fatal errors (termination message or previous log) ----------------
# (pattern, what it means, {exit code: what that code means then}); the first pattern found wins. The quoted
# line is the match's line (group "line" when the pattern has one).
_GO_PANIC_EXIT = "exit code 2: the Go runtime's exit code for an unrecovered panic or fatal error"
_RUNTIME_FATALS: tuple[tuple[re.Pattern, str, dict[int, str]], ...] = (
    (re.compile(r"^.*(?:JavaScript heap out of memory|Reached heap limit Allocation failed).*$", re.M),
     "Node.js ran out of JavaScript heap (V8's heap limit, --max-old-space-size, was reached before the "
     "container's memory limit)",
     {134: "exit code 134 = 128 + 6 (SIGABRT): Node.js aborted itself when its JavaScript heap was full"}),
    (re.compile(r"^.*java\.lang\.OutOfMemoryError.*$", re.M),
     "the JVM threw OutOfMemoryError: its heap (-Xmx, or -XX:MaxRAMPercentage of the container's limit) is too "
     "small for the load, or the application leaks", {}),
    (re.compile(r"^.*A fatal error has been detected by the Java Runtime Environment.*$", re.M),
     "the JVM itself crashed in native code (its hs_err report names the frame)", {}),
    (re.compile(r"^(?P<line>panic: .*)$|^(?P<line2>fatal error: .*)$(?=[\s\S]*goroutine \d+ \[)", re.M),
     "the Go program panicked", {2: _GO_PANIC_EXIT}),
    (re.compile(r"^.*thread '[^']*' panicked at.*$", re.M), "the Rust program panicked",
     {101: "exit code 101: the exit code of a Rust program that panicked"}),
    (re.compile(r"Traceback \(most recent call last\):[\s\S]*?^(?P<line>[A-Za-z_][\w.]*(?:Error|Exception|Exit|"
                r"Interrupt)\b.*)$", re.M),
     "Python raised an uncaught exception", {}),
)


def runtime_fatal(text: str | None) -> tuple[str, str, dict[int, str]] | None:
    """(what the language runtime says happened, the line that says it, exit code meanings) for a
    container's termination message or log, or None."""
    if not text:
        return None
    for pattern, what, exits in _RUNTIME_FATALS:
        m = None
        for m in pattern.finditer(text):  # the last one: a Python traceback chain ends with the real error
            pass
        if m is None:
            continue
        groups = m.groupdict()
        line = (groups.get("line") or groups.get("line2") or m.group(0)).strip().lstrip("#").strip().rstrip(":")
        if len(line) > 200:
            line = line[:197] + "..."
        return what, line, exits
    return None
