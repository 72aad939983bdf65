"""What dsl deliberately does not take from Allo is refused with the construct's name and the reason
(docs/allo.md lists each)."""
import pytest

import dsl
from dsl import int32


def _k(A: int32[4]) -> int32[4]:
    return A + 1


@pytest.mark.parametrize("name, reason", [("gather", "explicit streams"), ("Memory", "AIE feature"),
                                          ("conv2d", "write the loop nest"), ("verify", "equivalence checking")])
def test_allo_names_not_provided_say_why(name, reason):
    with pytest.raises(AttributeError, match=f"dsl.{name} \\(an Allo name\\) is not provided: .*{reason}"):
        getattr(dsl, name)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        dsl.no_such_name  # noqa: B018


@pytest.mark.parametrize("target", ["tapa", "aie", "catapult", "vivado_hls"])
def test_allo_targets_not_provided_say_why(target):
    with pytest.raises(dsl.BuildError, match=f"target '{target}' .* is an Allo backend dsl does not provide"):
        dsl.build(dsl.customize(_k), target=target)


def test_allo_customize_options_not_provided_say_why():
    with pytest.raises(dsl.DSLError, match="global_vars= \\(Allo's\\) is not provided: names come from"):
        dsl.customize(_k, global_vars={})
    with pytest.raises(dsl.DSLError, match="option bogus= is unknown; options: instantiate="):
        dsl.customize(_k, bogus=1)


def test_allo_schedule_primitives_not_provided_say_why():
    s = dsl.customize(_k)
    with pytest.raises(dsl.ScheduleError, match="s.get_equivalent_variables \\(an Allo primitive\\) is not "
                                                "provided: use-def analysis"):
        s.get_equivalent_variables("_k:A")


def test_grid_keywords_other_than_name_and_directives_are_refused():
    def k(A: int32[4]):
        for i in dsl.grid(4, pipelined=True):
            A[i] = 0

    with pytest.raises(dsl.DSLSyntaxError, match="grid\\(\\) takes only the keywords name=, pipeline= and unroll="):
        dsl.customize(k)
