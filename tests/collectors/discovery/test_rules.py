"""The default discovery rules and the operator's adjustments to them."""

from __future__ import annotations

import pytest

from collectors.discovery import DEFAULT_RULES, DiscoveryRule, default_rules


def test_defaults_cover_each_projects_standard_install_namespaces():
    namespaces = {r.source: r.namespaces for r in DEFAULT_RULES}
    assert namespaces["mayastor"] == ("mayastor", "openebs")
    assert namespaces["envoy"] == namespaces["contour"] == ("projectcontour",)
    assert namespaces["kuma-cp"] == namespaces["kuma-api"] == ("kuma-system",)
    assert namespaces["kubevirt"] == ("kubevirt",)
    assert namespaces["cdi"] == ("cdi",)
    assert namespaces["kuma-dp"] == ()  # sidecars live in application namespaces


def test_the_io_engine_exporter_is_found_per_pod_never_through_its_service():
    (rule,) = [r for r in DEFAULT_RULES if r.source == "mayastor"]
    assert rule.role == "pods" and rule.port == 9502


def test_settings_narrow_and_adjust_the_defaults():
    rules = default_rules(
        ["kubevirt", "mayastor"],
        namespaces={"mayastor": ["storage"]},
        bearer_token_file="/token",
        kubevirt_ca_file="/etc/kubevirt-ca/ca-bundle",
        insecure_skip_verify=["mayastor"],
    )
    by_source = {r.source: r for r in rules}
    assert set(by_source) == {"kubevirt", "mayastor"}
    assert by_source["mayastor"].namespaces == ("storage",)
    assert by_source["mayastor"].insecure_skip_verify and by_source["mayastor"].bearer_token_file is None
    kubevirt = by_source["kubevirt"]
    assert (kubevirt.ca_file, kubevirt.ca_config_map) == ("/etc/kubevirt-ca/ca-bundle", None)
    assert kubevirt.bearer_token_file == "/token" and not kubevirt.insecure_skip_verify


def test_certificate_verification_stays_on_unless_asked_off():
    assert not any(r.insecure_skip_verify for r in default_rules())


def test_an_unknown_source_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="no discovery rule for kuma.*known: argocd, cdi, contour"):
        default_rules(["kuma"])


def test_a_rule_without_what_it_needs_is_refused():
    with pytest.raises(ValueError, match="Service names and namespaces"):
        DiscoveryRule(source="cdi", role="endpoints", port=8080)
    with pytest.raises(ValueError, match="needs a port"):
        DiscoveryRule(source="mayastor", role="pods")
