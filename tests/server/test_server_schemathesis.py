"""Schemathesis against the live server's OpenAPI schema: generated requests, valid and invalid, never get a 5xx.

Every operation is driven as an administrator (bearer token: the widest access, so requests reach the service
layer instead of stopping at a 403) and as an annotator. Revoking tokens is left out: a generated id could
revoke the token the run itself uses; the matrix test covers that route.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datatrainer.annotation.types import local_admin
from tests.server.site import Site

SKIP = {("DELETE", "/api/v1/tokens/{token_id}")}


def test_generated_requests_never_get_a_server_error(site: Site) -> None:
    with site.open_workspace() as ws:
        tokens = {who: ws.annotation.create_api_token(local_admin(), "fuzz", username=who).token
                  for who in ("root", "ann")}
    schema = schemathesis.openapi.from_url(site.url + "/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIP:
            continue

        @given(case=operation.as_strategy(), who=st.sampled_from(sorted(tokens)))
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case, who: str) -> None:
            response = case.call(base_url=site.url, headers={"Authorization": f"Bearer {tokens[who]}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} as {who} -> {response.status_code}: "
                                f"{response.text[:200]}")

        call()
    assert not failures, "\n".join(failures[:20])
