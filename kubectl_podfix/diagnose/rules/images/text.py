"""Writing an ``image.*`` finding: its title, explanation, evidence, suggestions and fix.

``pull.py`` decides the code; ``Builder`` words it. One method per code
(``_not_found`` for ``image.not-found``...), each free to use the kind of
cause ``messages.classify`` found (``dns``, ``expired``, ``ambiguous``...) and
the pull-secret facts. Every explanation ends with the runtime's own error,
and every finding carries the same structured ``extra`` (image, registry,
runtime, cause...).
"""

from __future__ import annotations

import re

from kubectl_podfix.diagnose.model import Finding, Fix, dig, event_first_time
from kubectl_podfix.diagnose.rules import common
from kubectl_podfix.diagnose.rules.images.messages import SECRET_NAMES, clean, detect_runtime, strip_rpc
from kubectl_podfix.diagnose.rules.images.registries import (
    hides_private,
    host_of,
    is_mirror,
    node_provider,
    public_only,
    registry_endpoint,
    registry_label,
    resolved_reference,
)
from kubectl_podfix.registry import reference as imagelib


class Builder:
    """Writes the finding for one container once ``pull.py`` has decided its code."""

    def __init__(self, ctx, spec, status, is_init, reason, message, cause, verdict, code, secrets, events, noise):
        self.ctx, self.spec, self.status, self.is_init = ctx, spec, status, is_init
        self.reason, self.message = reason, message
        self.cause, self.verdict, self.code, self.secrets = cause, verdict, code, secrets
        self.events, self.noise = events, noise
        self.name = spec.get("name") or ""
        self.image = spec.get("image") or ""
        # A short name the runtime resolved to another registry than Docker Hub: that registry is the one
        # that answered, so it is the one to name, check and hold credentials for.
        self.resolved = resolved_reference(self.image, cause.text if cause else "")
        self.ref = imagelib.parse_image(self.resolved or self.image)
        self.host = self.ref.registry if self.ref else host_of(self.resolved or self.image)
        self.remote = self.resolved or self.image  # the reference to ask the registry about
        self.node = dig(ctx.pod, "spec.nodeName") or ""
        self.pod = ctx.name
        self.ns = ctx.namespace
        self.runtime = detect_runtime(cause.text if cause else "", ctx.node())
        self.evidence: list[str] = []
        self.suggestions: list[str] = []
        self._secrets_shown = False

    # -- shared pieces ------------------------------------------------------------------------

    def kubectl(self, *args: str) -> str:
        return common.kubectl(self.ctx, *args)

    def node_phrase(self) -> str:
        """ "node worker-1", or "the node" when the pod names none (never "node the node")."""
        return f"node {self.node}" if self.node else "the node"

    def where(self) -> str:
        kind = "init container" if self.is_init else "container"
        return f'{kind} "{self.name}"'

    def repo_path(self) -> str:
        return f"{self.ref.registry}/{self.ref.repository}" if self.ref else self.image

    def secret_command(self, secret: str) -> str:
        server = imagelib.secret_server_key(self.host or imagelib.DOCKER_HUB)
        return (f"kubectl podfix secret {secret} --for {self.pod} -n {self.ns} --docker-server {server} "
                "--docker-username USERNAME --password-stdin --verify --restart")

    def image_fix(self) -> Fix:
        return Fix(id="image", description=f'Pick an image reference for {self.where()} that exists in the '
                   "registry (podfix lists the repository's tags) and update the workload",
                   command=f"kubectl podfix fix image {self.pod} -n {self.ns} --check-registry")

    def secret_fix(self, secret: str, missing: bool) -> Fix:
        what = (f'Create the missing pull secret "{secret}"' if missing
                else f'Create or update the pull secret "{secret}"')
        return Fix(id="pull-secret", description=f"{what} with credentials for {registry_label(self.host)}, "
                   "check them against the registry, and restart the pod",
                   command=self.secret_command(secret))

    def base_evidence(self) -> None:
        if self.reason:
            self.evidence.append(f"{self.where()} waiting: {self.reason}"
                                 + (f": {self.message.strip()}" if self.message.strip() else ""))
        if self.cause is not None and self.cause.origin == "event":
            self.evidence.append(self.cause.quote)
        elif self.cause is None:
            for ev in self.noise[-2:]:
                self.evidence.append(common.describe_event(ev, self.ctx.now))

    def secret_evidence(self) -> None:
        if self._secrets_shown:
            return
        self._secrets_shown = True
        s = self.secrets
        if not s.names:
            self.evidence.append("the pod has no imagePullSecrets")
        else:
            self.evidence.append("pod imagePullSecrets: " + ", ".join(s.names))
        if s.missing:
            how = ("not in the namespace's Secrets" if s.missing_source == "snapshot"
                   else "reported missing by the kubelet")
            self.evidence.append(f"pull secret(s) {', '.join(s.missing)}: {how}")
        if s.event is not None:
            self.evidence.append(common.describe_event(s.event, self.ctx.now))
            m = SECRET_NAMES.search(clean(s.event.get("message")))
            named = [n.strip().strip("<>") for n in (m.group(1).split(",") if m else [])]
            for name in named:
                if s.listed and name in s.present:
                    self.evidence.append(f"secret {name} exists now: the event predates it, and the next pull "
                                         "attempt uses it")
        if s.names and not s.listed and not s.missing:
            self.evidence.append("Secrets were not listed, so whether the pull secrets exist could not be checked")
        for name, key in s.covering:
            self.evidence.append(f'secret {name} covers registry {self.host} (auths key "{key}")')
        for name in s.present:
            if name in s.keys and not any(n == name for n, _ in s.covering):
                if s.keys[name]:
                    self.evidence.append(f"secret {name} holds credentials for {', '.join(s.keys[name])}, "
                                         f"not for {self.host}")
                else:
                    self.evidence.append(f"secret {name} covers no registry: its docker config holds no "
                                         "credentials (an empty auths map, or entries without auth), so the "
                                         "kubelet sends nothing from it")
        for name, stype in s.not_docker:
            self.evidence.append(f"secret {name} has type {stype}; the kubelet only uses "
                                 "kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg secrets")
        for name in s.unknown_coverage:
            self.evidence.append(f"secret {name} exists; which registries it covers is not known")
        if not s.names and s.sa_secrets:
            self.evidence.append(f"service account {s.sa_name} lists imagePullSecrets {', '.join(s.sa_secrets)}, "
                                 "but the pod has none: they are copied into the pod only when it is created")

    def hub_key_note(self) -> str:
        if self.host != imagelib.DOCKER_HUB:
            return ""
        return (f' For Docker Hub the kubelet looks the credentials up under "{imagelib.DOCKER_HUB_KEY}" '
                '(also accepted: docker.io, index.docker.io, registry-1.docker.io).')

    def since(self) -> str | None:
        times = [event_first_time(ev) for ev in self.events if ev.get("reason") in ("Failed", "InspectFailed",
                                                                                    "ErrImageNeverPull", "BackOff")]
        times = [t for t in times if t is not None]
        if not times:
            return None
        return min(times).strftime("%Y-%m-%dT%H:%M:%SZ")

    def finding(self, title: str, explanation: str, fix: Fix | None) -> Finding:
        if self.secrets.missing:
            self.secret_evidence()  # a missing pull secret is always worth knowing
        extra = {"image": self.image, "registry": self.host, "runtime": self.runtime or None,
                 "cause": self.cause.text if self.cause else None,
                 "cause_source": self.cause.origin if self.cause else None,
                 "kind": self.verdict.kind}
        if self.ref:
            extra["repository"] = self.ref.repository
            extra["reference"] = self.ref.reference
        if self.secrets.names:
            extra["pull_secrets"] = list(self.secrets.names)
        if self.secrets.missing:
            extra["missing_secrets"] = list(self.secrets.missing)
        if self.secrets.covering:
            extra["covering_secrets"] = sorted({n for n, _ in self.secrets.covering})
        if self.verdict.detail:
            extra["detail"] = self.verdict.detail
        if self.resolved:
            extra["resolved"] = self.resolved
        extra = {k: v for k, v in extra.items() if v not in (None, "", [])}
        self.resolved_suggestion()
        explanation = re.sub(r"\s{2,}", " ", explanation).strip()
        return Finding(code=self.code, severity="error", container=self.name, title=title,
                       explanation=explanation, evidence=self.evidence, suggestions=self.suggestions,
                       fix=fix, since=self.since(), extra=extra)

    def cause_sentence(self) -> str:
        if self.cause is None:
            return ""
        where = "the container's waiting message" if self.cause.origin == "waiting" else "the kubelet's last pull event"
        return self.resolved_note() + f" The error, from {where}: {strip_rpc(self.cause.text).strip()}"

    def resolved_suggestion(self) -> None:
        if self.resolved:
            path = self.image.split("@", 1)[0]
            hub = "docker.io/" + (path if "/" in path else "library/" + path)
            self.suggestions.insert(0, f"write the image in full, e.g. {hub} for Docker Hub or {self.resolved} "
                                       f"for {self.host}, so no search list decides")

    def resolved_note(self) -> str:
        if not self.resolved:
            return ""
        return (f' "{self.image}" is a short name: the node\'s runtime (CRI-O, through unqualified-search-registries '
                f"in /etc/containers/registries.conf) resolved it to {self.resolved}, and {self.host} is the registry "
                "that answered. If the image is meant to come from Docker Hub, write docker.io/... in full: the "
                "Docker Hub attempt's own error (a rate limit, for example) is hidden behind this one.")

    # -- per code -----------------------------------------------------------------------------

    def build(self) -> Finding:
        self.base_evidence()
        method = getattr(self, "_" + self.code.split(".", 1)[1].replace("-", "_"))
        return method()

    def _invalid_name(self) -> Finding:
        problems = _name_problems(self.image)
        short = self.verdict.kind == "short-name"
        if short:
            title = f'Image "{self.image}" is a short name the node\'s runtime cannot resolve'
            low = (self.cause.text if self.cause else "").lower()
            if "ambiguous" in low or "enforcing" in low:
                why = ("The name matches more than one of the node's unqualified-search-registries and the "
                       "runtime's short-name mode is 'enforcing' (CRI-O's default since 1.34), so it refuses to "
                       "guess which registry is meant.")
            else:
                why = ("The runtime (CRI-O/containers-image) has no unqualified-search registries for short image "
                       "names (CRI-O 1.34 and later no longer search docker.io by default), so it cannot tell which "
                       "registry is meant.")
            full = "docker.io/library/nginx:1.27"
            if self.ref:
                sep = "@" if self.ref.digest else ":"
                full = f"docker.io/{self.ref.repository}{sep}{self.ref.reference}"
            explanation = (why + " Kubernetes itself does not add docker.io: write the full reference with the "
                           f"registry host, e.g. {full}." + self.cause_sentence())
            self.suggestions += [f"use a fully qualified image, e.g. {full}",
                                 "or configure unqualified-search-registries in /etc/containers/registries.conf on the nodes"]
        else:
            title = f'Image name "{self.image}" is not a valid image reference'
            explanation = ("The kubelet could not parse the image field, so it never contacted a registry. "
                           "A reference is [host[:port]/]path[:tag][@sha256:digest], lowercase path, no scheme, "
                           "one tag." + (" Problem: " + "; ".join(problems) + "." if problems else "")
                           + self.cause_sentence())
            self.suggestions += [f"fix the image in the workload's pod template: {self.kubectl('get', 'pod', self.pod, '-o', 'jsonpath={..image}')}",
                                 "check templated values (Helm/kustomize variables that rendered empty or as a "
                                 "null value, or a tag "
                                 "appended twice)"]
        self.evidence.append(f'image field: {self.image!r}')
        return self.finding(title, explanation, None)

    def _never_pull(self) -> Finding:
        node = self.node_phrase()
        title = f'Image "{self.image}" is not on {node} and imagePullPolicy is Never'
        explanation = ("With imagePullPolicy: Never the kubelet only uses images already in the node's container "
                       "runtime store and never pulls. The image is not there — typical when it was built or "
                       "loaded into a different runtime or node (e.g. a local Docker Engine while the cluster uses "
                       "containerd, or only one node of several)." + self.cause_sentence())
        self.suggestions += [
            "load the image into every node's runtime (kind load docker-image / minikube image load / "
            "ctr -n k8s.io images import), or push it to a registry",
            "or set imagePullPolicy: IfNotPresent (or Always) so the kubelet can pull it",
        ]
        if self.node:
            self.suggestions.append(f"list the images on the node: crictl images | grep {self.ref.repository.split('/')[-1] if self.ref else self.image}  (on {self.node})")
        return self.finding(title, explanation, None)

    def _pull_secret_missing(self) -> Finding:
        s = self.secrets
        missing = s.missing
        names = ", ".join(f'"{n}"' for n in missing)
        plural = "s" if len(missing) > 1 else ""
        title = (f'Pull secret{plural} {names} do{"" if plural else "es"} not exist; '
                 f'"{self.image}" is pulled without {"them" if plural else "it"}')
        checked = ("The namespace's Secrets were listed and " if s.missing_source == "snapshot"
                   else "The kubelet reported (FailedToRetrieveImagePullSecret) that ")
        explanation = (f"{checked}the pod's imagePullSecrets name{'' if plural else 's'} {names}, which "
                       f"do{'' if plural else 'es'} not exist in namespace {self.ns}. The kubelet does not stop on "
                       "a missing pull secret: it pulls without those credentials. "
                       + (f"{registry_label(self.host)} then refused the pull." + self.cause_sentence()
                          if self.cause is not None else
                          "The pull failed; its error is no longer visible (the kubelet's events expire after an "
                          "hour), but pulling without the credentials this pod was meant to use is the likely cause.")
                       + " Secrets are per namespace: a secret with that name in another namespace does not count.")
        self.secret_evidence()
        target = missing[0]
        self.suggestions += [
            self.secret_command(target),
            f"or with kubectl: kubectl create secret docker-registry {target} --docker-server="
            f"{imagelib.secret_server_key(self.host or imagelib.DOCKER_HUB)} --docker-username=USERNAME "
            f"--docker-password=<token> -n {self.ns}",
            f"check the name: {self.kubectl('get', 'secrets', '--field-selector', 'type=kubernetes.io/dockerconfigjson')}",
        ]
        return self.finding(title, explanation, self.secret_fix(target, missing=True))

    def _auth_failed(self) -> Finding:
        if self.verdict.kind == "blocked":
            return self._blocked()
        s = self.secrets
        label = registry_label(self.host)
        title = f'{label} refused to let the node pull "{self.image}"'
        provider = node_provider(self.host)
        parts = [f"The registry answered the pull of {self.repo_path()} with an authorization error."]
        if s.covering:
            covering = ", ".join(sorted({n for n, _ in s.covering}))
            parts.append(f"The pod's pull secret {covering} holds credentials for {self.host}, so they were sent "
                         "and rejected: the password/token is wrong or expired, the account has no pull access to "
                         "this repository, or (registries that hide private repositories) the repository does not exist.")
        elif s.names and not s.listed and not s.missing:
            parts.append(f"The pod names imagePullSecrets ({', '.join(s.names)}), but the Secrets were not read, so "
                         f"whether one of them holds credentials for {self.host} could not be checked: see the "
                         "commands below.")
        elif s.names:
            empty = [n for n in s.present if n in s.keys and not s.keys[n]]
            parts.append(f"The pod has imagePullSecrets ({', '.join(s.names)}) but none of them "
                         f"{'is known to cover' if s.unknown_coverage else 'covers'} {self.host}, so no credentials "
                         "were sent for this registry."
                         + (f" {', '.join(empty)} covers no registry at all: its docker config holds no "
                            "credentials (an empty auths map, or a config.json whose credentials live in a "
                            "credential store such as credsStore: desktop)."
                            if empty else ""))
        else:
            parts.append(f"The pod has no imagePullSecrets, so no credentials for {self.host} came from the pod.")
        cause_text = (self.cause.text if self.cause else "").lower()
        acr = bool(re.search(r"\.azurecr\.(io|cn|us)$", self.host))
        anonymous, oauth = "anonymous token" in cause_text, "oauth token" in cause_text
        if acr and not s.covering and (anonymous or oauth):
            title, acr_parts = self._acr_refusal(anonymous, oauth)
            parts += acr_parts
        else:
            if not s.covering and oauth and not anonymous:
                parts.append("The runtime still presented credentials (it asked for an OAuth token with them), so "
                             "they come from the node's runtime configuration or a credential provider, and were "
                             "rejected.")
            if provider:
                parts.append(f"For {provider[0]} the node itself can authenticate through {provider[1]}; "
                             "check that before adding a pull secret.")
            if self.verdict.kind == "ambiguous":
                parts.append("The registry's answer cannot tell a missing repository from a private one.")
        if s.covering and hides_private(self.host):
            parts.append(f"{self.host} does not fall back to an anonymous pull when the credentials it gets are "
                         "refused: an expired token or one without the read:packages scope breaks the pull even of "
                         "a public image. Refresh the pull secret (or remove it for a public image).")
        if "artifactregistry.repositories.downloadartifacts" in cause_text:
            parts.append("Artifact Registry names the permission the caller lacks (artifactregistry.repositories."
                         "downloadArtifacts, granted by roles/artifactregistry.reader) on that repository, and adds "
                         "'or it may not exist': check the project, location and repository in the image name too. "
                         "On GKE the node pool's service account needs the role on that repository's project, and "
                         "the node pool's OAuth access scopes must allow storage read (devstorage.read_only or "
                         "cloud-platform); scopes are fixed when the node pool is created.")
        if self.host == "quay.io" and not s.covering and "not authorized" in cause_text:
            parts.append("quay.io answers an anonymous pull of a repository that does not exist exactly like one of "
                         "a private repository: check the name too.")
        if "unauthorized to access repository" in cause_text:
            parts.append("This is Harbor's answer: the account (or an anonymous pull) may not pull from that "
                         "project, which for a private project means it is not a member (robot accounts need the "
                         "pull permission on it); Harbor gives the same answer for a repository that does not "
                         "exist, so check the project and repository names too.")
        if self.host.endswith(".azurecr.io") and "authentication required" in cause_text:
            parts.append("ACR gives the same 'unauthorized: authentication required' for a tag or repository that "
                         "does not exist: check the tag too (az acr repository show-tags).")
        if "is not authorized to perform" in cause_text:
            parts.append("The registry named the identity it saw and the permission it lacks (e.g. "
                         "ecr:BatchGetImage): grant it in the IAM policy or the repository policy. ECR gives the "
                         "same answer for a repository that does not exist in that account, so check the name too.")
        if self.host and "blobs/" in (self.cause.text if self.cause else ""):
            parts.append("The refusal came while downloading a layer (the manifest was readable): often a proxy "
                         "or storage/VPC endpoint policy in front of the registry's blob storage.")
        explanation = " ".join(parts) + self.hub_key_note() + self.cause_sentence()
        self.secret_evidence()
        secret = (sorted({n for n, _ in s.covering})[0] if s.covering else "regcred")
        if acr and not s.covering:
            registry = self.host.split(".")[0]
            self.suggestions += [
                f"on AKS, give the kubelet identity AcrPull on the registry: az aks update -n CLUSTER -g "
                f"RESOURCE_GROUP --attach-acr {registry}",
                f"then check from the cluster: az aks check-acr -n CLUSTER -g RESOURCE_GROUP --acr {self.host}",
            ]
        self.suggestions.append(self.secret_command(secret))
        self.suggestions.append(f"test the credentials from a workstation: crane auth login {self.host} -u USERNAME "
                                f"--password-stdin && crane manifest {self.remote}")
        if provider and not acr:
            self.suggestions.append(f"check the node's registry access ({provider[0]}): {provider[1]}")
        if not s.names and s.sa_secrets:
            self.suggestions.append(f"the service account {s.sa_name} has pull secrets the pod lacks: re-create the "
                                    f"pod (kubectl delete pod {self.pod} -n {self.ns}) so admission copies them")
        return self.finding(title, explanation, self.secret_fix(secret, missing=False))

    def _acr_refusal(self, anonymous: bool, oauth: bool) -> tuple[str, list[str]]:
        """ACR's token service refused the runtime: with no credentials at all, or with the node's."""
        registry = self.host.split(".")[0]
        if oauth:
            title = f'{self.host} refused the node\'s credentials for "{self.image}"'
            parts = ["The runtime asked ACR for a token with credentials (failed to fetch oauth token: 401) and was "
                     "refused" + (", then retried anonymously and was refused again" if anonymous else "") + ". With "
                     "no pull secret for the registry those credentials are the kubelet identity's (the node pool's "
                     "managed identity, through the kubelet's Azure credential provider): that identity has no "
                     "AcrPull role on this registry, the role was granted to another identity (the cluster's "
                     "control-plane identity instead of the kubelet identity, or an old one after switching to a "
                     "user-assigned identity), the assignment is still propagating (minutes), or the registry's "
                     "network rules (firewall, private endpoint) reject the node."]
        else:
            title = f'{self.host} refused an anonymous pull of "{self.image}": no credentials reached the registry'
            parts = ["The runtime asked ACR for an anonymous token (failed to fetch anonymous token: 401): no "
                     "credentials reached the registry, neither from a pull secret nor from the kubelet identity "
                     "(the node pool's managed identity, through the kubelet's Azure credential provider). ACR only "
                     "serves anonymous pulls when the registry enables them."]
        parts.append(f"On AKS, attach the registry so the kubelet identity gets the AcrPull role (az aks update "
                     f"--attach-acr {registry}) and check the result with az aks check-acr. If the same image pulls "
                     "on the next attempt, the credential provider was only slow to get a token. If the registry is "
                     "not yours (an AKS extension's, add-on's or vendor's image), you cannot attach it: its owner "
                     "has to grant access or fix the image reference. Outside AKS, use a pull secret with the "
                     "registry's credentials (a token or service principal).")
        return title, parts

    def _blocked(self) -> Finding:
        """A 403 that is not about credentials: a public registry, or an HTML page from what is in front."""
        text = self.cause.text if self.cause else ""
        low = text.lower()
        html = "error parsing http 403 response body" in low
        endpoint = registry_endpoint(self.host)
        title = (f'{registry_label(self.host)} refused "{self.image}" with 403 Forbidden: the node is blocked, '
                 "credentials are not the problem")
        parts = []
        if public_only(self.host):
            parts.append(f"{self.host} is a public registry: it serves its images to anyone and asks for no "
                         "credentials, so a pull secret does not help.")
        if html:
            parts.append("The 403 came back as a web page, not as a registry error: something in front of the "
                         "registry answered (a proxy, firewall, CDN or storage endpoint policy).")
        parts.append("A 403 here comes from what stands between the node and the images: the registry or its CDN "
                     "blocking the node's public IP range, a mirror that only serves the images on its allow-list "
                     "(under the upstream's exact paths), or an HTTP(S) proxy or egress policy.")
        if is_mirror(self.host):
            parts.append(f"{self.host} is a public mirror: the image must be on its allow-list, under the same path "
                         "as upstream.")
        if self.ref and self.ref.repository.split("/")[-1] == "coredns" and "/" not in self.ref.repository:
            parts.append("CoreDNS lives at coredns/coredns on registry.k8s.io (k8s.gcr.io/coredns:1.x became "
                         "registry.k8s.io/coredns/coredns:v1.x), so a mirror of it has coredns/coredns too.")
        if self.ref and "/blobs/" in text:
            parts.append("The refusal came while downloading a layer (the manifest was readable): often a proxy "
                         "or storage/VPC endpoint policy in front of the registry's blob storage.")
        explanation = " ".join(parts) + self.cause_sentence()
        self.secret_evidence()
        self.suggestions += [
            f"from the node: curl -sSI https://{endpoint}/v2/   (and the manifest URL in the error)",
            "pull through a mirror you are allowed to use, or copy the image to your own registry: crane copy "
            f"{self.remote} REGISTRY/REPOSITORY:TAG",
            "check the runtime's proxy settings (HTTPS_PROXY/NO_PROXY in the containerd/CRI-O/docker systemd unit) "
            "and the egress firewall",
        ]
        return self.finding(title, explanation, None)

    def _not_found(self) -> Finding:
        s = self.secrets
        ref = self.ref
        tag = ref.reference if ref else ""
        library = bool(ref and ref.registry == imagelib.DOCKER_HUB and ref.repository.startswith("library/"))
        ambiguous = self.verdict.kind == "ambiguous" and not library
        if ambiguous:
            title = f'Image "{self.image}" does not exist in {self.repo_path()}, or it is private'
            explanation = (f"The registry {registry_label(self.host)} denied access to {self.repo_path()} and its "
                           "answer does not say whether the repository is missing or private. ")
            if s.names:
                explanation += (f"None of the pod's pull secrets ({', '.join(s.names)}) is known to cover "
                                f"{self.host}, so the request went without credentials. ")
            else:
                explanation += f"The pod has no pull secret for {self.host}, so the request went without credentials. "
            explanation += ("Either the name is wrong (typo, missing organisation or registry prefix, an image "
                            "that was never pushed) or the repository is private and needs a pull secret.")
            if self.verdict.detail == "refused" and hides_private(self.host):
                explanation += (f" One more cause gives the same bare 'denied': credentials for {self.host} that the "
                                "node's runtime holds itself (a docker login on the node, a configured credential) "
                                "and that have expired or lack the read:packages scope; those break even the pull "
                                "of a public image.")
        else:
            title = f'Image "{self.image}" does not exist in {self.repo_path()}'
            if library and self.verdict.kind == "ambiguous":
                explanation = (f"{self.repo_path()} would be an official Docker Hub image, and those are all public, "
                               "so Docker Hub's 'pull access denied / may require authorization' answer here almost "
                               "always means there is no such repository: check the spelling, or add the "
                               "organisation (e.g. bitnami/redis instead of redis-bitnami). ")
            elif self.verdict.kind == "gcr-project":
                explanation = ("Google answered that the Container Registry API is not enabled for the project in "
                               "the image path: that project has no registry (a wrong project id, an image copied "
                               "elsewhere, or Container Registry shut down in favour of Artifact Registry). ")
            else:
                explanation = (f"The registry has no manifest for {_quoted_reference(self.remote, tag)} in "
                               f"{self.repo_path()}: the tag or digest "
                               "does not exist (typo, not pushed yet, deleted, or the repository name is wrong). ")
                short = _short_digest(self.remote)
                if short:
                    explanation += (f"Its digest has {short} hex digits where a sha256 digest has 64: it was "
                                    "probably cut off when it was copied. ")
                if not s.covering and hides_private(self.host):
                    explanation += ("This registry also answers 'not found' for private repositories when no "
                                    "credentials are sent. ")
        explanation += self.hub_key_note() if ambiguous else ""
        explanation += self.cause_sentence()
        self.secret_evidence()
        repo_ref = self.repo_path()
        self.suggestions += [
            f"list the repository's tags: crane ls {repo_ref}   (or: skopeo list-tags docker://{repo_ref})",
            f"check the exact reference: crane manifest {self.remote}",
        ]
        if ambiguous:
            self.suggestions.append("if the repository is private: " + self.secret_command("regcred"))
        return self.finding(title, explanation, self.image_fix())

    def _platform_mismatch(self) -> Finding:
        if self.verdict.kind == "os":
            return self._os_mismatch()
        arch = dig(self.ctx.node() or {}, "status.nodeInfo.architecture") or ""
        osname = dig(self.ctx.node() or {}, "status.nodeInfo.operatingSystem") or ""
        platform = self.verdict.detail or (f"{osname}/{arch}" if arch else "")
        node = self.node_phrase()
        target = platform or "the node's platform"
        title = (f'Image "{self.image}" has no variant for {target}'
                 + (f" (node {self.node})" if self.node else ""))
        explanation = (f"The image exists, but its manifest list has no entry for the OS/architecture of {node}"
                       + (f" ({platform})" if platform else "") + ". The runtime words this as 'not found' "
                       "(containerd: 'no match for platform in manifest'), which is not a missing tag. "
                       "Use a multi-arch tag, an image built for this architecture, or schedule the pod onto "
                       "matching nodes (nodeSelector kubernetes.io/arch).")
        build = re.search(r"windows(?:/\w+ |\()(10\.0\.(\d+))", self.cause.text if self.cause else "")
        if build:
            name = _WINDOWS_BUILDS.get(build.group(2), "")
            explanation += (f" {build.group(1)} is the node's Windows build" + (f" ({name})" if name else "")
                            + ": Windows containers must be built for the node's Windows version (process isolation),"
                            " so the image needs a variant for that exact build (a tag such as ltsc2019/ltsc2022, or "
                            "a manifest list that includes it). A Linux-only image cannot run on a Windows node at "
                            "all: schedule it onto Linux nodes (nodeSelector kubernetes.io/os: linux).")
        explanation += self.cause_sentence()
        self.suggestions += [
            f"see which platforms the image has: crane manifest {self.remote} | jq '.manifests[].platform'   "
            f"(or: docker manifest inspect {self.image})",
            "or schedule it onto nodes of an architecture the image has, e.g. nodeSelector: {kubernetes.io/arch: amd64}",
        ]
        if self.node:
            self.suggestions.append(f"kubectl get node {self.node} -o jsonpath='{{.status.nodeInfo.architecture}}'")
        return self.finding(title, explanation, self.image_fix())

    def _os_mismatch(self) -> Finding:
        image_os = (self.verdict.detail or "").lower() or "another OS"
        node_os = (dig(self.ctx.node() or {}, "status.nodeInfo.operatingSystem") or "").lower()
        if not node_os or node_os == image_os:
            node_os = "windows" if image_os == "linux" else "linux"
        label = {"windows": "Windows", "linux": "Linux"}
        node = self.node_phrase()
        title = (f'Image "{self.image}" is a {label.get(image_os, image_os)} image; {node} runs '
                 f"{label.get(node_os, node_os)} containers")
        explanation = (f"The runtime on {node} refused the image because of its operating system (image operating "
                       f"system \"{image_os}\" cannot be used on this platform): a {label.get(node_os, node_os)} "
                       f"node cannot run {label.get(image_os, image_os)} containers, whatever the architecture. "
                       "Schedule the pod onto nodes of the image's OS (nodeSelector kubernetes.io/os: "
                       f"{image_os}), or use a build of the image for {label.get(node_os, node_os)} (a manifest list "
                       f"with a {node_os} entry)." + self.cause_sentence())
        self.suggestions += [
            f"see which platforms the image has: crane manifest {self.remote} | jq '.manifests[].platform'",
            f"set nodeSelector kubernetes.io/os: {image_os} (Windows nodes are usually tainted "
            "os=windows:NoSchedule, so Linux pods only land there when they tolerate it)",
        ]
        if self.node:
            self.suggestions.append(f"kubectl get node {self.node} -L kubernetes.io/os,kubernetes.io/arch")
        return self.finding(title, explanation, self.image_fix())

    def _rate_limited(self) -> Finding:
        hub = self.host == imagelib.DOCKER_HUB or self.verdict.kind == "docker-hub"
        if self.verdict.kind == "kubelet-qps":
            node = self.node_phrase()
            title = f'The kubelet on {node} throttled its own image pulls (pull QPS exceeded) for "{self.image}"'
            explanation = ("The registry was not asked: the kubelet limits how many pulls it starts per second "
                           "(KubeletConfiguration registryPullQPS, default 5, with registryBurst 10) and refused "
                           "this one. It happens when many pods start on one node at once (a mass reschedule, "
                           "evictions). It clears by itself on the next back-off; raise registryPullQPS (0 means "
                           "no limit) if it keeps happening." + self.cause_sentence())
            self.suggestions += [
                (f"kubectl get --raw /api/v1/nodes/{self.node}/proxy/configz   (registryPullQPS, registryBurst)"
                 if self.node else f"kubectl get --raw /api/v1/nodes/{common.node_arg(self.ctx)}/proxy/configz"),
                f"kubectl get events -n {self.ns} --field-selector involvedObject.name={self.pod} -w",
            ]
            return self.finding(title, explanation, None)
        if hub:
            title = f'Docker Hub pull rate limit reached while pulling "{self.image}"'
            who = (f"The pod sends Docker Hub credentials (secret {', '.join(sorted({n for n, _ in self.secrets.covering}))}), "
                   "so that account's own limit was reached. " if self.secrets.covering else
                   "The pod sends no Docker Hub credentials, so the anonymous limit applies. ")
            explanation = ("Docker Hub limits anonymous pulls per source IP (a whole cluster behind one NAT shares "
                           "it) and, more generously, pulls per authenticated account over a rolling window; it "
                           "answered 429 Too Many Requests. " + who + "Authenticate the pulls with a Docker Hub "
                           "account in a pull secret, pull through a mirror/pull-through cache, or copy the image "
                           "to your own registry." + self.hub_key_note() + self.cause_sentence())
        else:
            title = f'Registry {self.host} rate-limited the pull of "{self.image}"'
            explanation = ("The registry answered 429 Too Many Requests. Authenticated pulls usually get a higher "
                           "limit; a pull-through cache or mirror avoids repeated pulls." + self.cause_sentence())
        self.secret_evidence()
        self.suggestions += [
            self.secret_command("regcred"),
            "configure a registry mirror / pull-through cache on the nodes (containerd hosts.toml, CRI-O registries.conf)",
            "copy the image to a registry you control: crane copy " + self.remote + " REGISTRY/REPOSITORY:TAG",
            "the kubelet keeps retrying with back-off (at most 5 minutes between attempts); it recovers once the limit resets",
        ]
        return self.finding(title, explanation, None)

    def _tls_error(self) -> Finding:
        kind = self.verdict.kind
        node = self.node_phrase()
        if kind == "http-to-https":
            title = f"Registry {self.host} speaks plain HTTP but the runtime uses HTTPS"
            explanation = (f"The runtime on {node} tried HTTPS and the registry answered in plain HTTP. Either "
                           "serve the registry over TLS, or declare it insecure/plain-HTTP in the runtime's "
                           "registry configuration on every node (containerd: /etc/containerd/certs.d/"
                           f"{self.host}/hosts.toml with server = \"http://{self.host}\"; CRI-O: insecure = true "
                           "in registries.conf; Docker: insecure-registries)." + self.cause_sentence())
        else:
            text = self.cause.text if self.cause else ""
            low = text.lower()
            via_proxy = "proxyconnect" in low
            # The host whose certificate failed: a proxy, or a blob/CDN host the registry redirected to.
            m = re.search(r'https?://([^/\s"]+)[^\s"]*"?: (?:tls: failed to verify certificate: )?x509', text)
            served_by = m.group(1) if m else ""
            other_host = served_by if served_by and served_by not in (self.host, registry_endpoint(self.host)) else ""
            whose = ("the HTTPS proxy's certificate" if via_proxy else
                     f"the certificate of {other_host} (where {self.host} sent the runtime to download the image)"
                     if other_host else "the registry's certificate")
            m = re.search(r"certificate is valid for (.+?), not ([^\s,\"]+)", text)
            if kind == "expired":
                title = f"TLS certificate of registry {self.host} has expired (or {node}'s clock is wrong)"
                reason = ("has expired or is not yet valid. Renew it on the server; if it is in fact valid, the "
                          f"clock of {node} is wrong (check timedatectl/chrony)")
            elif kind == "hostname":
                title = f"TLS certificate presented for registry {self.host} is for another host name"
                reason = ("was issued for other names" + (f" ({m.group(1)}, not {m.group(2)})" if m else "")
                          + ": the name resolves to the wrong server (DNS, ingress default certificate) or a "
                          "TLS-intercepting proxy/gateway answered in its place")
            else:
                title = (f"TLS certificate of the proxy in front of registry {self.host} is not trusted by {node}"
                         if via_proxy else f"TLS certificate of registry {self.host} is not trusted by {node}")
                reason = {"unknown-authority": "is signed by a CA the node does not trust (private CA or a "
                                               "TLS-intercepting proxy)"}.get(kind, "was rejected")
            if kind in ("expired", "hostname"):
                fix = (" Installing a CA on the nodes does not help here: the certificate itself (or the node's clock"
                       " or DNS) must be fixed." if kind == "expired" else
                       " Installing a CA on the nodes does not help here: make the name reach the real registry (DNS,"
                       " ingress, proxy bypass via NO_PROXY) or serve a certificate that covers it.")
            else:
                fix = (f" The runtime on {node}, not the pod, must trust it: install the CA on every node (containerd: "
                       f"/etc/containerd/certs.d/{self.host}/ca.crt or the system trust store, then restart the "
                       "runtime; CRI-O/Docker: /etc/containers/certs.d or "
                       f"/etc/docker/certs.d/{self.host}/ca.crt).")
            explanation = f"{whose[0].upper() + whose[1:]} {reason}.{fix}" + self.cause_sentence()
        self.suggestions += [
            f"inspect the certificate from the node: openssl s_client -connect {self.host if ':' in self.host else self.host + ':443'} -servername {self.host.split(':')[0]} </dev/null",
            f"from the node: crictl pull {self.image}",
        ]
        return self.finding(title, explanation, None)

    def _registry_unreachable(self) -> Finding:
        kind = self.verdict.kind
        node = self.node_phrase()
        text = self.cause.text if self.cause else ""
        endpoint = registry_endpoint(self.host)
        # The host the failing request went to: a redirect target (blob CDN, token service, mirror) when
        # the registry sent the runtime elsewhere.
        hosts = re.findall(r'\b(?:get|head|post) "?https?://([^/\s"]+)', text, re.I)
        redirected = hosts[-1] if hosts and hosts[-1].lower() not in (endpoint.lower(), self.host.lower()) else ""
        if kind == "connect" and redirected:
            endpoint = redirected
        m = re.search(r"lookup ([^\s:]+)(?: on ([^\s]+?))?:", text)
        looked_up = m.group(1) if m else endpoint.split(":")[0]
        dns_server = m.group(2) if m and m.group(2) else ""
        if kind == "dns":
            title = f"{node[0].upper() + node[1:]} cannot resolve registry host {looked_up}"
            explanation = (f"The runtime on {node} could not resolve {looked_up}"
                           + (f" (asking DNS server {dns_server})" if dns_server else "") + ". The runtime resolves "
                           "registry names with the node's own resolver (/etc/resolv.conf on the host), not with the "
                           "pod's DNS settings, so a cluster Service name only works if the node can resolve it. "
                           "This is not a missing image: the registry was never asked.")
        elif kind == "html":
            title = f"{endpoint} answered with a web page, not as a container registry"
            explanation = (f"The runtime on {node} asked {endpoint} for the image and got an HTML page where a "
                           "registry answers with its API: nothing at that address serves the registry API (a web "
                           "server or ingress at that name, a wrong port or path prefix), or a proxy, captive portal "
                           "or firewall answered in its place. Check the registry host and port in the image name, "
                           "and the node's proxy settings.")
        elif kind == "server-error":
            title = f'Registry {self.host} is failing (server error) for "{self.image}"'
            explanation = ("The registry, or a proxy/mirror in front of it, answered with a 5xx server error (or the "
                           "kubelet reported it unavailable). This is usually transient; the kubelet retries on its "
                           "back-off, at most 5 minutes apart.")
        elif kind == "proxy-auth" or "proxyconnect" in text.lower():
            m = re.search(r"proxyconnect tcp: (?:dial tcp )?([^\s:]+:\d+)", text)
            proxy = m.group(1) if m else ""
            title = (f"The HTTP(S) proxy of {node}'s runtime" + (f" ({proxy})" if proxy else "")
                     + (" requires authentication" if kind == "proxy-auth" else " cannot be reached")
                     + f" while pulling from {endpoint}")
            explanation = (f"The runtime on {node} sends registry traffic through the proxy set in its environment "
                           "(HTTPS_PROXY in the containerd/CRI-O/docker systemd unit), and "
                           + ("the proxy answered 407 Proxy Authentication Required: put the proxy credentials in "
                              "the proxy URL (http://user:password@proxy:port) or allow the registry without "
                              "authentication." if kind == "proxy-auth" else
                              "the connection to that proxy failed. A proxy on 127.0.0.1 means the node's own "
                              "loopback, not your workstation; fix the proxy address or add the registry to NO_PROXY.")
                           + " The registry itself was never asked.")
        else:
            title = f"{node[0].upper() + node[1:]} cannot connect to registry {endpoint}"
            explanation = (f"The runtime on {node} could not open a connection to {endpoint} (refused, no route, "
                           "timed out, reset, closed before any answer (EOF), or a proxy/firewall in the way). This "
                           "is not a missing image: the registry never answered."
                           + (f" {endpoint} is where {self.host} sent the runtime (token service, mirror or "
                              "download host): the node must reach it too." if redirected else "")
                           + (" 'localhost' in an image name means the node itself, not your workstation."
                              if endpoint.split(":")[0] in ("localhost", "127.0.0.1") else ""))
        explanation += self.cause_sentence()
        self.suggestions += [
            f"from the node: nslookup {looked_up}; curl -v https://{endpoint}/v2/",
            f"from the node: crictl pull {self.image}",
            "check the runtime's proxy settings (HTTPS_PROXY/NO_PROXY in the containerd/CRI-O/docker systemd unit) "
            "and the egress firewall",
        ]
        if self.node:
            self.suggestions.append(f"kubectl describe node {self.node}")
        return self.finding(title, explanation, None)

    def _pull_timeout(self) -> Finding:
        tls = self.verdict.kind == "tls-handshake-timeout"
        endpoint = registry_endpoint(self.host)
        title = (f"TLS handshake with registry {endpoint} timed out" if tls
                 else f'Pulling "{self.image}" timed out')
        if tls:
            explanation = (f"The node reached {endpoint} but the TLS handshake did not complete in time: a slow or "
                           "filtering proxy/firewall, MTU problems, or an overloaded registry. It is a network "
                           "timeout, not a certificate problem.")
        else:
            explanation = ("The pull started but was cancelled or hit a deadline before it finished. The kubelet "
                           "itself puts no time limit on a pull; the runtime does when a download makes no progress "
                           "(containerd's image_pull_progress_timeout, cri-dockerd's --image-pull-progress-deadline), "
                           "so the usual causes are a large image on a slow link or a proxy/registry that stalls a "
                           "layer download.")
        explanation += self.cause_sentence()
        self.suggestions += [
            f"from the node: time crictl pull {self.image}   (does it finish, and how long does it take?)",
            f"check the image size: crane manifest {self.remote}",
            "use a registry or mirror closer to the cluster, a smaller image, or pre-pull large images on the nodes",
        ]
        if self.node:
            self.suggestions.append(f"kubectl describe node {self.node}")
        return self.finding(title, explanation, None)

    def _node_disk_full(self) -> Finding:
        node = self.node_phrase()
        title = f'{node[0].upper() + node[1:]} ran out of disk space while pulling "{self.image}"'
        explanation = ("Writing or unpacking the image's layers failed with 'no space left on device'. The "
                       "runtime's storage (/var/lib/containerd, /var/lib/containers, /var/lib/docker, or CRI-O's "
                       "temporary directory /var/tmp) is full. The kubelet's image garbage collection starts at "
                       "--image-gc-high-threshold (85% by default) and may not free enough for a large image."
                       + self.cause_sentence())
        self.suggestions += [
            (f"kubectl describe node {self.node}   (DiskPressure condition, ephemeral-storage)" if self.node
             else f"kubectl describe node {common.node_arg(self.ctx)}"),
            "on the node: df -h /var/lib/containerd /var/lib/containers /var/tmp; crictl rmi --prune",
            "grow the node's disk or use a smaller image",
        ]
        return self.finding(title, explanation, None)

    def _pull_failed(self) -> Finding:
        kind = self.verdict.kind
        node = self.node_phrase()
        if kind in ("unknown", "reason-only") or self.cause is None:
            title = f'Pulling "{self.image}" failed; the cause is no longer visible'
            parts = [f"The {self.where()} is in {self.reason or 'a pull failure'}, but no message with the pull "
                     "error is left."]
            if self.reason == "ImagePullBackOff":
                parts.append("Before Kubernetes 1.32 the ImagePullBackOff message is only 'Back-off pulling image' "
                             "without the cause, and the kubelet's 'Failed to pull image' events expire after an "
                             "hour (the API server's --event-ttl).")
            if "events" in self.ctx.missing:
                parts.append("The pod's events could not be read.")
            parts.append("podfix does not guess: the next pull attempt will show the cause. The kubelet retries "
                         "on its own back-off (10s doubling to at most 5 minutes); the container stays waiting "
                         "meanwhile.")
            explanation = " ".join(parts)
            self.suggestions += [
                f"watch the next attempt: kubectl get events -n {self.ns} --field-selector involvedObject.name={self.pod} -w",
                f"or re-create the pod to pull immediately: kubectl delete pod {self.pod} -n {self.ns}   "
                "(if a controller owns it)",
                f"or pull by hand on the node: crictl pull {self.image}",
            ]
        elif kind == "inspect":
            title = f'The runtime on {node} could not inspect image "{self.image}"'
            explanation = ("ImageInspectError: the kubelet asked the runtime whether the image is present and the "
                           "runtime failed. The image store on the node is inconsistent or the runtime is "
                           "unhealthy — not a registry problem." + self.cause_sentence())
            self.suggestions += [f"on the node: crictl inspecti {self.image}; crictl rmi {self.image}",
                                 "restart the runtime on the node, then delete the pod",
                                 f"kubectl describe node {self.node or common.node_arg(self.ctx)}"]
        elif kind == "unpack":
            title = f'The runtime on {node} could not unpack "{self.image}" into its image store'
            explanation = ("The layers were downloaded, but storing or unpacking them on the node failed (the "
                           "snapshotter or layer store: a missing parent snapshot, a remote snapshotter such as "
                           "SOCI/stargz, or Windows' hcsshim layer import). This is the node's image store, not "
                           "the registry or the image name." + self.cause_sentence())
            self.suggestions += [f"on the node: crictl rmi {self.image} (remove the partial image) and let the kubelet retry",
                                 "check the runtime's log on the node (journalctl -u containerd / crio / docker) "
                                 "and restart the runtime if its store is inconsistent",
                                 f"kubectl describe node {self.node or common.node_arg(self.ctx)}"]
        elif kind == "corrupt":
            title = f'The download of "{self.image}" was corrupted or cut off'
            explanation = ("A layer arrived with the wrong size or digest, or the connection ended early: a proxy "
                           "or mirror truncating large layers, or a corrupt partial download left in the runtime's "
                           "content store." + self.cause_sentence())
            self.suggestions += [f"on the node: crictl rmi {self.image} and retry; containerd: ctr -n k8s.io content prune references",
                                 "check proxies/mirrors between the node and the registry"]
        elif kind == "signature":
            title = f'Signature verification of "{self.image}" failed'
            explanation = ("The node's image signature policy (/etc/containers/policy.json for CRI-O, or a "
                           "sigstore/cosign verification) rejected the image: it is unsigned, signed with another key, "
                           "or the key the policy names is missing on the node. Nothing is wrong with the registry "
                           "or the name." + self.cause_sentence())
            self.suggestions += ["check the runtime's policy.json and the image's signatures (cosign verify)"]
        else:
            title = f'Pulling "{self.image}" failed'
            explanation = "The runtime reported an error podfix does not classify." + self.cause_sentence()
            self.suggestions += [f"from the node: crictl pull {self.image}",
                                 f"kubectl get events -n {self.ns} --field-selector involvedObject.name={self.pod}"]
        self.secret_evidence()
        return self.finding(title, explanation, None)


def _quoted_reference(image: str, tag: str) -> str:
    """'v1.2' or 'sha256:...' for a sentence; "this reference" when the image names none we can read."""
    if tag:
        return repr(tag)
    if "@" in image:
        return repr(image.split("@", 1)[1]) if image.split("@", 1)[1] else "this reference"
    last = image.rsplit("/", 1)[-1]
    return repr(last.split(":", 1)[1]) if ":" in last and last.split(":", 1)[1] else "this reference"


def _short_digest(image: str) -> int:
    """The number of hex digits of a sha256 digest that is too short (0 when it is whole or absent)."""
    m = re.search(r"@sha256:([0-9a-fA-F]*)", image or "")
    return len(m.group(1)) if m and len(m.group(1)) != 64 else 0


# Windows build numbers (10.0.N) in platform errors -> the Windows release they belong to.
_WINDOWS_BUILDS = {"14393": "Windows Server 2016", "17134": "Windows Server 1803", "17763": "Windows Server 2019",
                   "18362": "Windows Server 1903", "18363": "Windows Server 1909", "19041": "Windows Server 2004",
                   "19042": "Windows Server 20H2", "20348": "Windows Server 2022", "26100": "Windows Server 2025"}


def _name_problems(image: str) -> list[str]:
    out = []
    if image != image.strip() or any(c.isspace() for c in image):
        out.append("it contains whitespace")
    odd = [c for c in image if ord(c) > 126 or (ord(c) < 32)]
    if odd:
        out.append("it contains invisible or non-ASCII characters (" + ", ".join(f"U+{ord(c):04X}" for c in odd[:3]) + ")")
    if re.match(r"^[a-z][a-z0-9+.-]*://", image, re.I):
        out.append("it starts with a URL scheme; drop the 'https://'-style prefix")
    if image.startswith("/"):
        out.append("it starts with '/': the registry part is empty (an unset variable?)")
    name = re.sub(r"^[a-z][a-z0-9+.-]*://", "", image.split("@", 1)[0], flags=re.I)
    first, _, rest = name.partition("/")
    after_host = rest if ("." in first or ":" in first or first == "localhost") and rest else name
    if after_host.count(":") > 1:
        out.append("it has more than one ':tag' (a tag appended twice?)")
    path = name.split("/", 1)[1] if "/" in name and ("." in name.split("/")[0] or ":" in name.split("/")[0]) else name
    path = path.split(":")[0]
    if path != path.lower():
        out.append("the repository path has uppercase letters (must be lowercase)")
    if _short_digest(image):
        out.append(f"its sha256 digest has {_short_digest(image)} hex digits instead of 64 (cut off?)")
    if image in ("None:None", "None", "null", "<no value>") or image.startswith("None:"):
        out.append("it looks like an unset template value")
    return out
