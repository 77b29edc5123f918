"""Query-string filters of the tasks app's lists: tasks (§3), templates (§5), reminders (§6).

Applied by the selectors through `perpetua.api.filters.filterset_apply`: an unknown
filter *value* (`completed=maybe`, `priority=urgent`, `ordering=color`) is a 400 with
the field in `details`, never a silently ignored filter. Unknown parameter *names* are
ignored (cache busters, `limit`/`offset`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from perpetua.api.filters import StrictBooleanFilter
from tasks.models import Priority, Reminder, Task, TaskTemplate

# Public ordering names → the expression used in ORDER BY. `priority` sorts by rank so
# ascending is low → medium → high (CONTRACT §3).
ORDERING_FIELDS: dict[str, str] = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "due_date": "due_date",
    "priority": "priority_rank",
    "title": "title",
}
DEFAULT_ORDERING = ("-created_at",)

PRIORITY_RANK = Case(
    When(priority=Priority.LOW, then=Value(0)),
    When(priority=Priority.MEDIUM, then=Value(1)),
    When(priority=Priority.HIGH, then=Value(2)),
    output_field=IntegerField(),
)


class DateTimeOrDateField(forms.Field):
    """ISO-8601 datetime (naive = UTC) or a bare date (midnight UTC)."""

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        parsed: dt.datetime | None = None
        try:
            parsed = parse_datetime(text)
            if parsed is None and " " in text:  # an unescaped `+02:00` arrives as ` 02:00`
                head, _, tail = text.rpartition(" ")
                parsed = parse_datetime(f"{head}+{tail}")
            if parsed is None:
                day = parse_date(text)
                if day is not None:
                    parsed = dt.datetime.combine(day, dt.time.min)
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError("Must be an ISO-8601 date or datetime.", code="invalid")
        if timezone.is_naive(parsed):
            return parsed.replace(tzinfo=dt.UTC)
        try:  # normalized: PostgreSQL refuses offsets beyond ±15:59 that Python accepts
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("Date out of range.", code="invalid") from None


class DateTimeOrDateFilter(django_filters.Filter):
    field_class = DateTimeOrDateField


class OrderingField(forms.Field):
    """`ordering=-priority,title`: comma-separated public names, `-` for descending."""

    def to_python(self, value: Any) -> list[str] | None:
        if value in (None, ""):
            return None
        seen: set[str] = set()
        out: list[str] = []
        for raw in str(value).split(","):
            term = raw.strip()
            name = term.removeprefix("-")
            if name not in ORDERING_FIELDS:
                raise forms.ValidationError(
                    f"Unknown ordering field {term!r}; allowed: {', '.join(ORDERING_FIELDS)} (prefix - to descend).",
                    code="invalid",
                )
            if name in seen:
                raise forms.ValidationError(f"Ordering field {name!r} given twice.", code="invalid")
            seen.add(name)
            out.append(term)
        return out


class OrderingFilter(django_filters.Filter):
    field_class = OrderingField

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        return qs if value is None else qs.order_by(*order_by_expressions(value))


def order_by_expressions(terms: list[str] | tuple[str, ...]) -> list[Any]:
    """Public ordering terms → ORDER BY expressions; `id` last so pages are stable.

    Tasks without a due date sort after dated ones in both directions.
    """
    expressions: list[Any] = []
    for term in terms:
        descending = term.startswith("-")
        column = ORDERING_FIELDS[term.removeprefix("-")]
        expression = F(column)
        expressions.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
    expressions.append(F("id").asc())
    return expressions


class TaskFilter(django_filters.FilterSet):
    completed = StrictBooleanFilter(field_name="completed")
    priority = django_filters.ChoiceFilter(field_name="priority", choices=Priority.choices)
    # hidden absent/false → hidden tasks left out; true → included with the others.
    hidden = StrictBooleanFilter(method="filter_noop")
    # archived absent → both; true/false → only those.
    archived = StrictBooleanFilter(field_name="archived")
    due_before = DateTimeOrDateFilter(field_name="due_date", lookup_expr="lte")
    due_after = DateTimeOrDateFilter(field_name="due_date", lookup_expr="gte")
    template_id = django_filters.UUIDFilter(field_name="template_id")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    ordering = OrderingFilter()

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_noop(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    @staticmethod
    def apply_defaults(queryset: QuerySet, *, include_hidden: bool = False) -> QuerySet:
        """What holds when a filter is absent: hidden tasks are left out (CONTRACT §3)."""
        return queryset if include_hidden else queryset.filter(hidden=False)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        return self.apply_defaults(queryset, include_hidden=bool(self.form.cleaned_data.get("hidden")))


class TemplateFilter(django_filters.FilterSet):
    """`GET /templates?active=`."""

    active = StrictBooleanFilter(field_name="active")

    class Meta:
        model = TaskTemplate
        fields: list[str] = []


class ReminderFilter(django_filters.FilterSet):
    """`GET /reminders?task_id=&fired=`; the selector checks that `task_id` is the user's."""

    task_id = django_filters.UUIDFilter(field_name="task_id")
    fired = StrictBooleanFilter(field_name="fired")

    class Meta:
        model = Reminder
        fields: list[str] = []
