"""How discovery reaches the Kubernetes API: in a pod, through a kubeconfig, or at a given URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from omni_core.errors import ConfigError

__all__ = ["KubernetesAccess", "kubernetes_api_client"]


@dataclass(frozen=True)
class KubernetesAccess:
    """``mode``: ``in-cluster`` (the pod's service account), ``kubeconfig`` (``kubeconfig``
    path, default ``~/.kube/config``, and ``context``), or ``url`` (``api_url``, with an
    optional ``token_file`` and ``ca_file``; also what the tests use)."""

    mode: Literal["in-cluster", "kubeconfig", "url"] = "in-cluster"
    kubeconfig: str | None = None
    context: str | None = None
    api_url: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ConfigError(f"unknown mode {self.mode!r}; use in-cluster, kubeconfig or url", field="discovery_mode")


_MODES = ("in-cluster", "kubeconfig", "url")


def kubernetes_api_client(access: KubernetesAccess) -> k8s_client.ApiClient:
    configuration = k8s_client.Configuration()
    try:
        if access.mode == "in-cluster":
            # The client's loader also refreshes the projected token as the kubelet rotates it.
            k8s_config.load_incluster_config(client_configuration=configuration)
        elif access.mode == "kubeconfig":
            k8s_config.load_kube_config(
                config_file=access.kubeconfig, context=access.context, client_configuration=configuration
            )
        else:  # "url": KubernetesAccess admits no other mode
            if not access.api_url:
                raise ConfigError("mode 'url' needs api_url, e.g. https://10.0.0.1:6443", field="discovery_api_url")
            configuration.host = access.api_url.rstrip("/")
            if access.token_file:
                token_file = access.token_file

                def read_token(config: k8s_client.Configuration) -> None:
                    config.api_key["authorization"] = "Bearer " + Path(token_file).read_text().strip()

                configuration.refresh_api_key_hook = read_token
                read_token(configuration)
            if access.ca_file:
                configuration.ssl_ca_cert = access.ca_file
    except ConfigException as exc:
        raise ConfigError(
            f"cannot configure the Kubernetes client ({exc}); in a pod, mount a service account token; "
            "outside, set discovery.mode: kubeconfig",
            field="discovery_mode",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename!r}: {exc.strerror}", field="discovery_api_token_file") from exc
    if access.insecure_skip_verify:
        configuration.verify_ssl = False
    return k8s_client.ApiClient(configuration)
