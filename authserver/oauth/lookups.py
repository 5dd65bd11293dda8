"""Token lookups on the hot path, with their SQL compiled once per process.

Django compiles a queryset to SQL every time it is evaluated. For a token looked up by its
checksum together with its user and client (`select_related`), that compilation costs more
CPU than the database round trip itself (profiled on introspection: about 60 % of the view).
The statement is the same on every request, so it is compiled once, and each request only
executes it and builds the model instances the way Django's own ModelIterable does.
"""

from __future__ import annotations

import threading

from django.db import connections
from django.db.models import Model
from django.db.models.query import get_related_populators

_lock = threading.Lock()
_prepared: dict[tuple, _Prepared] = {}
_PLACEHOLDER = "\x00prepared-lookup-placeholder"


class _Prepared:
    def __init__(self, model: type[Model], field: str, related: tuple[str, ...], using: str):
        queryset = model._default_manager.using(using).filter(**{field: _PLACEHOLDER})
        if related:
            queryset = queryset.select_related(*related)
        self.compiler = queryset[:1].query.get_compiler(using=using)
        self.sql, params = self.compiler.as_sql()
        if tuple(params) != (_PLACEHOLDER,):
            raise ValueError(f"a prepared lookup takes exactly one parameter, not {params!r}")
        klass_info = self.compiler.klass_info
        select = self.compiler.select
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, using)
        self.converters = self.compiler.get_converters([column[0] for column in select])
        self.model = klass_info["model"]
        self.using = using

    def first(self, value):
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            # The converters a queryset applies (JSON, time zones on some backends).
            (row,) = self.compiler.apply_converters([row], self.converters)
        obj = self.model.from_db(self.using, self.init_list, row[self.start : self.end])
        for populator in self.populators:
            populator.populate(row, obj)
        return obj


def first_by(model: type[Model], field: str, value, *, related: tuple[str, ...] = (), using="default"):
    """`model.objects.select_related(*related).filter(field=value).first()`, for a field
    that is unique (no ordering is applied), without compiling the query again."""
    key = (model, field, related, using)
    prepared = _prepared.get(key)
    if prepared is None:
        with _lock:
            prepared = _prepared.get(key) or _Prepared(model, field, related, using)
            _prepared[key] = prepared
    return prepared.first(value)
