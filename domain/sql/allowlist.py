"""Allow-lists of syntax, types and functions (never deny-lists).

A node of any class not listed here makes a query refused: file, network, settings, pragma,
catalog and table functions, set operations, LATERAL/UNNEST/PIVOT, VALUES lists, parameters,
unknown (anonymous) functions and anything sqlglot learns to parse tomorrow are refused by
default. Each function here was checked to give the same answer on DuckDB and Spark (see
tests/integration/sql/test_engine_parity.py).
"""

from __future__ import annotations

from sqlglot import exp


def _classes(*names: str) -> frozenset[type]:
    """sqlglot classes by name; a name this sqlglot version lacks is simply not allowed."""
    return frozenset(getattr(exp, n) for n in names if hasattr(exp, n))


STRUCTURE = _classes(
    "Select", "From", "Join", "Where", "Group", "Having", "Qualify", "Order", "Ordered",
    "Limit", "Offset", "With", "CTE", "TableAlias", "Subquery", "Table", "Identifier", "Column",
    "Star", "Alias", "Distinct", "Window", "WindowSpec", "Paren", "Literal", "Boolean", "Null",
    "DataType", "DataTypeParam", "Interval", "Var", "Filter",
)
OPERATORS = _classes(
    "Neg", "Not", "And", "Or", "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "NullSafeEQ",
    "NullSafeNEQ", "Is", "In", "Between", "Like", "ILike", "Add", "Sub", "Mul", "Div", "IntDiv",
    "Mod", "DPipe", "Case", "If", "Coalesce", "Nullif", "Cast", "TryCast",
)
SCALAR_FUNCTIONS = _classes(
    "Abs", "Round", "Floor", "Ceil", "Sqrt", "Pow", "Ln", "Log", "Exp", "Greatest", "Least",
    "Sign", "Lower", "Upper", "Length", "Substring", "Trim", "Concat", "Left", "Right",
    "Replace", "StrPosition", "Pad", "RegexpLike", "RegexpReplace", "RegexpExtract",
    "StartsWith", "SplitPart", "TimestampTrunc", "DateTrunc", "Extract", "Year", "Month", "Day",
    "Quarter", "DayOfWeek", "DayOfYear", "DateDiff", "DateAdd", "CurrentDate", "TimeToStr",
    "DateFromParts", "LastDay",
)
COUNTING = _classes("Count", "ApproxDistinct", "CountIf")
MOMENTS = _classes(
    "Sum", "Avg", "Stddev", "StddevPop", "StddevSamp", "Variance", "VariancePop", "Corr",
    "CovarPop", "CovarSamp",
)
ORDER_STATISTICS = _classes("Min", "Max", "Median", "PercentileCont", "PercentileDisc")
LOGICAL = _classes("LogicalAnd", "LogicalOr")
AGGREGATES = COUNTING | MOMENTS | ORDER_STATISTICS | LOGICAL
WINDOW_ONLY = _classes(
    "RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist", "Ntile", "Lag", "Lead",
    "FirstValue", "LastValue", "NthValue",
)
ALLOWED = STRUCTURE | OPERATORS | SCALAR_FUNCTIONS | AGGREGATES | WINDOW_ONLY

# Refused with a specific explanation (they return one row's value or a collection of values).
VALUE_REVEALING = _classes(
    "AnyValue", "First", "Last", "GroupConcat", "ArrayAgg", "ArgMax", "ArgMin", "Mode",
    "ArrayUniqueAgg", "ApproxTopK", "BitwiseAndAgg", "BitwiseOrAgg", "BitwiseXorAgg",
    "ArrayConcatAgg", "ObjectAgg", "IgnoreNulls", "RespectNulls",
)
VALUE_REVEALING_NAMES = frozenset({
    "any_value", "first", "last", "string_agg", "group_concat", "list", "array_agg", "arg_max",
    "arg_min", "max_by", "min_by", "mode", "histogram", "list_agg", "arbitrary", "bit_and",
    "bit_or", "bit_xor", "bitstring_agg", "approx_top_k", "reservoir_quantile",
})

ALLOWED_TYPES = frozenset({
    exp.DataType.Type.BOOLEAN, exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.FLOAT,
    exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL, exp.DataType.Type.VARCHAR,
    exp.DataType.Type.TEXT, exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP,
})

JOIN_KINDS = frozenset({"", "INNER", "OUTER", "CROSS"})
JOIN_SIDES = frozenset({"", "LEFT", "RIGHT", "FULL"})


def function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


def is_aggregate(node: exp.Expression) -> bool:
    return isinstance(node, tuple(AGGREGATES))


def in_window(node: exp.Expression) -> bool:
    """True when `node` is the function a window applies (`f(...) OVER (...)`)."""
    parent = node.parent
    while isinstance(parent, exp.Filter):
        parent = parent.parent
    return isinstance(parent, exp.Window) and parent.this is not None and (
        parent.this is node or parent.this is node.parent)
