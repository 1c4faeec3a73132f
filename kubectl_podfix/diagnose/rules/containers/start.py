"""The runtime could not create the container or start its process.

Most specific first: a binary built for another CPU (exec format error), a
command that does not exist in the image, any other failure to start the
process (permission, lifecycle hook, mounts, cgroups...), and a container that
could not even be created (CreateContainerError). Each rule leaves the
messages a more specific one explains to it.
"""

from __future__ import annotations

from typing import Iterable

from kubectl_podfix.diagnose.model import Finding, PodContext, dig
from kubectl_podfix.diagnose.rules.common import describe_event, events_about, kubectl, node_arg, node_phrase, waiting
from kubectl_podfix.diagnose.rules.containers.logs import log_evidence
from kubectl_podfix.diagnose.rules.containers.mounts import mount_failure
from kubectl_podfix.diagnose.rules.containers.messages import (
    CGROUP_SETUP_FAILED,
    EXEC_FORMAT,
    MEMORY_LIMIT_BELOW_USAGE,
    MEMORY_LIMIT_TOO_LOW,
    PROCESS_START,
    OCI_HOOK_FAILED,
    SECURITY_MODULE_DENIED,
    START_REASONS,
    WINDOWS_HCS_FAILED,
    WINDOWS_VERSION_MISMATCH,
    create_failure,
    find_command_not_found,
    hcs_meaning,
    hook_failure,
    start_failure_kind,
)
from kubectl_podfix.diagnose.rules.containers.state import (
    command_of,
    each_container,
    failed_events,
    instance_window,
    kind_label,
    last_termination,
    recent_events,
    restart_phase,
    security_profiles,
    severity_for,
    skip_pod,
    state_line,
)


def exec_format_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        term, _ = last_termination(status)
        w_reason, w_msg = waiting(status)
        texts = [(term or {}).get("message"), w_msg]
        texts += [ev.get("message") for ev in failed_events(ctx, name, status)]
        log = ctx.previous_log(name)
        hit_text = next((t for t in texts if t and EXEC_FORMAT.search(t)), None)
        log_lines = [ln for ln in (log or "").splitlines() if EXEC_FORMAT.search(ln)]
        if not hit_text and not log_lines:
            continue
        phase = restart_phase(ctx, status)
        node = ctx.node()
        arch = dig(node or {}, "status.nodeInfo.architecture") or dig(node or {}, "metadata.labels", {}).get(
            "kubernetes.io/arch")
        evidence = state_line(status)
        if hit_text:
            evidence.append(f"runtime: {hit_text.strip()[:400]}")
        evidence += [f"log: {ln.strip()[:300]}" for ln in log_lines[-3:]]
        expl = (f"The {kind_label(spec, is_init)} {name}'s program ({command_of(spec)}) cannot run on this node: "
                f"\"exec format error\" means the kernel does not recognise the binary, almost always because the "
                f"image was built for another CPU architecture (for example an amd64-only image on an arm64 node, "
                f"or the reverse). A script without a \"#!\" line, or a corrupt binary, gives the same error.")
        if arch:
            expl += f" The node {dig(ctx.pod, 'spec.nodeName')} is {arch}."
            evidence.append(f"node architecture: {arch}")
        elif dig(ctx.pod, "spec.nodeName"):
            evidence.append("node architecture: unknown (the Node object is not in the data)")
        yield Finding(
            code="container.exec-format-error", severity=severity_for(phase), container=name,
            title=f"{name}: image built for another CPU architecture",
            explanation=expl, evidence=evidence,
            suggestions=[
                f"docker manifest inspect {spec.get('image') or 'IMAGE'} (or crane manifest): check which platforms the image provides",
                "rebuild for the node's platform: docker buildx build --platform linux/amd64,linux/arm64 ...",
                "or pin the pod to matching nodes with nodeSelector kubernetes.io/arch: <arch>",
                kubectl(ctx, "get", "node", node_arg(ctx), "-L", "kubernetes.io/arch"),
            ],
            extra={"architecture": arch, "image": spec.get("image"), "init": is_init},
        )


def command_not_found_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        term, _ = last_termination(status)
        w_reason, w_msg = waiting(status)
        term_msg = (term or {}).get("message") or ""
        events = failed_events(ctx, name, status)
        ev_msgs = [ev.get("message") or "" for ev in events]
        log = ctx.previous_log(name)
        start_context = (term or {}).get("reason") in START_REASONS or w_reason in (
            "RunContainerError", "CreateContainerError", "StartError", "ContainerCannotRun")
        cmd = find_command_not_found(term_msg, w_msg, *ev_msgs) if (start_context or any(
            "executable file" in m or "exec:" in m or "OCI runtime" in m for m in [term_msg, w_msg, *ev_msgs])) else None
        source = "runtime"
        exit_code = (term or {}).get("exitCode")
        if cmd is None and exit_code == 127:
            cmd = find_command_not_found(log) or ""
            source = "exit 127"
        if cmd is None and log and exit_code not in (None, 0):
            found = find_command_not_found(log)
            if found is not None:
                lines = (log or "").strip().splitlines()
                # only when the missing-command line is among the last lines (it is what killed the process)
                if any(found in ln for ln in lines[-3:]):
                    cmd, source = found, "log"
        if cmd is None:
            continue
        phase = restart_phase(ctx, status)
        evidence = state_line(status)
        for ev in events[-2:]:
            evidence.append(describe_event(ev, ctx.now))
        log_lines, log_note = log_evidence(ctx, name)
        evidence += log_lines
        image = spec.get("image") or ""
        in_image = f"the image {image}" if image else "the image"
        if cmd:
            expl = (f"The {kind_label(spec, is_init)} {name} runs {command_of(spec)}, but \"{cmd}\" does not exist "
                    f"in {in_image}. ")
        elif source == "exit 127":
            expl = (f"The {kind_label(spec, is_init)} {name} runs {command_of(spec)} and exited with code 127: a shell "
                    "could not find a command it was asked to run. Which one is not named here; the shell prints "
                    "\"<name>: not found\" in the container's log. ")
        else:
            expl = (f"The {kind_label(spec, is_init)} {name} runs {command_of(spec)}, but that command does not "
                    f"exist in {in_image}. ")
        if source == "exit 127" and cmd:
            expl += "Exit code 127 is what a shell returns when it cannot find a command. "
        if cmd and not cmd.startswith("/") and "$PATH" in (term_msg + w_msg + " ".join(ev_msgs)):
            expl += "It is looked up in the image's $PATH, so either the binary is not installed or it lives elsewhere. "
        if "no such file or directory" in (term_msg + w_msg + (log or "")).lower() and (not cmd or cmd.startswith(("/", "."))):
            expl += ("The path does not exist in the image, or it is a script whose interpreter (the \"#!\" line) "
                     "is missing, or it has Windows (CRLF) line endings. ")
        expl += "Fix the command/args in the pod spec, or the image's ENTRYPOINT/CMD."
        if log_note:
            expl += f" ({log_note}.)"
        yield Finding(
            code="container.command-not-found", severity=severity_for(phase), container=name,
            title=(f'{name}: command "{cmd}" not found in the image' if cmd else
                   f"{name}: a command it runs was not found (exit code 127)" if source == "exit 127" else
                   f"{name}: its command was not found in the image"),
            explanation=expl, evidence=evidence,
            suggestions=[
                f"kubectl debug -it {ctx.name} --image=busybox --target={name} -n {ctx.namespace} (then ls the path)",
                (f"docker run --rm --entrypoint sh {image or 'IMAGE'} -c 'command -v {cmd}'" if cmd else
                 kubectl(ctx, "logs", ctx.name, "-c", name, "--previous") + "   (the shell names the missing command)"),
                kubectl(ctx, "get", "pod", ctx.name, "-o", f"jsonpath={{.spec.{'initContainers' if is_init else 'containers'}[?(@.name==\"{name}\")].command}}"),
            ],
            extra={"command": cmd or None, "exit_code": exit_code, "source": source, "init": is_init},
        )


def start_failed_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        term, _ = last_termination(status)
        w_reason, w_msg = waiting(status)
        term_reason = (term or {}).get("reason") or ""
        msg = ""
        if w_reason in ("RunContainerError", "StartError", "ContainerCannotRun", "PostStartHookError",
                        "PreStartHookError"):
            msg = w_msg
        elif w_reason == "CreateContainerError" and PROCESS_START.search(w_msg):
            msg = w_msg  # CRI-O runs the OCI runtime's create (and the exec lookup) at CreateContainer
        if term_reason in ("StartError", "ContainerCannotRun", "PostStartHookError"):
            msg = msg or (term or {}).get("message") or ""
        hook_events = recent_events(ctx, name, {"FailedPostStartHook"}, instance_window(status))
        msg_event = None
        if not msg and not hook_events and term_reason not in ("StartError", "ContainerCannotRun") and w_reason not in (
                "RunContainerError", "PostStartHookError", "PreStartHookError"):
            continue
        if msg and w_reason == "CreateContainerError" and not PROCESS_START.search(msg):
            continue
        if not msg and hook_events:
            msg = hook_events[-1].get("message") or ""
        if not msg:
            # The waiting message can be empty while the kubelet's "Error: ..." event carries the runtime's words.
            def _errors(evs: list[dict]) -> list[dict]:
                return [ev for ev in evs if (ev.get("message") or "").startswith("Error: ")
                        and not (ev.get("message") or "").startswith(("Error: ImagePull", "Error: ErrImagePull"))]
            errors = _errors(failed_events(ctx, name, status))
            if not errors and term_reason in ("StartError", "ContainerCannotRun"):
                # A start failure with no fresh event: the newest "Error:" event of this container still says why.
                errors = _errors(events_about(ctx, name, {"Failed"}))
            if errors:
                msg = (errors[-1].get("message") or "")[len("Error: "):]
                msg_event = errors[-1]
        if find_command_not_found(msg) is not None or EXEC_FORMAT.search(msg or ""):
            continue  # the more specific rules explain these
        phase = restart_phase(ctx, status)
        kind = start_failure_kind(msg or w_reason or term_reason)
        evidence = state_line(status)
        shown = (failed_events(ctx, name, status) + hook_events)[-2:]
        if msg_event is not None and msg_event not in shown:
            shown.append(msg_event)
        for ev in shown:
            evidence.append(describe_event(ev, ctx.now))
        hook = hook_failure([msg] + [ev.get("message") or "" for ev in failed_events(ctx, name, status)]
                            + [ev.get("message") or "" for ev in hook_events], {w_reason, term_reason})
        mount = mount_failure(ctx, spec, msg) if hook is None else None
        if mount is not None:
            yield Finding(
                code="container.start-failed", severity=severity_for(phase), container=name, title=mount["title"],
                explanation=mount["explanation"], evidence=evidence,
                suggestions=mount["suggestions"] + [kubectl(ctx, "describe", "pod", ctx.name)],
                extra={"reason": w_reason or term_reason, "kind": mount["kind"], "volume": mount["volume"],
                       "mount": mount["mount"], "target": mount["target"], "exit_code": (term or {}).get("exitCode"),
                       "init": is_init},
            )
            continue
        if hook is not None:
            title, expl, sug = _hook_words(ctx, hook, spec, is_init, name, msg)
            yield Finding(
                code="container.start-failed", severity=severity_for(phase), container=name, title=title,
                explanation=expl, evidence=evidence, suggestions=sug,
                extra={"reason": w_reason or term_reason, "kind": _HOOK_KINDS[hook["source"]], "hook": hook,
                       "exit_code": (term or {}).get("exitCode"), "init": is_init},
            )
            continue
        expl = (f"The runtime created the {kind_label(spec, is_init)} {name} but could not start its process: {kind}.")
        sug = [kubectl(ctx, "describe", "pod", ctx.name)]
        profiles = security_profiles(ctx, spec)
        if kind == "permission denied":
            expl += (" The entrypoint exists but cannot be executed by the container: a missing +x bit, a noexec "
                     "mount, runAsUser without access, or a security module on the node (an SELinux label, an "
                     "AppArmor profile) denying it.")
            if profiles:
                expl += (f" The container runs under {' and '.join(profiles)}: a profile that denies executing "
                         "the file gives exactly this (the node's audit log shows the denial).")
            sug.insert(0, "make the entrypoint executable in the image (chmod +x) or check securityContext.runAsUser")
            sug.insert(1, f"on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: look for a denial in the audit log "
                          "(ausearch -m avc, or dmesg | grep -i apparmor)")
        elif kind == SECURITY_MODULE_DENIED:
            expl += (" That is the node's SELinux policy refusing the runtime's own setup (runc writes the "
                     "process's security attributes under /proc/self/attr), not the image: typically a "
                     "container-selinux policy, runc and container runtime that do not match on the node, or "
                     "a label the node's policy does not allow"
                     + (f" (the container asks for {' and '.join(profiles)})" if profiles else "") + ".")
            sug.insert(0, f"on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: ausearch -m avc -ts recent, and update "
                          "container-selinux together with runc and the runtime")
        elif kind == WINDOWS_VERSION_MISMATCH:
            expl += (" A Windows container shares the node's kernel (process isolation), so its base image must "
                     "be built for the node's Windows build: a Windows Server 2019 (1809/ltsc2019) image does not "
                     "start on a Windows Server 2022 node, and the reverse. Use the image tag for the node's "
                     "version, or pin the pod to nodes of that version (node label node.kubernetes.io/windows-build).")
            sug.insert(0, "compare the image's OS version (crane config IMAGE | jq .os.version) with the node's "
                          f"(kubectl get node {node_arg(ctx)} "
                          "-L node.kubernetes.io/windows-build)")
        elif kind == WINDOWS_HCS_FAILED:
            said = hcs_meaning(msg)
            if said and said[0]:
                expl += f' HCS said: "{said[0]}"' + (f": {said[1]}." if said[1] else ".")
            sug.append(f"on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: Get-WinEvent -LogName "
                       "Microsoft-Windows-Hyper-V-Compute-Admin (HCS's own log), and the containerd log")
        elif kind == MEMORY_LIMIT_TOO_LOW:
            m = MEMORY_LIMIT_BELOW_USAGE.search(msg or "")
            limit = (m.group("limit") or m.group("limit1")) if m else None
            usage = m.group("usage") if m else None
            set_limit = dig(spec, "resources.limits.memory")
            expl += (" The runtime could not apply the memory limit"
                     + (f" of {set_limit}" if set_limit else (f" ({limit} bytes)" if limit else ""))
                     + " because the container's cgroup already uses more"
                     + (f" ({int(usage) // 1024}Ki)" if usage else "")
                     + " while the runtime itself starts it (runc's init is counted in the container's cgroup). "
                     "That is the pod's spec, not the node: the limit is far too low for any process; raise "
                     "resources.limits.memory (tens of MiB at the very least).")
            sug.insert(0, f"raise resources.limits.memory of container {name}"
                          + (f" (now {set_limit})" if set_limit else ""))
        elif kind == CGROUP_SETUP_FAILED:
            expl += (" That is the node's cgroups, not the image: the runtime could not write the container's "
                     "cgroup settings (a controller or file the node's kernel lacks, such as memory.memsw for "
                     "swap accounting; a CPU quota or period its parent refuses; a cgroup that could not be frozen "
                     "while it was being changed). A one-off usually clears on the next start; if it repeats on a "
                     "node, check that node's cgroup setup and the runtime's and kubelet's cgroup driver.")
            sug.append(f"check the container runtime on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: "
                       "journalctl -u containerd (or crio / docker)")
        elif kind == "lifecycle hook failed":
            expl += " A failing postStart hook makes the kubelet kill the container, which then restarts."
            sug.insert(0, "fix or remove lifecycle.postStart; run the hook command by hand with kubectl exec")
        else:
            sug.append(f"check the container runtime on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: "
                       "journalctl -u containerd (or crio / docker)")
        yield Finding(
            code="container.start-failed", severity=severity_for(phase), container=name,
            title=f"{name}: the runtime could not start the process ({kind})",
            explanation=expl, evidence=evidence, suggestions=sug,
            extra={"reason": w_reason or term_reason or "FailedPostStartHook", "kind": kind,
                   "exit_code": (term or {}).get("exitCode"), "init": is_init},
        )


_HOOK_KINDS = {"kubelet": "kubelet pre-start step failed", "nvidia": "NVIDIA container toolkit hook failed",
               "oci": OCI_HOOK_FAILED, "cdi": "CDI device injection failed"}


def _runtime_of(text: str) -> str:
    low = text.lower()
    if "containerd" in low:
        return "containerd"
    if "error response from daemon" in low or "container_linux.go" in low and "containerd" not in low:
        return "Docker"
    if "container create failed" in low or "error executing hook" in low:
        return "CRI-O"
    return "the container runtime"


def _hook_words(ctx: PodContext, hook: dict, spec: dict, is_init: bool, name: str, msg: str
                ) -> tuple[str, str, list[str]]:
    """(title, explanation, suggestions) for a hook that failed before the process started.

    Three different things are called a hook here, and users mix them up: the kubelet's own pre-start step
    (PreStartHookError), an OCI hook the node's runtime runs (the NVIDIA toolkit's above all), and the pod's
    lifecycle.postStart (which runs after the start and is not this).
    """
    node_name = dig(ctx.pod, "spec.nodeName")
    node, arg = node_phrase(node_name), node_arg(ctx)
    what = f"{kind_label(spec, is_init)} {name}"
    if hook["source"] == "kubelet":
        title = f"{name}: the kubelet's pre-start step failed ({hook['manager']}), not a lifecycle hook"
        expl = (f"The kubelet could not start the {what}: PreStartHookError is not the pod's lifecycle hook but the "
                "kubelet's own step before a container starts, where its resource managers hand the container what "
                "it was promised: exclusive CPUs (CPU manager, static policy), NUMA-aligned memory (memory "
                "manager), topology alignment (topology manager) and devices (a device plugin's PreStartContainer "
                f"call). Here {hook['meaning']}. The pod spec is usually fine; the node's state is not.")
        sug = [f"kubectl describe node {arg}   (Allocated resources, the CPU/memory/topology manager policies)",
               f"on {node}: journalctl -u kubelet | grep -iE 'cpu_manager|memory_manager|topology|PreStartContainer'"]
        if hook["manager"] == "CPU manager":
            sug.append(f"on {node}: cat /var/lib/kubelet/cpu_manager_state (CPUs still assigned to containers "
                       "that are gone); if it is stale: drain the node, remove that file, restart the kubelet")
        elif hook["manager"] == "device plugin":
            sug.append(f"kubectl get pods -A -o wide --field-selector spec.nodeName={arg} | grep -i plugin   "
                       "(then the device plugin pod's logs)")
        sug.append(kubectl(ctx, "delete", "pod", ctx.name) + "   (its controller recreates it, maybe on another node)")
        return title, expl, sug
    runtime = _runtime_of(msg)
    err = hook.get("stderr") or ""
    if hook["source"] == "cdi":
        dev = hook.get("device") or "a device"
        title = f"{name}: the runtime could not inject CDI device {dev} on {node}"
        expl = (f"{runtime} could not set up the {what}: it was given the device {dev} (Container Device Interface), "
                "and no CDI spec on the node (in /etc/cdi or /var/run/cdi) describes it. The spec is written by the "
                "device's toolkit (for NVIDIA: nvidia-ctk cdi generate, or the GPU operator's toolkit pod); it is "
                "missing, stale (a GPU UUID or index it does not list), or under another vendor/class name than the "
                "device plugin or DRA driver uses. This is the node's GPU/device setup, not the application.")
        sug = [f"on {node}: nvidia-ctk cdi list   (the devices the specs describe); ls /etc/cdi /var/run/cdi",
               f"on {node}: nvidia-smi -L   (the GPUs and their UUIDs)",
               f"kubectl get pods -A -o wide --field-selector spec.nodeName={arg} | grep -iE 'nvidia|gpu|dra'   "
               "(the toolkit, device plugin or DRA driver pods and their logs)",
               hook["todo"]]
        return title, expl, sug
    if hook["source"] == "nvidia":
        tool = ("nvidia-container-runtime-hook" if "runtime-hook" in (hook.get("hook") or msg)
                else "nvidia-container-cli")
        title = f"{name}: the NVIDIA container toolkit's hook failed on {node}, before the process started"
        expl = (f"{runtime} ran an OCI hook configured on the node (the NVIDIA Container Toolkit's "
                f"{tool},"
                f" which mounts the GPU driver and devices into the container) while starting the {what}, and the "
                f"hook failed: {hook['meaning']}. This is the node's GPU driver and toolkit, not the application, and "
                "not the pod's lifecycle hooks (PreStartHookError would be the kubelet's own step).")
        if err:
            expl += f" The hook's stderr: {err}"
        sug = [f"on {node}: nvidia-smi   (is the driver loaded, does it see the GPUs?)",
               f"on {node}: nvidia-container-cli -k -d /dev/tty info",
               f"kubectl get pods -A -o wide --field-selector spec.nodeName={arg} | grep -iE 'nvidia|gpu'   "
               "(then the logs of the device plugin / GPU operator driver and toolkit pods)",
               hook["todo"]]
        return title, expl, sug
    hook_name = hook.get("hook") or "an OCI hook"
    title = f"{name}: an OCI hook of the node's runtime failed ({hook_name}), before the process started"
    expl = (f"{runtime} ran {hook_name}, a hook configured on the node (in the runtime's hooks directory or "
            f"OCI config, not the pod's lifecycle hooks), while creating or starting the {what}, and it failed. "
            "Whatever installed that hook on the node (a GPU or device toolkit, a security or monitoring agent) is "
            "where to look.")
    if err:
        expl += f" The hook's stderr: {err}"
    sug = [f"on {node}: ls /usr/share/containers/oci/hooks.d /etc/containers/oci/hooks.d   (CRI-O) or check the "
           "runtime's config for hooks (containerd/Docker runtime wrappers)",
           f"on {node}: journalctl -u containerd -u crio -u docker | grep -i hook"]
    return title, expl, sug


def create_failed_rule(ctx: PodContext) -> Iterable[Finding]:
    if skip_pod(ctx):
        return
    for spec, status, is_init, name in each_container(ctx):
        w_reason, w_msg = waiting(status)
        if w_reason not in ("CreateContainerError", "CreateContainerSandboxError", "PreCreateHookError"):
            continue
        events = failed_events(ctx, name, status)
        msg = w_msg or (events[-1].get("message") if events else "") or ""
        if find_command_not_found(msg) is not None or EXEC_FORMAT.search(msg) or PROCESS_START.search(msg):
            continue  # command-not-found, exec-format-error or start-failed explain these
        kind, hint = create_failure(msg)
        evidence = state_line(status) + [describe_event(ev, ctx.now) for ev in events[-2:]]
        hook = hook_failure([msg] + [ev.get("message") or "" for ev in events], {w_reason})
        mount = mount_failure(ctx, spec, msg) if hook is None else None
        if mount is not None:
            yield Finding(
                code="container.create-failed", severity="error", container=name, title=mount["title"],
                explanation=mount["explanation"], evidence=evidence,
                suggestions=mount["suggestions"] + [kubectl(ctx, "describe", "pod", ctx.name)],
                extra={"reason": w_reason, "kind": mount["kind"], "volume": mount["volume"], "mount": mount["mount"],
                       "target": mount["target"], "message": msg, "init": is_init},
            )
            continue
        if hook is not None:
            title, expl, sug = _hook_words(ctx, hook, spec, is_init, name, msg)
            yield Finding(
                code="container.create-failed", severity="error", container=name, title=title,
                explanation=expl, evidence=evidence, suggestions=sug,
                extra={"reason": w_reason, "kind": _HOOK_KINDS[hook["source"]], "hook": hook, "message": msg,
                       "init": is_init},
            )
            continue
        yield Finding(
            code="container.create-failed", severity="error", container=name,
            title=f"{name}: {w_reason} ({kind})",
            explanation=f"The runtime could not create the {kind_label(spec, is_init)} {name}: {kind}. {hint}",
            evidence=evidence,
            suggestions=[kubectl(ctx, "describe", "pod", ctx.name),
                         f"on {node_phrase(dig(ctx.pod, 'spec.nodeName'))}: journalctl -u containerd (or crio)"],
            extra={"reason": w_reason, "kind": kind, "message": msg, "init": is_init},
        )
