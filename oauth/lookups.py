"""Token lookups and inserts on the hot path, with their SQL compiled once per process.

Django compiles a queryset to SQL every time it is evaluated. For a token looked up by its
checksum together with its user and client (`select_related`), that compilation costs more
CPU than the database round trip itself (profiled on introspection: about 60 % of the view).
The statement is the same on every request, so it is compiled once, and each request only
executes it and builds the model instances the way Django's own ModelIterable does.
"""

from __future__ import annotations

import threading

from django.db import connections, transaction
from django.db.models import Model
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery

_lock = threading.Lock()
_prepared: dict[tuple, object] = {}  # compiled statements, by what they are for
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
    prepared = _compiled((model, field, related, using), lambda: _Prepared(model, field, related, using))
    return prepared.first(value)


def _compiled(key: tuple, build):
    """The statement `build()` compiles, built once per process for `key`."""
    prepared = _prepared.get(key)
    if prepared is None:
        with _lock:
            prepared = _prepared.get(key) or build()
            _prepared[key] = prepared
    return prepared


class _PreparedInsert:
    """The INSERT of one new row of `model`, compiled once; values are prepared per row
    exactly as Django's SQLInsertCompiler prepares them."""

    def __init__(self, model: type[Model], using: str):
        meta = model._meta
        self.fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
        self.returning = list(meta.db_returning_fields)
        query = InsertQuery(model)
        query.insert_values(self.fields, [model()])
        self.compiler = query.get_compiler(using=using)
        self.compiler.returning_fields = self.returning
        ((self.sql, params),) = self.compiler.as_sql()
        if len(params) != len(self.fields) or self.sql.count("%s") != len(self.fields):
            raise ValueError(f"{model.__name__}: not a plain one-placeholder-per-column INSERT")
        self.using = using

    def insert(self, obj: Model) -> None:
        obj._prepare_related_fields_for_save(operation_name="save")
        values = [self.compiler.prepare_value(field, field.pre_save(obj, True)) for field in self.fields]
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, values)
            row = cursor.fetchone()
        for field, value in zip(self.returning, row, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = self.using


def insert(obj: Model, using: str = "default") -> None:
    """`obj.save()` for a new row, with the INSERT compiled once per process (the ORM
    compiles it on every save: about a third of the cost of saving a token). Falls back to
    `save()` where that would do more: receivers of the model's save signals, or a
    database that cannot return the new primary key from the INSERT."""
    model = type(obj)
    connection = connections[using]
    if (
        not obj._state.adding
        or pre_save.has_listeners(model)
        or post_save.has_listeners(model)
        or not connection.features.can_return_columns_from_insert
    ):
        obj.save(using=using)
        return
    prepared = _compiled(("insert", model, using), lambda: _PreparedInsert(model, using))
    with transaction.mark_for_rollback_on_error(using):
        prepared.insert(obj)


def save_new_row_with_prepared_insert(obj: Model) -> None:
    """Make the next `obj.save()` (by code that builds the row and saves it, such as DOT's
    token creation) go through `insert`. Only that one call: the override removes itself."""

    def save(*args, **kwargs):
        del obj.__dict__["save"]
        if args or kwargs:
            obj.save(*args, **kwargs)
        else:
            insert(obj)

    obj.save = save


def lock_row(model: type[Model], pk, using: str = "default") -> bool:
    """`model.objects.select_for_update().filter(pk=pk).exists()` inside the current
    transaction, as one fixed statement instead of a queryset compiled on every call.
    True when the row exists (and is now locked). Databases without row locks (SQLite
    serialises writers) only check that it exists."""
    connection = connections[using]
    sql = _compiled(("lock", model, using), lambda: _lock_sql(model, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return cursor.fetchone() is not None


def _lock_sql(model: type[Model], connection) -> str:
    return "SELECT 1 FROM {} WHERE {} = %s{}".format(  # noqa: S608 (names from the model, value bound)
        connection.ops.quote_name(model._meta.db_table),
        connection.ops.quote_name(model._meta.pk.column),
        " FOR UPDATE" if connection.features.has_select_for_update else "",
    )
