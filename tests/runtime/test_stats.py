"""Statistics aggregates: extractors and histogram printing, as SystemTap 4.8 does them.

The expected histograms were worked out by hand from runtime/stat-common.c
(``_stp_stat_print_histogram_buf``); the reasoning is in the comment of each case.
Quick reminders of the rules used there:

* log buckets: 0 -> bucket 64; v > 0 -> 64 + bit_length(v), labelled 2**(b-65);
  v < 0 -> 64 - bit_length(|v|), labelled -(2**(63-b)).
* linear buckets: [0] underflow (v < start), [i] holds start + (i-1)*interval ..,
  [buckets-1] overflow; buckets = (stop - start) / interval + 3.
* the printed range is the non-zero buckets plus up to 2 rows each side (a log
  histogram does not go below bucket 0 "value 0" unless it has negatives; a linear
  one drops an empty underflow/overflow row);
* val_space = max(5, widest label); cnt_space = digits of the largest count;
  a row is "%*s%lld |" + "@" * (count / scale) + "%*lld\\n" with width
  51 - ats + cnt_space; scale = ceil(max / 50) when max > 50;
* a row is dropped when it and its 2 neighbours each side are zero; a run of
  dropped rows prints as val_space spaces and " ~".
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stapserver.runtime.base import INT64_MAX, INT64_MIN, ScriptError, wrap
from stapserver.runtime.stats import (
    HIST_LOG_BUCKETS,
    MAXSTRINGLEN,
    HistSpec,
    Stat,
    StatInitError,
    log_bucket,
    log_bucket_value,
)

HEADER = b"value |" + b"-" * 50 + b" count\n"


def make(
    spec: HistSpec | None, values: list[int], *, bit_shift: int = 0, keyed: bool = False
) -> Stat:
    s = Stat(spec, bit_shift=bit_shift, keyed=keyed)
    for v in values:
        s.add(v)
    return s


def printed(spec: HistSpec, values: list[int], maxlen: int | None = None) -> bytes:
    s = make(spec, values)
    if spec.kind == "log":
        return s.hist_log(maxlen)
    return s.hist_linear(spec.start, spec.stop, spec.interval, maxlen)


# -- worked histograms --------------------------------------------------------------

HIST_CASES: list[tuple[str, HistSpec, list[int], bytes]] = [
    (
        # 5 -> bucket 67 ("4"). Margin: low 67 -> 65, high 67 -> 69. Max count 1:
        # scale 1, cnt_space 1, each row is 7 + 52 characters.
        "log one value",
        HistSpec.log(),
        [5],
        b"""\
value |-------------------------------------------------- count
    1 |                                                   0
    2 |                                                   0
    4 |@                                                  1
    8 |                                                   0
   16 |                                                   0

""",
    ),
    (
        # 0 -> bucket 64, the low margin stops there (no negatives).
        "log zero",
        HistSpec.log(),
        [0],
        b"""\
value |-------------------------------------------------- count
    0 |@                                                  1
    1 |                                                   0
    2 |                                                   0

""",
    ),
    (
        # -3 -> bucket 62 ("-2"), 0 -> 64, 5 -> 67 ("4"). With negatives the margin
        # goes below 0: low 62 -> 60 ("-8"), high 67 -> 69 ("16"). No 5-row gap.
        "log spanning negatives and zero",
        HistSpec.log(),
        [-3, 0, 5],
        b"""\
value |-------------------------------------------------- count
   -8 |                                                   0
   -4 |                                                   0
   -2 |@                                                  1
   -1 |                                                   0
    0 |@                                                  1
    1 |                                                   0
    2 |                                                   0
    4 |@                                                  1
    8 |                                                   0
   16 |                                                   0

""",
    ),
    (
        # 1 -> 65, 1024 -> 75. Rows 64..77; rows 68..72 ("8".."128") have only zeros
        # within 2 rows either side, so they are elided into one "~" line.
        "log elision",
        HistSpec.log(),
        [1, 1024],
        b"""\
value |-------------------------------------------------- count
    0 |                                                   0
    1 |@                                                  1
    2 |                                                   0
    4 |                                                   0
      ~
  256 |                                                   0
  512 |                                                   0
 1024 |@                                                  1
 2048 |                                                   0
 4096 |                                                   0

""",
    ),
    (
        # INT64_MIN -> bucket 0, INT64_MAX -> bucket 127 (the last); no margin fits
        # outside them. val_space = len("-9223372036854775808") = 20.
        "log extremes",
        HistSpec.log(),
        [INT64_MIN, INT64_MAX],
        b"""\
               value |-------------------------------------------------- count
-9223372036854775808 |@                                                  1
-4611686018427387904 |                                                   0
-2305843009213693952 |                                                   0
                     ~
 1152921504606846976 |                                                   0
 2305843009213693952 |                                                   0
 4611686018427387904 |@                                                  1

""",
    ),
    (
        # max count 100 > 50: scale = ceil(100/50) = 2, so 50 and 15 "@"; 1/2 = 0.
        # cnt_space 3: the count field is 51 - ats + 3 wide.
        "log scaled",
        HistSpec.log(),
        [1] * 100 + [2] * 30 + [4],
        b"""\
value |-------------------------------------------------- count
    0 |                                                     0
    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 100
    2 |@@@@@@@@@@@@@@@                                     30
    4 |                                                     1
    8 |                                                     0
   16 |                                                     0

""",
    ),
    (
        # 101 > 50: scale = ceil(101/50) = 3, 101/3 = 33 "@".
        "log scale rounds up",
        HistSpec.log(),
        [1] * 101,
        b"""\
value |-------------------------------------------------- count
    0 |                                                     0
    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  101
    2 |                                                     0
    4 |                                                     0

""",
    ),
    (
        # 13 buckets. -3 -> underflow [0] (printed "<0", start with a "<"), 5 -> [1].
        # high 1 -> 3 ("20"); the overflow row is not reached.
        "linear underflow",
        HistSpec.linear(0, 100, 10),
        [5, -3],
        b"""\
value |-------------------------------------------------- count
   <0 |@                                                  1
    0 |@                                                  1
   10 |                                                   0
   20 |                                                   0

""",
    ),
    (
        # 50 -> [6]; 100 -> 100/10+1 = [11], the regular bucket labelled 100 (=stop);
        # 1000 -> [12], the overflow, labelled start + (12-2)*10 with ">".
        # low 6 -> 4 ("30"); no elision (every row is within 2 of a non-zero one).
        "linear overflow",
        HistSpec.linear(0, 100, 10),
        [50, 100, 1000],
        b"""\
value |-------------------------------------------------- count
   30 |                                                   0
   40 |                                                   0
   50 |@                                                  1
   60 |                                                   0
   70 |                                                   0
   80 |                                                   0
   90 |                                                   0
  100 |@                                                  1
 >100 |@                                                  1

""",
    ),
    (
        # low 1 -> 0, but an empty underflow row is dropped again.
        "linear empty underflow not shown",
        HistSpec.linear(0, 100, 10),
        [0],
        b"""\
value |-------------------------------------------------- count
    0 |@                                                  1
   10 |                                                   0
   20 |                                                   0

""",
    ),
    (
        # (50 - -50) / 25 + 3 = 7 buckets: labels -50 -25 0 25 50 and ">50".
        # 49 -> 99/25+1 = [4] ("25"), 50 -> [5] ("50"), 75 -> [6] overflow.
        "linear negative start",
        HistSpec.linear(-50, 50, 25),
        [-50, 49, 50, 75],
        b"""\
value |-------------------------------------------------- count
  -50 |@                                                  1
  -25 |                                                   0
    0 |                                                   0
   25 |@                                                  1
   50 |@                                                  1
  >50 |@                                                  1

""",
    ),
    (
        # INT64_MAX - 0 over interval 1 is INT64_MAX, and `val++` wraps to INT64_MIN:
        # the overflow test fails and histogram[INT64_MIN] is histogram[0] as a
        # pointer offset: it is counted as underflow. INT64_MAX-1 is an overflow.
        # Both runs of empty rows are elided.
        "linear wrap and both elisions",
        HistSpec.linear(0, 10, 1),
        [INT64_MAX, INT64_MAX - 1, 5],
        b"""\
value |-------------------------------------------------- count
   <0 |@                                                  1
    0 |                                                   0
    1 |                                                   0
      ~
    3 |                                                   0
    4 |                                                   0
    5 |@                                                  1
    6 |                                                   0
    7 |                                                   0
      ~
    9 |                                                   0
   10 |                                                   0
  >10 |@                                                  1

""",
    ),
    (
        # A negative interval is accepted: (0-100)/-10+3 = 13 buckets. do_div()
        # divides by (uint32_t)-10, so 150 -> 50/4294967286+1 = [1]; below 100 is
        # underflow. Labels count down.
        "linear negative interval",
        HistSpec.linear(100, 0, -10),
        [150, 50, 100, -7],
        b"""\
value |-------------------------------------------------- count
 <100 |@@                                                 2
  100 |@@                                                 2
   90 |                                                   0
   80 |                                                   0

""",
    ),
    (
        # (0 - 5) / 10 = 0 in C, so 3 buckets: underflow, [5, 15), overflow.
        "linear stop below start",
        HistSpec.linear(5, 0, 10),
        [3],
        b"""\
value |-------------------------------------------------- count
   <5 |@                                                  1
    5 |                                                   0

""",
    ),
]


@pytest.mark.parametrize(
    ("spec", "values", "expected"),
    [pytest.param(spec, vals, exp, id=name) for name, spec, vals, exp in HIST_CASES],
)
def test_histogram_output(spec: HistSpec, values: list[int], expected: bytes) -> None:
    assert printed(spec, values) == expected
    # sprint() of a histogram that fits the 512-byte buffer is the same text.
    if len(expected) < MAXSTRINGLEN:
        assert printed(spec, values, MAXSTRINGLEN) == expected


def test_linear_args_are_c_ints() -> None:
    # va_arg(ap, int) keeps the low 32 bits: -5000000000 -> -705032704.
    spec = HistSpec.linear(-5000000000, -4999999990, 1)
    assert (spec.start, spec.stop, spec.interval, spec.buckets) == (-705032704, -705032694, 1, 13)
    s = make(spec, [3])
    assert s.hist_buckets()[-1] == 1
    assert s.hist_linear(-5000000000, -4999999990, 1) == (
        b"      value |" + b"-" * 50 + b" count\n"
        b" -705032695 |                                                   0\n"
        b" -705032694 |                                                   0\n"
        b">-705032694 |@                                                  1\n"
        b"\n"
    )


# -- sprint(): the MAXSTRINGLEN buffer ---------------------------------------------


def test_sprint_truncation_clamps_the_count_field() -> None:
    # Values 1..64, ten of each: header 64 bytes, rows of 7 + 51 + 2 + 1 = 61 bytes
    # from "0" to "256". Row "64" is the 8th: it starts at 64 + 7*61 = 491, its ten
    # "@" end at 508, so "%*lld" (width 43) has 4 bytes of room: the width is
    # clamped to 4, "  10" is written and the final NUL overwrites the "0".
    # A plain cut of the printed text would end in three spaces instead.
    values = [1 << k for k in range(7) for _ in range(10)]
    s = make(HistSpec.log(), values)
    full = s.hist_log()
    cut = s.hist_log(MAXSTRINGLEN)
    assert len(full) == 675
    assert len(cut) == MAXSTRINGLEN - 1
    assert full[:508] == cut[:508]
    assert cut[508:] == b"  1"
    assert full[508:511] == b"   "


@pytest.mark.parametrize(
    ("maxlen", "expected"),
    [
        (1, b""),
        (2, b"v"),
        (5, b"valu"),
        (9, b"value |-"),
        (len(HEADER) + 1, HEADER),
    ],
)
def test_sprint_small_buffers(maxlen: int, expected: bytes) -> None:
    assert make(HistSpec.log(), [5]).hist_log(maxlen) == expected


# -- extractors ----------------------------------------------------------------------


def test_empty_aggregate() -> None:
    s = Stat(HistSpec.log())
    assert s.count() == 0
    assert s.sum() == 0
    for extract in (s.min, s.max, s.avg, s.variance, s.hist_log):
        with pytest.raises(ScriptError) as err:
            extract()
        assert err.value.message == "empty aggregate"
    with pytest.raises(ScriptError, match=r"^empty aggregate$"):
        s.hist_bucket(3)
    # foreach over a histogram has no empty check: every bucket, all zero.
    assert s.hist_buckets() == [0] * HIST_LOG_BUCKETS
    lin = Stat(HistSpec.linear(0, 100, 10))
    with pytest.raises(ScriptError, match=r"^empty aggregate$"):
        lin.hist_linear(0, 100, 10)


def test_clear_empties() -> None:
    s = make(HistSpec.linear(0, 10, 1), [1, 2, 3])
    s.clear()
    assert (s.count(), s.sum()) == (0, 0)
    assert s.hist_buckets() == [0] * 13
    with pytest.raises(ScriptError):
        s.min()
    s.add(-4)
    assert (s.count(), s.sum(), s.min(), s.max(), s.avg(), s.variance()) == (1, -4, -4, -4, -4, 0)


def test_basic_extractors() -> None:
    s = make(None, [5, -3, 10, 0])
    assert (s.count(), s.sum(), s.min(), s.max(), s.avg()) == (4, 12, -3, 10, 3)
    # avg truncates toward zero, as C does
    assert make(None, [-7, 0]).avg() == -3
    # sum wraps as an int64_t
    assert make(None, [INT64_MAX, 1]).sum() == INT64_MIN


# (values, bit_shift, @variance of a global, @variance of a stat-array element).
# These follow __stp_stat_add (Welford, integer, `int delta`) and then _stp_stat_get
# (total-variance recombination) or _new_map_copy_stat (copy) for one CPU.
VARIANCE_CASES = [
    # shift 3: avg_s 40; -3 -> vs -24, delta -64, avg_s 40 - 32 = 8,
    # M2 = -64 * (-24 - 8) = 2048; var_s 2048; global: avg_s = 16/2 = 8, S1 = 0,
    # so 2048 >> 6 = 32 (the true sample variance).
    ([5, -3], 3, 32, 32),
    # avg_s stays 1 (-1/2 and -1/3 truncate to 0), M2 = 1 + 1 = 2, var_s = 1.
    # Global: agg avg_s = 1/3 = 0, S1 = 3 * (1 - 0)**2 = 3, S2 = 2 * 1: 5 / 2 = 2.
    ([1, 0, 0], 0, 2, 1),
    ([7], 0, 0, 0),  # count 1: 0 / 0 is 0 for _stp_div64
    ([7], 5, 0, 0),
    # Welford: avg_s stuck at 1, M2 = 1 + 4 + 9 = 14, var_s = 14/3 = 4.
    # Global: S1 = 4 * (1 - 10/4)**2 -> 4 * (1-2)**2 = 4, S2 = 12: 16/3 = 5.
    ([1, 2, 3, 4], 0, 5, 4),
    ([1, 2, 3, 4], 8, 1, 1),
    ([10, 20, 30, 40, 50], 2, 250, 250),
    # delta is a C int: 2**32 - 0 becomes 0, so Welford sees nothing; the global
    # S1 = 2 * (0 - 2**31)**2 = 2**63 wraps to INT64_MIN.
    ([0, 1 << 32], 0, INT64_MIN, 0),
    ([INT64_MIN, INT64_MAX], 0, 1, 1),
    ([1000000, -1000000, 3, 3], 16, 229204015, -128709967),
]


@pytest.mark.parametrize(("values", "shift", "scalar", "keyed"), VARIANCE_CASES)
def test_variance(values: list[int], shift: int, scalar: int, keyed: int) -> None:
    assert make(None, values, bit_shift=shift).variance() == scalar
    assert make(None, values, bit_shift=shift).variance(shift) == scalar
    assert make(None, values, bit_shift=shift, keyed=True).variance() == keyed


def test_variance_shift_is_fixed_at_creation() -> None:
    s = make(None, [1, 2], bit_shift=4)
    with pytest.raises(ValueError, match=r"conflicting bit shifts declared \(previously 4\)"):
        s.variance(3)
    for bad in (-1, 63):
        with pytest.raises(ValueError, match=r"bit shift \(-?\d+\) out of range <0..62>"):
            Stat(bit_shift=bad)


# -- histogram specs and indexing ----------------------------------------------------


def test_hist_init_errors() -> None:
    with pytest.raises(StatInitError) as err:
        HistSpec.linear(0, 100, 0)
    assert err.value.message == "histogram: interval cannot be zero."
    too_many = (
        "histogram: Number of buckets must be between 1 and 126\n"
        "Number_of_buckets = (stop - start) / interval.\n"
        "Please adjust your start, stop, and interval values."
    )
    for start, stop, interval in [(0, 1260, 10), (100, 0, 10), (0, 10000, 1), (15, 0, 10)]:
        with pytest.raises(StatInitError) as err:
            HistSpec.linear(start, stop, interval)
        assert err.value.message == too_many
    assert HistSpec.linear(0, 1259, 10).buckets == 128
    assert HistSpec.linear(0, 0, 10).buckets == 3
    assert HistSpec.linear(0, 100, 7).buckets == 17


def test_hist_bucket_index() -> None:
    s = make(HistSpec.log(), [5, 5, -1])
    assert s.nbuckets == 128
    assert s.hist_bucket(67) == 2
    assert s.hist_bucket(63) == 1
    assert s.hist_bucket(0) == 0
    for bad in (-1, 128, 1 << 40):
        with pytest.raises(ScriptError, match=r"^histogram index out of range$"):
            s.hist_bucket(bad)
    lin = make(HistSpec.linear(0, 100, 10), [5])
    assert lin.nbuckets == 13
    assert lin.hist_bucket(1) == 1
    with pytest.raises(ScriptError, match=r"^histogram index out of range$"):
        lin.hist_bucket(13)


def test_wrong_histogram_is_a_caller_bug() -> None:
    with pytest.raises(ValueError):
        make(HistSpec.log(), [1]).hist_linear(0, 10, 1)
    with pytest.raises(ValueError):
        make(HistSpec.linear(0, 10, 1), [1]).hist_linear(0, 20, 1)
    with pytest.raises(ValueError):
        make(None, [1]).hist_log()


@pytest.mark.parametrize(
    ("value", "bucket", "label"),
    [
        (0, 64, 0),
        (1, 65, 1),
        (2, 66, 2),
        (3, 66, 2),
        (4, 67, 4),
        (-1, 63, -1),
        (-2, 62, -2),
        (-3, 62, -2),
        (-4, 61, -4),
        (INT64_MAX, 127, 1 << 62),
        (INT64_MIN, 0, INT64_MIN),
    ],
)
def test_log_buckets(value: int, bucket: int, label: int) -> None:
    assert log_bucket(value) == bucket
    assert log_bucket_value(bucket) == label


# -- properties ----------------------------------------------------------------------

longs = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
values_lists = st.lists(
    st.one_of(longs, st.integers(min_value=-1000, max_value=1000)), min_size=1, max_size=60
)


def c_div(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


@given(values_lists)
def test_extractors_agree_with_python(values: list[int]) -> None:
    s = make(HistSpec.log(), values)
    total = wrap(sum(values))
    assert s.count() == len(values)
    assert s.sum() == total
    assert s.min() == min(values)
    assert s.max() == max(values)
    assert s.avg() == c_div(total, len(values))
    assert sum(s.hist_buckets()) == len(values)
    for v in values:
        b = log_bucket(v)
        label = log_bucket_value(b)
        assert s.hist_bucket(b) > 0
        if v > 0:
            assert label <= v < 2 * label
        elif v < 0:
            assert 2 * label < v <= label
        else:
            assert b == 64


@given(
    values_lists,
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=1, max_value=125),
    st.integers(min_value=1, max_value=1000),
)
def test_linear_buckets(values: list[int], start: int, nb: int, interval: int) -> None:
    spec = HistSpec.linear(start, start + nb * interval, interval)
    assert spec.buckets == nb + 3
    s = make(spec, values)
    hist = s.hist_buckets()
    assert sum(hist) == len(values)
    expected = [0] * spec.buckets
    for v in values:
        x = wrap(v - start)
        if x < 0:
            i = 0
        else:
            i = x // interval + 1
            if i > INT64_MAX:
                i = 0
            elif i >= spec.buckets - 1:
                i = spec.buckets - 1
        expected[i] += 1
    assert hist == expected


@given(
    st.integers(min_value=-(1 << 20), max_value=1 << 20),
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=0, max_value=36),
    st.booleans(),
)
def test_constant_values_have_no_variance(v: int, n: int, shift: int, keyed: bool) -> None:
    # 64 * 2**20 << 36 stays within 64 bits: nothing wraps.
    assert make(None, [v] * n, bit_shift=shift, keyed=keyed).variance() == 0


@given(st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=2, max_size=40))
def test_variance_is_close_for_small_values(values: list[int]) -> None:
    # Not exact (integer Welford), but with bit_shift 10 it stays near the sample
    # variance as long as nothing overflows.
    n = len(values)
    mean = sum(values) / n
    true = sum((v - mean) ** 2 for v in values) / (n - 1)
    for keyed in (False, True):
        got = make(None, values, bit_shift=10, keyed=keyed).variance()
        assert abs(got - true) <= 0.01 * true + 2 * n


@settings(max_examples=60)
@given(
    st.lists(st.integers(min_value=-(1 << 40), max_value=1 << 40), min_size=1, max_size=300),
    st.integers(min_value=1, max_value=900),
)
def test_printed_histogram_shape(values: list[int], maxlen: int) -> None:
    s = make(HistSpec.log(), values)
    out = s.hist_log()
    lines = out.split(b"\n")
    assert lines[-2:] == [b"", b""]
    header, rows = lines[0], lines[1:-2]
    width = header.index(b"|")
    assert header.endswith(b"|" + b"-" * 50 + b" count")
    shown = 0
    for row in rows:
        if row.endswith(b" ~"):
            assert row == b" " * width + b"~"
            continue
        assert row.index(b"|") == width
        count = int(row.split()[-1])
        shown += count
        assert len(row) - len(str(count)) - width - 1 <= 51 + len(str(max(s.hist_buckets())))
    assert shown == len(values)  # elision never hides a non-zero bucket
    cut = s.hist_log(maxlen)
    assert len(cut) <= maxlen - 1
    if maxlen > len(out):
        assert cut == out
