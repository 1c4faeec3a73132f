"""Reading the check pod's log (pure): what each tool said, what it means, which step fails.

``parse`` turns the script's lines (``script.py``) into ``Check``s; ``interpret`` reads each
tool's own output (busybox, OpenSSL, curl, GNU and busybox wget, nc, getent, dig: the texts these
tools print, captured in tests/nodecheck/fixtures/) into a ``Step`` with a one-line summary; ``verdict``
finds the first step that fails in the order the runtime goes (DNS, TCP, TLS, /v2/) and says what
it means for the finding being checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kubectl_podfix.redact import scrub

PREFIX = "PODFIX-CHECK "
OUT_PREFIX = "PODFIX-OUT "
ORDER = ("dns", "tcp", "tls", "v2")
TIMEOUT_RCS = {"124", "143", "137"}  # timeout(1) (coreutils 124; busybox kills with TERM: 143)
DISK_HIGH = 85  # the kubelet's default --image-gc-high-threshold

# OpenSSL's X509_V_ERR codes the node check can meet
_UNTRUSTED = {"18": "self-signed", "19": "self-signed-in-chain", "20": "unknown-issuer", "21": "unknown-issuer",
              "2": "unknown-issuer"}
_EXPIRED = {"10": "expired", "9": "not-yet-valid"}
_HOSTNAME = {"62": "hostname", "64": "hostname"}


@dataclass
class Check:
    name: str
    status: str  # ok | fail | skip (the tool's exit status; the meaning comes from ``interpret``)
    rc: str
    tool: str
    why: str = ""
    output: list[str] = field(default_factory=list)


@dataclass
class CheckLog:
    host: str = ""
    port: str = ""
    uid: str = ""
    version: str = ""
    tools: list[str] = field(default_factory=list)
    resolvers: list[str] = field(default_factory=list)
    proxies: dict[str, str] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    complete: bool = False  # the "end" line was seen

    def check(self, name: str) -> Check | None:
        return self.checks.get(name)


@dataclass
class Step:
    name: str
    ok: bool | None  # None: skipped or inconclusive
    kind: str  # e.g. "resolved", "nxdomain", "timeout", "refused", "untrusted", "expired", "http-401"
    summary: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"check": self.name, "ok": self.ok, "kind": self.kind, "summary": self.summary}
        out.update(self.data)
        return out


@dataclass
class Verdict:
    step: str | None  # the first failing step, None when every step works
    kind: str
    headline: str  # one line, "from node-2: ..."
    meaning: str  # what it means for the finding, and what to do
    node_wide: bool = False


# up to the last "@" of the authority: a password may hold an unencoded "@" or "/"
_USERINFO = re.compile(r"(//)[^\s'\"]*@(?=[^@\s'\"]+)")
_PROXY_AUTH = re.compile(r"(?i)(proxy-authorization:).*")


def redact(line: str) -> str:
    """Drop ``user:password@`` from URLs and Proxy-Authorization values (the script does too), and every
    secret podfix holds (kubectl_podfix.redact: the proxy credentials it copied into the check pod)."""
    return scrub(_PROXY_AUTH.sub(r"\1 (removed)", _USERINFO.sub(r"\1", scrub(line))))


def parse(text: str) -> CheckLog:
    log = CheckLog()
    current: Check | None = None
    for raw in (text or "").splitlines():
        line = redact(raw.rstrip("\r"))
        if line.startswith(OUT_PREFIX):
            name, _, rest = line[len(OUT_PREFIX):].partition(" ")
            target = log.checks.get(name)
            if target is not None:
                target.output.append(rest)
            continue
        if not line.startswith(PREFIX):
            continue
        word, _, rest = line[len(PREFIX):].partition(" ")
        if word == "begin":
            parts = rest.split()
            log.version = parts[0] if parts else ""
            fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            log.host, log.port, log.uid = fields.get("host", ""), fields.get("port", ""), fields.get("uid", "")
        elif word == "tools":
            log.tools = rest.split()
        elif word == "resolver":
            log.resolvers = [r for r in rest.split(",") if r.strip()]
        elif word == "proxy":
            key, _, value = rest.partition("=")
            log.proxies[key] = value
        elif word == "end":
            log.complete = True
        else:
            parts = rest.split(" ", 3)
            if not parts or parts[0] not in ("ok", "fail", "skip"):
                continue
            fields = dict(p.split("=", 1) for p in parts[1:3] if "=" in p)
            current = Check(word, parts[0], fields.get("rc", ""), fields.get("tool", ""),
                            parts[3] if len(parts) > 3 else "")
            log.checks[word] = current
    return log


# -- one tool's output at a time --------------------------------------------------------------------

_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_HTTP_STATUS = re.compile(r"HTTP/[\d.]+ (\d{3})(?: ([^\r\n]*))?")
_REALM = re.compile(r'(?i)www-authenticate:\s*(\w+)\s+realm="([^"]*)"')


def _text(check: Check) -> str:
    return "\n".join(check.output)


def _timed_out(check: Check, text: str) -> bool:
    low = text.lower()
    return check.rc in TIMEOUT_RCS or "timed out" in low or "timeout" in low and "handshake" not in low \
        or "terminated" in low


def _dns(check: Check, host: str, resolvers: list[str]) -> Step:
    if check.status == "skip":
        return Step("dns", None if check.why != "ip-literal" else True, check.why or "skipped",
                    f"{host} is an IP address: no DNS lookup" if check.why == "ip-literal" else "DNS not checked")
    text = _text(check)
    low = text.lower()
    server = ""
    m = re.search(r"^Server:\s*(\S+)", text, re.M)
    if m:
        server = m.group(1)
    elif resolvers:
        server = resolvers[0]
    addresses: list[str] = []
    if check.tool == "nslookup":
        after_name = False
        for line in check.output:
            if line.startswith("Name:"):
                after_name = True
            elif after_name and line.startswith("Address"):
                addr = line.split(":", 1)[1].strip()
                if addr and addr not in addresses:
                    addresses.append(addr)
    elif check.tool == "getent":
        addresses = [line.split()[0] for line in check.output if line.split()]
    else:  # dig +short
        addresses = [line.strip() for line in check.output if _IPV4.match(line.strip()) or ":" in line]
    data = {"resolver": server, "addresses": addresses, "tool": check.tool}
    via = f" (resolver {server})" if server else ""
    if addresses and check.status == "ok":
        return Step("dns", True, "resolved", f"{host} resolves to {', '.join(addresses[:4])}{via}", data)
    if "nxdomain" in low or "can't find" in low and "no answer" not in low or "not found" in low \
            or (check.tool == "getent" and check.rc == "2"):
        return Step("dns", False, "nxdomain", f"{host} does not exist (NXDOMAIN{' from ' + server if server else ''})",
                    data)
    if "servfail" in low:
        return Step("dns", False, "servfail", f"the resolver {server} failed to resolve {host} (SERVFAIL)", data)
    if "no servers could be reached" in low or _timed_out(check, text):
        return Step("dns", False, "timeout", f"the resolver {server} did not answer for {host} (timed out)", data)
    if "no answer" in low:
        return Step("dns", False, "no-answer", f"{host} has no address records{via}", data)
    return Step("dns", False, "error", f"resolving {host} failed{via}: {_first(check)}", data)


def _first(check: Check) -> str:
    lines = [line.strip() for line in check.output if line.strip()]
    return lines[-1][:160] if lines else f"exit code {check.rc}"


def _first_match(check: Check, words: tuple[str, ...]) -> str:
    for line in check.output:
        if any(w in line.lower() for w in words):
            return line.strip()[:160]
    return _first(check)


def _connect_failure(text: str, check: Check) -> tuple[str, str] | None:
    low = text.lower()
    if "refused" in low:
        return "refused", "connection refused"
    if "no route to host" in low:
        return "no-route", "no route to host"
    if "network is unreachable" in low:
        return "unreachable", "network is unreachable"
    if "bad address" in low or "could not resolve host" in low or "name or service not known" in low:
        return "name", "the name does not resolve"
    if "couldn't connect to server" in low or "failed to connect" in low:
        return "connect", "could not connect"
    if "reset by peer" in low and "tls" not in low:
        return "reset", "connection reset"
    if _timed_out(check, text):
        return "timeout", "timed out"
    return None


def _tcp(check: Check, host: str, port: str) -> Step:
    target = f"{host}:{port}"
    if check.status == "skip":
        return Step("tcp", None, check.why or "skipped", f"TCP to {target} not tried ({check.why})")
    if check.status == "ok":
        return Step("tcp", True, "connected", f"TCP connect to {target} works")
    kind, words = _connect_failure(_text(check), check) or ("error", _first(check))
    return Step("tcp", False, kind, f"TCP connect to {target}: {words}")


def _cert(log: CheckLog) -> dict[str, Any]:
    """Subject, issuer, validity and SANs from ``openssl x509`` (the cert check) or the tls output."""
    out: dict[str, Any] = {}
    lines = (log.check("cert").output if log.check("cert") else []) + (log.check("tls").output if log.check("tls") else [])
    for i, line in enumerate(lines):
        s = line.strip()
        for key, name in (("subject=", "subject"), ("issuer=", "issuer"), ("notBefore=", "notBefore"),
                          ("notAfter=", "notAfter")):
            if s.startswith(key) and name not in out:
                out[name] = s[len(key):].strip()
        if "Subject Alternative Name" in s and i + 1 < len(lines) and "sans" not in out:
            out["sans"] = [x.strip().replace("IP Address:", "IP:") for x in lines[i + 1].split(",") if x.strip()]
        m = re.match(r"\*\s+(subject|issuer|expire date|start date):\s*(.*)", s)  # curl -v
        if m:
            key = {"expire date": "notAfter", "start date": "notBefore"}.get(m.group(1), m.group(1))
            out.setdefault(key, m.group(2).strip())
        m = re.match(r"v:NotBefore: (.*?); NotAfter: (.*)", s)  # openssl 3 chain lines
        if m:
            out.setdefault("notBefore", m.group(1).strip())
            out.setdefault("notAfter", m.group(2).strip())
    chain = [line.strip() for line in (log.check("tls").output if log.check("tls") else [])
             if re.match(r"\s*\d+ s:", line)]
    if chain:
        out["chain"] = chain
    return out


def _tls(check: Check, log: CheckLog) -> Step:
    host = log.host
    if check.status == "skip":
        return Step("tls", None, check.why or "skipped", f"TLS not tried ({check.why})")
    text = _text(check)
    low = text.lower()
    cert = _cert(log)
    data: dict[str, Any] = {"tool": check.tool}
    if cert:
        data["certificate"] = cert
    issued = f" (subject {cert.get('subject')}, issuer {cert.get('issuer')}, valid until {cert.get('notAfter')})" \
        if cert.get("subject") else ""
    if "wrong version number" in low or "bad tls record" in low or "packet length too long" in low \
            or "http response to https" in low or "record layer failure" in low:
        return Step("tls", False, "not-tls", f"{host}:{log.port} does not speak TLS (it answers in plain text)", data)
    codes = re.findall(r"Verify return code: (\d+) \(([^)]*)\)", text)
    if check.tool == "openssl" and codes:
        code, words = codes[-1]
        data["verify"] = f"{code} ({words})"
        if code == "0":
            return Step("tls", True, "trusted", f"TLS handshake works and the certificate chain verifies{issued}",
                        data)
        if code in _EXPIRED:
            state = "has expired" if code == "10" else "is not valid yet"
            return Step("tls", False, _EXPIRED[code], f"the certificate of {host} {state}{issued}", data)
        if code in _HOSTNAME:
            names = ", ".join(cert.get("sans") or []) or cert.get("subject", "?")
            return Step("tls", False, "hostname", f"the certificate is not valid for {host}: it names {names}", data)
        if code in _UNTRUSTED:
            return Step("tls", False, "untrusted", f"the certificate of {host} is not trusted: {words}{issued}", data)
        return Step("tls", False, "verify-error", f"certificate verification failed: {words}{issued}", data)
    if check.tool == "curl":
        m = re.search(r"SSL certificate problem: ([^\n]*)", text)
        if m:
            words = m.group(1).strip()
            kind = "expired" if "expired" in words else "untrusted"
            return Step("tls", False, kind, f"the certificate of {host} is not trusted: {words}{issued}", data)
        if "no alternative certificate subject name matches" in low or "does not match target host" in low:
            return Step("tls", False, "hostname", f"the certificate is not valid for {host}{issued}", data)
        if check.status == "ok" or "ssl certificate verify ok" in low:
            return Step("tls", True, "trusted", f"TLS handshake works and the certificate chain verifies{issued}",
                        data)
    if "alert" in low or "handshake failure" in low or "unexpected eof" in low or "reset by peer" in low:
        why = re.search(r"(alert[^\n]*|handshake failure|unexpected eof[^\n]*)", low)
        return Step("tls", False, "handshake", f"the TLS handshake with {host} failed ({why.group(1) if why else 'reset'})",
                    data)
    if _timed_out(check, text):
        return Step("tls", False, "timeout", f"the TLS handshake with {host} timed out", data)
    if check.status == "ok" and cert:
        return Step("tls", True, "handshake", f"TLS handshake works{issued}", data)
    return Step("tls", False, "error", f"TLS with {host} failed: {_first(check)}", data)


def _http(check: Check, what: str) -> Step:
    text = _text(check)
    name = check.name
    if check.status == "skip":
        return Step(name, None, check.why or "skipped", f"{what} not tried ({check.why})")
    statuses = _HTTP_STATUS.findall(text)
    realm = _REALM.search(text)
    data: dict[str, Any] = {"tool": check.tool}
    low = text.lower()
    if "tls error" in low or "tls record" in low or "wrong version number" in low or "ssl routines" in low:
        kind = "not-tls" if "tls record" in low or "wrong version number" in low else "handshake"
        return Step(name, False, kind, f"{what}: TLS fails: {_first_match(check, ('tls', 'ssl'))}", data)
    proxy_refused = re.search(r"(?i)received http code (\d{3}) from proxy|proxy connect aborted", text)
    if proxy_refused:
        return Step(name, False, "proxy-refused", f"{what}: the proxy refused the CONNECT ({proxy_refused.group(0)})",
                    data)
    if statuses:
        code, words = statuses[-1]
        if len(statuses) > 1 and statuses[0][0] == "200" and "connection established" in (statuses[0][1] or "").lower():
            code, words = statuses[-1]
        data["status"] = int(code)
        if realm:
            data["auth"] = realm.group(1)
            data["realm"] = realm.group(2)
        line = f"{what} answers {code}" + (f" {words.strip()}" if words and words.strip() else "")
        if code == "401":
            return Step(name, True, "http-401", line + (f' with {realm.group(1)} realm="{realm.group(2)}"' if realm else "")
                        + ": a registry that wants a login or token; reachable", data)
        if code == "200":
            return Step(name, True, "http-200", line + ": a registry, anonymous access; reachable", data)
        if code.startswith("5"):
            return Step(name, False, "http-5xx", line + ": the registry (or a proxy in front of it) is failing", data)
        if code in ("403", "407"):
            return Step(name, False, f"http-{code}", line + ": something between the node and the registry refuses "
                        "(a proxy or firewall answering for it?)", data)
        if code == "404":
            return Step(name, False, "http-404", line + ": no registry API at this address", data)
        return Step(name, None, f"http-{code}", line, data)
    failure = _connect_failure(text, check)
    if failure:
        return Step(name, False, failure[0], f"{what}: {failure[1]}", data)
    if "bad tls record" in text.lower() or "wrong version number" in text.lower():
        return Step(name, False, "not-tls", f"{what}: the server does not speak TLS", data)
    return Step(name, False, "error", f"{what}: {_first(check)}", data)


def _disk(check: Check) -> Step:
    if check.status == "skip":
        return Step("disk", None, "skipped", "disk not checked")
    for line in check.output[1:]:
        parts = line.split()
        if len(parts) >= 6 and parts[1].isdigit() and parts[3].isdigit():
            size, used, avail = int(parts[1]) * 1024, int(parts[2]) * 1024, int(parts[3]) * 1024
            pct = int(parts[4].rstrip("%")) if parts[4].rstrip("%").isdigit() else round(100 * used / max(size, 1))
            data = {"filesystem": parts[0], "sizeBytes": size, "usedBytes": used, "availableBytes": avail,
                    "usedPercent": pct}
            words = (f"{_gib(avail)} free of {_gib(size)} ({pct}% used) on the filesystem under the check pod's "
                     "container")
            if pct >= DISK_HIGH:
                return Step("disk", False, "high", words + f": above the kubelet's image GC threshold ({DISK_HIGH}%)",
                            data)
            return Step("disk", True, "space", words, data)
    return Step("disk", None, "error", f"df: {_first(check)}")


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}GiB" if n >= 2**30 else f"{n / 2**20:.0f}MiB"


def interpret(log: CheckLog) -> list[Step]:
    """One ``Step`` per check the script ran, in the runtime's order."""
    steps: list[Step] = []
    port = log.port or "443"
    for name in ("dns", "tcp", "tls", "v2", "v2http", "v2proxy", "disk"):
        check = log.check(name)
        if check is None:
            continue
        if name == "dns":
            steps.append(_dns(check, log.host, log.resolvers))
        elif name == "tcp":
            steps.append(_tcp(check, log.host, port))
        elif name == "tls":
            steps.append(_tls(check, log))
        elif name == "v2":
            steps.append(_http(check, "/v2/ over https"))
        elif name == "v2http":
            steps.append(_http(check, "/v2/ over plain http"))
        elif name == "v2proxy":
            proxy = log.proxies.get("HTTPS_PROXY") or log.proxies.get("https_proxy") or "the proxy"
            steps.append(_http(check, f"/v2/ through {proxy}"))
        else:
            steps.append(_disk(check))
    return steps


# -- what it means ------------------------------------------------------------------------------------

def verdict(log: CheckLog, steps: list[Step], *, node: str, code: str | None = None) -> Verdict:
    """The first failing step and what it means; ``code`` is the finding being checked."""
    by = {s.name: s for s in steps}
    host, port = log.host, log.port or "443"
    where = f"from {node}"
    dns, tcp, tls, v2 = (by.get(n) for n in ORDER)
    proxy = by.get("v2proxy")
    proxy_works = proxy is not None and proxy.ok is True
    resolver = (dns.data.get("resolver") if dns else "") or (log.resolvers[0] if log.resolvers else "")
    via_proxy = (f" Through the proxy the pods are given ({_proxy_name(log)}) the registry answers: configure the "
                 "same proxy for the container runtime on the nodes (HTTPS_PROXY/NO_PROXY in the containerd or "
                 "CRI-O systemd unit), it does not read the pods' settings.") if proxy_works else ""
    if dns is not None and dns.ok is False:
        if dns.kind == "nxdomain":
            return Verdict("dns", "nxdomain", f"{where}: DNS fails: {host} does not resolve (NXDOMAIN from "
                           f"{resolver or 'the node resolver'})",
                           f"The node's resolver says {host} does not exist: a typo in the registry name, or a name "
                           "only resolvable elsewhere (a cluster Service name, a VPN or corporate zone the nodes do "
                           "not use). The runtime resolves registry names with the node's /etc/resolv.conf, as this "
                           "check pod did (dnsPolicy: Default)." + via_proxy, True)
        return Verdict("dns", dns.kind, f"{where}: DNS fails: {dns.summary}",
                       f"The node's resolver {resolver} cannot answer for {host}: check the node's DNS servers "
                       "(/etc/resolv.conf on the node) and that UDP/TCP 53 to them is allowed." + via_proxy, True)
    dns_words = "DNS not needed (IP address)" if dns is not None and dns.kind == "ip-literal" else \
        "DNS works" if dns is not None and dns.ok else "DNS not checked"
    if tcp is not None and tcp.ok is False:
        if tcp.kind == "timeout":
            return Verdict("tcp", "timeout", f"{where}: {dns_words}, TCP {port} to {host} times out: a firewall or "
                           "proxy is blocking the node",
                           f"Packets to {host}:{port} get no answer: an egress firewall, security group or network "
                           "policy drops them, or the nodes must go through a proxy." + via_proxy, True)
        if tcp.kind == "refused":
            return Verdict("tcp", "refused", f"{where}: {dns_words}, but {host}:{port} refuses the connection",
                           f"Nothing listens on {host}:{port} (wrong port in the image name? registry down?) or a "
                           "firewall rejects the connection." + via_proxy, True)
        return Verdict("tcp", tcp.kind, f"{where}: {dns_words}, {tcp.summary}",
                       "The node has no network path to the registry: check routes, egress rules and proxies."
                       + via_proxy, True)
    if tls is None and v2 is not None and v2.kind in ("not-tls", "handshake"):
        tls = Step("tls", False, v2.kind, v2.summary.replace("/v2/ over https: TLS fails: ", ""), {"tool": v2.data.get("tool", "")})
    if tls is not None and tls.ok is False:
        cert = tls.data.get("certificate") or {}
        http = by.get("v2http")
        if tls.kind == "not-tls":
            plain = f" Over plain http /v2/ answers {http.data.get('status')}." if http and http.data.get("status") else ""
            return Verdict("tls", "not-tls", f"{where}: {dns_words}, TCP {port} works, but {host}:{port} does not "
                           "speak TLS", f"The registry serves plain HTTP.{plain} Declare it as an HTTP (insecure) "
                           "registry in the runtime's configuration on every node, or serve it with TLS.", True)
        if tls.kind in ("expired", "not-yet-valid"):
            return Verdict("tls", tls.kind, f"{where}: {dns_words}, TCP {port} works, TLS fails: {tls.summary}",
                           f"The registry's certificate is outside its validity period (notAfter "
                           f"{cert.get('notAfter', '?')}): renew it on the registry (or fix the node's clock if it is "
                           "the node that is wrong).", True)
        if tls.kind == "hostname":
            return Verdict("tls", "hostname", f"{where}: {dns_words}, TCP {port} works, TLS fails: {tls.summary}",
                           f"The certificate does not name {host}: reissue it with {host} in its subjectAltName, or "
                           "pull by a name the certificate has.", True)
        if tls.kind == "untrusted":
            return Verdict("tls", "untrusted", f"{where}: {dns_words}, TCP {port} works, TLS: {tls.summary}",
                           "The check pod verified the chain against its image's CA bundle (the public CAs); the "
                           "runtime checks it against the node's trust store and /etc/containerd/certs.d/" + host +
                           "/ca.crt (or /etc/containers/certs.d, /etc/docker/certs.d). A private or self-signed CA "
                           "must be installed there on every node, then the runtime restarted.", True)
        if tls.kind == "handshake" and tls.data.get("tool") in ("wget", ""):
            return Verdict("tls", "inconclusive", f"{where}: {dns_words}, TCP {port} works; the TLS handshake failed "
                           "with busybox's small TLS client", "busybox wget supports few TLS cipher suites, so this "
                           "alone does not prove the registry's TLS is broken: run the node check again with an image "
                           "that has openssl or curl (--image curlimages/curl:8.10.1 or nicolaka/netshoot).", False)
        return Verdict("tls", tls.kind, f"{where}: {dns_words}, TCP {port} works, TLS fails: {tls.summary}",
                       "Something in the TLS exchange fails: a TLS-intercepting proxy, a middlebox resetting the "
                       "connection, or a registry misconfiguration." + via_proxy, True)
    if v2 is not None and v2.ok is False:
        return Verdict("v2", v2.kind, f"{where}: {dns_words}, TCP {port} and TLS work, but {v2.summary}",
                       "The connection works; the answer is not a healthy registry's (a 5xx is usually transient; "
                       "a 403/407 comes from a proxy or firewall in between).", v2.kind != "http-5xx")
    reached = [s for s in (dns, tcp, tls, v2) if s is not None and s.ok]
    if v2 is not None and v2.ok:
        trust = (" (handshake only: busybox wget does not check certificates)" if tls is None
                 else "" if tls.ok else " (certificate not trusted)")
        head = (f"{where}: {host}:{port} is reachable: {dns_words}, TCP {port}, TLS{trust} and /v2/ "
                f"({v2.data.get('status')}) all work")
        return Verdict(None, "reachable", head, _reachable_meaning(code, host, tls), False)
    return Verdict(None, "incomplete", f"{where}: " + "; ".join(s.summary for s in reached) if reached
                   else f"{where}: the node check could not test {host}", "Not every step could be tested with the "
                   "tools in the check pod's image; --image with curl or openssl (curlimages/curl, nicolaka/netshoot) "
                   "tests more.",
                   False)


def _reachable_meaning(code: str | None, host: str, tls: Step | None) -> str:
    if code == "image.registry-unreachable":
        return ("The registry is reachable from a pod on this node, so the runtime's failure is not reproduced: "
                "the runtime's own settings differ (its proxy variables in the containerd/CRI-O unit, a host "
                "firewall rule for the node's own traffic, a registry mirror in its configuration), or the failure "
                "was transient: delete the pod to retry the pull now.")
    if code == "image.tls-error":
        if tls is not None and tls.ok:
            return (f"The certificate verifies against the public CAs in the check pod's image, so {host}'s "
                    "certificate is fine: the node's trust store or its clock is the problem (check the node's time, "
                    f"and /etc/containerd/certs.d/{host}/ on the node).")
        return "The registry answers; see the TLS step for the certificate details."
    if code in ("image.pull-timeout",):
        return ("The registry answers quickly from this node: a stalled pull is then more likely a large layer on a "
                "slow or throttled link, or a proxy/mirror stalling downloads.")
    return "The registry answers from this node: the network path is not the problem."


def _proxy_name(log: CheckLog) -> str:
    return log.proxies.get("HTTPS_PROXY") or log.proxies.get("https_proxy") or "?"


def evidence(steps: list[Step], node: str) -> list[str]:
    """Evidence lines for the finding: one per step."""
    return [f"node check on {node}: {s.name}: {'ok' if s.ok else 'FAILED' if s.ok is False else 'not tested'}: "
            f"{s.summary}" for s in steps]
