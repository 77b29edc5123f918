"""Jobs used by test_jobs.py (module level, so the worker can import them by path)."""

import uuid

from django.contrib.auth.models import Group

from perpetua.jobs import job


@job()
def record_run(tag: str) -> str:
    Group.objects.create(name=f"{tag}-{uuid.uuid4().hex}")
    return tag


@job(max_attempts=3, retry_base_seconds=0)
def always_fails(tag: str) -> None:
    Group.objects.create(name=f"{tag}-{uuid.uuid4().hex}")
    raise RuntimeError("the provider is down")


@job(retry_base_seconds=0)
def fails_once(tag: str) -> str:
    attempts = Group.objects.filter(name__startswith=f"{tag}-").count()
    Group.objects.create(name=f"{tag}-{uuid.uuid4().hex}")
    if attempts == 0:
        raise RuntimeError("transient")
    return "ok"
