"""The analytical model's plots label their log axes wherever the data lies: a decode curve that stays
within one decade (no power of ten in view) still has y tick labels."""
import math

import matplotlib
import pytest

import dsl.perf
from dsl.perf.data import Calibration, load_device, load_model
from dsl.perf.plots import _plain_log_axes, _pyplot, sequence_figure
from dsl.perf.report import fpga_device

matplotlib.use("Agg")


def _labels_in_view(ax) -> list:
    """(value, text) of every non-empty y tick label inside the axes' view, as drawn."""
    ax.figure.canvas.draw()
    lo, hi = ax.get_ylim()
    ticks = ax.yaxis.get_major_ticks() + ax.yaxis.get_minor_ticks()
    return [(t.get_loc(), t.label1.get_text()) for t in ticks
            if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi]


def _check_plain_labels(ax):
    labels = _labels_in_view(ax)
    assert len(labels) >= 2, labels
    for value, text in labels:  # plain numbers that read back as the tick's value
        assert math.isclose(float(text.replace("\u2212", "-")), value, rel_tol=0.01), (value, text)


def _one_decade(ax) -> bool:
    lo, hi = ax.get_ylim()
    return math.floor(math.log10(lo)) == math.floor(math.log10(hi))


def test_decode_plot_within_one_decade_has_y_tick_labels():
    # gpt2-medium on the U280 and the A100: decode from about 1.1 to 3 ms/token, no power of ten in view
    result = dsl.perf.evaluate("gpt2-medium", "u280", gpu="a100")
    fig = sequence_figure(load_model("gpt2-medium"), fpga_device("u280"), load_device("a100"), result,
                          Calibration())
    try:
        prefill, decode = fig.axes
        assert _one_decade(decode), "the case under test"
        _check_plain_labels(decode)
        assert not _one_decade(prefill)
        _check_plain_labels(prefill)  # spanning decades: labelled at its powers of ten
    finally:
        _pyplot().close(fig)


@pytest.mark.parametrize("data", [[2.1, 2.5, 3.0, 3.8], [22, 30, 45, 80], [1.01, 1.02, 1.03, 1.05]])
def test_log_axes_of_a_narrow_range_are_labelled(data):
    plt = _pyplot()
    fig, ax = plt.subplots()
    try:
        ax.plot([16, 32, 64, 128], data)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_log_axes(ax)
        assert _one_decade(ax)
        _check_plain_labels(ax)
    finally:
        plt.close(fig)
