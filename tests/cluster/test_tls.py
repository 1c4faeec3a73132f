"""TLS and client-certificate auth on the live path, with kubectl as the oracle.

The API stand-in is served over HTTPS with a throw-away CA (openssl, installed
by .ci/run); each kubeconfig variant must succeed or fail exactly as kubectl does.
"""

import base64
import shutil
import ssl
import subprocess

import pytest
import yaml
from apiserver import FakeAPIServer
from clitools import cli_env, run_podfix
from objects import pod, waiting

pytestmark = pytest.mark.skipif(not shutil.which("openssl") or not shutil.which("kubectl"),
                                reason="needs openssl and kubectl")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=test-ca", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:kubernetes")
    for name, subj, ext in (("srv", "/CN=kube-apiserver", ["-extfile", "ext.cnf"]), ("cli", "/CN=admin", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
    return d


@pytest.fixture
def https_api(pki):
    api = FakeAPIServer().start()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "srv.crt"), str(pki / "srv.key"))
    api._httpd.socket = ctx.wrap_socket(api._httpd.socket, server_side=True)
    api.url = api.url.replace("http://", "https://")
    api.add(pod("p1", containers=[{"name": "app", "image": "nginx:nope"}],
                statuses=[waiting("app", "ErrImagePull", 'rpc error: code = NotFound desc = failed to pull and unpack '
                                  'image "docker.io/library/nginx:nope": failed to resolve reference '
                                  '"docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found')]))
    yield api
    api.stop()


def b64(path):
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig(tmp_path, url, cluster, user):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
           "clusters": [{"name": "c", "cluster": dict(server=url, **cluster)}],
           "users": [{"name": "u", "user": user}], "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("variant,ok", [
    ("ca-data+token", True),
    ("ca-file+client-cert-data", True),
    ("insecure-skip-tls-verify", True),
    ("tls-server-name", True),
    ("no-ca", False),
    ("wrong-tls-server-name", False),
])
def test_tls_variants_behave_like_kubectl(https_api, pki, tmp_path, variant, ok):
    cluster, user = {
        "ca-data+token": ({"certificate-authority-data": b64(pki / "ca.crt")}, {"token": "t"}),
        "ca-file+client-cert-data": ({"certificate-authority": str(pki / "ca.crt")},
                                     {"client-certificate-data": b64(pki / "cli.crt"),
                                      "client-key-data": b64(pki / "cli.key")}),
        "insecure-skip-tls-verify": ({"insecure-skip-tls-verify": True}, {"token": "t"}),
        "tls-server-name": ({"certificate-authority-data": b64(pki / "ca.crt"), "tls-server-name": "kubernetes"},
                            {"token": "t"}),
        "no-ca": ({}, {"token": "t"}),
        "wrong-tls-server-name": ({"certificate-authority-data": b64(pki / "ca.crt"),
                                   "tls-server-name": "wrong.example"}, {"token": "t"}),
    }[variant]
    path = kubeconfig(tmp_path, https_api.url, cluster, user)
    kubectl = subprocess.run(["kubectl", "get", "pod", "p1", "-o", "name"], env=cli_env(path),
                             capture_output=True, text=True)
    assert (kubectl.returncode == 0) is ok, kubectl.stderr
    run = run_podfix(["explain", "p1", "-o", "json"], kubeconfig=path)
    if ok:
        assert run.code == 0, run.err
        assert run.json["pods"][0]["findings"][0]["code"] == "image.not-found"
    else:
        assert run.code == 1
        assert "TLS verification of the API server" in run.err and "Traceback" not in run.err
        assert run.err.strip().count("\n") == 0


def test_hostname_mismatch_is_named_in_full_like_kubectl(https_api, pki, tmp_path):
    # the certificate names 127.0.0.1 and "kubernetes", not localhost
    url = https_api.url.replace("127.0.0.1", "localhost")
    path = kubeconfig(tmp_path, url, {"certificate-authority-data": b64(pki / "ca.crt")}, {"token": "t"})
    kubectl = subprocess.run(["kubectl", "get", "pod", "p1", "-o", "name"], env=cli_env(path),
                             capture_output=True, text=True)
    assert kubectl.returncode != 0 and "localhost" in kubectl.stderr
    run = run_podfix(["explain", "p1"], kubeconfig=path)
    assert run.code == 1 and "Traceback" not in run.err and run.err.strip().count("\n") == 0
    assert "failed (the certificate is not valid for localhost: hostname mismatch)" in run.err
    assert "tls-server-name" in run.err
