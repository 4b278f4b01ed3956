"""The README's "Integrating" examples, run as they are (bash and curl) against a live
server: each command must succeed (curl -f fails on any HTTP error) and do what the README
says."""

import datetime
import os
import re
import subprocess

import pytest
from django.utils import timezone

from api.models import Scope, WebhookEndpoint
from credentials.models import RosterImport
from credentials.services import credential_issue
from seu_ledger.models import Entry
from tests.conftest import PROJECT_ROOT
from tests.factories import StaffFactory, UserFactory, category, program

from .conftest import integration, personal

BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def readme_examples() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    start = text.index("<!-- integrating-examples: start -->")
    end = text.index("<!-- integrating-examples: end -->")
    return BLOCK.findall(text[start:end])


def test_the_readme_has_the_examples():
    assert len(readme_examples()) == 4


@pytest.mark.django_db(transaction=True)
def test_the_readme_curl_examples_run_against_a_live_server(live_server, reference_data, tmp_path):
    holder = UserFactory(email="reader@example.com")
    credential_issue(holder=holder, program=program("CSPO"), issued_on=datetime.date(2026, 1, 2))
    expiring = UserFactory(email="soon@example.com")
    credential_issue(
        holder=expiring,
        program=program("CSPO"),
        issued_on=timezone.localdate() - datetime.timedelta(days=700),
    )
    (tmp_path / "roster.csv").write_text(
        "email,first_name,last_name,course_code,end_date,hours_attended,completed\n"
        "readme@example.com,Rea,Dme,README-1,2026-01-05,16,yes\n"
    )
    env = {
        **os.environ,
        "CSPO": live_server.url,
        "TOKEN": personal(holder),
        "STAFF_TOKEN": integration(StaffFactory(is_superuser=True), Scope.values),
        "CATEGORY": str(category("scrum-alliance:learning").pk),
    }
    outputs = []
    for script in readme_examples():
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (script, done.stdout[-1000:], done.stderr[-1000:])
        outputs.append(done.stdout)
    assert '"program":"CSPO"' in outputs[0]
    assert Entry.objects.filter(holder=holder, title="Meetup").exists()
    assert '"counts":[{"renewal":"CSPO"' in outputs[1]
    record = RosterImport.objects.get()
    assert record.status in (RosterImport.Status.QUEUED, RosterImport.Status.APPLYING, "done")
    assert '"soon@example.com"' in outputs[3]
    assert '"reader@example.com"' not in outputs[3]
    assert WebhookEndpoint.objects.get().events == ["credential.lapsed", "credential.revoked"]
    assert '"secret":"whsec_' in outputs[3]
