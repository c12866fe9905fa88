"""Drawing the U-Net: the U with its shapes, and where the parameters live (lesson 6).

Lesson 6 "The U-Net's three kinds of block" draws the blocks that
:func:`unet_course.lessons.blocks.unet_blocks` finds in a model:

- :func:`plot_unet`: one box per block, placed along the U (encoders down the
  left, the bottleneck at the bottom, decoders up the right), with each block's
  output shape and parameters, and the skip connections as dashed arrows;
- :func:`plot_block_parameters`: a bar chart of parameters per block.

Examples
--------
>>> from unet_course.model import build_unet
>>> from unet_course.lessons.blocks import unet_blocks
>>> fig = plot_unet(unet_blocks(build_unet((32, 32, 3), filters=2)))
>>> len(fig.axes)
1
"""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from unet_course.lessons.blocks import fmt_shape

__all__ = ["plot_unet", "plot_block_parameters"]

#: Light fills (the block names are written on them too) that stay apart under colour-vision deficiencies.
_COLOURS = {"encoder": "#A6CEE3", "bottleneck": "#F0E442", "decoder": "#CC79A7",
            "head": "#d9d9d9", "input": "#ffffff"}


def _check_blocks(blocks):
    """Raise ``ValueError`` when there is nothing to draw."""
    if not blocks:
        raise ValueError("blocks is empty; pass the list unet_blocks(model) returns")


def _positions(blocks):
    """(x, y) of each block's box in the U: encoders left, decoders right."""
    depth = max(b.level for b in blocks)
    pos = {}
    for b in blocks:
        if b.kind == "encoder":
            pos[b.name] = (b.level - 1) * 0.6, -(b.level - 1)
        elif b.kind == "bottleneck":
            pos[b.name] = (depth - 1) * 0.6 + 1.4, -(depth - 1)
        elif b.kind == "decoder":
            pos[b.name] = 2 * (depth - 1) * 0.6 + 2.8 - (b.level - 1) * 0.6, -(b.level - 1)
    return pos


def plot_unet(blocks, title=None):
    """Draw the U: one box per block with its output shape and parameters.

    Encoder blocks go down the left side (each halves height and width),
    the bottleneck sits at the bottom, decoder blocks climb the right side,
    and dashed arrows carry each skip connection across. Lesson 6 draws it
    for the seed's model.

    Parameters
    ----------
    blocks : list of BlockSummary
        From :func:`unet_blocks`.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_blocks(blocks)
    pos = _positions(blocks)
    depth = max(b.level for b in blocks)
    first = next(b for b in blocks if b.kind == "encoder")
    last = next(b for b in blocks if b.kind == "decoder" and b.level == 1)
    head = next(b for b in blocks if b.kind == "head")
    pos["input"] = (pos[first.name][0], 1.1)
    pos["head"] = (pos[last.name][0], 1.1)
    labels = {"input": ("input", fmt_shape(first.input_shape), "", "input")}
    for b in blocks:
        detail = f"{b.params:,} params"
        labels[b.name if b.kind != "head" else "head"] = (
            b.name, fmt_shape(b.output_shape), detail, b.kind)

    width = 2 * (depth - 1) * 0.6 + 2.8
    x_range, y_range = width + 1.8, depth + 1.1
    fig = Figure(figsize=(11, 11 * y_range / x_range + 0.5), layout="constrained")
    ax = fig.subplots()
    box_w, box_h = 1.15, 0.62
    for key, (x, y) in pos.items():
        name, shape, detail, kind = labels[key]
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", fc=_COLOURS[kind],
                                    ec="black", lw=1))
        ax.text(x, y + 0.15, name, ha="center", va="center", fontsize=9, weight="bold")
        ax.text(x, y - 0.02, shape, ha="center", va="center", fontsize=8.5)
        if detail:
            ax.text(x, y - 0.19, detail, ha="center", va="center", fontsize=7.5,
                    color="#444444")

    def arrow(start, end, text="", style="-|>", ls="-", colour="black"):
        ax.annotate("", xy=end, xytext=start,
                    arrowprops=dict(arrowstyle=style, ls=ls, color=colour, lw=1.2))
        if text:
            ax.text((start[0] + end[0]) / 2 + 0.05, (start[1] + end[1]) / 2, text,
                    fontsize=7.5, color=colour, ha="left", va="center")

    encoders = [b for b in blocks if b.kind == "encoder"]
    decoders = {b.level: b for b in blocks if b.kind == "decoder"}
    (ix, iy), (ex, ey) = pos["input"], pos[encoders[0].name]
    arrow((ix, iy - box_h / 2), (ex, ey + box_h / 2))
    chain = [b.name for b in encoders] + ["bottleneck"]
    for upper, lower in zip(chain, chain[1:]):
        (x0, y0), (x1, y1) = pos[upper], pos[lower]
        arrow((x0 + 0.1, y0 - box_h / 2), (x1 - 0.1, y1 + box_h / 2), "max pool 2x2")
    climb = ["bottleneck"] + [decoders[level].name for level in range(depth - 1, 0, -1)]
    for lower, upper in zip(climb, climb[1:]):
        (x0, y0), (x1, y1) = pos[lower], pos[upper]
        arrow((x0 + 0.1, y0 + box_h / 2), (x1 - 0.1, y1 - box_h / 2), "up-conv 2x2")
    (dx, dy), (hx, hy) = pos[decoders[1].name], pos["head"]
    arrow((dx, dy + box_h / 2), (hx, hy - box_h / 2), "1x1 sigmoid")
    for enc in encoders:
        dec = decoders[enc.level]
        (x0, y0), (x1, y1) = pos[enc.name], pos[dec.name]
        arrow((x0 + box_w / 2, y0), (x1 - box_w / 2, y1), colour="#3182bd", ls="--")
        ax.text((x0 + x1) / 2, y0 + 0.08, f"skip {fmt_shape(enc.skip_shape)}",
                ha="center", va="bottom", fontsize=8, color="#3182bd")
    ax.text(pos["head"][0] + box_w / 2 + 0.1, pos["head"][1],
            f"output\n{fmt_shape(head.output_shape)}", fontsize=8.5, va="center")
    ax.set_xlim(-0.9, width + 0.9)
    ax.set_ylim(-depth + 0.5, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    total = sum(b.params for b in blocks)
    ax.set_title(title or f"The U-Net: {total:,} parameters", fontsize=11)
    return fig


def plot_block_parameters(blocks, title=None):
    """Bar chart of parameters per block, coloured by kind.

    Lesson 6 uses it to show that most parameters sit at the bottom of the
    U, where the feature maps are smallest and the filters most numerous.

    Parameters
    ----------
    blocks : list of BlockSummary
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_blocks(blocks)
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax = fig.subplots()
    names = [b.name for b in blocks]
    values = [b.params for b in blocks]
    ax.bar(names, values, color=[_COLOURS[b.kind] for b in blocks], edgecolor="black")
    ax.set_ylabel("parameters")
    ax.tick_params(axis="x", labelrotation=45)
    top = max(values)
    for n, v in enumerate(values):
        ax.text(n, v + top * 0.01, f"{v:,}", ha="center", va="bottom", fontsize=7)
    ax.set_title(title or "Where the parameters live")
    ax.set_ylim(0, top * 1.15)
    return fig
