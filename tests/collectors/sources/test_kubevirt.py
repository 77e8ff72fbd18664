"""KubeVirt components through the kubevirt source: TLS, bearer token, VM series dedupe,
phase counts, and virt-controller's known HTTP 500."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collectors import ScrapeTarget, Scraper
from collectors.exposition import parse_exposition
from collectors.sources._replica_election import ReplicaElection
from collectors.sources.kubevirt import PHASE_COUNT_LABELS, KubeVirtSource
from http_targets import Answer, http_target

CONTROLLER = "kubevirt/virt_controller_metrics_synthesized.prom"
HANDLER = "kubevirt/harvester_virt_handler_migration_metrics.prom"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.test-service-account-token"


# -- a local HTTPS target signed by a CA made for the test ---------------------------------------


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1, made with the openssl CLI."""
    d = tmp_path_factory.mktemp("pki")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kubevirt-ca-test",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=virt-handler")
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return d


@contextmanager
def https_target(pki, body: bytes, required_token: str | None = None):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if required_token is not None and self.headers.get("Authorization") != f"Bearer {required_token}":
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b"Unauthorized")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def handler_body(data_dir) -> bytes:
    return (data_dir / HANDLER).read_bytes()


def test_https_target_verified_against_the_kubevirt_ca_is_scraped(test_ca, data_dir, scrape_once, points_of):
    with https_target(test_ca, handler_body(data_dir)) as url:
        target = ScrapeTarget(f"{url}/metrics", source="kubevirt", ca_file=str(test_ca / "ca.pem"))
        result = scrape_once(KubeVirtSource(), target)
    assert result.up, result.error
    remaining = points_of(result, "kubevirt_vmi_migration_data_remaining_bytes")
    assert {a["name"] for a, _ in remaining} == {"test", "test2"}


def test_without_the_ca_verification_fails_and_the_error_says_how_to_fix_it(test_ca, data_dir, scrape_once):
    with https_target(test_ca, handler_body(data_dir)) as url:
        result = scrape_once(KubeVirtSource(), ScrapeTarget(f"{url}/metrics", source="kubevirt"))
    assert not result.up
    assert "TLS certificate verification failed" in result.error
    assert "ca_file" in result.error and "insecure_skip_verify" in result.error


def test_verification_is_off_only_when_the_target_says_so(test_ca, data_dir, scrape_once):
    with https_target(test_ca, handler_body(data_dir)) as url:
        target = ScrapeTarget(f"{url}/metrics", source="kubevirt", insecure_skip_verify=True)
        result = scrape_once(KubeVirtSource(), target)
    assert result.up, result.error


def test_the_service_account_token_file_is_sent_as_bearer_token(test_ca, data_dir, scrape_once, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")  # kubelet-written files may end in a newline
    with https_target(test_ca, handler_body(data_dir), required_token=TOKEN) as url:
        target = ScrapeTarget(
            f"{url}/metrics", source="kubevirt", ca_file=str(test_ca / "ca.pem"), bearer_token_file=str(token_file)
        )
        good = scrape_once(KubeVirtSource(), target)
        token_file.write_text("expired")
        rejected = scrape_once(KubeVirtSource(), target)
        token_file.unlink()
        unreadable = scrape_once(KubeVirtSource(), target)
    assert good.up, good.error
    assert not rejected.up and "HTTP 401" in rejected.error and "bearer token" in rejected.error
    assert not unreadable.up and "cannot read bearer token file" in unreadable.error


# -- virt-controller: phase counts, replica dedupe, HTTP 500 -----------------------------------------


def test_phase_counts_are_computed_from_vmi_info_with_the_recording_rules_labels(data_dir, scrape_once, points_of):
    with http_target(Answer((data_dir / CONTROLLER).read_bytes())) as server:
        result = scrape_once(KubeVirtSource(), ScrapeTarget(f"{server.url}/metrics", source="kubevirt"))
    assert result.up and result.warnings == ()
    counts = points_of(result, "kubevirt_vmi_phase_count")
    assert sum(v for _, v in counts) == 4  # one per VMI in the scrape
    for attributes, _ in counts:
        assert set(attributes) <= set(PHASE_COUNT_LABELS)  # no per-VM labels survive the grouping
    web = [v for a, v in counts if a["phase"] == "running" and a.get("instance_type") == "u1.small"]
    assert sorted(web) == [1.0, 1.0]  # web-01 and web-02 run on different nodes: two groups
    failed = [(a["node"], a["os"], v) for a, v in counts if a["phase"] == "failed"]
    assert failed == [("worker-2", "windows2k22", 1.0)]


def two_replicas(data_dir):
    body = (data_dir / CONTROLLER).read_bytes()
    return http_target(Answer(body)), http_target(Answer(body))


def controller_target(url, instance):
    return ScrapeTarget(f"{url}/metrics", source="kubevirt", instance=instance, resource={"k8s.pod.name": instance})


def test_vm_series_of_several_virt_controller_replicas_are_kept_once(data_dir, points_of):
    now = [1000.0]
    source = KubeVirtSource(ReplicaElection(stale_after_s=60, clock=lambda: now[0]))
    scraper = Scraper(cluster="lab", sources={"kubevirt": source})
    first, second = two_replicas(data_dir)

    async def rounds(replica_a, replica_b):
        try:
            a1, b1 = await scraper.scrape(replica_a), await scraper.scrape(replica_b)
            now[0] += 15
            a2, b2 = await scraper.scrape(replica_a), await scraper.scrape(replica_b)
            # Replica a stops answering; after stale_after_s, b takes over the VM series.
            now[0] += 61
            b3 = await scraper.scrape(replica_b)
            return a1, b1, a2, b2, b3
        finally:
            await scraper.aclose()

    with first as a, second as b:
        replica_a = controller_target(a.url, "virt-controller-7c9f-a")
        replica_b = controller_target(b.url, "virt-controller-7c9f-b")
        a1, b1, a2, b2, b3 = asyncio.run(rounds(replica_a, replica_b))
    assert len(points_of(a1, "kubevirt_vm_info")) == 5 and len(points_of(a2, "kubevirt_vm_info")) == 5
    for replica_only in (b1, b2):
        assert [v for _, v in points_of(replica_only, "kubevirt_vm_info")] == []
        assert points_of(replica_only, "kubevirt_vmi_phase_count") == []
        # The replica's own health and client metrics are not replicated: they stay.
        assert points_of(replica_only, "kubevirt_virt_controller_ready_status") == [({}, 1.0)]
        assert points_of(replica_only, "kubevirt_rest_client_requests_total") != []
    assert len(points_of(b3, "kubevirt_vm_info")) == 5


def test_virt_controller_http_500_is_reported_as_the_known_duplicate_series_issue(scrape_once):
    body = (
        b"An error has occurred while serving metrics:\n\ncollected metric \"kubevirt_vmi_status_addresses\" "
        b"{ label:{name:\"address\" value:\"10.244.0.12\"} gauge:{value:1} } was collected before with the same "
        b"name and label values\n"
    )
    with http_target(Answer(body, 500)) as server:
        result = scrape_once(KubeVirtSource(), ScrapeTarget(f"{server.url}/metrics", source="kubevirt"))
    assert not result.up
    assert "HTTP 500" in result.error and "kubevirt/kubevirt#13346" in result.error
    assert "duplicate" in result.error or "same series" in result.error


def test_http_500_of_an_unidentified_component_still_names_the_likely_cause(scrape_once):
    with http_target(Answer(b"internal error", 500)) as server:
        result = scrape_once(KubeVirtSource(), ScrapeTarget(f"{server.url}/metrics", source="kubevirt"))
    assert not result.up and "if this is virt-controller" in result.error


def test_other_http_errors_are_left_as_they_are(scrape_once):
    with http_target(Answer(b"forbidden", 403)) as server:
        result = scrape_once(KubeVirtSource(), ScrapeTarget(f"{server.url}/metrics", source="kubevirt"))
    assert "HTTP 403" in result.error and "13346" not in result.error


def test_virt_handler_vmi_label_copies_and_legacy_labels_are_kept(data_dir, scrape_once, points_of):
    with http_target(Answer((data_dir / "kubevirt/user_guide_vmi_sample_legacy_domain_label.prom").read_bytes())) as s:
        legacy = scrape_once(KubeVirtSource(), ScrapeTarget(f"{s.url}/metrics", source="kubevirt"))
    with http_target(Answer(handler_body(data_dir))) as s:
        migration = scrape_once(KubeVirtSource(), ScrapeTarget(f"{s.url}/metrics", source="kubevirt"))
    assert points_of(legacy, "kubevirt_vmi_memory_resident_bytes")[0][0]["domain"] == "default_vm-test-01"
    labels = points_of(migration, "kubevirt_vmi_migration_data_processed_bytes")[0][0]
    assert labels["kubernetes_vmi_label_kubevirt_io_migrationTargetNodeName"] == "harvester-node-0"
    # A handler scrape has no VM inventory: nothing to deduplicate, nothing computed.
    assert points_of(migration, "kubevirt_vmi_phase_count") == []


def test_any_components_identity_family_is_enough_and_none_is_the_wrong_source(data_dir):
    source = KubeVirtSource()
    controller = parse_exposition((data_dir / CONTROLLER).read_bytes())
    envoy = parse_exposition((data_dir / "envoy/contour_envoy_stats_synthesized.prom").read_bytes())
    assert source.missing_families(controller) == []
    assert source.missing_families(envoy) == sorted(source.expected_families)
