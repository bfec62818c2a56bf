"""Pass 1: the grammar, the preprocessor and parse errors as stap 4.8 prints them.

The exact error texts below are what ``stap -r 6.1.0-57-amd64 -p1 -e SCRIPT`` (SystemTap
4.8) prints, without the Debian ``Tip:`` line and the ``Kernel function symbol table
missing`` warning.
"""

from __future__ import annotations

from typing import Any

import pytest

from stapserver.errors import ParseError
from stapserver.translator import ast, library
from stapserver.translator.parser import PreprocessorContext, parse, strverscmp
from stapserver.translator.source import Source

from .treeshape import expr_of, parse_text, probe_body, sexpr, shape


def parse_error(text: str, **kw: Any) -> str:
    """The complete pass-1 diagnostic for ``text``, as stap writes it to stderr."""
    with pytest.raises(ParseError) as info:
        parse_text(text, **kw)
    return str(info.value) + "\n"


def points(text: str) -> list[str]:
    return [p.text() for p in parse_text(text).probes[0].points]


# ====================================================================== probes


def test_probe_with_several_points() -> None:
    script = parse_text("probe begin, end, error { }")
    (probe,) = script.probes
    assert [p.text() for p in probe.points] == ["begin", "end", "error"]
    assert probe.body.body == []


def test_several_probes_keep_their_order() -> None:
    script = parse_text("probe end { } probe begin { } probe timer.s(1) { }")
    assert [p.points[0].text() for p in script.probes] == ["end", "begin", "timer.s(1)"]


def test_probe_point_components_and_arguments() -> None:
    (point,) = parse_text('probe a.b(1).c("x").d(-5) { }').probes[0].points
    comps = [(c.functor, None if c.arg is None else shape(c.arg)) for c in point.components]
    assert comps == [
        ("a", None),
        ("b", ("NumberLit", ("value", 1))),
        ("c", ("StringLit", ("value", b"x"), ("raw", "x"))),
        ("d", ("NumberLit", ("value", -5))),
    ]


def test_keywords_are_probe_point_components() -> None:
    assert points('probe kernel.function("f").return { }') == ['kernel.function("f").return']


def test_wildcards_join_adjacent_tokens() -> None:
    assert points("probe a*b.c*.*d { }") == ["a*b.c*.*d"]
    assert points("probe *.x { }") == ["*.x"]


def test_wildcard_after_a_space_is_not_part_of_the_component() -> None:
    assert "expected one of ', { } = +='" in parse_error("probe a * b { }")


def test_optional_and_sufficient_points() -> None:
    pts = parse_text("probe a?, b!, c { }").probes[0].points
    assert [(p.optional, p.sufficient) for p in pts] == [
        (True, False),
        (True, True),
        (False, False),
    ]


def test_probe_point_condition() -> None:
    (point,) = parse_text("probe begin if (x > 1) { }").probes[0].points
    assert point.condition is not None
    assert sexpr(point.condition) == (">", "x", 1)


def test_optional_point_with_condition() -> None:
    (point,) = parse_text("probe timer.s(1)? if (enabled) { }").probes[0].points
    assert point.optional and not point.sufficient
    assert sexpr(point.condition) == "enabled"


def test_brace_group_expands_to_several_points() -> None:
    assert points("probe kernel.{a,b} { }") == ["kernel.a", "kernel.b"]


def test_brace_group_in_the_middle() -> None:
    assert points("probe a.{b,c}.d { }") == ["a.b.d", "a.c.d"]


def test_brace_groups_multiply() -> None:
    assert points("probe {a,b}.{c,d} { }") == ["a.c", "a.d", "b.c", "b.d"]


def test_nested_brace_groups() -> None:
    assert points("probe a.{b,{c,d}.e} { }") == ["a.b", "a.c.e", "a.d.e"]


def test_brace_group_marks_apply_to_each_point() -> None:
    pts = parse_text("probe a.{b,c}? { }").probes[0].points
    assert [(p.text(), p.optional) for p in pts] == [("a.b?", True), ("a.c?", True)]


def test_marks_only_in_the_suffix() -> None:
    text = parse_error("probe {a?,b}.c { }")
    assert "'?', '!' or condition must only be specified in suffix" in text


def test_alias_prologue() -> None:
    script = parse_text("probe myalias = begin, end { x = 1 }")
    assert script.probes == []
    (alias,) = script.aliases
    assert [n.text() for n in alias.names] == ["myalias"]
    assert [p.text() for p in alias.points] == ["begin", "end"]
    assert not alias.epilogue
    assert alias.body2 is None
    assert len(alias.body.body) == 1


def test_alias_epilogue() -> None:
    (alias,) = parse_text("probe a.b += timer.s(1) { }").aliases
    assert alias.epilogue
    assert [n.text() for n in alias.names] == ["a.b"]


def test_alias_with_prologue_and_epilogue_bodies() -> None:
    (alias,) = parse_text("probe a = begin { x = 1 }, { y = 2 }").aliases
    assert alias.body2 is not None
    assert sexpr(alias.body2.body[0].expr) == ("=", "y", 2)  # type: ignore[attr-defined]


def test_alias_with_several_names() -> None:
    (alias,) = parse_text("probe a = b = begin { }").aliases
    assert [n.text() for n in alias.names] == ["a", "b"]


def test_combined_epilogue_is_refused() -> None:
    assert parse_error("probe a = begin { } probe b += begin { }, { }") == (
        "parse error: Combined prologue and epilogue cannot be defined with '+='\n"
        "        saw: operator ',' at <input>:1:41\n"
        "     source: probe a = begin { } probe b += begin { }, { }\n"
        "                                                     ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


def test_alias_name_cannot_be_optional() -> None:
    assert "probe point alias name cannot be optional nor sufficient" in parse_error(
        "probe a? = begin { }"
    )


# ====================================================================== globals


def test_globals() -> None:
    script = parse_text('global a, b% global c[100], d%[7] global e = 5, f = "s", g = -3')
    view = [
        (g.name, g.wrap, g.maxsize, None if g.init is None else shape(g.init))
        for g in script.globals
    ]
    assert view == [
        ("a", False, None, None),
        ("b", True, None, None),
        ("c", False, 100, None),
        ("d", True, 7, None),
        ("e", False, None, ("NumberLit", ("value", 5))),
        ("f", False, None, ("StringLit", ("value", b"s"), ("raw", "s"))),
        ("g", False, None, ("NumberLit", ("value", -3))),
    ]
    assert all(g.is_global and not g.private for g in script.globals)


def test_global_declaration_ends_at_semicolon() -> None:
    script = parse_text("global a; global b; probe begin { }")
    assert [g.name for g in script.globals] == ["a", "b"]


def test_global_initializer_concatenates_string_literals() -> None:
    (g,) = parse_text('global s = "a" "b"').globals
    assert isinstance(g.init, ast.StringLit)
    assert g.init.value == b"ab"


def test_largest_array_size() -> None:
    (g,) = parse_text("global x[2147483647]").globals
    assert g.maxsize == 2**31 - 1


@pytest.mark.parametrize("size", ["0", "-1", "2147483648"])
def test_array_size_out_of_range(size: str) -> None:
    assert "array size out of range" in parse_error(f"global x[{size}]")


def test_private_globals_and_functions() -> None:
    script = parse_text("private x, y private global z private function f() { }")
    assert [(g.name, g.private) for g in script.globals] == [
        ("x", True),
        ("y", True),
        ("z", True),
    ]
    assert script.functions[0].private


def test_global_versus_private_conflict() -> None:
    assert "global versus private variable declaration conflict" in parse_error(
        "global x private x"
    )


# ====================================================================== functions


def test_function_types_and_priority() -> None:
    (f,) = parse_text("function f:long (x:long, y:string, z) :3 { }").functions
    assert f.name == "f"
    assert f.declared_type == "long"
    assert [(p.name, p.type) for p in f.params] == [
        ("x", "long"),
        ("y", "string"),
        ("z", "unknown"),
    ]
    assert f.priority == 3
    assert not f.private


def test_function_string_type_and_no_parameters() -> None:
    (f,) = parse_text('function g:string () { return "a" }').functions
    assert (f.declared_type, f.params, f.priority) == ("string", [], 0)


def test_function_names_may_be_type_keywords() -> None:
    script = parse_text("function string() { } function long:long() { return 1 }")
    assert [f.name for f in script.functions] == ["string", "long"]


def test_overloaded_functions_are_all_kept() -> None:
    script = parse_text("function f(a) { } function f(a, b) { }")
    assert [len(f.params) for f in script.functions] == [1, 2]


def test_embedded_function_body_needs_guru_mode() -> None:
    text = parse_error("function f() %{ /* C */ %}")
    assert "embedded code in unprivileged script; need stap -g" in text
    (f,) = parse_text("function f() %{ /* C */ %}", privileged=True).functions
    assert isinstance(f.body, ast.EmbeddedStmt)
    assert f.body.code == " /* C */ "


def test_top_level_embedded_code_needs_guru_mode() -> None:
    assert parse_error("%{ x %}") == (
        "parse error: embedded code in unprivileged script; need stap -g\n"
        "        saw: embedded-code at <input>:1:1\n"
        "     source: %{ x %}\n"
        "             ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )
    script = parse_text("%{ #include <x.h> %} probe begin { }", privileged=True)
    assert [e.code for e in script.embeds] == [" #include <x.h> "]


def test_embedded_expression_needs_guru_mode() -> None:
    assert "embedded expression code in unprivileged script; need stap -g" in parse_error(
        "probe begin { x = %{ 1 %} }"
    )
    e = expr_of_guru("x = %{ 1 %}")
    assert isinstance(e, ast.Assignment)
    assert isinstance(e.right, ast.EmbeddedExpr)


def expr_of_guru(text: str) -> ast.Expr:
    (stmt,) = parse_text("probe begin { " + text + " }", privileged=True).probes[0].body.body
    assert isinstance(stmt, ast.ExprStmt)
    return stmt.expr


def test_return_in_function() -> None:
    (f,) = parse_text("function f() { return 1 } function g() { return }").functions[:1]
    (ret,) = f.body.body  # type: ignore[union-attr]
    assert isinstance(ret, ast.Return)
    assert sexpr(ret.value) == 1
    g = parse_text("function g() { return; }").functions[0]
    assert g.body.body[0].value is None  # type: ignore[union-attr]


# ====================================================================== statements


def test_every_statement() -> None:
    body = probe_body(
        """
        ;
        { x = 1 }
        if (a) b()
        if (a) b() else c()
        for (i = 0; i < 3; i++) x++
        while (n) n--
        foreach (k in arr) print(k)
        delete arr[1]
        next
        try { f() } catch (e) { g(e) }
        x = 2
        """
    )
    assert [type(s).__name__ for s in body] == [
        "NullStmt",
        "Block",
        "If",
        "If",
        "For",
        "For",
        "Foreach",
        "Delete",
        "Next",
        "TryBlock",
        "ExprStmt",
    ]


def test_break_and_continue() -> None:
    (loop,) = probe_body("while (1) { break; continue }")
    assert isinstance(loop, ast.For) and loop.is_while
    assert [type(s).__name__ for s in loop.body.body] == ["Break", "Continue"]  # type: ignore[attr-defined]


def test_semicolons_are_optional() -> None:
    assert shape(probe_body("x = 1; y = 2;")) == shape(probe_body("x = 1 y = 2"))


def test_if_else() -> None:
    (s,) = probe_body("if (a) x = 1 else { x = 2 }")
    assert isinstance(s, ast.If)
    assert sexpr(s.cond) == "a"
    assert isinstance(s.then, ast.ExprStmt)
    assert isinstance(s.otherwise, ast.Block)


def test_dangling_else_binds_to_the_nearest_if() -> None:
    (s,) = probe_body("if (a) if (b) x = 1 else x = 2")
    assert isinstance(s, ast.If) and s.otherwise is None
    assert isinstance(s.then, ast.If) and s.then.otherwise is not None


def test_else_if_chain() -> None:
    (s,) = probe_body("if (a) x = 1 else if (b) x = 2 else x = 3")
    assert isinstance(s, ast.If) and isinstance(s.otherwise, ast.If)
    assert s.otherwise.otherwise is not None


def test_for_loop_parts() -> None:
    (s,) = probe_body("for (i = 0; i < 10; i += 2) x = i")
    assert isinstance(s, ast.For) and not s.is_while
    assert s.init is not None and sexpr(s.init.expr) == ("=", "i", 0)
    assert sexpr(s.cond) == ("<", "i", 10)
    assert s.step is not None and sexpr(s.step.expr) == ("+=", "i", 2)


def test_for_loop_with_every_part_empty_loops_forever() -> None:
    (s,) = probe_body("for (;;) break")
    assert isinstance(s, ast.For)
    assert s.init is None and s.step is None
    assert isinstance(s.cond, ast.NumberLit) and s.cond.value == 1


def test_while_loop() -> None:
    (s,) = probe_body("while (i < 3) i++")
    assert isinstance(s, ast.For) and s.is_while
    assert s.init is None and s.step is None
    assert sexpr(s.cond) == ("<", "i", 3)


def test_delete_forms() -> None:
    body = probe_body("delete a delete a[1, 2] delete a[*, 1]")
    assert [sexpr(s.target) for s in body] == [  # type: ignore[attr-defined]
        "a",
        ("[]", "a", [1, 2]),
        ("[]", "a", ["*", 1]),
    ]


def test_try_catch_with_and_without_variable() -> None:
    a, b = probe_body("try { x = 1 } catch (msg) { y = msg } try { } catch { }")
    assert isinstance(a, ast.TryBlock) and a.catch_var is not None
    assert a.catch_var.name == "msg"
    assert isinstance(b, ast.TryBlock) and b.catch_var is None


def test_return_outside_a_function() -> None:
    assert parse_error("probe begin { return 1 }") == (
        "parse error: found 'return' not in function context\n"
        "        saw: keyword at <input>:1:15\n"
        "     source: probe begin { return 1 }\n"
        "                           ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


# ---------------------------------------------------------------------- foreach


def foreach(text: str) -> ast.Foreach:
    (s,) = probe_body(text)
    assert isinstance(s, ast.Foreach)
    return s


def test_foreach_one_key() -> None:
    s = foreach("foreach (k in a) x = k")
    assert [k.name for k in s.keys] == ["k"]
    assert s.value is None and s.slice == [] and s.limit is None
    assert (s.sort_direction, s.sort_column, s.sort_aggregate) == (0, 0, None)
    assert isinstance(s.base, ast.Symbol) and s.base.name == "a"


def test_foreach_several_keys_and_value() -> None:
    s = foreach("foreach (v = [a, b, c] in arr) { }")
    assert [k.name for k in s.keys] == ["a", "b", "c"]
    assert s.value is not None and s.value.name == "v"


@pytest.mark.parametrize(
    ("head", "direction", "column", "aggregate"),
    [
        ("k+ in a", 1, 1, None),
        ("k- in a", -1, 1, None),
        ("[x, y+] in a", 1, 2, None),
        ("[x-, y] in a", -1, 1, None),
        ("k in a+", 1, 0, None),
        ("k in a-", -1, 0, None),
        ("v- = k in a", -1, 0, None),
        ("v = k in a @sum-", -1, 0, "sum"),
        ("k in a @count+", 1, 0, "count"),
        ("[x, y] in a @avg+", 1, 0, "avg"),
        ("k in a @min-", -1, 0, "min"),
        ("k in a @max+", 1, 0, "max"),
        ("k in a @variance+", 1, 0, "variance"),
    ],
)
def test_foreach_sort_marks(head: str, direction: int, column: int, aggregate: str | None) -> None:
    s = foreach(f"foreach ({head}) {{ }}")
    assert (s.sort_direction, s.sort_column, s.sort_aggregate) == (direction, column, aggregate)


def test_foreach_limit() -> None:
    s = foreach("foreach (k in a- limit n + 1) { }")
    assert sexpr(s.limit) == ("+", "n", 1)
    assert s.sort_direction == -1


def test_foreach_slice() -> None:
    s = foreach('foreach ([a, b, c] in arr[*, "x", y + 1] limit 3) { }')
    assert [sexpr(i) for i in s.slice] == ["*", b"x", ("+", "y", 1)]


def test_foreach_over_a_histogram() -> None:
    s = foreach("foreach (bucket in @hist_log(s)) { }")
    assert isinstance(s.base, ast.HistOp) and s.base.kind == "log"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foreach ([a+, b-] in x) {}", "multiple sort directives"),
        ("foreach (a+ in x-) {}", "multiple sort directives"),
        ("foreach (v = [a,b] in x @foo+) {}", "expected statistical operation"),
        ("foreach (v = [a,b] in x @sum) {}", "expected sort directive"),
        ("foreach ([a,b] x) {}", "expected 'in'"),
        ("foreach (x in) {}", "expected identifier or statistical operation"),
    ],
)
def test_foreach_errors(text: str, message: str) -> None:
    assert f"parse error: {message}\n" in parse_error(f"probe begin {{ {text} }}")


# ====================================================================== expressions


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        # assignment: right associative, lowest
        ("a = b = c", ("=", "a", ("=", "b", "c"))),
        ("a += b -= c", ("+=", "a", ("-=", "b", "c"))),
        ("a = b ? c : d", ("=", "a", ("?:", "b", "c", "d"))),
        # ternary: right associative; the middle is a full expression
        ("a ? b : c ? d : e", ("?:", "a", "b", ("?:", "c", "d", "e"))),
        ("a ? b = 1 : c", ("?:", "a", ("=", "b", 1), "c")),
        ("a ? b ? c : d : e", ("?:", "a", ("?:", "b", "c", "d"), "e")),
        ("a || b ? c : d", ("?:", ("||", "a", "b"), "c", "d")),
        # logical
        ("a || b && c", ("||", "a", ("&&", "b", "c"))),
        ("a && b || c", ("||", ("&&", "a", "b"), "c")),
        ("a || b || c", ("||", ("||", "a", "b"), "c")),
        ("a && b | c", ("&&", "a", ("|", "b", "c"))),
        # bitwise: | below ^ below &
        ("a | b ^ c & d", ("|", "a", ("^", "b", ("&", "c", "d")))),
        ("a & b | c ^ d", ("|", ("&", "a", "b"), ("^", "c", "d"))),
        ("a ^ b ^ c", ("^", ("^", "a", "b"), "c")),
        # & binds more loosely than comparisons (as in C)
        ("a & b == c", ("&", "a", ("==", "b", "c"))),
        # all comparisons share one level, left associative (unlike C)
        ("a == b < c", ("<", ("==", "a", "b"), "c")),
        ("a < b < c", ("<", ("<", "a", "b"), "c")),
        ("a != b >= c", (">=", ("!=", "a", "b"), "c")),
        # shifts above comparisons, concatenation above shifts, + above .
        ("a < b << c", ("<", "a", ("<<", "b", "c"))),
        ("a << b . c", ("<<", "a", (".", "b", "c"))),
        ("a . b + c", (".", "a", ("+", "b", "c"))),
        ("a . b . c", (".", (".", "a", "b"), "c")),
        ("a >> b >>> c", (">>>", (">>", "a", "b"), "c")),
        ("a + b * c", ("+", "a", ("*", "b", "c"))),
        ("a * b + c", ("+", ("*", "a", "b"), "c")),
        ("a - b - c", ("-", ("-", "a", "b"), "c")),
        ("a / b % c * d", ("*", ("%", ("/", "a", "b"), "c"), "d")),
        ("(a + b) * c", ("*", ("+", "a", "b"), "c")),
        # unary above multiplicative; crement above unary
        ("-a * b", ("*", ("u-", "a"), "b")),
        ("!a == b", ("==", ("u!", "a"), "b")),
        ("~-!+a", ("u~", ("u-", ("u!", ("u+", "a"))))),
        ("-a++", ("u-", ("post++", "a"))),
        ("- --a", ("u-", ("pre--", "a"))),
        ("++a[1]", ("pre++", ("[]", "a", [1]))),
        ("a-- - --b", ("-", ("post--", "a"), ("pre--", "b"))),
        # regex match at the comparison level, not associative
        ('s =~ "a.*" && t !~ "b"', ("&&", ("=~", "s", b"a.*"), ("!~", "t", b"b"))),
        ('a . b =~ "x"', ("=~", (".", "a", "b"), b"x")),
        # `in` between & and the comparisons
        ("k in a", ("in", ["k"], "a")),
        ("x & k in a", ("&", "x", ("in", ["k"], "a"))),
        ("a < b in c", ("in", [("<", "a", "b")], "c")),
        ("!k in a", ("in", [("u!", "k")], "a")),
        ("[a, b] in x", ("in", ["a", "b"], "x")),
        ('[a, *, "s"] in x', ("in", ["a", "*", b"s"], "x")),
        ("[*] in x", ("in", ["*"], "x")),
        ("(k in a) == 0", ("==", ("in", ["k"], "a"), 0)),
    ],
)
def test_precedence_and_associativity(text: str, tree: Any) -> None:
    assert sexpr(expr_of(text)) == tree


@pytest.mark.parametrize(
    "op", ["=", "<<<", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=", ".="]
)
def test_every_assignment_operator(op: str) -> None:
    e = expr_of(f"x {op} y")
    assert isinstance(e, ast.Assignment) and e.op == op


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "%", "<<", ">>", ">>>", "&", "|", "^"])
def test_every_binary_operator(op: str) -> None:
    e = expr_of(f"x {op} y")
    assert isinstance(e, ast.Binary) and e.op == op


@pytest.mark.parametrize("op", ["==", "!=", "<", ">", "<=", ">="])
def test_every_comparison_operator(op: str) -> None:
    e = expr_of(f"x {op} y")
    assert isinstance(e, ast.Comparison) and e.op == op


def test_literals() -> None:
    assert shape(expr_of("42")) == ("NumberLit", ("value", 42))
    # a literal keeps its text as stap does (C escapes kept, others resolved)
    assert shape(expr_of('"a\\tb"')) == ("StringLit", ("value", b"a\tb"), ("raw", "a\\tb"))
    assert shape(expr_of('"a" "b" "c"')) == ("StringLit", ("value", b"abc"), ("raw", "abc"))
    assert shape(expr_of('"q\\"\\%"')) == ("StringLit", ("value", b'q"%'), ("raw", 'q"%'))
    # adjacent literals join on their text: `\1` then `2` is the escape `\12`, a newline
    assert shape(expr_of('"\\1" "2"')) == ("StringLit", ("value", b"\n"), ("raw", "\\12"))


def test_big_literals_wrap_to_signed_64_bits() -> None:
    assert expr_of("9223372036854775808").value == -(1 << 63)  # type: ignore[attr-defined]
    e = expr_of("-9223372036854775808")
    assert sexpr(e) == ("u-", -(1 << 63))


def test_function_calls() -> None:
    assert sexpr(expr_of("f()")) == ("call", "f", [])
    assert sexpr(expr_of("f(1, g(2), x + 1)")) == (
        "call",
        "f",
        [1, ("call", "g", [2]), ("+", "x", 1)],
    )


def test_array_index() -> None:
    assert sexpr(expr_of('a[1, "s", f(x)]')) == ("[]", "a", [1, b"s", ("call", "f", ["x"])])


@pytest.mark.parametrize(
    ("text", "name", "fmt", "delim", "nargs"),
    [
        ("print(1)", "print", None, None, 1),
        ("println(1, 2)", "println", None, None, 2),
        ("println()", "println", None, None, 0),
        ('printf("%d %s\\n", 1, "a")', "printf", b"%d %s\n", None, 2),
        ('sprintf("%x", 1)', "sprintf", b"%x", None, 1),
        ('printd(",", 1, 2)', "printd", None, b",", 2),
        ('printdln(",", 1, 2, 3)', "printdln", None, b",", 3),
        ('sprintd("-", a, b)', "sprintd", None, b"-", 2),
        ('sprintdln("-", a, b)', "sprintdln", None, b"-", 2),
        ("sprint(x)", "sprint", None, None, 1),
        ("sprintln(x, y)", "sprintln", None, None, 2),
    ],
)
def test_print_functions(
    text: str, name: str, fmt: bytes | None, delim: bytes | None, nargs: int
) -> None:
    e = expr_of(text)
    assert isinstance(e, ast.PrintFormat)
    assert (e.name, e.format, e.delimiter, len(e.args)) == (name, fmt, delim, nargs)
    assert e.to_string == name.startswith("s")
    assert e.newline == name.endswith("ln")


def test_printf_format_is_parsed_at_pass_1() -> None:
    e = expr_of('printf("%5d|%-3s|%%\\n", 1, "a")')
    assert isinstance(e, ast.PrintFormat) and e.parsed is not None
    assert list(e.parsed.arg_types) == ["long", "string"]


def test_printf_format_errors_are_parse_errors() -> None:
    assert parse_error('probe begin { printf("%q", 1) }') == (
        "parse error: invalid or missing conversion specifier\n"
        "        saw: operator ',' at <input>:1:26\n"
        '     source: probe begin { printf("%q", 1) }\n'
        "                                      ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


def test_printf_needs_a_literal_format() -> None:
    assert parse_error("probe begin { printf(x) }") == (
        "parse error: expected literal string\n"
        "        saw: identifier 'x' at <input>:1:22\n"
        "     source: probe begin { printf(x) }\n"
        "                                  ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


# ---------------------------------------------------------------------- statistics


@pytest.mark.parametrize("kind", ["count", "sum", "min", "max", "avg", "variance"])
def test_statistic_operators(kind: str) -> None:
    e = expr_of(f"@{kind}(s)")
    assert isinstance(e, ast.StatOp)
    assert (e.kind, sexpr(e.stat), e.params) == (kind, "s", [])


def test_statistic_of_an_array_element() -> None:
    e = expr_of("@sum(a[1, 2])")
    assert isinstance(e, ast.StatOp) and sexpr(e.stat) == ("[]", "a", [1, 2])


def test_variance_bit_shift() -> None:
    e = expr_of("@variance(s, 3)")
    assert isinstance(e, ast.StatOp) and e.params == [3]


def test_variance_takes_at_most_two_parameters() -> None:
    assert "not more than 2 parameters allowed" in parse_error(
        "probe begin { x = @variance(s, 2, 3) }"
    )


def test_other_statistics_take_one_parameter() -> None:
    assert "not more than 1 parameter allowed" in parse_error("probe begin { x = @count(s, 2) }")


def test_hist_linear_and_log() -> None:
    e = expr_of("print(@hist_linear(s, 0, 100, 10))")
    assert isinstance(e, ast.PrintFormat) and e.hist is not None
    assert (e.hist.kind, sexpr(e.hist.stat), e.hist.params) == ("linear", "s", [0, 100, 10])
    e = expr_of("println(@hist_log(a[1]))")
    assert isinstance(e, ast.PrintFormat) and e.hist is not None
    assert (e.hist.kind, sexpr(e.hist.stat), e.hist.params) == ("log", ("[]", "a", [1]), [])


def test_hist_linear_negative_bounds() -> None:
    e = expr_of("print(@hist_linear(s, -10, 10, 2))")
    assert e.hist.params == [-10, 10, 2]  # type: ignore[attr-defined]


def test_histogram_bucket() -> None:
    e = expr_of("@hist_log(s)[3]")
    assert isinstance(e, ast.ArrayIndex) and isinstance(e.base, ast.HistOp)
    assert sexpr(e.indexes[0]) == 3


def test_print_of_a_histogram_bucket() -> None:
    e = expr_of("print(@hist_linear(s, 1, 2, 3)[1])")
    assert isinstance(e, ast.PrintFormat) and e.hist is None
    assert isinstance(e.args[0], ast.ArrayIndex)


def test_bare_histogram_is_not_an_expression() -> None:
    text = parse_error("probe begin { x = @hist_log(s) }")
    assert "base histogram operator where expression expected" in text


def test_hist_linear_needs_three_parameters() -> None:
    assert parse_error("probe begin { x = @hist_linear(s, 1, 2) }") == (
        "parse error: expected ','\n"
        "        saw: operator ')' at <input>:1:39\n"
        "     source: probe begin { x = @hist_linear(s, 1, 2) }\n"
        "                                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


# ---------------------------------------------------------------------- @ operators


def test_defined_and_entry() -> None:
    e = expr_of("@defined($x) ? @entry($y) : 0")
    assert isinstance(e, ast.Ternary)
    assert isinstance(e.cond, ast.Defined) and isinstance(e.cond.operand, ast.TargetSymbol)
    assert isinstance(e.then, ast.Entry)


def test_defined_of_a_plain_variable() -> None:
    e = expr_of("@defined(x)")
    assert isinstance(e, ast.Defined) and sexpr(e.operand) == "x"


def test_unknown_at_operator() -> None:
    assert parse_error("probe begin { x = @foo(s) }") == (
        "parse error: unknown operator @foo\n"
        "        saw: operator '@foo' at <input>:1:19\n"
        "     source: probe begin { x = @foo(s) }\n"
        "                               ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


def test_perf_and_probewrite() -> None:
    e = expr_of('@perf("cycles")')
    assert isinstance(e, ast.OtherAtOp) and (e.name, e.text) == ("@perf", "cycles")
    e = expr_of("@probewrite(v)")
    assert isinstance(e, ast.OtherAtOp) and (e.name, e.text) == ("@probewrite", "v")


def test_const_needs_guru_mode() -> None:
    assert "using @const operator not permitted; need stap -g" in parse_error(
        'probe begin { x = @const("X") }'
    )
    e = expr_of_guru('x = @const("X")')
    assert isinstance(e, ast.Assignment) and isinstance(e.right, ast.OtherAtOp)


def target(text: str) -> ast.TargetSymbol:
    e = expr_of(text)
    assert isinstance(e, ast.TargetSymbol)
    return e


def components(e: ast.TargetSymbol) -> list[tuple[str, Any]]:
    return [(c.kind, c.name if c.kind != "index" else sexpr(c.index)) for c in e.components]


def test_target_variable() -> None:
    e = target("$var")
    assert (e.kind, e.name, e.components, e.addressof) == ("$", "$var", [], False)


def test_target_members_and_indexes() -> None:
    e = target("$p->a->b[i + 1]->c")
    assert components(e) == [
        ("member", "a"),
        ("member", "b"),
        ("index", ("+", "i", 1)),
        ("member", "c"),
    ]


def test_target_pretty_printing() -> None:
    e = target("$var$$")
    assert (e.name, components(e)) == ("$var", [("pretty", "$$")])
    e = target("$p->member$")
    assert components(e) == [("member", "member"), ("pretty", "$")]
    e = target("$$vars")
    assert e.name == "$$vars"


def test_target_address_of() -> None:
    e = target("&$p->m")
    assert e.addressof and components(e) == [("member", "m")]


def test_pretty_printing_variable_takes_no_components() -> None:
    assert parse_error("probe begin { x = $foo$->bar }") == (
        "parse error: -> and [ are not accepted for a pretty-printing variable\n"
        "        saw: operator '->' at <input>:1:24\n"
        "     source: probe begin { x = $foo$->bar }\n"
        "                                    ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


def test_cast() -> None:
    e = target('@cast(ptr, "task_struct")->pid')
    assert (e.kind, e.type_name, e.module) == ("@cast", "task_struct", "")
    assert sexpr(e.operand) == "ptr"
    assert components(e) == [("member", "pid")]
    e = target('@cast(p, "sock", "kernel<net/sock.h>")->sk_family')
    assert e.module == "kernel<net/sock.h>"


def test_cast_needs_a_type() -> None:
    assert parse_error('probe begin { x = @cast(p, "") }') == (
        "parse error: expected non-empty string\n"
        "        saw: operator ')' at <input>:1:30\n"
        '     source: probe begin { x = @cast(p, "") }\n'
        "                                          ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
    )


def test_atvar() -> None:
    e = target('@var("counter@file.c")->x')
    assert (e.kind, e.name, e.module, components(e)) == (
        "@var",
        "counter@file.c",
        "",
        [("member", "x")],
    )
    assert target('@var("v", "mod")').module == "mod"


def test_autocast_of_a_value() -> None:
    e = target("f(x)->member")
    assert e.kind == "autocast" and sexpr(e.operand) == ("call", "f", ["x"])
    assert components(e) == [("member", "member")]


# ====================================================================== preprocessor


def pp(text: str, **ctx: Any) -> list[str]:
    """The probe points of ``text`` after preprocessing with the given context."""
    context = PreprocessorContext(**{"kernel_release": "6.1.0-57-amd64", **ctx})
    script = parse(Source("<input>", text), (), context)
    return [p.points[0].text() for p in script.probes]


def cond(condition: str, **ctx: Any) -> bool:
    got = pp(f"%( {condition} %? probe begin {{ }} %: probe end {{ }} %)", **ctx)
    assert got in (["begin"], ["end"])
    return got == ["begin"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('kernel_v >= "2.6"', True),
        ('kernel_v >= "6.1"', True),
        ('kernel_v == "6.1.0"', True),
        ('kernel_v > "6.1.0"', False),
        ('kernel_v < "6.10"', True),  # version order, not string order
        ('kernel_v <= "6.0.99"', False),
        ('kernel_v != "6.1.0"', False),
        ('kernel_v == "6.1*"', True),
        ('kernel_v != "5.*"', True),
        ('kernel_vr == "6.1.0-57-amd64"', True),
        ('kernel_vr == "6.1.0-57-*"', True),
        ('kernel_vr > "6.1.0-9-amd64"', True),
        ('kernel_vr == "6.1.0"', False),
        ('systemtap_v >= "4.0"', True),
        ('systemtap_v >= "4.8"', True),
        ('systemtap_v > "4.8"', False),
        ('systemtap_v < "4.10"', True),
        ('arch == "x86_64"', True),
        ('arch == "x86*"', True),
        ('arch != "i?86"', True),
        ('arch == "arm64"', False),
        ('runtime == "python"', True),
        ('runtime == "kernel"', False),
        ('runtime != "bpf"', True),
        ('systemtap_privilege == "stapdev"', True),
        ('systemtap_privilege != "stapusr"', True),
        ('systemtap_privilege == "stap*"', False),  # no wildcards for privileges
        ("guru_mode == 0", True),
        ("guru_mode != 1", True),
        ('"abc" < "abd"', True),
        ('"b" == "b"', True),
        ("1 < 2", True),
        ("16 == 16", True),
        ("3 >= 4", False),
    ],
)
def test_conditions(condition: str, expected: bool) -> None:
    assert cond(condition) is expected


CONFIG = {"CONFIG_SMP": "y", "CONFIG_HZ": "250", "CONFIG_NR_CPUS": "0x200", "CONFIG_X": "abc"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('CONFIG_SMP == "y"', True),
        ('CONFIG_SMP != "y"', False),
        ('CONFIG_SMP == "?"', True),
        ('CONFIG_MISSING == ""', True),
        ('CONFIG_MISSING == "y"', False),
        ("CONFIG_HZ == 250", True),
        ("CONFIG_HZ > 100", True),
        ("CONFIG_HZ <= 100", False),
        ("CONFIG_NR_CPUS == 512", True),
        ("CONFIG_HZ < CONFIG_NR_CPUS", True),
        ('CONFIG_HZ == "2*"', True),
        ("CONFIG_X == CONFIG_X", True),
        ('CONFIG_SMP == "y" && CONFIG_HZ > 100', True),
        ('CONFIG_SMP == "n" && CONFIG_HZ > 100', False),
        ('CONFIG_SMP == "n" || CONFIG_HZ > 100', True),
        ('CONFIG_SMP == "n" || CONFIG_HZ < 100', False),
        # && binds tighter than ||
        ('CONFIG_SMP == "y" || CONFIG_HZ < 100 && CONFIG_HZ > 100', True),
        ('CONFIG_SMP == "n" && CONFIG_HZ < 100 || arch == "x86_64"', True),
        ('CONFIG_SMP == "n" || CONFIG_HZ < 100 && arch == "x86_64"', False),
    ],
)
def test_config_conditions(condition: str, expected: bool) -> None:
    assert cond(condition, kernel_config=CONFIG) is expected


def test_config_number_comparison_of_a_non_number() -> None:
    with pytest.raises(ParseError, match="Config option value not a number"):
        cond("CONFIG_X == 1", kernel_config=CONFIG)


def test_guru_mode_condition() -> None:
    assert cond("guru_mode == 1", guru_mode=True)


def test_privilege_condition() -> None:
    assert cond('systemtap_privilege == "stapusr"', privilege="stapusr")


def test_systemtap_v_follows_compatible() -> None:
    assert not cond('systemtap_v >= "4.0"', systemtap_v="3.3")


def test_conditional_without_else() -> None:
    assert pp('%( arch == "none" %? probe begin { } %) probe end { }') == ["end"]


def test_nested_conditionals() -> None:
    text = """
    %( arch == "x86_64" %?
        %( kernel_v >= "99" %? probe timer.s(1) { } %: probe begin { } %)
    %:
        probe end { }
    %)
    """
    assert pp(text) == ["begin"]
    assert pp(text, arch="arm64") == ["end"]


def test_nested_conditional_inside_a_skipped_branch() -> None:
    text = "%( 1 == 2 %? %( 1 == 1 %? probe a { } %: probe b { } %) %: probe begin { } %)"
    assert pp(text) == ["begin"]


def test_conditional_inside_an_expression() -> None:
    e = expr_of('x = %( arch == "x86_64" %? 64 %: 32 %)')
    assert sexpr(e) == ("=", "x", 64)


def test_errors_in_skipped_branches_are_ignored() -> None:
    assert pp("%( 1 == 0 %? %( bogus %? @undefined_macro( %) %: probe begin { } %)") == ["begin"]


def test_strverscmp() -> None:
    assert strverscmp("2.6.10", "2.6.9") > 0
    assert strverscmp("6.1.0", "6.1.0") == 0
    assert strverscmp("6.1", "6.1.0") < 0
    assert strverscmp("4.8", "4.10") < 0
    # only 0-9 are digits (a superscript or another script's digit compares as a character)
    assert strverscmp("6.\u00b9", "6.\u00b2") > 0
    assert strverscmp("6.\u0663", "6.3") > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("%( kernel_v >= 2 %? probe begin { } %)", "expected string literal"),
        (
            '%( kernel_vr < "6.1*" %? probe begin { } %)',
            "wildcard not allowed with order comparison operators",
        ),
        ('%( arch >= "x86_64" %? probe begin { } %)', "expected '==' or '!='"),
        ('%( "a" == 1 %? probe begin { } %)', "expected string literal as right value"),
        ('%( 1 == "a" %? probe begin { } %)', "expected number literal as right value"),
        ("%( 1 == 1 probe begin { } %)", "expected '%?' marker for conditional"),
        ("%( 1 == 1 %? probe begin { } ", "incomplete conditional at end of file"),
        ("%( 1 == 1 %? probe begin { } %: %: %)", "invalid conditional - duplicate '%:'"),
        ("probe begin { } %)", "incomplete conditional - missing '%('"),
        ("probe begin { } %:", "incomplete conditional - missing '%('"),
        ("probe begin { } %?", "incomplete conditional - missing '%('"),
        ("probe begin { x = 1 } %( x", "incomplete condition after '%('"),
        ("%( guru_mode == 2 %? probe begin { } %)", "expected 0 or 1"),
        (
            "%( foo == 1 %? probe begin { } %)",
            "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n"
            "             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n"
            "             comparison between strings or integers",
        ),
        (
            "%( CONFIG_HZ == foo %? probe begin { } %)",
            "expected string, number literal or other CONFIG_... as right side operand",
        ),
    ],
)
def test_preprocessor_errors(text: str, message: str) -> None:
    assert f"parse error: {message}\n" in parse_error(text)


def test_only_the_taken_branch_is_empty() -> None:
    with pytest.raises(ParseError) as info:
        parse_text('%( arch == "none" %? probe begin { } %)')
    assert str(info.value) == "Input file '<input>' is empty after preprocessing."


# ====================================================================== macros


def test_macro_without_parameters() -> None:
    # macros paste tokens, as the C preprocessor does: no implicit parentheses
    assert sexpr(expr_of("@define two %( 1 + 1 %) x = @two * 3")) == (
        "=",
        "x",
        ("+", 1, ("*", 1, 3)),
    )


def test_macro_with_parameters() -> None:
    e = expr_of("@define add(a, b) %( (@a + @b) %) x = @add(1, y * 2)")
    assert sexpr(e) == ("=", "x", ("+", 1, ("*", "y", 2)))


def test_macro_arguments_keep_bracketed_commas() -> None:
    e = expr_of("@define first(a, b) %( @a %) x = @first(f(1, 2), [3, 4])")
    assert sexpr(e) == ("=", "x", ("call", "f", [1, 2]))


def test_macro_calling_a_macro() -> None:
    text = """
    @define sq(x) %( (@x * @x) %)
    @define quad(x) %( @sq(@sq(@x)) %)
    probe begin { y = @quad(a) }
    """
    (stmt,) = parse_text(text).probes[0].body.body
    assert sexpr(stmt.expr) == (  # type: ignore[attr-defined]
        "=",
        "y",
        ("*", ("*", "a", "a"), ("*", "a", "a")),
    )


def test_macro_parameter_is_evaluated_where_the_macro_was_invoked() -> None:
    text = """
    @define outer(v) %( @inner(@v) %)
    @define inner(v) %( (@v + 1) %)
    probe begin { y = @outer(z) }
    """
    (stmt,) = parse_text(text).probes[0].body.body
    assert sexpr(stmt.expr) == ("=", "y", ("+", "z", 1))  # type: ignore[attr-defined]


def test_macro_body_may_hold_conditionals() -> None:
    text = '@define bits %( %( arch == "x86_64" %? 64 %: 32 %) %) probe begin { x = @bits }'
    (stmt,) = parse_text(text).probes[0].body.body
    assert sexpr(stmt.expr) == ("=", "x", 64)  # type: ignore[attr-defined]


def test_macro_may_define_declarations() -> None:
    script = parse_text("@define decl %( global g probe begin { g = 1 } %) @decl")
    assert [g.name for g in script.globals] == ["g"]
    assert len(script.probes) == 1


def test_macro_tokens_remember_the_invocation() -> None:
    (stmt,) = parse_text("@define one %( 1 %)\nprobe begin { x = @one }").probes[0].body.body
    lit = stmt.expr.right  # type: ignore[attr-defined]
    assert lit.tok.chain is not None
    assert str(lit.tok.chain) == "operator '@one' at <input>:2:19"


def test_macro_used_before_its_definition_is_an_unknown_operator() -> None:
    assert "unknown operator @m" in parse_error("probe begin { x = @m } @define m %( 1 %)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "@define foo(a) %( @a %) probe begin { x = @foo }",
            "expected '(' in invocation of macro '@foo' taking 1 parameter",
        ),
        (
            "@define foo(a, b) %( @a %) probe begin { x = @foo }",
            "expected '(' in invocation of macro '@foo' taking 2 parameters",
        ),
        (
            "@define foo(a) %( @a %) probe begin { x = @foo(1, 2) }",
            "too many parameters for macro '@foo' (expected 1)",
        ),
        (
            "@define foo(a, b) %( @a %) probe begin { x = @foo(1) }",
            "too few parameters for macro '@foo' (expected 2)",
        ),
        (
            "@define foo(a) %( @a %) probe begin { x = @foo(1 }",
            "could not find end of macro invocation",
        ),
        (
            "@define foo %( 1 %) @define foo %( 2 %) probe begin { }",
            "attempt to redefine macro '@foo' in the same file",
        ),
        ("@define define %( 1 %)", "attempt to redefine '@define'"),
        ("@define foo(a %( @a %)", "expected ',' or ')'"),
        ("@define foo 1 %)", "expected '%(' or '('"),
        ("@define foo(a) 1 %)", "expected '%('"),
        ("@define foo %( 1", "incomplete macro definition - missing '%)'"),
        (
            "@define foo %( @define bar %( 1 %) %) probe begin { x = @foo }",
            "'@define' forbidden inside macro body",
        ),
    ],
)
def test_macro_errors(text: str, message: str) -> None:
    assert f"parse error: {message}\n" in parse_error(text)


def test_library_macro_choose_defined() -> None:
    macros = library.macros(PreprocessorContext())
    assert {"choose_defined", "try_assign"} <= set(macros)
    e = expr_of_lib("x = @choose_defined($var, 5)", macros)
    assert isinstance(e, ast.Assignment)
    assert isinstance(e.right, ast.Ternary)
    assert isinstance(e.right.cond, ast.Defined)
    assert isinstance(e.right.cond.operand, ast.TargetSymbol)
    assert sexpr(e.right.otherwise) == 5


def test_library_macro_try_assign() -> None:
    macros = library.macros(PreprocessorContext())
    (stmt,) = (
        parse(
            Source("<input>", 'probe begin { @try_assign(v, f(1), "none") }'),
            (),
            PreprocessorContext(),
            library_macros=macros,
        )
        .probes[0]
        .body.body
    )
    assert isinstance(stmt, ast.TryBlock)
    assert sexpr(stmt.body.body[0].expr) == ("=", "v", ("call", "f", [1]))  # type: ignore[attr-defined]
    assert sexpr(stmt.handler.body[0].expr) == ("=", "v", b"none")  # type: ignore[attr-defined]


def expr_of_lib(text: str, macros: Any) -> ast.Expr:
    script = parse(
        Source("<input>", "probe begin { " + text + " }"),
        (),
        PreprocessorContext(),
        library_macros=macros,
    )
    (stmt,) = script.probes[0].body.body
    assert isinstance(stmt, ast.ExprStmt)
    return stmt.expr


def test_library_macros_are_unknown_without_the_library() -> None:
    assert "unknown operator @choose_defined" in parse_error(
        "probe begin { x = @choose_defined($v, 1) }"
    )


def test_script_arguments_in_the_parser() -> None:
    e = expr_of_args("x = $1 + @2", ("41", "s"))
    assert sexpr(e) == ("=", "x", ("+", 41, b"s"))


def expr_of_args(text: str, args: tuple[str, ...]) -> ast.Expr:
    (stmt,) = parse_text("probe begin { " + text + " }", args=args).probes[0].body.body
    assert isinstance(stmt, ast.ExprStmt)
    return stmt.expr


# ====================================================================== parse errors


STAP_PARSE_ERRORS = [
    (
        "probe begin { x = 1 + }",
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at <input>:1:23\n"
        "     source: probe begin { x = 1 + }\n"
        "                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = 1 +",
        "parse error: expected value\n"
        "        saw: <input> EOF\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin {",
        "parse error: expected statement\n"
        "        saw: <input> EOF\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin",
        "parse error: expected one of ', { } = +='\n"
        "        saw: <input> EOF\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe",
        "parse error: unexpected end-of-file\n"
        "        saw: keyword at <input>:1:1\n"
        "     source: probe\n"
        "             ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = 09 }",
        "parse error: number invalid or out of range\n"
        "        saw: number '09' at <input>:1:19\n"
        "     source: probe begin { x = 09 }\n"
        "                               ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = 18446744073709551616 }",
        "parse error: number invalid or out of range\n"
        "        saw: number '18446744073709551616' at <input>:1:19\n"
        "     source: probe begin { x = 18446744073709551616 }\n"
        "                               ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        'probe begin { x = "abc }',
        "parse error: Could not find matching closing quote\n"
        "         at: junk '' at <input>:1:19\n"
        '     source: probe begin { x = "abc }\n'
        "                               ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = 1 } junk probe end { y = 2 }",
        "parse error: expected 'probe', 'global', 'private', 'function', or '%{'\n"
        "        saw: identifier 'junk' at <input>:1:23\n"
        "     source: probe begin { x = 1 } junk probe end { y = 2 }\n"
        "                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "global x = y",
        "parse error: expected literal string or number\n"
        "        saw: identifier 'y' at <input>:1:12\n"
        "     source: global x = y\n"
        "                        ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "global x[5] = 1",
        "parse error: only scalar globals can be initialized\n"
        "        saw: operator '=' at <input>:1:13\n"
        "     source: global x[5] = 1\n"
        "                         ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "global x global x",
        "parse error: duplicate global name\n"
        "        saw: identifier 'x' at <input>:1:17\n"
        "     source: global x global x\n"
        "                             ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "function f(a, a) { }",
        "parse error: duplicate parameter names\n"
        "        saw: identifier 'a' at <input>:1:15\n"
        "     source: function f(a, a) { }\n"
        "                           ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "function f:int () { }",
        "parse error: expected 'string' or 'long'\n"
        "        saw: identifier 'int' at <input>:1:12\n"
        "     source: function f:int () { }\n"
        "                        ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "function f() :0 { }",
        "parse error: specified priority must be > 0\n"
        "        saw: number '0' at <input>:1:15\n"
        "     source: function f() :0 { }\n"
        "                           ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin? ! { }",
        "parse error: expected one of ', { } = +='\n"
        "        saw: operator '!' at <input>:1:14\n"
        "     source: probe begin? ! { }\n"
        "                          ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin if (1) if (2) { }",
        "parse error: expected one of ', { } = +='\n"
        "        saw: keyword at <input>:1:20\n"
        "     source: probe begin if (1) if (2) { }\n"
        "                                ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin(1 { }",
        "parse error: expected ')'\n"
        "        saw: operator '{' at <input>:1:15\n"
        "     source: probe begin(1 { }\n"
        "                           ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin.{a,b { }",
        "parse error: expected '}'\n"
        "        saw: operator '{' at <input>:1:18\n"
        "     source: probe begin.{a,b { }\n"
        "                              ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { print() }",
        "parse error: expected literal string or number\n"
        "        saw: operator ')' at <input>:1:21\n"
        "     source: probe begin { print() }\n"
        "                                 ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = a[1 }",
        "parse error: expected one of '] ,'\n"
        "        saw: operator '}' at <input>:1:23\n"
        "     source: probe begin { x = a[1 }\n"
        "                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { f(1 2) }",
        "parse error: expected one of ') ,'\n"
        "        saw: number '2' at <input>:1:19\n"
        "     source: probe begin { f(1 2) }\n"
        "                               ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = [1,2] }",
        "parse error: unexpected comma-separated expression list\n"
        "        saw: operator '}' at <input>:1:25\n"
        "     source: probe begin { x = [1,2] }\n"
        "                                     ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { try { } }",
        "parse error: expected 'catch'\n"
        "        saw: operator '}' at <input>:1:23\n"
        "     source: probe begin { try { } }\n"
        "                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { try { } catch (1) { } }",
        "parse error: expected identifier\n"
        "        saw: number '1' at <input>:1:30\n"
        "     source: probe begin { try { } catch (1) { } }\n"
        "                                          ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { if 1 x = 1 }",
        "parse error: expected '('\n"
        "        saw: number '1' at <input>:1:18\n"
        "     source: probe begin { if 1 x = 1 }\n"
        "                              ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = 1 ? 2 }",
        "parse error: expected ':'\n"
        "        saw: operator '}' at <input>:1:25\n"
        "     source: probe begin { x = 1 ? 2 }\n"
        "                                     ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = 1 =~ 2 }",
        "parse error: expected literal string\n"
        "        saw: number '2' at <input>:1:24\n"
        "     source: probe begin { x = 1 =~ 2 }\n"
        "                                    ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        'probe begin { x = a =~ "b" =~ "c" }',
        "parse error: expected literal string or number\n"
        "        saw: operator '=~' at <input>:1:28\n"
        '     source: probe begin { x = a =~ "b" =~ "c" }\n'
        "                                        ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { foreach ([a+, b-] in x) {} }",
        "parse error: multiple sort directives\n"
        "        saw: operator '-' at <input>:1:30\n"
        "     source: probe begin { foreach ([a+, b-] in x) {} }\n"
        "                                          ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { foreach (x in a limit) {} }",
        "parse error: expected literal string or number\n"
        "        saw: operator ')' at <input>:1:36\n"
        "     source: probe begin { foreach (x in a limit) {} }\n"
        "                                                ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        # columns count bytes: the two-byte character moves the caret one extra column
        'probe begin { x = "\u00e9" + }',
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at <input>:1:26\n"
        '     source: probe begin { x = "\u00e9" + }\n'
        "                                      ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        # the caret keeps a tab of the source line
        "probe begin {\n\tx = 1 +\n}",
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at <input>:3:1\n"
        "     source: }\n"
        "             ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin {\n\tx = 1 + ; }",
        "parse error: expected literal string or number\n"
        "        saw: operator ';' at <input>:2:10\n"
        "     source: \tx = 1 + ; }\n"
        "             \t        ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
    (
        "probe begin { x = $1 }",
        "parse error: command line argument out of range [1-0]\n"
        "         at: junk '' at <input>:1:19\n"
        "     source: probe begin { x = $1 }\n"
        "                               ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
    ),
]


@pytest.mark.parametrize(
    ("script", "expected"), STAP_PARSE_ERRORS, ids=[s for s, _ in STAP_PARSE_ERRORS]
)
def test_parse_error_text_is_stap_text(script: str, expected: str) -> None:
    assert parse_error(script) == expected


def test_parse_error_counts_every_error() -> None:
    text = parse_error("probe begin { x = } probe end { y = 1 + } probe error { z = * }")
    assert text.endswith("3 parse errors.\nPass 1: parse failed.  [man error::pass1]\n")
    assert text.count("parse error: expected literal string or number\n") >= 1


def test_error_recovery_resumes_at_the_next_declaration() -> None:
    text = parse_error("probe begin { x = 1 } junk probe end { y = } junk2")
    assert "saw: identifier 'junk' at <input>:1:23" in text
    assert text.endswith("2 parse errors.\nPass 1: parse failed.  [man error::pass1]\n")


def test_recovery_keeps_parsing_later_declarations() -> None:
    text = parse_error("probe begin { x = } global g = y function f( { }")
    assert text.endswith("3 parse errors.\nPass 1: parse failed.  [man error::pass1]\n")
    assert "expected identifier" in text or "expected ',' or ')'" in text


def test_empty_script() -> None:
    with pytest.raises(ParseError) as info:
        parse_text("  # nothing here\n")
    assert str(info.value) == "Input file '<input>' is empty."


def test_empty_after_preprocessing() -> None:
    with pytest.raises(ParseError) as info:
        parse_text("%( 1 == 2 %? probe begin { } %)")
    assert str(info.value) == "Input file '<input>' is empty after preprocessing."


def test_file_name_in_diagnostics() -> None:
    with pytest.raises(ParseError) as info:
        parse(Source("dir/script.stp", "probe begin {"), ())
    assert "saw: dir/script.stp EOF" in str(info.value)


# ---------------------------------------------------------------------- known differences


XFAIL_PARSE_ERRORS = [
    pytest.param(
        "probe begin { x = @count(s, 2) }",
        "parse error: not more than 1 parameter allowed\n"
        "         at: operator ',' at <input>:1:27\n"
        "     source: probe begin { x = @count(s, 2) }\n"
        "                                       ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="explicit-token-says-at",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap labels an error raised with its own token 'at:' (session.cxx "
            "build_error_msg: `if (pe.tok || found_junk)`); pystap says 'saw:' unless junk",
        ),
    ),
    pytest.param(
        "probe a? = begin { }",
        "parse error: probe point alias name cannot be optional nor sufficient\n"
        "         at: identifier 'a' at <input>:1:7\n"
        "     source: probe a? = begin { }\n"
        "                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="alias-error-says-at",
        marks=pytest.mark.xfail(strict=True, reason="'at:' for an explicit token (see above)"),
    ),
    pytest.param(
        '%( kernel_v >= "2.6" %? probe begin { }',
        "parse error: incomplete conditional at end of file\n"
        "         at: operator '%(' at <input>:1:1\n"
        '     source: %( kernel_v >= "2.6" %? probe begin { }\n'
        "             ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="conditional-error-says-at",
        marks=pytest.mark.xfail(strict=True, reason="'at:' for an explicit token (see above)"),
    ),
    pytest.param(
        "function f() { } probe begin { x = 1 } junk probe end { y = } junk2",
        "parse error: expected 'probe', 'global', 'private', 'function', or '%{'\n"
        "        saw: identifier 'junk' at <input>:1:40\n"
        "     source: function f() { } probe begin { x = 1 } junk probe end { y = } junk2\n"
        "                                                    ^\n"
        "\n"
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at <input>:1:61\n"
        "     source: function f() { } probe begin { x = 1 } junk probe end { y = } junk2\n"
        "                                                                         ^\n"
        "\n"
        "2 parse errors.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="later-parse-errors-keep-the-file-name",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap prints every parse error's token in full (`colorize(tok)`); pystap "
            "abbreviates the file name after the first (`at :1:61`), as stap does only for "
            "semantic errors (print_token)",
        ),
    ),
    pytest.param(
        "probe begin { x = } probe end { y = }",
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at <input>:1:19\n"
        "     source: probe begin { x = } probe end { y = }\n"
        "                               ^\n"
        "\n"
        "2 parse errors.\n"
        "Pass 1: parse failed.  [man error::pass1]\n"
        "Number of similar error messages suppressed: 1.\n"
        "Rerun with -v to see them.\n",
        id="similar-errors-suppressed",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap prints one error per throw site (seen_errors[errsrc_chain()]) and "
            "reports the rest as 'Number of similar error messages suppressed: N.'; pystap "
            "prints them all",
        ),
    ),
    pytest.param(
        "@define foo %( 1",
        "parse error: incomplete macro definition - missing '%)'\n"
        "         at: identifier 'foo' at <input>:1:9\n"
        "     source: @define foo %( 1\n"
        "                     ^\n"
        "\n"
        "Input file '<input>' is empty after preprocessing.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="errors-before-any-declaration-say-empty",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap's parser::parse prints 'Input file ... is empty after preprocessing.' "
            "instead of the error count when no top-level token was ever read",
        ),
    ),
    pytest.param(
        "probe begin { x = 1 } %{ abc",
        "parse error: Could not find matching '%}' to close embedded function block\n"
        "         at: junk '' at <input>:1:23\n"
        "     source: probe begin { x = 1 } %{ abc\n"
        "                                   ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="unclosed-embedded-junk-has-no-content",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap 4.8 shows the unclosed %{ as junk ''; pystap shows its text",
        ),
    ),
    pytest.param(
        "probe begin { x = 1 \x01 }",
        "parse error: expected statement\n"
        "        saw: junk '\\x01' at <input>:1:21\n"
        "     source: probe begin { x = 1 \x01 }\n"
        "                                 ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="unknown-junk-reports-the-parser-expectation",
        marks=pytest.mark.xfail(
            strict=True,
            reason="for unknown junk (tok_junk_unknown) stap prints the parser's own message "
            "with 'saw:'; pystap prints 'unknown junk token' with 'at:'",
        ),
    ),
    pytest.param(
        "global x[0] probe begin {}",
        "parse error: array size out of range\n"
        "        saw: <input> EOF\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="error-after-swallow-shows-eof",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap's parser::swallow() clears last_t, so an error without a token "
            "after a swallowed token shows 'saw: <input> EOF'; pystap shows the last token",
        ),
    ),
    pytest.param(
        "function f(",
        "parse error: unexpected end-of-file\n"
        "        saw: <input> EOF\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="eof-after-swallow",
        marks=pytest.mark.xfail(strict=True, reason="swallow() clears last_t (see above)"),
    ),
    pytest.param(
        "global",
        "parse error: unexpected end-of-file\n"
        "        saw: <input> EOF\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="eof-after-global",
        marks=pytest.mark.xfail(strict=True, reason="swallow() clears last_t (see above)"),
    ),
    pytest.param(
        "@define foo %( 1 %) @define foo %( 2 %) probe begin { }",
        "parse error: attempt to redefine macro '@foo' in the same file\n"
        "         at: identifier 'foo' at <input>:1:29\n"
        "     source: @define foo %( 1 %) @define foo %( 2 %) probe begin { }\n"
        "                                         ^\n"
        "\n"
        "parse error: macro '@foo' first defined here\n"
        "         at: identifier 'foo' at <input>:1:9\n"
        "     source: @define foo %( 1 %) @define foo %( 2 %) probe begin { }\n"
        "                     ^\n"
        "\n"
        "parse error: expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n"
        "             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n"
        "             comparison between strings or integers\n"
        "         at: number '2' at <input>:1:36\n"
        "     source: @define foo %( 1 %) @define foo %( 2 %) probe begin { }\n"
        "                                                ^\n"
        "\n"
        "Input file '<input>' is empty after preprocessing.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="macro-redefinition-names-the-first-definition",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap chains 'macro '@foo' first defined here' to the redefinition error; "
            "pystap omits it (and the 'at:' and 'empty' differences above)",
        ),
    ),
    pytest.param(
        "@define m(a,b) %( @a * @b %) probe begin { x = @m((1,2), [3]) }",
        "parse error: expected ')'\n"
        "        saw: operator ',' at <input>:1:53\n"
        "     source: @define m(a,b) %( @a * @b %) probe begin { x = @m((1,2), [3]) }\n"
        "                                                                 ^\n"
        "\tin expansion of macro: operator '@a' at <input>:1:19\n"
        "     source: @define m(a,b) %( @a * @b %) probe begin { x = @m((1,2), [3]) }\n"
        "                               ^\n"
        "\tin expansion of macro: operator '@m' at <input>:1:48\n"
        "     source: @define m(a,b) %( @a * @b %) probe begin { x = @m((1,2), [3]) }\n"
        "                                                            ^\n"
        "\n"
        "1 parse error.\n"
        "Pass 1: parse failed.  [man error::pass1]\n",
        id="macro-expansion-chain",
        marks=pytest.mark.xfail(
            strict=True,
            reason="stap follows token->chain and prints '\\tin expansion of macro: ...' with "
            "its source line for each macro level; pystap prints only the token",
        ),
    ),
]


@pytest.mark.parametrize(("script", "expected"), XFAIL_PARSE_ERRORS)
def test_parse_error_text_differences(script: str, expected: str) -> None:
    assert parse_error(script) == expected
