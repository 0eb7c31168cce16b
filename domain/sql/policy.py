"""`check(sql, scope) -> Decision`: the one door between an operator's SQL and raw data.

Steps, each of which can only refuse:

1. parse exactly one statement with sqlglot (DuckDB dialect) - never regular expressions;
2. syntactic rules (`rules.syntax_rules`): allow-listed syntax and functions, granted tables,
   no reserved names;
3. resolve every name against the granted columns only (sqlglot `qualify`);
4. semantic rules (`analyze`): direct identifiers only as join keys / counted / NULL-tested,
   no value-revealing aggregates, the result must be aggregated;
5. rewrite (`rewrite`): the k rule, small-cell suppression and rounding are computed inside the
   query and applied to the executed result.

`check` never raises: bad SQL is a refusal with a reason, and a failure of the checker itself
is a refusal too (fail closed). Reasons never quote literals from the query.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.qualify import qualify

from domain.sql import rewrite
from domain.sql.analyze import Analyzer
from domain.sql.decision import Decision, Disclosure, Plan, seal_plan
from domain.sql.redact import mask_name, redact_sql
from domain.sql.rules import OnlyAllowedSyntax, syntax_rules
from domain.sql.scope import Scope

MAX_SQL_CHARS = 100_000


def check(sql: str, scope: Scope) -> Decision:
    if not isinstance(sql, str) or not isinstance(scope, Scope):
        return Decision.refuse(["a query text and a grant scope are needed"], "<not text>")
    try:
        return _cached_check(sql, scope)
    except TypeError:  # an unhashable scope (built by hand with lists): check without the cache
        return _guarded_check(sql, scope)


@functools.lru_cache(maxsize=1024)
def _cached_check(sql: str, scope: Scope) -> Decision:
    """Decisions are frozen and depend only on (sql, scope): a repeated query is not re-analysed."""
    return _guarded_check(sql, scope)


def _guarded_check(sql: str, scope: Scope) -> Decision:
    redacted = ""
    try:
        statements, reasons = _parse(sql)
        redacted = redact_sql(sql, statements)
        if reasons:
            return Decision.refuse(reasons, redacted)
        return _check(statements[0], scope, redacted)
    except RecursionError:
        return Decision.refuse(["the query is nested too deeply to be checked"], redacted or "<too deep>")
    except Exception as exc:  # fail closed: a checker that cannot decide refuses
        return Decision.refuse([f"the policy could not check this query ({type(exc).__name__}); it is "
                                "refused"], redacted or redact_sql(sql))


def _check(tree: exp.Expression, scope: Scope, redacted: str) -> Decision:
    reasons = syntax_rules(scope).check(tree)
    if reasons:
        return Decision.refuse(reasons, redacted)
    name_outputs(tree)
    qualified, reasons = resolve_names(tree, scope)
    if reasons:
        return Decision.refuse(reasons, redacted)
    reasons = OnlyAllowedSyntax().check(qualified)  # again: name resolution may add nodes
    if reasons:
        return Decision.refuse(reasons, redacted)
    analyzer = Analyzer(scope)
    analyzer.run(qualified)
    if analyzer.reasons:
        return Decision.refuse(analyzer.reasons, redacted)
    disclosure = strictest_disclosure(scope, analyzer.tables)
    try:
        final = rewrite.apply(analyzer.plans, qualified, disclosure)
    except rewrite.RewriteRefused as refused:
        return Decision.refuse([str(refused)], redacted)
    return Decision(allowed=True, reasons=(), plan=_plan(final, analyzer, scope, disclosure),
                    sql_redacted=redacted)


def _parse(sql: str) -> tuple[list[exp.Expression] | None, list[str]]:
    """The statements (None when unparseable) and the reasons to refuse, if any."""
    if not sql.strip():
        return None, ["the query is empty"]
    if len(sql) > MAX_SQL_CHARS:
        return None, [f"the query is longer than {MAX_SQL_CHARS} characters"]
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as error:
        return None, [_parse_reason(error)]
    except TokenError:
        return None, ["the SQL could not be read (an unterminated string, quoted name or comment?)"]
    if not statements:
        return statements, ["the query is empty"]
    if len(statements) > 1:
        return statements, [f"exactly one statement is allowed; this text holds {len(statements)}"]
    tree = statements[0]
    if not isinstance(tree, exp.Select):
        kind = "a set operation (UNION/INTERSECT/EXCEPT)" if isinstance(tree, exp.SetOperation) \
            else mask_name(tree.key.upper())
        return statements, [f"only a SELECT query is allowed, not {kind}"]
    return statements, []


def _parse_reason(error: ParseError) -> str:
    first = (error.errors or [{}])[0]
    description = str(first.get("description") or "syntax error").split(".")[0]
    line, col = first.get("line"), first.get("col")
    where = f" at line {line}, column {col}" if line else ""
    return f"the SQL could not be parsed{where}: {mask_name(description)}"


def name_outputs(tree: exp.Select) -> None:
    """Give the result columns stable names on both engines: the alias, the column name, or
    the expression's own text."""
    for projection in list(tree.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            continue
        name = mask_name(projection.sql(dialect="duckdb", comments=False))
        projection.replace(exp.alias_(projection.copy(), name, quoted=True))


def resolve_names(tree: exp.Expression, scope: Scope) -> tuple[exp.Expression | None, list[str]]:
    try:
        qualified = qualify(tree, schema=scope.schema(), dialect="duckdb",
                            validate_qualify_columns=True, quote_identifiers=True,
                            identify=True)
    except OptimizeError as error:
        return None, [f"a name could not be resolved against your granted columns: "
                      f"{mask_name(str(error).splitlines()[0])}"]
    except SqlglotError:
        return None, ["the query's names could not be resolved against your granted columns"]
    return qualified, []


def strictest_disclosure(scope: Scope, tables: set[str]) -> Disclosure:
    datasets = [scope.get(t) for t in sorted(tables)] or list(scope.datasets)
    return Disclosure(
        min_group_size=max(d.min_group_size for d in datasets),
        suppress_below=max(d.suppress_below for d in datasets),
        round_to=max(d.round_to for d in datasets),
    )


def _plan(final: rewrite.Rewritten, analyzer: Analyzer, scope: Scope, disclosure: Disclosure) -> Plan:
    hidden = ("__aod_dropped", rewrite.UNDECIDED)
    outputs = tuple(p.alias_or_name for p in final.root.expressions if p.alias_or_name not in hidden)
    root_plan = next(p for p in analyzer.plans if p.is_root)
    tables = tuple(sorted(analyzer.tables))
    views = tuple((t, scope.get(t).view_columns()) for t in tables)
    return seal_plan(Plan(
        sql=final.sql,
        tables=tables,
        datasets=tuple(scope.get(t).dataset for t in tables),
        output_columns=outputs,
        disclosure=disclosure,
        k_enforced=root_plan.mode.value == "safe_core",
        reports_dropped=root_plan.mode.value == "safe_core",
        views=views,
        dropped_sql=final.dropped_sql,
        exact_sql=final.exact_sql,
        exact_dropped_sql=final.exact_dropped_sql,
    ))
