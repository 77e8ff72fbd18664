"""Finding targets in Kubernetes with the maintained ``kubernetes`` client.

Why list-and-diff instead of watches: targets change rarely (a pod rollout), a scrape
interval is seconds, and a periodic list is stateless and recovers from anything. Why a
failed list keeps the previous targets of that rule and namespace: an API server hiccup or
a missing permission must not make every target vanish (which would stop their series and
look like an outage); the failure is reported instead, and the targets go on being scraped.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from .._target import ScrapeTarget
from ._rules import DiscoveryRule

__all__ = ["DiscoveryResult", "KubernetesDiscovery"]

_PAGE = 500
_RBAC_HINT = "grant get/list/watch on it to the collector's service account (collectors/discovery/RBAC.md)"


@dataclass(frozen=True)
class DiscoveryResult:
    """The targets after one refresh, what changed since the previous one, and what failed."""

    targets: tuple[ScrapeTarget, ...]
    added: tuple[ScrapeTarget, ...]
    removed: tuple[ScrapeTarget, ...]
    errors: tuple[str, ...]


class _ListFailed(Exception):
    pass


class KubernetesDiscovery:
    """Targets of ``rules`` in the cluster ``api_client`` talks to. ``refresh`` blocks: run it
    in a thread from async code (:class:`~collectors.discovery.DiscoveredTargets` does).

    ``ca_dir`` is where CA bundles read from ConfigMaps are written for ``ca_file``.
    ``use_endpoint_slices`` reads ``discovery.k8s.io/v1`` EndpointSlices; off, the older
    ``v1`` Endpoints (deprecated since Kubernetes 1.33) are read.
    """

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        rules: Sequence[DiscoveryRule],
        *,
        ca_dir: str | os.PathLike[str],
        request_timeout_s: float = 10.0,
        use_endpoint_slices: bool = True,
    ) -> None:
        self.rules = tuple(rules)
        self._core = k8s_client.CoreV1Api(api_client)
        self._slices = k8s_client.DiscoveryV1Api(api_client)
        self._ca_dir = Path(ca_dir)
        self._timeout = request_timeout_s
        self._use_slices = use_endpoint_slices
        self._by_slice: dict[tuple[int, str], tuple[ScrapeTarget, ...]] = {}
        self._targets: tuple[ScrapeTarget, ...] = ()
        self._lock = threading.Lock()

    @property
    def targets(self) -> tuple[ScrapeTarget, ...]:
        return self._targets

    def refresh(self) -> DiscoveryResult:
        errors: list[str] = []
        for index, rule in enumerate(self.rules):
            for namespace in rule.namespaces or ("",):
                try:
                    found = tuple(self._find(rule, namespace))
                except _ListFailed as exc:
                    errors.append(str(exc))
                    continue  # keep what this rule found there last time
                self._by_slice[(index, namespace)] = found
        with self._lock:
            before = {t.key: t for t in self._targets}
            merged: dict[tuple[str, str, str], ScrapeTarget] = {}
            for key in sorted(self._by_slice):
                for target in self._by_slice[key]:
                    merged.setdefault(target.key, target)
            self._targets = tuple(merged.values())
        added = tuple(t for k, t in merged.items() if k not in before)
        removed = tuple(t for k, t in before.items() if k not in merged)
        return DiscoveryResult(self._targets, added, removed, tuple(errors))

    # -- one rule in one namespace -----------------------------------------------------------

    def _find(self, rule: DiscoveryRule, namespace: str) -> Iterator[ScrapeTarget]:
        if rule.role == "pods":
            yield from self._from_pods(rule, namespace)
            return
        ca_file = self._ca_file(rule, namespace)
        if rule.role == "endpoints":
            yield from self._from_endpoints(rule, namespace, ca_file)
        else:
            yield from self._from_service(rule, namespace, ca_file)

    def _from_pods(self, rule: DiscoveryRule, namespace: str) -> Iterator[ScrapeTarget]:
        where = f"pods in namespace {namespace}" if namespace else "pods in all namespaces"
        for pod in self._list(rule, where, self._pods_page(rule, namespace)):
            metadata, spec, status = pod.metadata, pod.spec, pod.status
            if status is None or status.phase != "Running" or not status.pod_ip or metadata.deletion_timestamp:
                continue
            annotations = metadata.annotations or {}
            if any(annotations.get(k) != v for k, v in rule.annotations.items()):
                continue
            port = _container_port(rule.port, spec)
            if port is None:
                continue
            options = dict(rule.options)
            for option, annotation in rule.option_annotations.items():
                if annotations.get(annotation):
                    options[option] = annotations[annotation]
            resource = _resource(metadata.namespace, metadata.name, spec.node_name if spec else None)
            yield _target(rule, status.pod_ip, port, resource, options, rule.ca_file)

    def _pods_page(self, rule: DiscoveryRule, namespace: str) -> Callable[[str | None], Any]:
        selector = rule.label_selector or None

        def page(token: str | None) -> Any:
            if namespace:
                return self._core.list_namespaced_pod(
                    namespace, label_selector=selector, limit=_PAGE, _continue=token, _request_timeout=self._timeout
                )
            return self._core.list_pod_for_all_namespaces(
                label_selector=selector, limit=_PAGE, _continue=token, _request_timeout=self._timeout
            )

        return page

    def _from_endpoints(self, rule: DiscoveryRule, namespace: str, ca_file: str | None) -> Iterator[ScrapeTarget]:
        seen: set[str] = set()
        for service in rule.services:
            for ip, port, pod, node in self._addresses(rule, namespace, service):
                identity = pod or ip
                if identity in seen:  # dual-stack: one pod, an IPv4 and an IPv6 slice
                    continue
                seen.add(identity)
                yield _target(rule, ip, port, _resource(namespace, pod, node), dict(rule.options), ca_file)

    def _addresses(
        self, rule: DiscoveryRule, namespace: str, service: str
    ) -> Iterator[tuple[str, int, str | None, str | None]]:
        if self._use_slices:
            selector = f"kubernetes.io/service-name={service}"

            def page(token: str | None) -> Any:
                return self._slices.list_namespaced_endpoint_slice(
                    namespace, label_selector=selector, limit=_PAGE, _continue=token, _request_timeout=self._timeout
                )

            where = f"endpointslices of service {service} in namespace {namespace}"
            slices = sorted(self._list(rule, where, page), key=lambda s: s.address_type != "IPv4")
            for endpoint_slice in slices:
                port = _endpoint_port(rule.port, endpoint_slice.ports)
                if port is None:
                    continue
                for endpoint in endpoint_slice.endpoints or []:
                    conditions = endpoint.conditions
                    if conditions is not None and conditions.terminating:
                        continue
                    if not endpoint.addresses:
                        continue
                    ref = endpoint.target_ref
                    pod = ref.name if ref is not None and ref.kind == "Pod" else None
                    yield endpoint.addresses[0], port, pod, endpoint.node_name
            return
        try:
            endpoints = self._core.read_namespaced_endpoints(service, namespace, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise _ListFailed(_api_error(rule, f"endpoints {service} in namespace {namespace}", exc)) from exc
        except Exception as exc:  # urllib3 transport errors
            raise _ListFailed(_transport_error(rule, exc)) from exc
        for subset in endpoints.subsets or []:
            port = _endpoint_port(rule.port, subset.ports)
            if port is None:
                continue
            # Not-ready pods are scraped too: their metrics say why they are not ready.
            for address in [*(subset.addresses or []), *(subset.not_ready_addresses or [])]:
                ref = address.target_ref
                pod = ref.name if ref is not None and ref.kind == "Pod" else None
                yield address.ip, port, pod, address.node_name

    def _from_service(self, rule: DiscoveryRule, namespace: str, ca_file: str | None) -> Iterator[ScrapeTarget]:
        for name in rule.services:
            try:
                service = self._core.read_namespaced_service(name, namespace, _request_timeout=self._timeout)
            except ApiException as exc:
                if exc.status == 404:
                    continue
                raise _ListFailed(_api_error(rule, f"service {name} in namespace {namespace}", exc)) from exc
            except Exception as exc:
                raise _ListFailed(_transport_error(rule, exc)) from exc
            port = rule.port if isinstance(rule.port, int) else _service_port(rule.port, service.spec)
            if port is None:
                continue
            host = f"{name}.{namespace}.svc"
            url = f"{rule.scheme}://{host}:{port}{rule.path}"
            yield ScrapeTarget(
                url=url,
                source=rule.source,
                job=rule.job or rule.source,
                timeout_s=rule.timeout_s,
                bearer_token_file=rule.bearer_token_file,
                ca_file=ca_file,
                insecure_skip_verify=rule.insecure_skip_verify,
                resource={"k8s.namespace.name": namespace, "k8s.service.name": name},
                options=dict(rule.options),
            )
            return  # the first Service that exists is the install's API

    # -- helpers ---------------------------------------------------------------------------

    def _list(self, rule: DiscoveryRule, where: str, page: Callable[[str | None], Any]) -> list[Any]:
        items: list[Any] = []
        token: str | None = None
        try:
            while True:
                answer = page(token)
                items.extend(answer.items or [])
                token = answer.metadata.var_continue if answer.metadata is not None else None
                if not token:
                    return items
        except ApiException as exc:
            raise _ListFailed(_api_error(rule, where, exc)) from exc
        except Exception as exc:  # urllib3 transport errors
            raise _ListFailed(_transport_error(rule, exc)) from exc

    def _ca_file(self, rule: DiscoveryRule, namespace: str) -> str | None:
        if rule.ca_config_map is None:
            return rule.ca_file
        name, key = rule.ca_config_map
        path = self._ca_dir / f"{namespace}-{name}-{key}.pem"
        try:
            config_map = self._core.read_namespaced_config_map(name, namespace, _request_timeout=self._timeout)
        except ApiException as exc:
            if path.exists():
                return str(path)  # keep trusting the bundle read before
            raise _ListFailed(_api_error(rule, f"configmap {name} in namespace {namespace}", exc)) from exc
        except Exception as exc:
            if path.exists():
                return str(path)
            raise _ListFailed(_transport_error(rule, exc)) from exc
        bundle = (config_map.data or {}).get(key)
        if not bundle:
            raise _ListFailed(f"{rule.source}: configmap {namespace}/{name} has no key {key!r} with a CA bundle")
        _write_if_changed(path, bundle)
        return str(path)


def _target(
    rule: DiscoveryRule, ip: str, port: int, resource: dict[str, str], options: dict[str, str], ca_file: str | None
) -> ScrapeTarget:
    host = f"[{ip}]" if ":" in ip else ip
    return ScrapeTarget(
        url=f"{rule.scheme}://{host}:{port}{rule.path}",
        source=rule.source,
        job=rule.job or rule.source,
        timeout_s=rule.timeout_s,
        bearer_token_file=rule.bearer_token_file,
        ca_file=ca_file,
        insecure_skip_verify=rule.insecure_skip_verify,
        resource=resource,
        options=options,
    )


def _resource(namespace: str | None, pod: str | None, node: str | None) -> dict[str, str]:
    resource = {"k8s.namespace.name": namespace or ""}
    if pod:
        resource["k8s.pod.name"] = pod
    if node:
        resource["k8s.node.name"] = node
    return resource


def _container_port(port: int | str, spec: Any) -> int | None:
    if isinstance(port, int):
        return port
    for container in (spec.containers if spec is not None else None) or []:
        for declared in container.ports or []:
            if declared.name == port:
                return int(declared.container_port)
    return None


def _endpoint_port(port: int | str, ports: Any) -> int | None:
    declared = list(ports or [])
    if isinstance(port, int):
        return port
    for candidate in declared:
        if candidate.name == port and candidate.port:
            return int(candidate.port)
    return None


def _service_port(port: str, spec: Any) -> int | None:
    for candidate in (spec.ports if spec is not None else None) or []:
        if candidate.name == port:
            return int(candidate.port)
    return None


def _api_error(rule: DiscoveryRule, where: str, exc: ApiException) -> str:
    reason = f"HTTP {exc.status} {exc.reason or ''}".strip()
    hint = f"; {_RBAC_HINT}" if exc.status in (401, 403) else ""
    return f"{rule.source}: cannot read {where}: {reason}{hint}"


def _transport_error(rule: DiscoveryRule, exc: Exception) -> str:
    return f"{rule.source}: cannot reach the Kubernetes API: {type(exc).__name__}: {exc}"


def _write_if_changed(path: Path, content: str) -> None:
    data = content.encode()
    if path.exists() and hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # a scrape never reads half a bundle
