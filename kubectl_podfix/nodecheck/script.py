"""The shell script the check pod runs (POSIX sh: busybox ash, dash, bash).

It tests, from the failing pod's node, what the container runtime needs to pull from one registry:
DNS, TCP, TLS (certificate chain when ``openssl`` is there), the ``/v2/`` endpoint, the proxy the
pods are given, and the space left on the filesystem under the container (on containerd and CRI-O
with overlayfs, the node's image filesystem). It adapts to the tools the image has (``command -v``)
and decides nothing itself: it prints what each tool said, in a strict line format that
``parse.py`` reads::

    PODFIX-CHECK begin v1 host=<host> port=<port> uid=<uid>
    PODFIX-CHECK tools <tool> <tool> ...
    PODFIX-CHECK resolver <nameserver>[,<nameserver>...]
    PODFIX-CHECK proxy <VAR>=<value without user:password@>
    PODFIX-CHECK <check> <ok|fail|skip> rc=<exit code> tool=<tool> [why]
    PODFIX-OUT <check> <one line of the tool's output>
    PODFIX-CHECK end

Checks: ``dns``, ``tcp``, ``tls``, ``cert``, ``v2``, ``v2http`` (only when TLS failed), ``v2proxy``
(only when the pod had an HTTPS proxy), ``disk``. Direct checks run with the proxy variables
unset: the runtime does not use the pods' proxy settings. Nothing here prints proxy credentials:
``redact`` strips ``user:password@`` and Proxy-Authorization lines from every quoted line.

The environment: REGISTRY_HOST, REGISTRY_PORT (443), CHECK_STEP_TIMEOUT (seconds per step, 6),
PODFIX_DNS_SERVER and PODFIX_DNS_PORT (tests only: ask this DNS server instead of the resolver).
"""

from __future__ import annotations

VERSION = "v1"

SCRIPT = r'''
H="${REGISTRY_HOST:-}"; P="${REGISTRY_PORT:-443}"; T="${CHECK_STEP_TIMEOUT:-6}"
say() { echo "PODFIX-CHECK $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
# user:password@ ends at the last "@" before the host: a password may hold an unencoded "@" or "/"
redact() { sed -e "s#//[^ '\"]*@#//#g" -e 's#[Pp]roxy-[Aa]uthorization:.*#Proxy-Authorization: (removed)#'; }
quote() {
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1)); [ "$n" -gt "${2:-30}" ] && break
    printf 'PODFIX-OUT %s %s\n' "$1" "$line"
  done
}
# the tools get $T seconds themselves; the hard stop comes 2 seconds later
to() { if have timeout; then timeout "$((T + 2))" "$@"; else "$@"; fi; }
# check NAME TOOL CMD...: run CMD (stdin empty, step timeout), print its status line and its output
check() {
  name=$1; tool=$2; shift 2
  out=$(to "$@" </dev/null 2>&1); rc=$?
  if [ "$rc" -eq 0 ]; then st=ok; else st=fail; fi
  say "$name $st rc=$rc tool=$tool"
  printf '%s\n' "$out" | redact | quote "$name" 40
  return "$rc"
}
skip() { say "$1 skip rc=- tool=- $2"; }

# podfix validated host and port (nodecheck/spec.py); refuse anything else here too, before any tool sees it
case "$H" in ""|-*|*[!A-Za-z0-9.:-]*) say "begin __VERSION__ host=invalid port=$P uid=-"; say end; exit 0 ;; esac
case "$P" in ""|*[!0-9]*) say "begin __VERSION__ host=$H port=invalid uid=-"; say end; exit 0 ;; esac
case "$H" in *:*) HP="[$H]:$P"; URLH="[$H]" ;; *) HP="$H:$P"; URLH="$H" ;; esac
[ "$P" = 443 ] && URL="https://$URLH/v2/" || URL="https://$URLH:$P/v2/"
say "begin __VERSION__ host=$H port=$P uid=$(id -u 2>/dev/null)"
tools=""
for t in nslookup getent dig nc bash openssl curl wget timeout df; do have "$t" && tools="$tools $t"; done
say "tools$tools"
say "resolver $(sed -n 's/^nameserver[[:space:]]*//p' /etc/resolv.conf 2>/dev/null | head -3 | tr '\n' ',' | sed 's/,$//')"

PX="${HTTPS_PROXY:-${https_proxy:-}}"
for v in HTTPS_PROXY https_proxy HTTP_PROXY http_proxy NO_PROXY no_proxy; do
  eval "val=\${$v:-}"
  [ -n "$val" ] && say "proxy $v=$(printf '%s' "$val" | redact | sed 's#^.*@##')"
done
unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy

# 1. DNS, with the resolver the pod got (dnsPolicy Default: the node's own /etc/resolv.conf)
dns=ok
case "$H" in
  *:*|"") skip dns ip-literal ;;
  *[!0-9.]*)
    if [ -n "${PODFIX_DNS_SERVER:-}" ] && have nslookup; then
      check dns nslookup nslookup -port="${PODFIX_DNS_PORT:-53}" "$H" "$PODFIX_DNS_SERVER" || dns=fail
    elif have nslookup; then check dns nslookup nslookup "$H" || dns=fail
    elif have getent; then check dns getent getent hosts -- "$H" || dns=fail
    elif have dig; then check dns dig dig +short "$H" || dns=fail
    else skip dns no-tool; fi ;;
  *) skip dns ip-literal ;;
esac

# 2. TCP connect
tcp=ok
if [ "$dns" = fail ]; then skip tcp dns-failed; tcp=fail
elif have nc && nc -h 2>&1 | grep -q -- ' -z'; then check tcp nc nc -z -w "$T" -- "$H" "$P" || tcp=fail
elif have nc; then check tcp nc nc -w "$T" -- "$H" "$P" || tcp=fail
elif have bash; then check tcp bash bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$H" "$P" || tcp=fail
else skip tcp no-tool; tcp=unknown; fi

# 3. TLS handshake and certificate chain (openssl; else curl; else busybox wget's TLS client)
tls=unknown
if [ "$tcp" = fail ]; then skip tls tcp-failed
elif have openssl; then
  case "$H" in *[g-zG-Z]*) vh="-verify_hostname $H" ;; *) vh="-verify_ip $H" ;; esac
  out=$(to openssl s_client -connect "$HP" -servername "$H" $vh -showcerts </dev/null 2>&1); rc=$?
  if printf '%s' "$out" | grep -q -- '-----BEGIN CERTIFICATE-----'; then tls=ok; st=ok; else tls=fail; st=fail; fi
  say "tls $st rc=$rc tool=openssl"
  printf '%s\n' "$out" | grep -E '^(depth=|verify |Verify return|Verification|CONNECTED|Certificate chain| *[0-9]+ s:| *i:| *v:|subject=|issuer=|New, |no peer|.*[Ee]rror|.*errno|.*alert|.*wrong version|.*unexpected eof|connect:)' | redact | quote tls 40
  if [ "$tls" = ok ]; then
    cert=$(printf '%s\n' "$out" | openssl x509 -noout -subject -issuer -dates -ext subjectAltName 2>&1 \
      || printf '%s\n' "$out" | openssl x509 -noout -subject -issuer -dates 2>&1)
    say "cert ok rc=0 tool=openssl"
    printf '%s\n' "$cert" | quote cert 12
  fi
elif have curl; then
  check tls curl curl -sv -o /dev/null --max-time "$T" -- "$URL" && tls=ok || tls=fail
else
  tls=wget
fi

# 4. The registry's /v2/ endpoint (certificate not verified here: that is the tls check's job)
if [ "$tcp" = fail ]; then skip v2 tcp-failed
elif have curl; then check v2 curl curl -sS -k -o /dev/null -D - --max-time "$T" -- "$URL"
elif have wget; then
  check v2 wget wget -S -O /dev/null --no-check-certificate -- "$URL"
  # busybox wget is the TLS client here: a TLS failure shows in its output
  case "$out" in *"TLS record"*|*"TLS error"*|*"handshake"*) [ "$tls" = wget ] && tls=fail ;; esac
else skip v2 no-tool; fi
if [ "$tls" = fail ]; then
  [ "$P" = 443 ] && HURL="http://$URLH/v2/" || HURL="http://$URLH:$P/v2/"
  if have curl; then check v2http curl curl -sS -o /dev/null -D - --max-time "$T" -- "$HURL"
  elif have wget; then check v2http wget wget -S -O /dev/null -- "$HURL"; fi
fi

# 5. Through the proxy the pods are given, when there is one
if [ -n "$PX" ]; then
  if have curl; then check v2proxy curl curl -sS -k -o /dev/null -D - --max-time "$T" -x "$PX" -- "$URL"
  elif have wget; then export https_proxy="$PX"; check v2proxy wget wget -S -O /dev/null --no-check-certificate -- "$URL"
  else skip v2proxy no-tool; fi
fi

# 6. Space on the filesystem under the container (the runtime's image filesystem on overlayfs)
if have df; then check disk df df -Pk /; else skip disk no-tool; fi
say end
'''.replace("__VERSION__", VERSION).lstrip("\n")
